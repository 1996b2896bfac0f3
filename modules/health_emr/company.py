# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import Unique, fields
from trytond.pool import PoolMeta

from .exceptions import FacilityCodeError
from .identity import check_facility_code, normalize_digits, raise_if_invalid


class Company(metaclass=PoolMeta):
    "A health facility (cơ sở khám bệnh, chữa bệnh): one Trạm Y tế"
    __name__ = 'company.company'

    facility_code = fields.Char(
        "Facility Code",
        help="Mã cơ sở KCB: 5 digits, the 2-digit province then the "
        "3-digit facility number (QĐ 384/QĐ-BYT).")
    commune = fields.Many2One(
        'health.commune', "Commune", ondelete='RESTRICT',
        help="The commune, ward or special zone of the facility "
        "(administrative units since 01/07/2025).")
    province = fields.Function(fields.Many2One(
            'health.province', "Province",
            help="The province of the commune."),
        'on_change_with_province', searcher='search_province')
    department_of_health_header = fields.Char(
        "Line Ministry Header",
        help="Printed at the top left of forms, "
        "e.g. \"SỞ Y TẾ TỈNH BẮC NINH\".")
    sites = fields.One2Many('health.site', 'company', "Sites")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('facility_code_unique', Unique(table, table.facility_code),
                'health_emr.msg_facility_code_unique'),
            ]

    @fields.depends('commune')
    def on_change_with_province(self, name=None):
        return self.commune.province if self.commune else None

    @classmethod
    def search_province(cls, name, clause):
        return [('commune.province' + clause[0][len(name):], *clause[1:])]

    @fields.depends('commune', 'department_of_health_header')
    def on_change_commune(self):
        if self.commune and not self.department_of_health_header:
            self.department_of_health_header = (
                self.commune.province.department_of_health_header)

    @fields.depends('facility_code')
    def on_change_facility_code(self):
        self.facility_code = normalize_digits(self.facility_code)

    @classmethod
    def validate_fields(cls, companies, field_names):
        super().validate_fields(companies, field_names)
        if field_names is None or 'facility_code' in field_names:
            for company in companies:
                raise_if_invalid(
                    FacilityCodeError, check_facility_code,
                    company.facility_code,
                    code=company.facility_code, company=company.rec_name)
