# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The patient registry (master patient index of a facility) and the
health-insurance (BHYT) cards of each patient."""
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .model import FoldedNameMixin

SEXES = [
    ('male', "Male"),
    ('female', "Female"),
    ('unknown', "Undetermined"),
    ]
BIRTH_DATE_PRECISIONS = [
    ('day', "Day"),
    ('month', "Month and Year"),
    ('year', "Year Only"),
    ]


class Patient(FoldedNameMixin, DeactivableMixin, ModelSQL, ModelView):
    """A person registered at the facility: one record per person and
    facility, linked to the person's 12-digit personal ID (TT 13/2025
    Điều 1)."""
    __name__ = 'health.patient'
    _history = True

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT')
    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='RESTRICT',
        readonly=True)
    code = fields.Char("Patient Code", readonly=True)
    name = fields.Char("Full Name", required=True)
    birth_date = fields.Date(
        "Birth Date", required=True,
        help="For a year-only birth date, 1 January of the year; for a "
        "month and year, the first day of the month.")
    birth_date_precision = fields.Selection(
        BIRTH_DATE_PRECISIONS, "Birth Date Precision", required=True,
        sort=False)
    sex = fields.Selection(SEXES, "Sex", required=True, sort=False)
    sex_string = sex.translated('sex')
    personal_id = fields.Char(
        "Personal ID",
        help="Số định danh cá nhân: the 12-digit number of the citizen "
        "identity card, also the health identifier (mã định danh y tế).")
    old_id_number = fields.Char("Old ID Card Number", help="9-digit CMND.")
    passport_number = fields.Char("Passport Number")
    ethnicity = fields.Many2One('health.ethnicity', "Ethnicity")
    nationality = fields.Many2One('country.country', "Nationality")
    occupation = fields.Many2One('health.occupation', "Occupation")
    commune = fields.Many2One(
        'health.commune', "Commune", ondelete='RESTRICT',
        help="Commune or ward since the reform of 01/07/2025.")
    street = fields.Char(
        "Hamlet / Street", help="Thôn, xóm, tổ dân phố, house and street.")
    address_original = fields.Text(
        "Address as on the Card",
        help="The address read from the identity card, kept as written "
        "(it may name a district or commune that no longer exists).")
    phone = fields.Char("Phone")
    guardian_name = fields.Char("Guardian")
    guardian_relationship = fields.Char("Guardian Relationship")
    guardian_personal_id = fields.Char("Guardian Personal ID")
    guardian_phone = fields.Char("Guardian Phone")
    insurance_cards = fields.One2Many(
        'health.insurance.card', 'patient', "Health Insurance Cards")
    merged_into = fields.Many2One(
        'health.patient', "Merged Into", readonly=True,
        states={'invisible': ~Eval('merged_into')})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('company_code_unique', Unique(table, table.company, table.code),
                'health_emr.msg_patient_code_unique'),
            ('company_personal_id_unique',
                Unique(table, table.company, table.personal_id),
                'health_emr.msg_patient_personal_id_unique'),
            ]
        cls._order = [('name', 'ASC'), ('id', 'ASC')]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_birth_date_precision(cls):
        return 'day'

    @classmethod
    def default_sex(cls):
        return 'unknown'


class InsuranceCard(ModelSQL, ModelView):
    """A health-insurance (BHYT) card of a patient over its period of
    validity (QĐ 1351/QĐ-BHXH and amendments)."""
    __name__ = 'health.insurance.card'
    _history = True

    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='CASCADE')
    number = fields.Char(
        "Card Number", required=True,
        help="The 15-character card code (group, benefit level, province, "
        "social-insurance number) or the 10-digit social-insurance "
        "number alone.")
    valid_from = fields.Date("Valid From")
    valid_to = fields.Date("Valid To")
    registered_facility = fields.Char(
        "Primary-Care Facility Code",
        help="Nơi đăng ký KCB ban đầu (MA_DKBD): 5 characters.")
    registered_facility_name = fields.Char("Primary-Care Facility")
    area = fields.Selection([
            (None, ""),
            ('K1', "K1"),
            ('K2', "K2"),
            ('K3', "K3"),
            ], "Area", sort=False)
    continuous_since = fields.Date(
        "Five Years Continuous From",
        help="Thời điểm đủ 5 năm liên tục (NAM_NAM_LIEN_TUC).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('patient')
        cls._order = [('valid_from', 'DESC NULLS FIRST'), ('id', 'DESC')]


class InsuranceCheck(ModelSQL, ModelView):
    """The result of an insurance eligibility check (tra cứu thẻ BHYT),
    with its evidence: who, when, how and the raw answer."""
    __name__ = 'health.insurance.check'

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT')
    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='CASCADE')
    card = fields.Many2One(
        'health.insurance.card', "Card", ondelete='RESTRICT')
    card_number = fields.Char("Card Number Checked", required=True)
    checked_at = fields.DateTime("Checked At", required=True)
    checked_by = fields.Many2One(
        'company.employee', "Checked By", ondelete='RESTRICT')
    method = fields.Selection([
            ('manual', "Manual (portal or phone)"),
            ('gateway', "Social-Insurance Gateway"),
            ], "Method", required=True, sort=False)
    eligible = fields.Boolean("Eligible")
    result_code = fields.Char("Result Code")
    result_message = fields.Char("Result")
    raw_answer = fields.Text("Raw Answer")

    @staticmethod
    def default_company():
        return Transaction().context.get('company')
