# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Outpatient prescriptions (đơn thuốc) per Thông tư 26/2025/TT-BYT."""
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.transaction import Transaction


class Prescription(Workflow, ModelSQL, ModelView):
    "A prescription written at an encounter; issued, it never changes"
    __name__ = 'health.prescription'
    _history = True

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT')
    encounter = fields.Many2One(
        'health.encounter', "Encounter", required=True, ondelete='RESTRICT')
    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='RESTRICT')
    prescriber = fields.Many2One(
        'company.employee', "Prescriber", ondelete='RESTRICT')
    code = fields.Char("Prescription Code", readonly=True)
    kind = fields.Selection([
            ('basic', "Basic"),
            ('narcotic', "Narcotic"),
            ('psychotropic', "Psychotropic / Precursor"),
            ], "Type", required=True, sort=False)
    state = fields.Selection([
            ('draft', "Draft"),
            ('issued', "Issued"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')
    lines = fields.One2Many('health.prescription.line', 'prescription',
        "Lines")

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'basic'

    @classmethod
    def default_state(cls):
        return 'draft'


class PrescriptionLine(ModelSQL, ModelView):
    "A medicine on a prescription, with its dose and duration"
    __name__ = 'health.prescription.line'
    _history = True

    prescription = fields.Many2One(
        'health.prescription', "Prescription", required=True,
        ondelete='CASCADE')
    medicine = fields.Many2One(
        'health.medicine', "Medicine", required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('prescription')
