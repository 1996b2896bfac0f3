# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The outpatient encounter (lượt khám ngoại trú): reception, vitals,
history, examination, ICD-10 diagnoses and disposition."""
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import NamedTuple

from sql import Conflict

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.tools import timezone as tz
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import EncounterError, VitalSignError
from .identity import check_facility_code
from .model import company_timezone, facility_sequence, format_number

IDENTITY_METHODS = [
    ('cccd_qr', "CCCD QR Code"),
    ('chip', "CCCD Chip Reader"),
    ('vneid', "VNeID"),
    ('insurance_card', "Health Insurance Card"),
    ('declared', "Declared"),
    ]

# MA_LOAI_KCB (QĐ 130/QĐ-BYT as amended by QĐ 4750, XML0 field 17 and
# XML1 field 55; list of QĐ 824/QĐ-BYT 2023 Phụ lục 1).  A commune
# station mostly uses 01; QĐ 1804/2026 will extend the list.
VISIT_TYPES = [
    ('01', "01 - Outpatient Consultation"),
    ('02', "02 - Outpatient Treatment"),
    ('03', "03 - Inpatient Treatment"),
    ('04', "04 - Day Inpatient Treatment"),
    ('05', "05 - Outpatient Paid by Day or Medicine Collection"),
    ('06', "06 - Observation at the Commune Station"),
    ('07', "07 - Medicine Collection by Appointment (No Consultation)"),
    ('08', "08 - Outpatient with Daily Technical Services"),
    ('09', "09 - Inpatient Less Than 4 Hours"),
    ]

DISPOSITIONS = [
    (None, ""),
    ('home', "Sent Home"),
    ('home_prescription', "Sent Home with Prescription"),
    ('referral', "Referral"),
    ('admission', "Admission / Transfer to Hospital"),
    ('reexamination', "Re-examination Appointment"),
    ]

# MA_LOAI_RV of XML1: 2 = referral for professional reasons, 5 = at the
# patient's request
REFERRAL_KINDS = [
    (None, ""),
    ('professional', "For Professional Reasons"),
    ('patient_request', "At the Patient's Request"),
    ]

CLOSED_STATES = {'done', 'cancelled'}
MAX_SECONDARY_DIAGNOSES = 12  # MA_BENH_KT holds at most 12 codes


class Flag(NamedTuple):
    "A threshold beyond which a vital sign is flagged as unusual"
    operator: str  # '>=', '>', '<' or '<='
    threshold: Decimal
    message: str  # ir.message id naming the finding
    min_age_days: int | None = None  # inclusive; None: no lower bound
    max_age_days: int | None = None  # exclusive; None: no upper bound

    def applies(self, value, age_days):
        if age_days is not None:
            if self.min_age_days is not None and age_days < self.min_age_days:
                return False
            if self.max_age_days is not None and age_days >= self.max_age_days:
                return False
        elif self.min_age_days is not None or self.max_age_days is not None:
            # Unknown age: only the adult thresholds apply
            if self.max_age_days is not None:
                return False
        value = Decimal(str(value))
        return {
            '>=': value >= self.threshold,
            '>': value > self.threshold,
            '<': value < self.threshold,
            '<=': value <= self.threshold,
            }[self.operator]


class VitalSign(NamedTuple):
    unit: str  # a symbol, or the id of the message that translates it
    minimum: Decimal
    maximum: Decimal
    flags: tuple = ()

    @property
    def unit_text(self):
        if self.unit.startswith('msg_'):
            return gettext(f'health_emr.{self.unit}')
        return self.unit


PER_MINUTE = 'msg_unit_per_minute'  # "/min", "lần/phút" in Vietnamese
_YEAR = 365
_MONTH = 30
# Every vital sign in one table.  minimum/maximum: the accepted range;
# outside it the value cannot have been measured on a living patient at a
# consultation (a typing error such as 375 for 37.5 °C or weight typed in
# grams), so it is refused.  flags: values that are possible but unusual
# and are shown to the doctor.  Sources of the thresholds:
# - temperature: fever ≥ 38 °C and hypothermia < 35 °C (WHO, IMCI);
# - pulse: normal ranges by age of the WHO Pocket Book of Hospital Care
#   for Children (< 1 year 100-160, 1-4 years 80-140, 5-11 years 70-120)
#   and adult tachycardia > 100/min, bradycardia < 50/min;
# - respiratory rate: fast breathing of IMCI (≥ 60/min under 2 months,
#   ≥ 50 from 2 to 11 months, ≥ 40 from 1 to 4 years), > 30/min from 5 to
#   11 years, adults > 20/min (normal 12-20) and < 10/min;
# - SpO2 < 94 %: hypoxaemia needing assessment (WHO oxygen therapy
#   guidance for adults; danger threshold for children is < 90 %);
# - blood pressure ≥ 140/90 mmHg: hypertension (Bộ Y tế, QĐ 3192/QĐ-BYT
#   and ESH/ISH); systolic < 90 mmHg: hypotension (from 12 years).
VITAL_SIGNS = {
    'temperature': VitalSign('°C', Decimal('25'), Decimal('45'), (
            Flag('>=', Decimal('38'), 'msg_vital_fever'),
            Flag('<', Decimal('35'), 'msg_vital_hypothermia'),
            )),
    'pulse': VitalSign(PER_MINUTE, Decimal(20), Decimal(300), (
            Flag('>', Decimal(160), 'msg_vital_tachycardia', 0, _YEAR),
            Flag('<', Decimal(100), 'msg_vital_bradycardia', 0, _YEAR),
            Flag('>', Decimal(140), 'msg_vital_tachycardia',
                _YEAR, 5 * _YEAR),
            Flag('<', Decimal(80), 'msg_vital_bradycardia',
                _YEAR, 5 * _YEAR),
            Flag('>', Decimal(120), 'msg_vital_tachycardia',
                5 * _YEAR, 12 * _YEAR),
            Flag('<', Decimal(70), 'msg_vital_bradycardia',
                5 * _YEAR, 12 * _YEAR),
            Flag('>', Decimal(100), 'msg_vital_tachycardia', 12 * _YEAR),
            Flag('<', Decimal(50), 'msg_vital_bradycardia', 12 * _YEAR),
            )),
    'systolic_pressure': VitalSign('mmHg', Decimal(40), Decimal(300), (
            Flag('>=', Decimal(140), 'msg_vital_hypertension'),
            Flag('<', Decimal(90), 'msg_vital_hypotension', 12 * _YEAR),
            )),
    'diastolic_pressure': VitalSign('mmHg', Decimal(20), Decimal(200), (
            Flag('>=', Decimal(90), 'msg_vital_hypertension'),
            )),
    'respiratory_rate': VitalSign(PER_MINUTE, Decimal(4), Decimal(80), (
            Flag('>=', Decimal(60), 'msg_vital_tachypnoea', 0, 2 * _MONTH),
            Flag('>=', Decimal(50), 'msg_vital_tachypnoea',
                2 * _MONTH, _YEAR),
            Flag('>=', Decimal(40), 'msg_vital_tachypnoea',
                _YEAR, 5 * _YEAR),
            Flag('>', Decimal(30), 'msg_vital_tachypnoea',
                5 * _YEAR, 12 * _YEAR),
            Flag('>', Decimal(20), 'msg_vital_tachypnoea', 12 * _YEAR),
            Flag('<', Decimal(10), 'msg_vital_bradypnoea', 12 * _YEAR),
            )),
    'spo2': VitalSign('%', Decimal(50), Decimal(100), (
            Flag('<', Decimal(94), 'msg_vital_hypoxaemia'),
            )),
    'weight': VitalSign('kg', Decimal('0.3'), Decimal(300)),
    'height': VitalSign('cm', Decimal(20), Decimal(250)),
    }
VITAL_FIELDS = list(VITAL_SIGNS)


def _now():
    return dt.datetime.now().replace(microsecond=0)


def _user_employee():
    "The employee of the current user, if any"
    User = Pool().get('res.user')
    user = User(Transaction().user)
    return user.employee


def local_date(datetime, company):
    "The date of a (UTC) datetime at the facility"
    if not datetime:
        return None
    return datetime.replace(tzinfo=tz.UTC).astimezone(
        company_timezone(company)).date()


def _date_start(date, company):
    "The UTC datetime when the date starts at the facility"
    start = dt.datetime.combine(date, dt.time(), company_timezone(company))
    return start.astimezone(tz.UTC).replace(tzinfo=None)


class EncounterQueue(ModelSQL):
    """The last queue number given at a site on a day.  One row per site
    and day, locked while a number is taken, so that two receptionists
    registering patients at the same time never get the same number."""
    __name__ = 'health.encounter.queue'

    site = fields.Many2One(
        'health.site', "Site", required=True, ondelete='CASCADE')
    date = fields.Date("Date", required=True)
    last_number = fields.Integer("Last Number", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('site')
        table = cls.__table__()
        cls._sql_constraints += [
            ('site_date_unique', Unique(table, table.site, table.date),
                'health_emr.msg_encounter_queue_unique'),
            ]

    @classmethod
    def default_last_number(cls):
        return 0

    @classmethod
    def take(cls, site_id, date, count=1):
        """Return the next count queue numbers of the site on the date.

        The row of the site and day is created if needed (INSERT … ON
        CONFLICT DO NOTHING: a concurrent creation waits for the other
        transaction instead of failing), then incremented by a single
        UPDATE … RETURNING."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        now = dt.datetime.now()

        cursor.execute(*table.select(table.id,
                where=(table.site == site_id) & (table.date == date)))
        row = cursor.fetchone()
        if not row:
            insert = table.insert(
                [table.site, table.date, table.last_number,
                    table.create_uid, table.create_date],
                [[site_id, date, 0, transaction.user, now]],
                on_conflict=Conflict(
                    table, indexed_columns=[table.site, table.date]))
            if transaction.database.has_returning():
                insert.returning = [table.id]
                cursor.execute(*insert)
                row = cursor.fetchone()
            else:
                cursor.execute(*insert)
                cursor.execute(*table.select(table.id,
                        where=(table.site == site_id)
                        & (table.date == date)))
                row = cursor.fetchone()
            if row:
                # Inserted by this transaction: nobody else can see it
                transaction.create_records[cls.__name__].append(row[0])
            else:
                cursor.execute(*table.select(table.id,
                        where=(table.site == site_id)
                        & (table.date == date)))
                row = cursor.fetchone()
        # One UPDATE that adds to the counter: under PostgreSQL's repeatable
        # read a concurrent increment makes it fail with a serialization
        # error, and the RPC layer runs the request again; no lock taken in
        # advance, so the usual case costs no restart.
        update = table.update(
            [table.last_number, table.write_uid, table.write_date],
            [table.last_number + count, transaction.user, now],
            where=table.id == row[0])
        if transaction.database.has_returning():
            update.returning = [table.last_number]
            cursor.execute(*update)
            last = cursor.fetchone()[0] - count
        else:
            cursor.execute(*update)
            cursor.execute(*table.select(table.last_number,
                    where=table.id == row[0]))
            last = cursor.fetchone()[0] - count
        return list(range(last + 1, last + count + 1))


class Encounter(Workflow, ModelSQL, ModelView):
    "An outpatient visit of a patient at a site of the facility"
    __name__ = 'health.encounter'
    _history = True

    _states = {
        'readonly': Eval('state').in_(list(CLOSED_STATES)),
        }
    _registered = {
        'readonly': Eval('state') != 'registered',
        }

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT',
        states={
            'readonly': (Eval('id', -1) >= 0) | Eval('patient'),
            })
    site = fields.Many2One(
        'health.site', "Site", required=True, ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states=_registered,
        help="Where the patient is received (main station or "
        "sub-station).")
    number = fields.Char(
        "Number", readonly=True,
        help="The number of the outpatient record (MA_HSBA), given when "
        "the encounter is registered.")
    queue_number = fields.Integer(
        "Queue Number", readonly=True,
        help="The order of arrival at the site on the day: 1, 2, 3…")
    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states=_registered)
    practitioner = fields.Many2One(
        'company.employee', "Practitioner", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states=_states,
        help="The doctor or physician assistant who examines the patient "
        "(MA_BAC_SI).")
    arrival_at = fields.DateTime(
        "Arrival", required=True, states=_registered,
        help="NGAY_VAO: when the patient arrived.")
    date = fields.Function(
        fields.Date("Date", help="The day of arrival at the facility."),
        'on_change_with_date', searcher='search_date')
    identity_method = fields.Selection(
        IDENTITY_METHODS, "Identity Checked By", required=True, sort=False,
        states=_registered)
    identity_method_string = identity_method.translated('identity_method')
    reason = fields.Text(
        "Reason for Visit", states=_states, help="LY_DO_VV.")

    # Insurance coverage used for this visit
    insurance_card = fields.Many2One(
        'health.insurance.card', "Insurance Card", ondelete='RESTRICT',
        domain=[
            ('patient', '=', Eval('patient', -1)),
            ],
        states=_registered,
        help="The health-insurance card used for this visit; empty when "
        "the visit is not paid by health insurance.")
    insurance_check = fields.Many2One(
        'health.insurance.check', "Eligibility Check", ondelete='RESTRICT',
        readonly=True,
        domain=[
            ('patient', '=', Eval('patient', -1)),
            ])
    visit_category = fields.Many2One(
        'health.visit.category', "Visit Category", ondelete='RESTRICT',
        states=_registered,
        help="MA_DOITUONG_KCB: how the patient comes (own primary-care "
        "facility, referral, emergency, re-examination appointment, "
        "without insurance…).")
    visit_type = fields.Selection(
        VISIT_TYPES, "Visit Type", required=True, sort=False,
        states=_registered, help="MA_LOAI_KCB.")
    visit_type_string = visit_type.translated('visit_type')
    referral_in_facility = fields.Char(
        "Referring Facility Code", size=5, states=_registered,
        help="MA_NOI_DI: the 5-digit code of the facility that referred "
        "the patient, when the patient comes with a referral paper.")
    referral_in_facility_name = fields.Char(
        "Referring Facility", states=_registered)
    referral_in_document = fields.Char(
        "Referral or Appointment Paper", size=50, states=_registered,
        help="GIAY_CHUYEN_TUYEN: the number of the referral paper or of "
        "the re-examination appointment paper the patient brings.")

    # Vitals (nurse)
    pulse = fields.Integer(
        "Pulse", states=_states, help="Beats per minute.")
    temperature = fields.Numeric(
        "Temperature", digits=(3, 1), states=_states, help="In °C.")
    systolic_pressure = fields.Integer(
        "Systolic Blood Pressure", states=_states, help="In mmHg.")
    diastolic_pressure = fields.Integer(
        "Diastolic Blood Pressure", states=_states, help="In mmHg.")
    respiratory_rate = fields.Integer(
        "Respiratory Rate", states=_states, help="Breaths per minute.")
    spo2 = fields.Integer(
        "SpO2", states=_states,
        help="Oxygen saturation measured by pulse oximetry, in %.")
    weight = fields.Numeric(
        "Weight", digits=(5, 2), states=_states,
        help="In kg (CAN_NANG).")
    height = fields.Numeric(
        "Height", digits=(4, 1), states=_states,
        help="In cm (length lying down for infants).")
    bmi = fields.Function(
        fields.Numeric(
            "BMI", digits=(4, 1),
            help="Body-mass index: weight (kg) / height (m)²."),
        'on_change_with_bmi')
    vitals_warnings = fields.Function(
        fields.Text(
            "Vital Sign Warnings",
            help="The vital signs outside the usual range for the "
            "patient's age."),
        'on_change_with_vitals_warnings')
    vitals_warnings_display = fields.Function(
        fields.Text("Vital Sign Warnings"),
        'on_change_with_vitals_warnings_display')
    vitals_taken_at = fields.DateTime(
        "Vitals Taken At", states=_states,
        help="Filled in when the vital signs are recorded.")
    vitals_taken_by = fields.Many2One(
        'company.employee', "Vitals Taken By", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states=_states,
        help="Filled in with the user's employee when the vital signs are "
        "recorded.")

    # Clinical (doctor)
    history_present_illness = fields.Text(
        "History of Present Illness", states=_states)
    past_history = fields.Text("Past Medical History", states=_states)
    family_history = fields.Text("Family History", states=_states)
    allergies = fields.Text(
        "Allergies", states=_states,
        help="Allergies reported at this visit; the patient's known "
        "allergies are kept on the patient.")
    examination_general = fields.Text(
        "General Examination", states=_states)
    examination_organs = fields.Text(
        "Examination by Organ System", states=_states,
        help="Cardiovascular, respiratory, digestive, … one system per "
        "line.")
    diagnoses = fields.One2Many(
        'health.encounter.diagnosis', 'encounter', "Diagnoses",
        states=_states,
        help="One main diagnosis and up to 12 secondary diagnoses in "
        "ICD-10.")
    main_diagnosis = fields.Function(
        fields.Many2One(
            'health.disease', "Main Diagnosis", help="MA_BENH_CHINH."),
        'get_main_diagnosis', searcher='search_main_diagnosis')
    secondary_codes = fields.Function(
        fields.Char(
            "Secondary Diagnosis Codes",
            help="MA_BENH_KT: the secondary ICD-10 codes without dots, "
            "separated by \";\"."),
        'get_secondary_codes', searcher='search_secondary_codes')
    conclusion = fields.Text("Conclusion", states=_states)
    treatment_plan = fields.Text("Treatment Plan", states=_states)
    disposition = fields.Selection(
        DISPOSITIONS, "Disposition", sort=False, states=_states)
    disposition_string = disposition.translated('disposition')
    reexamination_date = fields.Date(
        "Re-examination Date",
        states={
            'required': Eval('disposition') == 'reexamination',
            'invisible': Eval('disposition') != 'reexamination',
            'readonly': _states['readonly'],
            },
        help="NGAY_TAI_KHAM.")
    referral_facility = fields.Char(
        "Referral Facility Code", size=5,
        states={
            'invisible': ~Eval('disposition').in_(['referral', 'admission']),
            'readonly': _states['readonly'],
            },
        help="MA_NOI_DEN: the 5-digit code of the facility the patient is "
        "sent to.")
    referral_facility_name = fields.Char(
        "Referral Facility",
        states={
            'required': Eval('disposition') == 'referral',
            'invisible': ~Eval('disposition').in_(['referral', 'admission']),
            'readonly': _states['readonly'],
            })
    referral_kind = fields.Selection(
        REFERRAL_KINDS, "Referral Reason Type", sort=False,
        states={
            'required': Eval('disposition') == 'referral',
            'invisible': Eval('disposition') != 'referral',
            'readonly': _states['readonly'],
            },
        help="MA_LOAI_RV: 2 for professional reasons, 5 at the patient's "
        "request.")
    referral_reason = fields.Text(
        "Referral Reason",
        states={
            'required': Eval('disposition') == 'referral',
            'invisible': ~Eval('disposition').in_(['referral', 'admission']),
            'readonly': _states['readonly'],
            })
    prescriptions = fields.One2Many(
        'health.prescription', 'encounter', "Prescriptions",
        states=_states)

    state = fields.Selection([
            ('registered', "Registered"),
            ('in_progress', "In Progress"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')
    started_at = fields.DateTime("Started At", readonly=True)
    done_at = fields.DateTime(
        "Done At", readonly=True, help="NGAY_RA: end of the encounter.")
    cancel_reason = fields.Text(
        "Cancellation Reason", readonly=True,
        states={'invisible': Eval('state') != 'cancelled'})
    cancelled_at = fields.DateTime(
        "Cancelled At", readonly=True,
        states={'invisible': Eval('state') != 'cancelled'})
    cancelled_by = fields.Many2One(
        'company.employee', "Cancelled By", readonly=True,
        states={'invisible': Eval('state') != 'cancelled'})

    del _states, _registered

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('company_number_unique',
                Unique(table, table.company, table.number),
                'health_emr.msg_encounter_number_unique'),
            ]
        cls._sql_indexes.update({
                Index(table,
                    (table.site, Index.Range()),
                    (table.arrival_at, Index.Range())),
                Index(table,
                    (table.state, Index.Equality(cardinality='low')),
                    where=table.state.in_(['registered', 'in_progress'])),
                })
        cls._order = [('arrival_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('registered', 'in_progress'),
            ('in_progress', 'done'),
            ('registered', 'cancelled'),
            ('in_progress', 'cancelled'),
            }
        cls._buttons.update({
                'start': {
                    'invisible': Eval('state') != 'registered',
                    'depends': ['state'],
                    },
                'done': {
                    'invisible': Eval('state') != 'in_progress',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(
                        ['registered', 'in_progress']),
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_site():
        pool = Pool()
        Site = pool.get('health.site')
        context = Transaction().context
        site_id = context.get('site')
        if site_id is not None and site_id >= 0:
            site = Site(site_id)
            if site.company.id == context.get('company'):
                return site.id

    @classmethod
    def default_arrival_at(cls):
        return _now()

    @classmethod
    def default_state(cls):
        return 'registered'

    @classmethod
    def default_identity_method(cls):
        return 'declared'

    @classmethod
    def default_visit_type(cls):
        return '01'

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree/field[@name="vitals_warnings"]', 'visual',
                If(Bool(Eval('vitals_warnings')), 'danger', '')),
            ('/tree', 'visual',
                If(Eval('state') == 'cancelled', 'muted', '')),
            ]

    @fields.depends('arrival_at', 'company')
    def on_change_with_date(self, name=None):
        return local_date(self.arrival_at, self.company)

    @classmethod
    def search_date(cls, name, clause):
        pool = Pool()
        Company = pool.get('company.company')
        company_id = Transaction().context.get('company')
        company = Company(company_id) if company_id is not None else None
        _, operator, value = clause[:3]

        def start(date):
            return _date_start(date, company)

        def equal(date):
            if date is None:
                return [('id', '=', None)]
            return [
                ('arrival_at', '>=', start(date)),
                ('arrival_at', '<', start(date + dt.timedelta(days=1))),
                ]

        def different(date):
            if date is None:
                return []
            return ['OR',
                ('arrival_at', '<', start(date)),
                ('arrival_at', '>=', start(date + dt.timedelta(days=1))),
                ]
        if operator == '=':
            return equal(value)
        elif operator == '!=':
            return different(value)
        elif operator == 'in':
            return ['OR', *(equal(d) for d in value)] if value else [
                ('id', '=', None)]
        elif operator == 'not in':
            return [different(d) for d in value]
        elif value is None:
            return [('id', '=', None)]
        elif operator == '<':
            return [('arrival_at', '<', start(value))]
        elif operator == '<=':
            return [('arrival_at', '<', start(value + dt.timedelta(days=1)))]
        elif operator == '>':
            return [
                ('arrival_at', '>=', start(value + dt.timedelta(days=1)))]
        elif operator == '>=':
            return [('arrival_at', '>=', start(value))]
        raise NotImplementedError(operator)

    def get_rec_name(self, name):
        parts = [self.number or '']
        if self.patient:
            parts.append(self.patient.rec_name)
        return ' '.join(p for p in parts if p)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('patient.rec_name', operator, operand, *extra),
            ]

    @fields.depends('patient', 'insurance_card', 'date', 'arrival_at',
        'company')
    def on_change_patient(self):
        card = self.insurance_card
        if card and (not self.patient or card.patient != self.patient):
            self.insurance_card = None
        if self.patient and not self.insurance_card:
            date = local_date(self.arrival_at, self.company)
            for card in self.patient.insurance_cards:
                if date and (
                        (card.valid_from and card.valid_from > date)
                        or (card.valid_to and card.valid_to < date)):
                    continue
                self.insurance_card = card
                break

    # Vitals

    @fields.depends('weight', 'height')
    def on_change_with_bmi(self, name=None):
        if self.weight and self.height:
            metres = Decimal(self.height) / 100
            bmi = Decimal(self.weight) / (metres * metres)
            return bmi.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)

    def _patient_age_days(self):
        if self.patient:
            try:
                return self.patient.age_days(self.date)
            except (AttributeError, TypeError):
                return None

    def _vital_findings(self):
        "Yield (message id, field name, value) of the unusual vital signs"
        age_days = self._patient_age_days()
        for field, sign in VITAL_SIGNS.items():
            value = getattr(self, field, None)
            if value is None:
                continue
            # Impossible values are refused on save, not flagged
            if not (sign.minimum <= Decimal(str(value)) <= sign.maximum):
                continue
            for flag in sign.flags:
                if flag.applies(value, age_days):
                    yield flag, field, value
                    break

    def _vital_warning_texts(self):
        texts, messages = [], set()
        for flag, field, value in self._vital_findings():
            sign = VITAL_SIGNS[field]
            if field.endswith('_pressure') and flag.message in messages:
                # Systolic and diastolic both high: one finding
                continue
            messages.add(flag.message)
            texts.append(gettext(
                    f'health_emr.{flag.message}',
                    field=self.__names__(field)['field'],
                    value=format_number(value),
                    unit=sign.unit_text,
                    rule='%s %s %s' % (
                        flag.operator.replace('>=', '≥').replace('<=', '≤'),
                        format_number(flag.threshold), sign.unit_text)))
        return texts

    @fields.depends('patient', 'arrival_at', 'company', *VITAL_FIELDS)
    def on_change_with_vitals_warnings(self, name=None):
        return '\n'.join(self._vital_warning_texts()) or None

    @fields.depends(methods=['on_change_with_vitals_warnings'])
    def on_change_with_vitals_warnings_display(self, name=None):
        "The warnings in red and bold for the rich-text widget of the form"
        warnings = self.on_change_with_vitals_warnings()
        if warnings:
            return ''.join(
                '<div><b><font color="#c00000">%s</font></b></div>'
                % escape(line) for line in warnings.splitlines())

    # Diagnoses

    @classmethod
    def get_main_diagnosis(cls, encounters, name):
        result = {e.id: None for e in encounters}
        for encounter in encounters:
            for diagnosis in encounter.diagnoses:
                if diagnosis.kind == 'main':
                    result[encounter.id] = diagnosis.disease.id
                    break
        return result

    @classmethod
    def search_main_diagnosis(cls, name, clause):
        nested = clause[0][len(name):]
        if not nested:
            if isinstance(clause[2], str):
                nested = '.rec_name'
        return [('diagnoses', 'where', [
                    ('kind', '=', 'main'),
                    ('disease' + nested, *clause[1:]),
                    ])]

    @classmethod
    def get_secondary_codes(cls, encounters, name):
        result = {}
        for encounter in encounters:
            result[encounter.id] = ';'.join(
                d.disease.code_nodot for d in encounter.diagnoses
                if d.kind == 'secondary') or None
        return result

    @classmethod
    def search_secondary_codes(cls, name, clause):
        _, operator, operand, *extra = clause
        if isinstance(operand, str):
            operand = operand.replace('.', '')
        return [('diagnoses', 'where', [
                    ('kind', '=', 'secondary'),
                    ('disease.code_nodot', operator, operand, *extra),
                    ])]

    # Creation and modification

    @classmethod
    def _number_sequence(cls, company):
        "The sequence of encounter numbers of the facility, made if missing"
        return facility_sequence('sequence_type_encounter', company.id,
            name=company.rec_name, prefix='KB${year}', padding=6)

    @classmethod
    def create(cls, vlist):
        pool = Pool()
        Company = pool.get('company.company')
        Queue = pool.get('health.encounter.queue')
        vlist = [v.copy() for v in vlist]
        by_company = defaultdict(list)
        by_queue = defaultdict(list)
        for values in vlist:
            for name in ['company', 'site', 'arrival_at']:
                if values.get(name) is None:
                    values[name] = getattr(cls, f'default_{name}')()
            if values['company'] is None or values['arrival_at'] is None:
                continue  # refused by the required check
            company = Company(values['company'])
            if not values.get('number'):
                by_company[company].append(values)
            if values.get('site') is not None:
                date = local_date(values['arrival_at'], company)
                by_queue[values['site'], date].append(values)
        for company, company_vlist in by_company.items():
            sequence = cls._number_sequence(company)
            with Transaction().set_context(company=company.id):
                for values, number in zip(
                        company_vlist,
                        sequence.get_many(n=len(company_vlist))):
                    values['number'] = number
        for (site, date), queue_vlist in sorted(
                by_queue.items(), key=lambda i: (i[0][0], i[0][1])):
            numbers = Queue.take(site, date, len(queue_vlist))
            for values, number in zip(queue_vlist, numbers):
                values['queue_number'] = number
        return super().create(vlist)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        vitals = set(VITAL_FIELDS) & set(values)
        if vitals and any(values[f] is not None for f in vitals):
            if 'vitals_taken_at' not in values:
                values['vitals_taken_at'] = _now()
            if 'vitals_taken_by' not in values:
                employee = _user_employee()
                if employee:
                    values['vitals_taken_by'] = employee.id
        for name in ['referral_in_facility', 'referral_facility']:
            if values.get(name):
                values[name] = values[name].strip()
        return values

    @classmethod
    def copy(cls, encounters, default=None):
        default = default.copy() if default is not None else {}
        for name in ['number', 'queue_number', 'started_at', 'done_at',
                'cancel_reason', 'cancelled_at', 'cancelled_by',
                'insurance_check', 'vitals_taken_at', 'vitals_taken_by']:
            default.setdefault(name, None)
        default.setdefault('arrival_at', None)
        default.setdefault('diagnoses', None)
        default.setdefault('prescriptions', None)
        return super().copy(encounters, default=default)

    @classmethod
    def check_modification(cls, mode, encounters, values=None,
            external=False):
        super().check_modification(
            mode, encounters, values=values, external=external)
        if mode == 'write':
            # A done or cancelled encounter accepts nothing (signing comes
            # with issue 4; a patient merge moves records in SQL)
            for encounter in encounters:
                if encounter.state in CLOSED_STATES:
                    raise AccessError(gettext(
                            'health_emr.msg_encounter_closed',
                            encounter=encounter.rec_name,
                            state=encounter.state_string))
        elif mode == 'delete':
            for encounter in encounters:
                if encounter.state != 'registered':
                    raise AccessError(gettext(
                            'health_emr.msg_encounter_delete',
                            encounter=encounter.rec_name))

    @classmethod
    def validate_fields(cls, encounters, field_names):
        super().validate_fields(encounters, field_names)
        cls.check_vital_signs(encounters, field_names)
        cls.check_facility_codes(encounters, field_names)
        if field_names is None or {
                'reexamination_date', 'arrival_at'} & field_names:
            for encounter in encounters:
                if (encounter.reexamination_date
                        and encounter.reexamination_date <= encounter.date):
                    raise EncounterError(gettext(
                            'health_emr.msg_encounter_reexamination_date',
                            encounter=encounter.rec_name,
                            date=Pool().get('ir.lang').get().strftime(
                                encounter.reexamination_date)))

    @classmethod
    def check_vital_signs(cls, encounters, field_names=None):
        fields_ = VITAL_FIELDS
        if field_names is not None:
            fields_ = [f for f in VITAL_FIELDS if f in field_names]
        for encounter in encounters:
            for field in fields_:
                value = getattr(encounter, field)
                if value is None:
                    continue
                sign = VITAL_SIGNS[field]
                if not (sign.minimum <= Decimal(str(value)) <= sign.maximum):
                    raise VitalSignError(gettext(
                            'health_emr.msg_vital_out_of_range',
                            field=cls.__names__(field)['field'],
                            value=format_number(value),
                            unit=sign.unit_text,
                            minimum=format_number(sign.minimum),
                            maximum=format_number(sign.maximum),
                            encounter=encounter.rec_name))
            if (field_names is None
                    or {'systolic_pressure', 'diastolic_pressure'}
                    & set(field_names)):
                if (encounter.systolic_pressure is not None
                        and encounter.diastolic_pressure is not None
                        and encounter.diastolic_pressure
                        >= encounter.systolic_pressure):
                    raise VitalSignError(gettext(
                            'health_emr.msg_vital_diastolic_above_systolic',
                            systolic=encounter.systolic_pressure,
                            diastolic=encounter.diastolic_pressure,
                            encounter=encounter.rec_name))

    @classmethod
    def check_facility_codes(cls, encounters, field_names=None):
        for field in ['referral_in_facility', 'referral_facility']:
            if field_names is not None and field not in field_names:
                continue
            for encounter in encounters:
                code = getattr(encounter, field)
                if code and check_facility_code(code):
                    raise EncounterError(gettext(
                            'health_emr.msg_encounter_facility_code',
                            field=cls.__names__(field)['field'],
                            code=code,
                            encounter=encounter.rec_name))

    def check_coding(self, final=False):
        """Check the diagnoses of the encounter against the Ministry's
        coding rules (QĐ 4469/QĐ-BYT Phụ lục A), and when final, that
        there is a main diagnosis"""
        pool = Pool()
        Disease = pool.get('health.disease')
        main, secondaries, codes = None, [], set()
        for diagnosis in self.diagnoses:
            if diagnosis.disease in codes:
                raise EncounterError(gettext(
                        'health_emr.msg_encounter_diagnosis_duplicate',
                        code=diagnosis.disease.code,
                        encounter=self.rec_name))
            codes.add(diagnosis.disease)
            if diagnosis.kind == 'main':
                if main:
                    raise EncounterError(gettext(
                            'health_emr.msg_encounter_one_main_diagnosis',
                            encounter=self.rec_name))
                main = diagnosis.disease
            else:
                secondaries.append(diagnosis.disease)
        if len(secondaries) > MAX_SECONDARY_DIAGNOSES:
            raise EncounterError(gettext(
                    'health_emr.msg_encounter_too_many_secondary',
                    encounter=self.rec_name,
                    count=len(secondaries),
                    maximum=MAX_SECONDARY_DIAGNOSES))
        if final and not main:
            raise EncounterError(gettext(
                    'health_emr.msg_encounter_main_diagnosis_required',
                    encounter=self.rec_name))
        if main or secondaries:
            Disease.check_encounter_coding(
                main, secondaries, self.patient.sex,
                self._patient_age_days(), self.date)

    # Workflow

    @classmethod
    @ModelView.button
    @Workflow.transition('in_progress')
    def start(cls, encounters):
        employee = _user_employee()
        for encounter in encounters:
            if not encounter.started_at:
                encounter.started_at = _now()
            if (not encounter.practitioner and employee
                    and employee.company == encounter.company):
                encounter.practitioner = employee
        cls.save(encounters)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def done(cls, encounters):
        for encounter in encounters:
            encounter.check_done()
            encounter.done_at = _now()
        cls.save(encounters)

    def active_prescriptions(self):
        "The prescriptions of the visit that are not cancelled"
        return [p for p in self.prescriptions if p.state != 'cancelled']

    def check_done(self):
        "Check what a finished encounter must have"
        missing = [
            name for name in ['practitioner', 'conclusion', 'disposition']
            if not getattr(self, name)]
        if missing:
            raise EncounterError(gettext(
                    'health_emr.msg_encounter_done_missing',
                    encounter=self.rec_name,
                    fields=', '.join(
                        self.__names__(n)['field'] for n in missing)))
        self.check_coding(final=True)
        if (self.disposition == 'home_prescription'
                and not self.active_prescriptions()):
            raise EncounterError(gettext(
                    'health_emr.msg_encounter_prescription_required',
                    encounter=self.rec_name))

    @classmethod
    @ModelView.button_action('health_emr.wizard_encounter_cancel')
    def cancel(cls, encounters):
        pass

    @classmethod
    @Workflow.transition('cancelled')
    def cancel_with_reason(cls, encounters, reason):
        "Cancel the encounters, keeping why, when and by whom"
        if not reason or not reason.strip():
            for encounter in encounters:
                raise EncounterError(gettext(
                        'health_emr.msg_encounter_cancel_reason_required',
                        encounter=encounter.rec_name))
        employee = _user_employee()
        cls.write(encounters, {
                'cancel_reason': reason.strip(),
                'cancelled_at': _now(),
                'cancelled_by': employee.id if employee else None,
                })


class EncounterCancelStart(ModelView):
    "Why an encounter is cancelled"
    __name__ = 'health.encounter.cancel.start'

    reason = fields.Text(
        "Reason", required=True,
        help="For example: registered twice, patient left before the "
        "consultation, wrong patient.")


class EncounterCancel(Wizard):
    "Cancel an encounter with its reason"
    __name__ = 'health.encounter.cancel'

    start = StateView(
        'health.encounter.cancel.start',
        'health_emr.encounter_cancel_start_view_form', [
            Button("Back", 'end', 'tryton-cancel'),
            Button("Cancel Encounter", 'cancel_', 'tryton-ok', default=True),
            ])
    cancel_ = StateTransition()

    def transition_cancel_(self):
        self.model.cancel_with_reason(self.records, self.start.reason)
        return 'end'


class Diagnosis(ModelSQL, ModelView):
    "An ICD-10 diagnosis coded for an encounter"
    __name__ = 'health.encounter.diagnosis'
    _history = True

    encounter = fields.Many2One(
        'health.encounter', "Encounter", required=True, ondelete='CASCADE')
    encounter_date = fields.Function(
        fields.Date("Encounter Date"), 'on_change_with_encounter_date')
    patient = fields.Function(
        fields.Many2One('health.patient', "Patient"),
        'on_change_with_patient', searcher='search_patient')
    sequence = fields.Integer("Sequence")
    kind = fields.Selection([
            ('main', "Main"),
            ('secondary', "Secondary"),
            ], "Kind", required=True, sort=False)
    kind_string = kind.translated('kind')
    disease = fields.Many2One(
        'health.disease', "Disease (ICD-10)", required=True,
        ondelete='RESTRICT',
        domain=[
            If(Bool(Eval('encounter_date')), [
                    ['OR',
                        ('valid_from', '=', None),
                        ('valid_from', '<=', Eval('encounter_date')),
                        ],
                    ['OR',
                        ('valid_to', '=', None),
                        ('valid_to', '>=', Eval('encounter_date')),
                        ],
                    ], []),
            ],
        help="Search by code (J06.9 or J069) or by name, with or without "
        "diacritics.")
    chronic = fields.Boolean(
        "Chronic",
        help="A long-term condition: it appears on the patient's problem "
        "list.")
    note = fields.Char("Note")
    recorded_by = fields.Many2One(
        'company.employee', "Recorded By", readonly=True,
        ondelete='RESTRICT')
    recorded_at = fields.DateTime("Recorded At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('encounter')
        cls._order = [('encounter', 'ASC'), ('sequence', 'ASC NULLS LAST'),
            ('id', 'ASC')]

    @classmethod
    def default_kind(cls):
        return 'secondary'

    @fields.depends('encounter', '_parent_encounter.arrival_at',
        '_parent_encounter.company')
    def on_change_with_encounter_date(self, name=None):
        if self.encounter:
            return local_date(
                self.encounter.arrival_at, self.encounter.company)

    @fields.depends('encounter', '_parent_encounter.patient')
    def on_change_with_patient(self, name=None):
        return self.encounter.patient if self.encounter else None

    @classmethod
    def search_patient(cls, name, clause):
        return [('encounter.' + clause[0], *clause[1:])]

    @fields.depends('disease', 'chronic')
    def on_change_disease(self):
        if self.disease and not self.chronic:
            self.chronic = bool(
                getattr(self.disease, 'chronic_prescription', False))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' or {'disease', 'kind', 'chronic', 'note'} & set(
                values):
            values['recorded_at'] = _now()
            employee = _user_employee()
            if employee:
                values['recorded_by'] = employee.id
        return values

    @classmethod
    def check_modification(cls, mode, diagnoses, values=None,
            external=False):
        super().check_modification(
            mode, diagnoses, values=values, external=external)
        for diagnosis in diagnoses:
            if diagnosis.encounter.state in CLOSED_STATES:
                raise AccessError(gettext(
                        'health_emr.msg_encounter_closed',
                        encounter=diagnosis.encounter.rec_name,
                        state=diagnosis.encounter.state_string))

    @classmethod
    def validate(cls, diagnoses):
        super().validate(diagnoses)
        for encounter in {d.encounter for d in diagnoses}:
            encounter.check_coding()
