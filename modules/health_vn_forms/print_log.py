# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import PrintLogAccessError


class PrintLog(ModelSQL, ModelView):
    """A paper copy printed from the electronic record: who printed which
    form of which record, when, and the lookup code printed on it
    (Nghị định 137/2024, conversion of electronic documents to paper)"""
    __name__ = 'health.form.print.log'

    company = fields.Many2One(
        'company.company', "Facility", required=True, readonly=True,
        ondelete='RESTRICT')
    record = fields.Reference(
        "Record", selection='get_models', required=True, readonly=True)
    report = fields.Many2One(
        'ir.action.report', "Form", required=True, readonly=True,
        ondelete='RESTRICT')
    printed_by = fields.Many2One(
        'res.user', "Printed By", required=True, readonly=True,
        ondelete='RESTRICT')
    printed_at = fields.DateTime("Printed At", required=True, readonly=True)
    lookup_code = fields.Char(
        "Lookup Code", required=True, readonly=True,
        help="The code printed on the paper copy and in its QR code.")
    sha256 = fields.Char(
        "SHA-256", readonly=True,
        help="The fingerprint of the PDF given to the printer.")
    pages = fields.Integer("Pages", readonly=True)
    _models_cache = Cache(
        'health.form.print.log.get_models', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('lookup_code_unique', Unique(t, t.lookup_code),
                'health_vn_forms.msg_print_log_lookup_code_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.record, Index.Equality())),
                Index(t,
                    (t.printed_by, Index.Equality()),
                    (t.printed_at, Index.Range(order='DESC'))),
                })
        cls._order = [('printed_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def get_models(cls):
        # Checked at each print: ir.model's query is cached per language
        language = Transaction().language
        models = cls._models_cache.get(language)
        if models is None:
            models = Pool().get('ir.model').get_name_items()
            cls._models_cache.set(language, models)
        return models

    def get_rec_name(self, name):
        return self.lookup_code

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        return [('lookup_code', operator, operand, *extra)]

    @classmethod
    def check_modification(cls, mode, logs, values=None, external=False):
        super().check_modification(
            mode, logs, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise PrintLogAccessError(gettext(
                    'health_vn_forms.msg_print_log_read_only'))

    @classmethod
    def find(cls, lookup_code):
        "The print of a paper copy from the code on it (any spacing/case)"
        code = ''.join(c for c in (lookup_code or '').upper()
            if c.isalnum())
        if len(code) < 10:
            return None
        code = '-'.join([code[:4], code[4:8], code[8:]])
        logs = cls.search([('lookup_code', '=', code)], limit=1)
        return logs[0] if logs else None


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        # "Own prints" rule of the print log
        if model_name == 'health.form.print.log':
            context['user_id'] = Transaction().user
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        if 'health.form.print.log' in model_names:
            key = (*key, Transaction().user)
        return key
