# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Signing encounters (phiếu khám) and prescriptions (đơn thuốc): once
signed they never change; a correction of an encounter is an amendment
(a new version to sign), a correction of a prescription is a replacing
prescription (TT 26/2025)."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import check_access
from trytond.wizard import StateAction, Wizard

from .exceptions import AmendmentError
from .signature import SignableMixin


class Encounter(SignableMixin, metaclass=PoolMeta):
    __name__ = 'health.encounter'
    _signable_states = {'done'}

    amends = fields.Many2One(
        'health.encounter', "Amends", readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Eval('amends')},
        help="The signed encounter this version corrects; it stays as it "
        "was signed.")
    amended_by = fields.One2Many(
        'health.encounter', 'amends', "Amended By", readonly=True,
        states={'invisible': ~Eval('amended_by')})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'amend': {
                    'invisible': ~Eval('signed') | Bool(Eval('amended_by')),
                    'depends': ['signed', 'amended_by'],
                    },
                })

    @classmethod
    def _pending_columns(cls, table):
        return {'employee': table.practitioner, 'date': table.arrival_at}

    def sign_employee(self):
        return self.practitioner

    @classmethod
    def copy(cls, encounters, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('amends', None)
        default.setdefault('amended_by', None)
        return super().copy(encounters, default=default)

    @classmethod
    def check_modification(cls, mode, encounters, values=None,
            external=False):
        super().check_modification(
            mode, encounters, values=values, external=external)
        if mode == 'write' and external and 'amends' in values:
            raise AmendmentError(gettext(
                    'health_sign.msg_amends_readonly'))

    def active_prescriptions(self):
        # An amendment keeps the prescriptions issued at the first
        # version (a prescription is corrected by replacing it)
        prescriptions = super().active_prescriptions()
        if self.amends:
            prescriptions += self.amends.active_prescriptions()
        return prescriptions

    @classmethod
    @ModelView.button_action('health_sign.wizard_encounter_amend')
    def amend(cls, encounters):
        pass

    @classmethod
    def create_amendments(cls, encounters):
        """Return new encounters in progress copying the signed ones, with
        their diagnoses; the signed ones stay as they are"""
        pool = Pool()
        Diagnosis = pool.get('health.encounter.diagnosis')
        signed = cls.signed_ids(encounters)
        for encounter in encounters:
            if encounter.id not in signed:
                raise AmendmentError(gettext(
                        'health_sign.msg_amend_unsigned',
                        encounter=encounter.rec_name))
            for other in encounter.amended_by:
                if other.state != 'cancelled':
                    raise AmendmentError(gettext(
                            'health_sign.msg_amend_already',
                            encounter=encounter.rec_name,
                            amendment=other.rec_name))
        new = []
        now = dt.datetime.now().replace(microsecond=0)
        for encounter in encounters:
            amendment, = cls.copy([encounter], default={
                    'amends': encounter.id,
                    'state': 'in_progress',
                    # The clinical time of the visit stays that of the
                    # visit; the amendment is made now
                    'arrival_at': encounter.arrival_at,
                    'started_at': now,
                    'vitals_taken_at': encounter.vitals_taken_at,
                    'vitals_taken_by': (encounter.vitals_taken_by.id
                        if encounter.vitals_taken_by else None),
                    'insurance_check': (encounter.insurance_check.id
                        if encounter.insurance_check else None),
                    })
            Diagnosis.copy(encounter.diagnoses, default={
                    'encounter': amendment.id,
                    })
            new.append(amendment)
        return new


class Diagnosis(metaclass=PoolMeta):
    __name__ = 'health.encounter.diagnosis'

    @classmethod
    def check_modification(cls, mode, diagnoses, values=None,
            external=False):
        pool = Pool()
        Encounter = pool.get('health.encounter')
        encounters = {d.encounter for d in diagnoses}
        if mode == 'write' and values.get('encounter'):
            encounters.add(Encounter(values['encounter']))
        Encounter.check_parent_signed(list(encounters))
        super().check_modification(
            mode, diagnoses, values=values, external=external)


class EncounterAmend(Wizard):
    "Make a new version of a signed encounter to correct it"
    __name__ = 'health.encounter.amend'
    start = StateAction('health_emr.act_encounter_list')

    def do_start(self, action):
        with check_access():
            # Who may press the button, on which encounters
            self.model.amend(self.records)
        new = self.model.create_amendments(self.records)
        action['views'].reverse()
        return action, {'res_id': [e.id for e in new]}


class Prescription(SignableMixin, metaclass=PoolMeta):
    __name__ = 'health.prescription'
    _signable_states = {'issued'}

    @classmethod
    def _pending_columns(cls, table):
        return {'employee': table.prescriber, 'date': table.issued_at}

    def sign_employee(self):
        return self.prescriber

    @classmethod
    def _signed_write_allowed(cls, prescription, values):
        # A signed prescription is only cancelled (with its reason), by
        # the cancel wizard or when its replacement is issued: the signed
        # PDF stays as it was and the cancellation is logged
        return (prescription.state == 'issued'
            and values.get('state') == 'cancelled'
            and set(values) <= {'state', 'cancel_reason'})


class PrescriptionLine(metaclass=PoolMeta):
    __name__ = 'health.prescription.line'

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        pool = Pool()
        Prescription = pool.get('health.prescription')
        prescriptions = {line.prescription for line in lines}
        if mode == 'write' and values.get('prescription'):
            prescriptions.add(Prescription(values['prescription']))
        Prescription.check_parent_signed(list(prescriptions))
        super().check_modification(
            mode, lines, values=values, external=external)
