# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Outpatient prescriptions (đơn thuốc) per Thông tư 26/2025/TT-BYT."""
import datetime as dt
import secrets
from decimal import ROUND_CEILING, Decimal

from sql import Null

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields, sequence_ordered)
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction, check_access, without_check_access
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .exceptions import PersonalIdError
from .identity import check_personal_id, normalize_digits, raise_if_invalid
from .model import fold


class PrescriptionError(ValidationError):
    pass


class PrescriptionAccessError(AccessError):
    pass


# Prescription types of TT 26/2025/TT-BYT with, for each, the letter that
# ends the prescription code (QĐ 808/QĐ-BYT "xxxxxyyyyyyy-z") and the
# controlled-medicine classes (health.medicine.controlled) it may hold.
# The letters c/n/h are those of REGULATIONS.md §5.2; they are NOT yet
# verified against the text of QĐ 808 (nor whether precursors go on "h").
PRESCRIPTION_KINDS = {
    'basic': ('c', ('none',)),
    'narcotic': ('n', ('narcotic',)),
    'psychotropic': ('h', ('psychotropic', 'precursor')),
    }

# Longest treatment a prescription may cover (TT 26/2025/TT-BYT, quantity
# limits as summarised in REGULATIONS.md §5.1; the article numbers are not
# verified).  rule: (days, message that names the rule to the user).
# Not implemented: the longer narcotic durations for cancer or AIDS pain
# (TT 26/2025 Điều 8) and any specific limit for psychotropics.
DAY_LIMITS = {
    'standard': (30, 'msg_prescription_limit_standard'),
    'chronic': (90, 'msg_prescription_limit_chronic'),
    'narcotic_acute_pain': (7, 'msg_prescription_limit_narcotic'),
    }

# Children under 72 months: age in months, weight and the parent or
# guardian who brings the child are written on the prescription
# (TT 26/2025/TT-BYT, REGULATIONS.md §5.1).
CHILD_AGE_MONTHS = 72
CODE_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
CODE_RANDOM_LENGTH = 7


def _medicine_domain():
    "Medicines allowed by the prescription type, from PRESCRIPTION_KINDS"
    domain = ('controlled', 'in', list(PRESCRIPTION_KINDS['basic'][1]))
    for kind, (_, classes) in PRESCRIPTION_KINDS.items():
        if kind != 'basic':
            domain = If(Eval('prescription_kind') == kind,
                ('controlled', 'in', list(classes)), domain)
    return [domain]


def _controlled_allowed(kind, controlled):
    classes = PRESCRIPTION_KINDS[kind][1]
    return (controlled or 'none') in classes


class Prescription(Workflow, ModelSQL, ModelView):
    "A prescription written at an encounter; issued, it never changes"
    __name__ = 'health.prescription'
    _history = True
    _rec_name = 'code'

    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT',
        states=_states)
    encounter = fields.Many2One(
        'health.encounter', "Encounter", required=True, ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('state', 'in', ['in_progress', 'done']),
            ],
        states=_states)
    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states=_states)
    prescriber = fields.Many2One(
        'company.employee', "Prescriber", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states=_states,
        help="The practitioner who signs the prescription; when issued, "
        "the staff member of the user who issues it.")
    code = fields.Char(
        "Prescription Code", readonly=True,
        help="Mã đơn thuốc: the 5-character facility code, 7 random "
        "characters, \"-\" and the letter of the prescription type; "
        "given when the prescription is issued.")
    kind = fields.Selection([
            ('basic', "Basic"),
            ('narcotic', "Narcotic"),
            ('psychotropic', "Psychotropic / Precursor"),
            ], "Type", required=True, sort=False, states=_states,
        help="Narcotic and psychotropic or precursor medicines are "
        "prescribed on their own prescription types.")
    kind_string = kind.translated('kind')
    date = fields.Date("Date", required=True, states=_states)
    issued_at = fields.DateTime("Issued At", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('issued', "Issued"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')

    diagnosis = fields.Function(
        fields.Text("Diagnosis"), 'get_diagnosis')
    chronic = fields.Boolean(
        "Chronic Disease", states=_states,
        help="For a disease on the list of TT 26/2025 Phụ lục VII: the "
        "prescription may then cover up to 90 days instead of 30.")
    day_limit = fields.Function(
        fields.Integer("Maximum Days",
            help="The longest treatment this prescription may cover."),
        'on_change_with_day_limit')

    age_months = fields.Function(
        fields.Integer("Age (Months)"), 'on_change_with_age_months')
    is_child = fields.Function(
        fields.Boolean("Child under 72 Months"), 'on_change_with_is_child')
    weight = fields.Numeric(
        "Weight (kg)", digits=(5, 2),
        states={
            'readonly': Eval('state') != 'draft',
            'required': Bool(Eval('is_child')) & (Eval('state') != 'draft'),
            },
        help="Required for a child under 72 months.")
    guardian_name = fields.Char(
        "Guardian",
        states={
            'readonly': Eval('state') != 'draft',
            'required': Bool(Eval('is_child')) & (Eval('state') != 'draft'),
            },
        help="The parent or guardian who brings the child; required for "
        "a child under 72 months.")
    guardian_personal_id = fields.Char(
        "Guardian Personal ID",
        states={
            'readonly': Eval('state') != 'draft',
            'required': Bool(Eval('is_child')) & (Eval('state') != 'draft'),
            },
        help="The 12-digit personal ID of the parent or guardian.")

    lines = fields.One2Many(
        'health.prescription.line', 'prescription', "Medicines",
        states=_states)
    advice = fields.Text("Advice", states=_states, help="Lời dặn.")
    reexamination_date = fields.Date(
        "Re-examination Date",
        domain=[
            If(Bool(Eval('reexamination_date')),
                ('reexamination_date', '>=', Eval('date')),
                ()),
            ],
        states=_states)

    replaces = fields.Many2One(
        'health.prescription', "Replaces", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': ~Eval('replaces')},
        help="The issued prescription this one changes; it is cancelled "
        "when this one is issued.")
    replaced_by = fields.One2Many(
        'health.prescription', 'replaces', "Replaced By", readonly=True,
        states={'invisible': ~Eval('replaced_by')})
    cancel_reason = fields.Text(
        "Cancellation Reason", readonly=True,
        states={'invisible': Eval('state') != 'cancelled'})

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(table, table.code),
                'health_emr.msg_prescription_code_unique'),
            ]
        cls._sql_indexes.update({
                Index(table,
                    (table.patient, Index.Range()),
                    (table.date, Index.Range(order='DESC'))),
                Index(table, (table.encounter, Index.Range())),
                Index(table, (table.replaces, Index.Range()),
                    where=table.replaces != Null),
                })
        cls._order = [
            ('date', 'DESC NULLS FIRST'), ('issued_at', 'DESC NULLS FIRST'),
            ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'issued'),
            ('issued', 'cancelled'),
            }
        cls._buttons.update({
                'issue': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'issued',
                    'depends': ['state'],
                    },
                'replace': {
                    'invisible': ((Eval('state') != 'issued')
                        | Bool(Eval('replaced_by'))),
                    'depends': ['state', 'replaced_by'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'basic'

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_chronic(cls):
        return False

    @staticmethod
    def default_prescriber():
        return Transaction().context.get('employee')

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('//group[@id="child"]', 'states', {
                    'invisible': ~Eval('is_child'),
                    }),
            ]

    def get_rec_name(self, name):
        if self.code:
            return self.code
        return self.patient.rec_name if self.patient else str(self.id)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('code', operator, operand, *extra),
            ('patient.rec_name', operator, operand, *extra),
            ]

    @fields.depends(
        'encounter', '_parent_encounter.company', '_parent_encounter.patient',
        '_parent_encounter.weight', 'patient', 'weight', 'company',
        methods=['on_change_patient'])
    def on_change_encounter(self):
        if not self.encounter:
            return
        if self.encounter.company:
            self.company = self.encounter.company
        if self.encounter.patient:
            self.patient = self.encounter.patient
        if self.weight is None:
            self.weight = getattr(self.encounter, 'weight', None)
        self.on_change_patient()

    @fields.depends(
        'patient', '_parent_patient.guardian_name',
        '_parent_patient.guardian_personal_id', 'guardian_name',
        'guardian_personal_id')
    def on_change_patient(self):
        if not self.patient:
            return
        if not self.guardian_name:
            self.guardian_name = self.patient.guardian_name
        if not self.guardian_personal_id:
            self.guardian_personal_id = self.patient.guardian_personal_id

    @fields.depends('guardian_personal_id')
    def on_change_guardian_personal_id(self):
        self.guardian_personal_id = normalize_digits(
            self.guardian_personal_id) or None

    @fields.depends('patient', 'date', 'encounter',
        '_parent_encounter.patient')
    def on_change_with_age_months(self, name=None):
        # The patient may not be set yet when the encounter is chosen
        # (on_change_encounter sets it, but the client does not cascade)
        patient = self.patient or (
            self.encounter.patient if self.encounter else None)
        if patient:
            return patient.age_months(
                self.date or Pool().get('ir.date').today())

    @fields.depends(methods=['on_change_with_age_months'])
    def on_change_with_is_child(self, name=None):
        months = self.on_change_with_age_months()
        return months is not None and months < CHILD_AGE_MONTHS

    @classmethod
    def get_diagnosis(cls, prescriptions, name):
        "ICD-10 code and name of the encounter's diagnoses, main first"
        result = {}
        for prescription in prescriptions:
            result[prescription.id] = prescription._diagnosis_text()
        return result

    def _diagnosis_text(self):
        if not self.encounter:
            return None
        diagnoses = sorted(
            self.encounter.diagnoses or [],
            key=lambda d: (d.kind != 'main', d.sequence is None,
                d.sequence or 0, d.id or 0))
        return '; '.join(
            f'{d.disease.code} - {d.disease.name}'
            for d in diagnoses if d.disease) or None

    @property
    def chronic_allowed(self):
        "One of the encounter's diagnoses is on the chronic list (PL VII)"
        if not self.encounter:
            return False
        return any(
            d.disease and getattr(d.disease, 'chronic_prescription', False)
            for d in self.encounter.diagnoses or [])

    @fields.depends('kind', 'chronic', 'encounter',
        '_parent_encounter.diagnoses')
    def day_limit_rule(self):
        "The key of DAY_LIMITS that applies to this prescription"
        if self.kind == 'narcotic':
            return 'narcotic_acute_pain'
        elif self.chronic and self.chronic_allowed:
            return 'chronic'
        return 'standard'

    @fields.depends(methods=['day_limit_rule'])
    def on_change_with_day_limit(self, name=None):
        return DAY_LIMITS[self.day_limit_rule()][0]

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Encounter = pool.get('health.encounter')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and values.get('encounter'):
            # Proteus and scripts may give only the encounter
            encounter = Encounter(values['encounter'])
            values.setdefault('patient', encounter.patient.id)
            values.setdefault('company', encounter.company.id)
            if 'weight' not in values:
                values['weight'] = getattr(encounter, 'weight', None)
            patient = encounter.patient
            if values['patient'] == patient.id:
                for field in ['guardian_name', 'guardian_personal_id']:
                    if field not in values:
                        values[field] = getattr(patient, field, None)
        if 'guardian_personal_id' in values:
            # The web client sends '' for an empty field
            values['guardian_personal_id'] = normalize_digits(
                values['guardian_personal_id']) or None
        return values

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'create':
            for prescription in records:
                if prescription.state != 'draft' or prescription.code:
                    raise PrescriptionAccessError(gettext(
                            'health_emr.msg_prescription_create_draft'))
        elif mode == 'delete':
            for prescription in records:
                if prescription.state != 'draft':
                    prescription._raise_immutable()
        elif mode == 'write':
            if external and values.keys() & cls._workflow_fields():
                # Only issue, cancel and replace set these
                for prescription in records:
                    raise PrescriptionAccessError(gettext(
                            'health_emr.msg_prescription_workflow_field',
                            prescription=prescription.rec_name))
            for prescription in records:
                if prescription.state == 'draft':
                    if values.get('state', 'draft') not in {
                            'draft', 'issued'}:
                        prescription._raise_immutable()
                    continue
                # An issued prescription may only be cancelled, with its
                # reason, in the same write (see cancel_with_reason)
                if (prescription.state == 'issued'
                        and values.get('state') == 'cancelled'
                        and set(values) <= {'state', 'cancel_reason'}
                        and (values.get('cancel_reason')
                            or prescription.cancel_reason)):
                    continue
                prescription._raise_immutable()

    @classmethod
    def _workflow_fields(cls):
        return {'state', 'code', 'issued_at', 'cancel_reason', 'replaces'}

    def _raise_immutable(self):
        raise PrescriptionAccessError(gettext(
                'health_emr.msg_prescription_immutable',
                prescription=self.rec_name,
                state=self.state_string))

    @classmethod
    def validate_fields(cls, prescriptions, field_names):
        super().validate_fields(prescriptions, field_names)
        check_lines = field_names is None or bool(
            {'kind', 'chronic', 'encounter', 'lines'} & field_names)
        for prescription in prescriptions:
            if field_names is None or {'patient', 'encounter'} & field_names:
                prescription.check_patient()
            if field_names is None or 'weight' in field_names:
                prescription.check_weight()
            if (field_names is None
                    or 'guardian_personal_id' in field_names):
                raise_if_invalid(
                    PersonalIdError, check_personal_id,
                    prescription.guardian_personal_id,
                    number=prescription.guardian_personal_id,
                    person=prescription.guardian_name or '')
            if check_lines and prescription.state == 'draft':
                for line in prescription.lines:
                    line.check_medicine()
                    line.check_posology()

    def check_patient(self):
        if (self.encounter and self.patient
                and self.encounter.patient != self.patient):
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_patient_encounter',
                    prescription=self.rec_name,
                    encounter=self.encounter.rec_name))

    def check_weight(self):
        # A newborn may weigh under 1 kg; no one weighs 500 kg
        if self.weight is not None and not (0 < self.weight < 500):
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_weight',
                    prescription=self.rec_name,
                    weight=self.weight))

    def check_issue(self):
        "Everything TT 26/2025 asks of a prescription before it is issued"
        if self.encounter.state not in {'in_progress', 'done'}:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_encounter_state',
                    prescription=self.rec_name,
                    encounter=self.encounter.rec_name,
                    state=self.encounter.state_string))
        self.check_patient()
        if not self.company.facility_code:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_facility_code',
                    company=self.company.rec_name))
        if not self.prescriber:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_prescriber',
                    prescription=self.rec_name))
        if not self.lines:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_no_lines',
                    prescription=self.rec_name))
        if self.chronic and not self.chronic_allowed:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_chronic',
                    prescription=self.rec_name,
                    encounter=self.encounter.rec_name))
        if self.is_child:
            for field in ['weight', 'guardian_name', 'guardian_personal_id']:
                if not getattr(self, field):
                    raise PrescriptionError(gettext(
                            'health_emr.msg_prescription_child_missing',
                            patient=self.patient.rec_name,
                            months=self.age_months,
                            field=self.__names__(field)['field']))
        self.check_weight()
        if self.reexamination_date and self.reexamination_date < self.date:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_reexamination_date',
                    prescription=self.rec_name))
        for line in self.lines:
            line.check_medicine()
            line.check_posology()
            if not line.quantity or line.quantity <= 0:
                raise PrescriptionError(gettext(
                        'health_emr.msg_prescription_line_quantity',
                        medicine=line.medicine.rec_name,
                        prescription=self.rec_name))

    @classmethod
    def _new_codes(cls, prescriptions):
        "Fresh, unused prescription codes (QĐ 808: xxxxxyyyyyyy-z)"
        codes = {}
        used = set()
        while len(codes) < len(prescriptions):
            candidates = {}
            for prescription in prescriptions:
                if prescription in codes:
                    continue
                random = ''.join(
                    secrets.choice(CODE_ALPHABET)
                    for _ in range(CODE_RANDOM_LENGTH))
                letter = PRESCRIPTION_KINDS[prescription.kind][0]
                code = (f'{prescription.company.facility_code}'
                    f'{random}-{letter}')
                if code not in used:
                    candidates[prescription] = code
                    used.add(code)
            with without_check_access():
                taken = {p.code for p in cls.search([
                            ('code', 'in', list(candidates.values())),
                            ])}
            for prescription, code in candidates.items():
                if code not in taken:
                    codes[prescription] = code
        return codes

    @classmethod
    @ModelView.button
    @Workflow.transition('issued')
    def issue(cls, prescriptions):
        pool = Pool()
        Date = pool.get('ir.date')
        User = pool.get('res.user')
        user = User(Transaction().user)
        employee = user.employee
        now = dt.datetime.now()
        today = Date.today()

        to_write = []
        for prescription in prescriptions:
            values = {}
            # The one who issues signs: the prescriber is the user's staff
            # member in this facility, else the one chosen on the draft
            if employee and employee.company == prescription.company:
                if prescription.prescriber != employee:
                    values['prescriber'] = employee.id
                    prescription.prescriber = employee
            if prescription.date != today:
                values['date'] = today
                prescription.date = today
            if values:
                to_write.extend(([prescription], values))
        if to_write:
            cls.write(*to_write)
        for prescription in prescriptions:
            prescription.check_issue()

        codes = cls._new_codes(prescriptions)
        to_write = []
        for prescription in prescriptions:
            to_write.extend(([prescription], {
                        'code': codes[prescription],
                        'issued_at': now,
                        }))
        if to_write:
            cls.write(*to_write)

        # A change is a new prescription: the one it replaces ends here
        replaced = [p.replaces for p in prescriptions
            if p.replaces and p.replaces.state == 'issued']
        if replaced:
            by_replaced = {p.replaces: p for p in prescriptions
                if p.replaces}
            for old in replaced:
                new = by_replaced[old]
                cls.cancel_with_reason([old], gettext(
                        'health_emr.msg_prescription_replaced_by',
                        code=new.code))

    @classmethod
    @ModelView.button_action('health_emr.wizard_prescription_cancel')
    def cancel(cls, prescriptions):
        pass

    @classmethod
    @Workflow.transition('cancelled')
    def cancel_with_reason(cls, prescriptions, reason):
        "Cancel issued prescriptions; the reason is required"
        reason = (reason or '').strip()
        if not reason:
            for prescription in prescriptions:
                raise PrescriptionError(gettext(
                        'health_emr.msg_prescription_cancel_reason',
                        prescription=prescription.rec_name))
        if prescriptions:
            with without_check_access():
                cls.write(prescriptions, {
                        'state': 'cancelled',
                        'cancel_reason': reason,
                        })

    @classmethod
    @ModelView.button_action('health_emr.wizard_prescription_replace')
    def replace(cls, prescriptions):
        pass

    @classmethod
    def create_replacements(cls, prescriptions):
        """Return new draft prescriptions copying the issued ones; issuing
        a copy cancels the prescription it replaces."""
        for prescription in prescriptions:
            if prescription.state != 'issued':
                raise PrescriptionError(gettext(
                        'health_emr.msg_prescription_replace_state',
                        prescription=prescription.rec_name,
                        state=prescription.state_string))
            for other in prescription.replaced_by:
                if other.state != 'cancelled':
                    raise PrescriptionError(gettext(
                            'health_emr.msg_prescription_already_replaced',
                            prescription=prescription.rec_name,
                            replacement=other.rec_name))
        new = []
        for prescription in prescriptions:
            new.extend(cls.copy([prescription], default={
                        'replaces': prescription.id,
                        }))
        return new

    @classmethod
    def copy(cls, prescriptions, default=None):
        if default is None:
            default = {}
        else:
            default = default.copy()
        default.setdefault('code', None)
        default.setdefault('issued_at', None)
        default.setdefault('cancel_reason', None)
        default.setdefault('replaces', None)
        default.setdefault('replaced_by', None)
        default.setdefault('date', cls.default_date())
        default.setdefault('prescriber', cls.default_prescriber())
        return super().copy(prescriptions, default=default)


class PrescriptionLine(sequence_ordered(), ModelSQL, ModelView):
    "A medicine on a prescription, with its dose and duration"
    __name__ = 'health.prescription.line'
    _history = True

    _states = {
        'readonly': Eval('prescription_state') != 'draft',
        }

    prescription = fields.Many2One(
        'health.prescription', "Prescription", required=True,
        ondelete='CASCADE',
        states={
            'readonly': ((Eval('prescription_state') != 'draft')
                & Bool(Eval('prescription'))),
            })
    prescription_kind = fields.Function(
        fields.Selection('get_prescription_kinds', "Prescription Type"),
        'on_change_with_prescription_kind')
    prescription_state = fields.Function(
        fields.Selection('get_prescription_states', "Prescription State"),
        'on_change_with_prescription_state')
    medicine = fields.Many2One(
        'health.medicine', "Medicine", required=True, ondelete='RESTRICT',
        domain=_medicine_domain(), states=_states)
    dose = fields.Numeric(
        "Dose", digits=(16, 3), required=True, states=_states,
        help="The amount taken each time, in the dose unit.")
    dose_unit = fields.Char(
        "Dose Unit", states=_states,
        help="Tablet, capsule, ml, sachet… (by default the medicine's unit).")
    times_per_day = fields.Integer(
        "Times per Day", required=True, states=_states)
    days = fields.Integer("Days", required=True, states=_states)
    quantity = fields.Numeric(
        "Quantity", digits=(16, 2), states=_states,
        help="The quantity to dispense, in the unit; computed from the "
        "dose, the times per day and the days when the dose unit is the "
        "unit, otherwise to fill in (e.g. bottles of syrup).")
    unit = fields.Char(
        "Unit", states=_states, help="The unit the medicine is dispensed in.")
    route = fields.Char(
        "Route", states=_states, help="Đường dùng: oral, injection…")
    instructions = fields.Char(
        "Instructions", states=_states,
        help="Cách dùng, e.g. \"Uống sau ăn\".")
    usage = fields.Function(fields.Char("Usage"), 'on_change_with_usage')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('prescription')

    @classmethod
    def get_prescription_kinds(cls):
        Prescription = Pool().get('health.prescription')
        return Prescription.fields_get(['kind'])['kind']['selection']

    @classmethod
    def get_prescription_states(cls):
        Prescription = Pool().get('health.prescription')
        return Prescription.fields_get(['state'])['state']['selection']

    @fields.depends('prescription', '_parent_prescription.kind')
    def on_change_with_prescription_kind(self, name=None):
        if self.prescription:
            return self.prescription.kind

    @fields.depends('prescription', '_parent_prescription.state')
    def on_change_with_prescription_state(self, name=None):
        if self.prescription:
            return self.prescription.state
        return 'draft'

    @classmethod
    def default_prescription_state(cls):
        return 'draft'

    @classmethod
    def default_times_per_day(cls):
        return 1

    @fields.depends('medicine', 'dose_unit', 'unit', 'route',
        methods=['on_change_dose'])
    def on_change_medicine(self):
        if not self.medicine:
            return
        unit = _display(self.medicine, 'unit')
        if unit:
            self.dose_unit = unit
            self.unit = unit
        route = _display(self.medicine, 'route')
        if route:
            self.route = route
        self.on_change_dose()

    @fields.depends('dose', 'times_per_day', 'days', 'dose_unit', 'unit',
        'quantity')
    def on_change_dose(self):
        quantity = self.compute_quantity()
        if quantity is not None:
            self.quantity = quantity

    @fields.depends(methods=['on_change_dose'])
    def on_change_times_per_day(self):
        self.on_change_dose()

    @fields.depends(methods=['on_change_dose'])
    def on_change_days(self):
        self.on_change_dose()

    @fields.depends(methods=['on_change_dose'])
    def on_change_dose_unit(self):
        self.on_change_dose()

    @fields.depends(methods=['on_change_dose'])
    def on_change_unit(self):
        self.on_change_dose()

    @fields.depends('dose', 'times_per_day', 'days', 'dose_unit', 'unit')
    def compute_quantity(self):
        """ceil(dose × times per day × days) when the dose is counted in
        the unit dispensed, else None (the prescriber fills it in)"""
        if (self.dose is None or self.times_per_day is None
                or self.days is None):
            return None
        if (self.dose_unit and self.unit
                and fold(self.dose_unit) != fold(self.unit)):
            return None
        total = Decimal(self.dose) * self.times_per_day * self.days
        return total.to_integral_value(rounding=ROUND_CEILING)

    @fields.depends('dose', 'dose_unit', 'times_per_day', 'days', 'route')
    def on_change_with_usage(self, name=None):
        pool = Pool()
        Lang = pool.get('ir.lang')
        if not self.dose or not self.times_per_day or not self.days:
            return None
        route = fold(self.route or '')
        if 'uong' in route or 'oral' in route:
            message = 'health_emr.msg_prescription_usage_oral'
        elif 'tiem' in route or 'inject' in route:
            message = 'health_emr.msg_prescription_usage_injection'
        else:
            message = 'health_emr.msg_prescription_usage_other'
        lang = Lang.get()
        dose = Decimal(self.dose).normalize()
        dose = lang.format_number(
            dose, digits=max(0, -dose.as_tuple().exponent))
        return gettext(message,
            times=self.times_per_day, dose=dose,
            unit=self.dose_unit or '', days=self.days).replace('  ', ' ')

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Medicine = pool.get('health.medicine')
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            if values.get('medicine'):
                medicine = Medicine(values['medicine'])
                for field, source in [
                        ('dose_unit', 'unit'), ('unit', 'unit'),
                        ('route', 'route')]:
                    if not values.get(field):
                        values[field] = _display(medicine, source)
            if values.get('quantity') is None:
                line = cls(**{k: values.get(k) for k in [
                            'dose', 'times_per_day', 'days', 'dose_unit',
                            'unit']})
                values['quantity'] = line.compute_quantity()
        return values

    @classmethod
    def write(cls, *args):
        # Keep the computed quantity in step with the dose and duration
        # unless the write sets the quantity itself
        actions = iter(args)
        recompute = []
        for lines, values in zip(actions, actions):
            if ({'dose', 'times_per_day', 'days', 'dose_unit', 'unit'}
                    & values.keys()) and 'quantity' not in values:
                recompute.extend(lines)
        super().write(*args)
        to_write = []
        for line in cls.browse(recompute):
            quantity = line.compute_quantity()
            if quantity is not None and quantity != line.quantity:
                to_write.extend(([line], {'quantity': quantity}))
        if to_write:
            super().write(*to_write)

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        pool = Pool()
        Prescription = pool.get('health.prescription')
        super().check_modification(
            mode, lines, values=values, external=external)
        prescriptions = {line.prescription for line in lines}
        if mode == 'write' and values.get('prescription'):
            prescriptions.add(Prescription(values['prescription']))
        for prescription in prescriptions:
            if prescription.state != 'draft':
                prescription._raise_immutable()

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        for line in lines:
            if line.prescription.state != 'draft':
                continue
            if field_names is None or {'medicine', 'prescription'} & (
                    field_names):
                line.check_medicine()
            line.check_posology()

    def check_medicine(self):
        "The medicine fits the prescription type (controlled classes)"
        prescription = self.prescription
        controlled = getattr(self.medicine, 'controlled', None)
        if _controlled_allowed(prescription.kind, controlled):
            return
        if prescription.kind == 'basic':
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_line_controlled_basic',
                    medicine=self.medicine.rec_name,
                    controlled=self.medicine.__names__(
                        'controlled', self.medicine)['value']))
        raise PrescriptionError(gettext(
                'health_emr.msg_prescription_line_controlled_kind',
                medicine=self.medicine.rec_name,
                kind=prescription.kind_string))

    def check_posology(self):
        "Dose, frequency and duration within TT 26/2025 limits"
        prescription = self.prescription
        medicine = self.medicine.rec_name
        if self.dose is None or self.dose <= 0:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_line_dose',
                    medicine=medicine))
        if self.times_per_day is None or not (1 <= self.times_per_day <= 24):
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_line_times',
                    medicine=medicine, times=self.times_per_day))
        if self.days is None or self.days < 1:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_line_days_min',
                    medicine=medicine))
        limit, rule = DAY_LIMITS[prescription.day_limit_rule()]
        if self.days > limit:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_line_days_limit',
                    medicine=medicine, days=self.days, limit=limit,
                    prescription=prescription.rec_name,
                    rule=gettext(f'health_emr.{rule}')))
        if self.quantity is not None and self.quantity < 0:
            raise PrescriptionError(gettext(
                    'health_emr.msg_prescription_line_quantity',
                    medicine=medicine, prescription=prescription.rec_name))


def _display(record, name):
    "The value of a field as people read it (selection label, rec_name)"
    value = getattr(record, name, None)
    if value is None or value == '':
        return None
    if isinstance(value, ModelSQL):
        return value.rec_name
    field = record._fields.get(name)
    if field is not None and field._type == 'selection':
        return record.__names__(name, record)['value']
    return str(value)


class PrescriptionCancelStart(ModelView):
    "Why an issued prescription is cancelled"
    __name__ = 'health.prescription.cancel.start'
    reason = fields.Text("Reason", required=True)


class PrescriptionCancel(Wizard):
    "Cancel issued prescriptions with a reason"
    __name__ = 'health.prescription.cancel'
    start = StateView('health.prescription.cancel.start',
        'health_emr.prescription_cancel_start_view_form', [
            Button("Close", 'end', 'tryton-cancel'),
            Button("Cancel Prescription", 'cancel_', 'tryton-ok',
                default=True),
            ])
    cancel_ = StateTransition()

    def transition_cancel_(self):
        with check_access():
            # Who may press the button, on which prescriptions
            self.model.cancel(self.records)
        self.model.cancel_with_reason(
            [r for r in self.records if r.state == 'issued'],
            self.start.reason)
        return 'end'


class PrescriptionReplace(Wizard):
    "Make a new draft prescription that replaces an issued one"
    __name__ = 'health.prescription.replace'
    start = StateAction('health_emr.act_prescription_form')

    def do_start(self, action):
        with check_access():
            # Who may press the button, on which prescriptions
            self.model.replace(self.records)
        new = self.model.create_replacements(self.records)
        action['views'].reverse()
        return action, {'res_id': [p.id for p in new]}
