# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The outpatient encounter (lượt khám ngoại trú): reception, vitals,
history, examination, ICD-10 diagnoses and disposition."""
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.pyson import Eval
from trytond.transaction import Transaction

IDENTITY_METHODS = [
    ('cccd_qr', "CCCD QR Code"),
    ('chip', "CCCD Chip Reader"),
    ('vneid', "VNeID"),
    ('insurance_card', "Health Insurance Card"),
    ('declared', "Declared"),
    ]


class Encounter(Workflow, ModelSQL, ModelView):
    "An outpatient visit of a patient at a site of the facility"
    __name__ = 'health.encounter'
    _history = True

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT')
    site = fields.Many2One(
        'health.site', "Site", required=True, ondelete='RESTRICT')
    number = fields.Char("Number", readonly=True)
    queue_number = fields.Integer("Queue Number", readonly=True)
    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='RESTRICT')
    practitioner = fields.Many2One(
        'company.employee', "Practitioner", ondelete='RESTRICT')
    arrival_at = fields.DateTime("Arrival", required=True)
    identity_method = fields.Selection(
        IDENTITY_METHODS, "Identity Checked By", required=True, sort=False)
    reason = fields.Text("Reason for Visit")
    insurance_card = fields.Many2One(
        'health.insurance.card', "Insurance Card", ondelete='RESTRICT')
    insurance_check = fields.Many2One(
        'health.insurance.check', "Eligibility Check", ondelete='RESTRICT',
        readonly=True)
    visit_category = fields.Many2One(
        'health.visit.category', "Visit Category", ondelete='RESTRICT')
    state = fields.Selection([
            ('registered', "Registered"),
            ('in_progress', "In Progress"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')
    cancel_reason = fields.Text(
        "Cancellation Reason",
        states={'invisible': Eval('state') != 'cancelled'})
    diagnoses = fields.One2Many(
        'health.encounter.diagnosis', 'encounter', "Diagnoses")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('arrival_at', 'DESC'), ('id', 'DESC')]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_site():
        return Transaction().context.get('site')

    @classmethod
    def default_state(cls):
        return 'registered'

    @classmethod
    def default_identity_method(cls):
        return 'declared'


class Diagnosis(ModelSQL, ModelView):
    "An ICD-10 diagnosis coded for an encounter"
    __name__ = 'health.encounter.diagnosis'
    _history = True

    encounter = fields.Many2One(
        'health.encounter', "Encounter", required=True, ondelete='CASCADE')
    sequence = fields.Integer("Sequence")
    kind = fields.Selection([
            ('main', "Main"),
            ('secondary', "Secondary"),
            ], "Kind", required=True, sort=False)
    disease = fields.Many2One(
        'health.disease', "Disease (ICD-10)", required=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('encounter')
        cls._order = [('encounter', 'ASC'), ('sequence', 'ASC NULLS LAST'),
            ('id', 'ASC')]

    @classmethod
    def default_kind(cls):
        return 'secondary'
