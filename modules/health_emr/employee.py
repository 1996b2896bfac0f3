# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import Unique, fields
from trytond.pool import PoolMeta

from .exceptions import PersonalIdError, SocialInsuranceNumberError
from .identity import (
    check_personal_id, check_social_insurance_number, normalize_digits,
    raise_if_invalid)


class Employee(metaclass=PoolMeta):
    """A staff member of a facility, with what Vietnamese regulation asks
    of a practitioner (Luật KBCB 15/2023, QĐ 4750 MA_BAC_SI)."""
    __name__ = 'company.employee'

    professional_title = fields.Selection([
            (None, ""),
            ('doctor', "Doctor"),
            ('physician_assistant', "Physician Assistant"),
            ('nurse', "Nurse"),
            ('midwife', "Midwife"),
            ('medical_technician', "Medical Technician"),
            ('pharmacist', "Pharmacist"),
            ('traditional_medicine', "Traditional Medicine Practitioner"),
            ('public_health', "Public Health Officer"),
            ('administrative', "Administrative Staff"),
            ], "Professional Title", sort=False)
    professional_title_string = professional_title.translated(
        'professional_title')
    practising_certificate = fields.Char(
        "Practising Certificate",
        help="Number of the practising certificate or licence "
        "(số chứng chỉ hành nghề / giấy phép hành nghề).")
    personal_id = fields.Char(
        "Personal ID",
        help="The 12-digit personal identification number printed on the "
        "citizen identity card (số định danh cá nhân).")
    social_insurance_number = fields.Char(
        "Social Insurance Number",
        help="The 10-digit social-insurance number (mã số BHXH).")
    scope_of_practice = fields.Text(
        "Scope of Practice",
        help="As written on the practising certificate "
        "(phạm vi hoạt động chuyên môn).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('personal_id_company_unique',
                Unique(table, table.company, table.personal_id),
                'health_emr.msg_employee_personal_id_unique'),
            ]

    @fields.depends('personal_id')
    def on_change_personal_id(self):
        self.personal_id = normalize_digits(self.personal_id)

    @fields.depends('social_insurance_number')
    def on_change_social_insurance_number(self):
        self.social_insurance_number = normalize_digits(
            self.social_insurance_number)

    @fields.depends('practising_certificate')
    def on_change_practising_certificate(self):
        if self.practising_certificate:
            self.practising_certificate = (
                self.practising_certificate.strip().upper())

    @classmethod
    def validate_fields(cls, employees, field_names):
        super().validate_fields(employees, field_names)
        for employee in employees:
            if field_names is None or 'personal_id' in field_names:
                raise_if_invalid(
                    PersonalIdError, check_personal_id, employee.personal_id,
                    number=employee.personal_id, person=employee.rec_name)
            if (field_names is None
                    or 'social_insurance_number' in field_names):
                raise_if_invalid(
                    SocialInsuranceNumberError, check_social_insurance_number,
                    employee.social_insurance_number,
                    number=employee.social_insurance_number,
                    person=employee.rec_name)
