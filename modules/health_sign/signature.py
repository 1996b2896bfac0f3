# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Signatures of clinical documents (TT 13/2025/TT-BYT Điều 3): which
documents are signed and how, the signature records with their signed
PDF, the locking of signed records, and signing one or many documents
with one entry of the passphrase, PIN or password."""
import datetime as dt
import hashlib
import logging
from collections import defaultdict

from sql import Cast, Literal, Null, Union
from sql.operators import Concat

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields,
    sequence_ordered)
from trytond.modules.health_emr.model import company_timezone
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.tools import timezone as tz
from trytond.transaction import (
    Transaction, TransactionError, check_access, without_check_access)
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import SignatureAccessError, SignatureError, SignedRecordError

logger = logging.getLogger(__name__)

METHODS = [
    ('certificate', "Digital Signature (Certificate)"),
    ('account', "Account Confirmation (Password)"),
    ]
VERIFICATION_STATES = [
    ('unknown', "Not Verified"),
    ('valid', "Valid"),
    ('invalid', "Invalid"),
    ]


def _now():
    return dt.datetime.now().replace(microsecond=0)


def sha256(data):
    return hashlib.sha256(data).hexdigest() if data is not None else None


class DocumentType(DeactivableMixin, ModelSQL, ModelView):
    """A kind of document the station signs and how: its report, the
    signing method its EMR regulation requires (quy chế HSBA điện tử) and
    who signs in which order"""
    __name__ = 'health.sign.document.type'

    name = fields.Char("Name", required=True, translate=True)
    model = fields.Many2One(
        'ir.model', "Model", required=True, ondelete='CASCADE')
    model_name = fields.Function(
        fields.Char("Model Name"), 'on_change_with_model_name',
        searcher='search_model_name')
    report = fields.Many2One(
        'ir.action.report', "Report", required=True, ondelete='RESTRICT',
        domain=[
            ('model', '=', Eval('model_name', '')),
            ],
        help="The form rendered to PDF and signed.")
    method = fields.Selection(
        METHODS, "Required Method", required=True, sort=False,
        help="Digital signature: a PAdES signature with the signer's "
        "certificate (chữ ký số). Account confirmation: the signer "
        "re-enters the password of the account (TT 13/2025 Điều 3, "
        "lower evidential value); a digital signature is accepted too.")
    method_string = method.translated('method')
    roles = fields.One2Many(
        'health.sign.document.type.role', 'document_type', "Signers",
        help="Who signs, in order: the first line for the first "
        "signature, and so on. Leave empty to let anyone who may open "
        "the document sign it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_method(cls):
        return 'certificate'

    @fields.depends('model')
    def on_change_with_model_name(self, name=None):
        return self.model.name if self.model else None

    @classmethod
    def search_model_name(cls, name, clause):
        return [('model.name', *clause[1:])]

    @classmethod
    def get_for_model(cls, model_name):
        "The active document type of the model, or None"
        with without_check_access():
            types = cls.search([
                    ('model.name', '=', model_name),
                    ], limit=1)
        return types[0] if types else None

    def role_for(self, sequence):
        "The signer role of the n-th signature, None when not set"
        roles = list(self.roles)
        if 0 < sequence <= len(roles):
            return roles[sequence - 1]


class DocumentTypeRole(sequence_ordered(), ModelSQL, ModelView):
    "One signer of a document type: the n-th signature and who gives it"
    __name__ = 'health.sign.document.type.role'

    document_type = fields.Many2One(
        'health.sign.document.type', "Document Type", required=True,
        ondelete='CASCADE')
    name = fields.Char(
        "Role", required=True, translate=True,
        help="Printed on the stamp when the signer has no title, e.g. "
        "\"Bác sĩ khám bệnh\".")
    group = fields.Many2One(
        'res.group', "Group", ondelete='RESTRICT',
        help="Only members of this group may give this signature.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('document_type')


class Signature(ModelSQL, ModelView):
    """A signature given to one version of a record: the signed PDF, its
    SHA-256, who signed, how and when, and the last verification"""
    __name__ = 'health.sign.signature'

    company = fields.Many2One(
        'company.company', "Facility", required=True, readonly=True,
        ondelete='RESTRICT')
    record = fields.Reference(
        "Document", selection='get_models', required=True, readonly=True)
    record_model = fields.Char("Document Model", readonly=True)
    record_id = fields.Integer("Document ID", readonly=True)
    document_type = fields.Many2One(
        'health.sign.document.type', "Document Type", required=True,
        readonly=True, ondelete='RESTRICT')
    sequence = fields.Integer(
        "Order", required=True, readonly=True,
        help="1 for the first signature of the document, 2 for the next "
        "signer, and so on.")
    field_name = fields.Char(
        "PDF Signature Field", readonly=True,
        help="The name of the signature field in the PDF.")
    signer = fields.Many2One(
        'res.user', "Signed By", required=True, readonly=True,
        ondelete='RESTRICT')
    employee = fields.Many2One(
        'company.employee', "Staff Member", readonly=True,
        ondelete='RESTRICT')
    title = fields.Char(
        "Title", readonly=True, help="The signer's title or role.")
    method = fields.Selection(
        METHODS, "Method", required=True, readonly=True, sort=False)
    method_string = method.translated('method')
    certificate = fields.Many2One(
        'health.sign.certificate', "Certificate", readonly=True,
        ondelete='RESTRICT')
    signed_at = fields.DateTime("Signed At", required=True, readonly=True)
    pdf = fields.Binary(
        "Signed PDF", filename='pdf_filename', file_id='pdf_id',
        store_prefix='health_sign', readonly=True)
    pdf_id = fields.Char("PDF File ID", readonly=True)
    pdf_filename = fields.Function(
        fields.Char("File Name"), 'get_pdf_filename')
    sha256 = fields.Char(
        "SHA-256", readonly=True,
        help="The hash of the signed PDF as it was stored.")
    verification_state = fields.Selection(
        VERIFICATION_STATES, "Verification", required=True, readonly=True,
        sort=False)
    verification_state_string = verification_state.translated(
        'verification_state')
    verification_message = fields.Text(
        "Verification Message", readonly=True)
    verified_at = fields.DateTime("Verified At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('record_sequence_unique',
                Unique(table, table.record_model, table.record_id,
                    table.sequence),
                'health_sign.msg_signature_sequence_unique'),
            ]
        cls._sql_indexes.update({
                Index(table,
                    (table.record_model, Index.Equality()),
                    (table.record_id, Index.Range())),
                Index(table, (table.sha256, Index.Equality())),
                })
        cls._order = [('signed_at', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'verify': {
                    'depends': ['id'],
                    },
                })

    @classmethod
    def default_verification_state(cls):
        return 'unknown'

    @classmethod
    def get_models(cls):
        pool = Pool()
        DocumentType = pool.get('health.sign.document.type')
        Model = pool.get('ir.model')
        with without_check_access():
            types = DocumentType.search([
                    ('active', 'in', [True, False]),
                    ])
        names = sorted({t.model.name for t in types})
        strings = Model.get_names()
        return [(None, '')] + [(n, strings.get(n, n)) for n in names]

    def get_rec_name(self, name):
        record = self.record.rec_name if self.record else ''
        return f'{record} #{self.sequence}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('signer.rec_name', *clause[1:])]

    def get_pdf_filename(self, name):
        model = (self.record_model or 'document').replace('.', '_')
        return f'{model}_{self.record_id}_{self.sequence}.pdf'

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('verification_state') == 'invalid', 'danger', '')),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and values.get('record'):
            record = values['record']
            if isinstance(record, str):
                model, id_ = record.split(',')
            else:
                model, id_ = record
            values['record_model'] = model
            values['record_id'] = int(id_)
            values['record'] = f'{model},{int(id_)}'
        return values

    @classmethod
    def check_modification(cls, mode, signatures, values=None,
            external=False):
        super().check_modification(
            mode, signatures, values=values, external=external)
        # Signatures are made by the sign wizard only and never change
        # afterwards, except the result of their verification
        if external:
            raise SignatureAccessError(gettext(
                    'health_sign.msg_signature_readonly'))
        if mode == 'delete':
            raise SignatureAccessError(gettext(
                    'health_sign.msg_signature_readonly'))
        if mode == 'write' and not (set(values) <= {
                    'verification_state', 'verification_message',
                    'verified_at'}):
            raise SignatureAccessError(gettext(
                    'health_sign.msg_signature_readonly'))

    @classmethod
    def copy(cls, signatures, default=None):
        if signatures:
            raise SignatureAccessError(gettext(
                    'health_sign.msg_signature_readonly'))
        return []

    @classmethod
    def of_records(cls, records):
        "The signatures of the records, by record, in signing order"
        result = defaultdict(list)
        by_model = defaultdict(list)
        for record in records:
            by_model[record.__name__].append(record.id)
        with without_check_access():
            for model, ids in by_model.items():
                for sub_ids in grouped_slice(ids, 1000):
                    for signature in cls.search([
                                ('record_model', '=', model),
                                ('record_id', 'in', list(sub_ids)),
                                ], order=[('sequence', 'ASC')]):
                        result[model, signature.record_id].append(signature)
        return result

    # Verification

    @classmethod
    @ModelView.button
    def verify(cls, signatures):
        cls._verify(signatures)

    @classmethod
    def _verify(cls, signatures):
        "Check each stored PDF again and record the result"
        now = _now()
        trust_roots = {}
        to_write = []
        for signature in signatures:
            company = signature.company
            if signature.method == 'certificate' and company not in (
                    trust_roots):
                trust_roots[company] = _trust_roots(company)
            state, message = signature._check(trust_roots.get(company))
            to_write.extend(([signature], {
                        'verification_state': state,
                        'verification_message': message,
                        'verified_at': now,
                        }))
        if to_write:
            with without_check_access():
                cls.write(*to_write)

    def _check(self, trust_roots):
        "Return (state, message) of the stored PDF"
        pdf = self.pdf
        if not pdf:
            return 'invalid', gettext('health_sign.msg_verify_no_pdf')
        if sha256(pdf) != self.sha256:
            return 'invalid', gettext('health_sign.msg_verify_hash_mismatch')
        if self.method == 'account':
            # An account confirmation has no cryptographic signature in
            # the PDF: the hash recorded at signing time is the evidence
            return 'valid', gettext(
                'health_sign.msg_verify_account_hash_ok')
        from . import crypto
        try:
            statuses = crypto.verify_pdf(pdf, trust_roots)
        except UserError as exception:
            return 'invalid', exception.message
        except Exception as exception:
            logger.warning("cannot verify signature %s", self.id,
                exc_info=True)
            return 'invalid', gettext(
                'health_sign.msg_verify_error', error=str(exception))
        status = None
        for candidate in statuses:
            if candidate.field == self.field_name:
                status = candidate
        if status is None:
            return 'invalid', gettext(
                'health_sign.msg_verify_field_missing',
                field=self.field_name or '')
        return _status_result(status)

    @classmethod
    def verify_all(cls):
        """Daily job: verify again every stored signature of the
        facilities that ask for it"""
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('health.sign.configuration')
        with without_check_access():
            companies = [c for c in Company.search([])
                if Configuration.get_for_company(c).verify_daily]
            signatures = cls.search([
                    ('company', 'in', [c.id for c in companies]),
                    ])
        for sub_signatures in grouped_slice(signatures, 200):
            cls._verify(cls.browse(sub_signatures))


def _status_result(status):
    "(state, message) of a crypto.SignatureStatus"
    ok = status.ok
    message = getattr(status, 'message', None) or ''
    if ok:
        return 'valid', message or gettext('health_sign.msg_verify_ok')
    return 'invalid', message or gettext('health_sign.msg_verify_failed')


def _trust_roots(company=None):
    "The trust anchors of the facility (asn1crypto certificates)"
    TrustAnchor = Pool().get('health.sign.trust_anchor')
    return TrustAnchor.get_trust_roots(company)


class SignableMixin:
    """A record that is signed as a document: its signatures, and once
    signed, no change for anybody (corrections are new versions)"""
    __slots__ = ()

    # States in which the record may be signed (set by each model)
    _signable_states = set()

    signatures = fields.Function(
        fields.One2Many('health.sign.signature', None, "Signatures",
            readonly=True,
            help="The signatures of this document, in signing order."),
        'get_signatures', setter='set_signatures')
    signed = fields.Function(
        fields.Boolean("Signed",
            help="Signed at least once: the record can no longer change."),
        'get_signed', searcher='search_signed')
    signature_state = fields.Function(
        fields.Selection([
                ('unsigned', "Unsigned"),
                ('signed', "Signed"),
                ('invalid', "Invalid Signature"),
                ], "Signature State", sort=False),
        'get_signed')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'sign': {
                    'invisible': ~Eval('state').in_(
                        list(cls._signable_states)),
                    'depends': ['state'],
                    },
                'verify_signatures': {
                    'invisible': ~Eval('signed'),
                    'depends': ['signed'],
                    },
                })

    @classmethod
    def get_signatures(cls, records, name):
        Signature = Pool().get('health.sign.signature')
        signatures = Signature.of_records(records)
        return {r.id: [s.id for s in signatures[cls.__name__, r.id]]
            for r in records}

    @classmethod
    def set_signatures(cls, records, name, value):
        # Signatures are made by the sign wizard only; the client never
        # sends changes of this read-only list
        pass

    @classmethod
    def get_signed(cls, records, names):
        Signature = Pool().get('health.sign.signature')
        signatures = Signature.of_records(records)
        result = {n: {} for n in names}
        for record in records:
            record_signatures = signatures[cls.__name__, record.id]
            if 'signed' in names:
                result['signed'][record.id] = bool(record_signatures)
            if 'signature_state' in names:
                if not record_signatures:
                    state = 'unsigned'
                elif any(s.verification_state == 'invalid'
                        for s in record_signatures):
                    state = 'invalid'
                else:
                    state = 'signed'
                result['signature_state'][record.id] = state
        return result

    @classmethod
    def _signed_query(cls):
        Signature = Pool().get('health.sign.signature')
        signature = Signature.__table__()
        return signature.select(signature.record_id,
            where=signature.record_model == cls.__name__)

    @classmethod
    def search_signed(cls, name, clause):
        _, operator, value = clause[:3]
        if operator not in {'=', '!='}:
            raise NotImplementedError(operator)
        positive = bool(value) == (operator == '=')
        return [('id', 'in' if positive else 'not in', cls._signed_query())]

    @classmethod
    def signed_ids(cls, records):
        "The ids of the records that have a signature"
        cursor = Transaction().connection.cursor()
        Signature = Pool().get('health.sign.signature')
        signature = Signature.__table__()
        ids = set()
        for sub_ids in grouped_slice(
                [r.id for r in records if r.id], 1000):
            cursor.execute(*signature.select(signature.record_id,
                    where=(signature.record_model == cls.__name__)
                    & signature.record_id.in_(list(sub_ids)),
                    group_by=[signature.record_id]))
            ids.update(r for r, in cursor)
        return ids

    @classmethod
    def _signed_write_allowed(cls, record, values):
        "Whether a write of values may change the signed record"
        return False

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        # Before the module's own rules, so that the user reads why: the
        # record is signed (for every user, administrators and root too)
        if mode in {'write', 'delete'}:
            signed = cls.signed_ids(records)
            for record in records:
                if record.id in signed and (mode == 'delete'
                        or not cls._signed_write_allowed(record, values)):
                    raise SignedRecordError(gettext(
                            'health_sign.msg_record_signed',
                            record=record.rec_name))
        super().check_modification(
            mode, records, values=values, external=external)

    @classmethod
    def check_parent_signed(cls, parents):
        "Refuse to change a child shown on a signed document"
        signed = cls.signed_ids(parents)
        for parent in parents:
            if parent.id in signed:
                raise SignedRecordError(gettext(
                        'health_sign.msg_record_signed',
                        record=parent.rec_name))

    def check_signable(self):
        "Raise when the record may not be signed now"
        if self.state not in self._signable_states:
            raise SignatureError(gettext(
                    'health_sign.msg_sign_state',
                    record=self.rec_name, state=self.state_string))

    def sign_company(self):
        return self.company

    def sign_employee(self):
        "The staff member expected to sign first (for the waiting list)"
        return None

    @classmethod
    @ModelView.button_action('health_sign.wizard_sign')
    def sign(cls, records):
        pass

    @classmethod
    @ModelView.button
    def verify_signatures(cls, records):
        Signature = Pool().get('health.sign.signature')
        signatures = Signature.of_records(records)
        Signature._verify([s for r in records
                for s in signatures[cls.__name__, r.id]])


class SignPending(ModelSQL, ModelView):
    "A document waiting for its first signature"
    __name__ = 'health.sign.pending'

    record = fields.Reference(
        "Document", selection='get_models', readonly=True)
    document_type = fields.Many2One(
        'health.sign.document.type', "Document Type", readonly=True)
    company = fields.Many2One('company.company', "Facility", readonly=True)
    patient = fields.Many2One('health.patient', "Patient", readonly=True)
    employee = fields.Many2One(
        'company.employee', "Signer", readonly=True,
        help="The practitioner or prescriber who signs the document.")
    date = fields.DateTime("Date", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_models(cls):
        return Pool().get('health.sign.signature').get_models()

    # Each signable model gives its part of the list:
    # (model name, table query parts) by _pending_sources
    @classmethod
    def _pending_sources(cls):
        "List of (model name, id offset) of the models in the list"
        return [('health.encounter', 0), ('health.prescription', 1)]

    @classmethod
    def table_query(cls):
        pool = Pool()
        DocumentType = pool.get('health.sign.document.type')
        Signature = pool.get('health.sign.signature')
        sources = cls._pending_sources()
        count = len(sources)
        queries = []
        for model_name, offset in sources:
            Model = pool.get(model_name)
            document_type = DocumentType.get_for_model(model_name)
            if not document_type:
                continue
            table = Model.__table__()
            signature = Signature.__table__()
            columns = Model._pending_columns(table)
            queries.append(table.select(
                    (table.id * count + offset).as_('id'),
                    Concat(model_name + ',',
                        Cast(table.id, 'VARCHAR')).as_('record'),
                    Literal(document_type.id).as_('document_type'),
                    table.company.as_('company'),
                    table.patient.as_('patient'),
                    columns['employee'].as_('employee'),
                    columns['date'].as_('date'),
                    table.create_uid.as_('create_uid'),
                    table.create_date.as_('create_date'),
                    Literal(Null).as_('write_uid'),
                    Literal(Null).as_('write_date'),
                    where=table.state.in_(list(Model._signable_states))
                    & ~table.id.in_(signature.select(signature.record_id,
                            where=signature.record_model == model_name))))
        if not queries:
            table = Signature.__table__()
            return table.select(
                table.id, table.record, table.document_type, table.company,
                Literal(Null).as_('patient'), table.employee,
                table.signed_at.as_('date'),
                table.create_uid, table.create_date,
                table.write_uid, table.write_date,
                where=Literal(False))
        query = queries[0]
        for other in queries[1:]:
            query = Union(query, other, all_=True)
        return query

    @classmethod
    def records_of(cls, pendings):
        return [p.record for p in pendings if p.record]


class SignBatch(ModelSQL, ModelView):
    "One run of the sign wizard: how many documents were signed or failed"
    __name__ = 'health.sign.batch'

    company = fields.Many2One(
        'company.company', "Facility", required=True, readonly=True,
        ondelete='RESTRICT')
    user = fields.Many2One(
        'res.user', "User", required=True, readonly=True,
        ondelete='RESTRICT')
    method = fields.Selection(
        METHODS, "Method", readonly=True, sort=False)
    certificate = fields.Many2One(
        'health.sign.certificate', "Certificate", readonly=True,
        ondelete='RESTRICT')
    started_at = fields.DateTime("Started At", readonly=True)
    finished_at = fields.DateTime("Finished At", readonly=True)
    total = fields.Integer("Documents", readonly=True)
    signed_count = fields.Integer("Signed", readonly=True)
    failed_count = fields.Integer("Failed", readonly=True)
    lines = fields.One2Many(
        'health.sign.batch.line', 'batch', "Documents", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('started_at', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return '%s %s' % (self.user.rec_name if self.user else '',
            self.started_at or '')

    @classmethod
    def check_modification(cls, mode, batches, values=None, external=False):
        super().check_modification(
            mode, batches, values=values, external=external)
        if external:
            raise SignatureAccessError(gettext(
                    'health_sign.msg_signature_readonly'))


class SignBatchLine(ModelSQL, ModelView):
    "The outcome of signing one document of a batch"
    __name__ = 'health.sign.batch.line'

    batch = fields.Many2One(
        'health.sign.batch', "Batch", required=True, ondelete='CASCADE')
    record = fields.Reference(
        "Document", selection='get_models', readonly=True)
    state = fields.Selection([
            ('signed', "Signed"),
            ('failed', "Failed"),
            ], "State", readonly=True, sort=False)
    state_string = state.translated('state')
    signature = fields.Many2One(
        'health.sign.signature', "Signature", readonly=True,
        ondelete='RESTRICT')
    message = fields.Text("Message", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('batch')

    @classmethod
    def get_models(cls):
        return Pool().get('health.sign.signature').get_models()

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if external:
            raise SignatureAccessError(gettext(
                    'health_sign.msg_signature_readonly'))


class SignStart(ModelView):
    "Sign documents: choose how and enter the secret once"
    __name__ = 'health.sign.sign.start'

    count = fields.Integer("Documents", readonly=True)
    documents = fields.Text("Documents to Sign", readonly=True)
    method = fields.Selection(
        METHODS, "Method", required=True, sort=False,
        help="Digital signature with your certificate, or confirmation "
        "with your account password where the station's regulation "
        "allows it.")
    certificate = fields.Many2One(
        'health.sign.certificate', "Certificate",
        domain=[
            ('owner', '=', Eval('user', -1)),
            ('state', '=', 'active'),
            ],
        states={
            'required': Eval('method') == 'certificate',
            'invisible': Eval('method') != 'certificate',
            })
    secret = fields.Char(
        "Passphrase, PIN or Password", strip=False,
        help="The passphrase of the PKCS#12 file, the PIN of the token, "
        "or your account password; it is used once and never stored.")
    user = fields.Many2One('res.user', "User", readonly=True)


class SignResult(ModelView):
    "What was signed and what failed"
    __name__ = 'health.sign.sign.result'

    batch = fields.Many2One('health.sign.batch', "Batch", readonly=True)
    signed_count = fields.Integer("Signed", readonly=True)
    failed_count = fields.Integer("Failed", readonly=True)
    failures = fields.Text("Failures", readonly=True)


class Sign(Wizard):
    """Sign the selected documents (one or many) with one entry of the
    passphrase, PIN or password; each document is signed or left as it
    was"""
    __name__ = 'health.sign.sign'

    start_state = 'check'
    check = StateTransition()
    start = StateView('health.sign.sign.start',
        'health_sign.sign_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Sign", 'sign_', 'tryton-ok', default=True),
            ])
    sign_ = StateTransition()
    result = StateView('health.sign.sign.result',
        'health_sign.sign_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def _documents(self):
        "The records to sign, from the selection"
        Pending = Pool().get('health.sign.pending')
        if self.model and self.model.__name__ == Pending.__name__:
            return Pending.records_of(self.records)
        return list(self.records)

    def transition_check(self):
        documents = self._documents()
        if not documents:
            raise SignatureError(gettext('health_sign.msg_sign_nothing'))
        for document in documents:
            if not isinstance(document, SignableMixin):
                raise SignatureError(gettext(
                        'health_sign.msg_sign_not_signable',
                        record=document.rec_name))
        by_model = defaultdict(list)
        for document in documents:
            by_model[document.__class__].append(document)
        with check_access():
            # Who may press the Sign button of each kind of document
            for Model, records in by_model.items():
                Model.sign(records)
        return 'start'

    def default_start(self, fields):
        pool = Pool()
        DocumentType = pool.get('health.sign.document.type')
        Certificate = pool.get('health.sign.certificate')
        user = Transaction().user
        documents = self._documents()
        method = 'account'
        for name in {d.__name__ for d in documents}:
            document_type = DocumentType.get_for_model(name)
            if not document_type or document_type.method == 'certificate':
                method = 'certificate'
        certificates = Certificate.search([
                ('owner', '=', user),
                ('state', '=', 'active'),
                ], limit=2)
        if certificates:
            method = 'certificate'
        lines = [d.rec_name for d in documents[:20]]
        if len(documents) > 20:
            lines.append('…')
        return {
            'count': len(documents),
            'documents': '\n'.join(lines),
            'method': method,
            'certificate': (
                certificates[0].id if len(certificates) == 1 else None),
            'user': user,
            }

    def transition_sign_(self):
        secret = self.start.secret
        # Never kept in the wizard session stored in the database
        self.start.secret = None
        batch = sign_documents(
            self._documents(), self.start.method, self.start.certificate,
            secret)
        del secret
        self.result.batch = batch
        self.result.signed_count = batch.signed_count
        self.result.failed_count = batch.failed_count
        self.result.failures = '\n'.join(
            f'{line.record.rec_name if line.record else ""}: {line.message}'
            for line in batch.lines if line.state == 'failed') or None
        return 'result'

    def default_result(self, fields):
        return {
            'batch': self.result.batch.id if self.result.batch else None,
            'signed_count': self.result.signed_count,
            'failed_count': self.result.failed_count,
            'failures': self.result.failures,
            }


def _check_account_password(secret):
    "Raise unless secret is the password of the current user"
    User = Pool().get('res.user')
    user = User(Transaction().user)
    with without_check_access():
        user_id = User._login_password(
            user.login, {'password': secret or ''})
    if user_id != user.id:
        raise SignatureError(gettext('health_sign.msg_sign_wrong_password'))


def _key_material(certificate, secret, at):
    """Check the certificate (NĐ 23/2025 Điều 15) and open its key once
    for the batch; only its owner may open it"""
    if not certificate:
        raise SignatureError(gettext('health_sign.msg_sign_no_certificate'))
    certificate.check_before_signing(at)
    return certificate.get_key_material(secret)


def _render(document_type, record):
    "The PDF of the record's form for signing"
    pool = Pool()
    Report = pool.get(document_type.report.report_name, type='report')
    return _check_pdf(Report.render_pdf([record], purpose='sign'), record)


def _check_pdf(pdf, record):
    "A failed conversion is an error, never an ODT signed as a PDF"
    if not pdf or not bytes(pdf).startswith(b'%PDF-'):
        raise SignatureError(gettext(
                'health_sign.msg_sign_not_pdf', record=record.rec_name))
    return bytes(pdf)


def _sign_options(company):
    "TSA URL and location of the facility's signatures"
    Configuration = Pool().get('health.sign.configuration')
    configuration = Configuration.get_for_company(company)
    return {
        'tsa_url': configuration.tsa_url or None,
        'location': company.rec_name if company else None,
        }


def sign_documents(documents, method, certificate, secret):
    """Sign each document with the key opened once and return the
    health.sign.batch.  A wrong secret or a certificate that may not sign
    refuses the whole batch; a document that cannot be signed is left as
    it was and reported."""
    pool = Pool()
    Batch = pool.get('health.sign.batch')
    Signature = pool.get('health.sign.signature')
    User = pool.get('res.user')
    transaction = Transaction()
    user = User(transaction.user)
    started_at = _now()

    by_model = defaultdict(list)
    for document in documents:
        by_model[document.__class__].append(document)
    for Model, records in by_model.items():
        # Two people signing the same document at once: the second waits
        # (the lock may restart the transaction: before opening the key)
        Model.lock(records)

    if method == 'account':
        _check_account_password(secret)
        key = None
        certificate = None
    else:
        key = _key_material(certificate, secret, started_at)
    try:
        existing = Signature.of_records(documents)
        results = []
        options = {}
        for document in documents:
            try:
                values = _sign_one(
                    document, method, certificate, key, user,
                    existing[document.__name__, document.id], options)
                with without_check_access():
                    signature, = Signature.create([values])
                results.append((document, 'signed', signature, None))
            except UserError as exception:
                results.append(
                    (document, 'failed', None, exception.message))
            except Exception as exception:
                if isinstance(exception, (
                            backend.DatabaseOperationalError,
                            TransactionError)):
                    # The whole transaction restarts
                    raise
                logger.exception("cannot sign %s", document)
                results.append((document, 'failed', None, gettext(
                            'health_sign.msg_sign_unexpected',
                            error=exception.__class__.__name__)))
    finally:
        if key is not None:
            key.close()
    company = documents[0].sign_company() if documents else user.company
    with without_check_access():
        batch, = Batch.create([{
                    'company': (company or user.company).id,
                    'user': user.id,
                    'method': method,
                    'certificate': certificate.id if certificate else None,
                    'started_at': started_at,
                    'finished_at': _now(),
                    'total': len(documents),
                    'signed_count': sum(
                        1 for r in results if r[1] == 'signed'),
                    'failed_count': sum(
                        1 for r in results if r[1] == 'failed'),
                    'lines': [('create', [{
                                    'record': str(document),
                                    'state': state,
                                    'signature': (
                                        signature.id if signature else None),
                                    'message': message,
                                    } for document, state, signature, message
                                in results])],
                    }])
    return batch


def _sign_one(document, method, certificate, key, user, previous, options):
    "The values of the signature of one document (no database change)"
    pool = Pool()
    DocumentType = pool.get('health.sign.document.type')
    document.check_signable()
    document_type = DocumentType.get_for_model(document.__name__)
    if not document_type:
        raise SignatureError(gettext(
                'health_sign.msg_sign_no_document_type',
                record=document.rec_name))
    if method == 'account' and document_type.method == 'certificate':
        raise SignatureError(gettext(
                'health_sign.msg_sign_certificate_required',
                record=document.rec_name,
                document_type=document_type.rec_name))
    sequence = (previous[-1].sequence + 1) if previous else 1
    if any(s.signer == user for s in previous):
        raise SignatureError(gettext(
                'health_sign.msg_sign_already_signed',
                record=document.rec_name))
    role = document_type.role_for(sequence)
    if document_type.roles and not role:
        raise SignatureError(gettext(
                'health_sign.msg_sign_all_signed',
                record=document.rec_name))
    if role and role.group and role.group not in user.groups:
        raise SignatureError(gettext(
                'health_sign.msg_sign_role',
                record=document.rec_name, role=role.name))
    company = document.sign_company()
    employee = user.employee
    if employee and company and employee.company != company:
        employee = None
    title = None
    if employee and getattr(employee, 'professional_title', None):
        title = employee.professional_title_string
    if role:
        title = title or role.name

    if previous and previous[-1].pdf:
        # Sign on top of the last signed version (incremental update)
        pdf = bytes(previous[-1].pdf)
    else:
        pdf = _render(document_type, document)
    signed_at = _now()
    field_name = f'Signature{sequence}'
    if method == 'certificate':
        from . import crypto
        if company not in options:
            options[company] = _sign_options(company)
        signer_name = (employee.rec_name if employee else user.name)
        signed_pdf = crypto.sign_pdf(
            pdf, key, field_name,
            crypto.stamp_lines(
                signer_name, title, signed_at.replace(tzinfo=tz.UTC),
                company_timezone(company)),
            tsa_url=options[company]['tsa_url'],
            reason=document_type.name,
            location=options[company]['location'])
    else:
        # Account confirmation: the PDF itself is not signed; its hash is
        # recorded with who confirmed it and when
        signed_pdf = pdf
    return {
        'company': company.id,
        'record': str(document),
        'document_type': document_type.id,
        'sequence': sequence,
        'field_name': field_name if method == 'certificate' else None,
        'signer': user.id,
        'employee': employee.id if employee else None,
        'title': title,
        'method': method,
        'certificate': certificate.id if certificate else None,
        'signed_at': signed_at,
        'pdf': signed_pdf,
        'sha256': sha256(signed_pdf),
        # The certificate was checked just before signing (NĐ 23/2025
        # Điều 15-16); the password was checked for an account confirmation
        'verification_state': 'valid',
        'verification_message': gettext(
            'health_sign.msg_verify_at_signing'),
        'verified_at': signed_at,
        }


class Rule(metaclass=PoolMeta):
    "Give the user id to the rule 'own signing runs'"
    __name__ = 'ir.rule'

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        if model_name == 'health.sign.batch':
            context['user_id'] = Transaction().user
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        if 'health.sign.batch' in model_names:
            key = (*key, Transaction().user)
        return key


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('health.sign.signature|verify_all', "Verify Signatures"))
