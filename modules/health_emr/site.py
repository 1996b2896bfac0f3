# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import SiteError
from .model import CodeNameSearchMixin


class Site(CodeNameSearchMixin, DeactivableMixin, ModelSQL, ModelView):
    """A place where a facility receives patients (điểm trạm): the main
    station or one of its sub-stations.  Every clinical record carries the
    site where it was made."""
    __name__ = 'health.site'

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='CASCADE')
    name = fields.Char("Name", required=True)
    code = fields.Char(
        "Code", required=True,
        help="A short code, unique in the facility, printed on queue "
        "tickets and patient codes.")
    kind = fields.Selection([
            ('main', "Main Station"),
            ('sub', "Sub-station"),
            ], "Kind", required=True, sort=False)
    kind_string = kind.translated('kind')
    commune = fields.Many2One(
        'health.commune', "Commune", ondelete='RESTRICT')
    street = fields.Char(
        "Hamlet / Street", help="Thôn, xóm, tổ dân phố or street address.")
    phone = fields.Char("Phone")
    users = fields.Many2Many(
        'res.user-health.site', 'site', 'user', "Users",
        help="The users who work at this site.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('company_code_unique', Unique(table, table.company, table.code),
                'health_emr.msg_site_code_unique'),
            ]
        cls._order = [
            ('company', 'ASC'), ('kind', 'ASC'), ('code', 'ASC'),
            ('id', 'ASC')]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'sub'

    @classmethod
    def validate(cls, sites):
        super().validate(sites)
        companies = {s.company for s in sites if s.kind == 'main'}
        for company in companies:
            mains = cls.search([
                    ('company', '=', company.id),
                    ('kind', '=', 'main'),
                    ])
            if len(mains) > 1:
                raise SiteError(gettext(
                        'health_emr.msg_site_one_main',
                        company=company.rec_name,
                        sites=', '.join(s.name for s in mains)))


class UserSite(ModelSQL):
    "The sites where a user works"
    __name__ = 'res.user-health.site'

    user = fields.Many2One(
        'res.user', "User", ondelete='CASCADE', required=True)
    site = fields.Many2One(
        'health.site', "Site", ondelete='CASCADE', required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('user')


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    sites = fields.Many2Many(
        'res.user-health.site', 'user', 'site', "Sites",
        domain=[
            ('company', 'in', Eval('companies', [])),
            ],
        help="The sites (main station, sub-stations) where the user works.")
    site = fields.Many2One(
        'health.site', "Current Site",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('id', 'in', Eval('sites', [])),
            ],
        states={
            'invisible': ~Eval('sites', []),
            },
        help="The site the user works at now: new records are made there.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._context_fields.insert(0, 'site')

    def get_status_bar(self, name):
        status = super().get_status_bar(name)
        # The domain of site keeps it in the current company
        if self.site:
            status += ' - %s' % self.site.rec_name
        return status

    @fields.depends('sites', 'site', 'company')
    def on_change_sites(self):
        sites = [s for s in (self.sites or [])
            if not self.company or s.company == self.company]
        if self.site and self.site not in sites:
            self.site = None
        if not self.site and len(sites) == 1:
            self.site, = sites

    @fields.depends(methods=['on_change_sites'])
    def on_change_company(self):
        super().on_change_company()
        self.on_change_sites()
