# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Reception (tiếp đón): the receptionist scans the patient's CCCD QR
code, personal ID or BHYT card; the wizard finds the patient or proposes a
new one filled from the card, records the insurance eligibility check and
opens the encounter with its queue number.

Steps and buttons, as proteus users call them::

    start      scan, identity_method          → find
    patient    the patient found or proposed  → confirm (start: back)
    insurance  the eligibility check          → visit (patient: back)
    visit      reason, category, site         → register (patient: back)

register creates everything in one transaction (patient, card, check,
encounter) and opens the encounter."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .address import map_address
from .encounter import IDENTITY_METHODS
from .exceptions import ReceptionError
from .identity import (
    CccdQrError, check_insurance_card_number, check_personal_id,
    check_registered_facility_code, classify_scan, clean_scan, normalize_code,
    normalize_digits, normalize_phone, parse_cccd_qr)
from .patient import BIRTH_DATE_PRECISIONS, SEXES

# Default visit category (MA_DOITUONG_KCB, QĐ 3276/QĐ-BYT Phụ lục 1):
# 1.2 is a visit to a primary-care facility such as a commune station,
# whether or not the card is registered there; 9 is a visit without BHYT.
VISIT_CATEGORIES_WITH_CARD = ['1.2', '1.1']
VISIT_CATEGORY_WITHOUT_CARD = '9'

# What the scan tells about how identity was checked
SCAN_IDENTITY_METHODS = {
    'cccd_qr': 'cccd_qr',
    'insurance_card': 'insurance_card',
    'social_insurance_number': 'insurance_card',
    }

# The fields of a new patient the receptionist fills
NEW_PATIENT_FIELDS = [
    'name', 'birth_date', 'birth_date_precision', 'sex', 'personal_id',
    'old_id_number', 'phone', 'ethnicity', 'occupation', 'commune',
    'street', 'address_original', 'guardian_name', 'guardian_relationship',
    'guardian_personal_id', 'guardian_phone']


def _error(message_id, **names):
    return ReceptionError(gettext(f'health_emr.{message_id}', **names))


class ReceptionStart(ModelView):
    "What the receptionist scanned or typed"
    __name__ = 'health.reception.start'

    scan = fields.Char(
        "Scan",
        help="Scan the QR code of the citizen identity card (CCCD) or the "
        "VNeID application, or type a personal ID, a health insurance "
        "card number, a phone number or a patient code, then press Enter.")
    identity_method = fields.Selection(
        IDENTITY_METHODS, "Identity Checked By", required=True, sort=False)

    @classmethod
    def default_identity_method(cls):
        return 'cccd_qr'

    @fields.depends('scan', 'identity_method')
    def on_change_scan(self):
        if not self.scan:
            return
        kind = classify_scan(self.scan).kind
        method = SCAN_IDENTITY_METHODS.get(kind)
        if method:
            # A VNeID QR code reads like the card's: keep that choice
            if not (method == 'cccd_qr' and self.identity_method in {
                        'vneid', 'chip'}):
                self.identity_method = method
        elif self.identity_method in {'cccd_qr', 'insurance_card'}:
            self.identity_method = 'declared'


class ReceptionPatient(ModelView):
    "The patient found, or the new patient filled from the card"
    __name__ = 'health.reception.patient'

    scan_kind = fields.Char("Scan Kind", readonly=True)
    candidates = fields.Many2Many(
        'health.patient', None, None, "Patients Found", readonly=True,
        states={'invisible': ~Eval('candidates')})
    patient = fields.Many2One(
        'health.patient', "Patient",
        domain=[
            ('id', 'in', Eval('candidates', [])),
            ],
        states={'invisible': ~Eval('candidates')},
        help="Leave empty to register a new patient.")
    name = fields.Char(
        "Full Name", states={
            'required': ~Eval('patient'),
            'invisible': Bool(Eval('patient')),
            })
    birth_date = fields.Date(
        "Birth Date", states={
            'required': ~Eval('patient'),
            'invisible': Bool(Eval('patient')),
            })
    birth_date_precision = fields.Selection(
        BIRTH_DATE_PRECISIONS, "Birth Date Precision", sort=False,
        states={'invisible': Bool(Eval('patient'))})
    sex = fields.Selection(
        SEXES, "Sex", sort=False, states={
            'required': ~Eval('patient'),
            'invisible': Bool(Eval('patient')),
            })
    personal_id = fields.Char(
        "Personal ID", states={'invisible': Bool(Eval('patient'))})
    old_id_number = fields.Char(
        "Old ID Card Number", states={'invisible': Bool(Eval('patient'))})
    phone = fields.Char(
        "Phone", states={'invisible': Bool(Eval('patient'))})
    ethnicity = fields.Many2One(
        'health.ethnicity', "Ethnicity",
        states={'invisible': Bool(Eval('patient'))})
    occupation = fields.Many2One(
        'health.occupation', "Occupation",
        states={'invisible': Bool(Eval('patient'))})
    commune = fields.Many2One(
        'health.commune', "Commune",
        states={'invisible': Bool(Eval('patient'))},
        help="Commune or ward since 01/07/2025: filled only when the "
        "address on the card maps to it with certainty.")
    street = fields.Char(
        "Hamlet / Street", states={'invisible': Bool(Eval('patient'))})
    address_original = fields.Text(
        "Address as on the Card", readonly=True,
        states={
            'invisible': Bool(Eval('patient')) | ~Eval('address_original'),
            })
    guardian_name = fields.Char(
        "Guardian", states={'invisible': Bool(Eval('patient'))})
    guardian_relationship = fields.Char(
        "Guardian Relationship", states={'invisible': Bool(Eval('patient'))})
    guardian_personal_id = fields.Char(
        "Guardian Personal ID", states={'invisible': Bool(Eval('patient'))})
    guardian_phone = fields.Char(
        "Guardian Phone", states={'invisible': Bool(Eval('patient'))})
    card = fields.Many2One(
        'health.insurance.card', "Current Card", readonly=True,
        states={'invisible': ~Eval('card')})
    card_number = fields.Char(
        "Insurance Card Number",
        help="Leave empty for a visit without health insurance.")
    card_valid_from = fields.Date(
        "Card Valid From", states={'invisible': ~Eval('card_number')})
    card_valid_to = fields.Date(
        "Card Valid To",
        states={'invisible': ~Eval('card_number')})
    card_registered_facility = fields.Char(
        "Primary-Care Facility Code",
        states={'invisible': ~Eval('card_number')},
        help="Nơi đăng ký KCB ban đầu (MA_DKBD): 5 digits.")

    @classmethod
    def default_birth_date_precision(cls):
        return 'day'

    @classmethod
    def default_sex(cls):
        return 'unknown'

    @fields.depends('patient', 'card')
    def on_change_patient(self):
        card = self.patient and _current_card(self.patient)
        self.card = card
        if card:
            self.card_number = card.number
            self.card_valid_from = card.valid_from
            self.card_valid_to = card.valid_to
            self.card_registered_facility = card.registered_facility


class ReceptionInsurance(ModelView):
    "The result of the insurance eligibility check"
    __name__ = 'health.reception.insurance'

    card_number = fields.Char("Card Number", readonly=True)
    record_check = fields.Boolean(
        "Record the Check",
        help="Untick when the card could not be checked (no access to the "
        "social-insurance portal): no check is recorded.")
    method = fields.Selection([
            ('manual', "Manual (portal or phone)"),
            ('gateway', "Social-Insurance Gateway"),
            ], "Method", readonly=True, sort=False)
    eligible = fields.Boolean(
        "Eligible", states={'invisible': ~Eval('record_check')})
    result_code = fields.Char(
        "Result Code", states={'invisible': ~Eval('record_check')},
        help="The code of the answer of the social-insurance portal, "
        "e.g. 000 when the card is valid.")
    result_message = fields.Char(
        "Result", states={'invisible': ~Eval('record_check')})
    raw_answer = fields.Text(
        "Raw Answer", states={'invisible': ~Eval('record_check')},
        help="The answer as given by the portal, copied as evidence.")

    @classmethod
    def default_record_check(cls):
        return True

    @classmethod
    def default_method(cls):
        return 'manual'


class ReceptionVisit(ModelView):
    "Why and where the patient comes"
    __name__ = 'health.reception.visit'

    reason = fields.Text("Reason for Visit")
    visit_category = fields.Many2One(
        'health.visit.category', "Visit Category")
    site = fields.Many2One(
        'health.site', "Site", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ])
    company = fields.Many2One('company.company', "Facility", readonly=True)
    encounter = fields.Many2One(
        'health.encounter', "Encounter", readonly=True,
        states={'invisible': True})

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_site(cls):
        pool = Pool()
        User = pool.get('res.user')
        context = Transaction().context
        if context.get('site'):
            return context['site']
        user = User(Transaction().user)
        sites = [s for s in getattr(user, 'sites', [])
            if s.company.id == context.get('company')]
        if len(sites) == 1:
            return sites[0].id


def _same_cards(patient, number):
    """The cards of the patient with that number; a 10-digit number is
    the social-insurance number printed on a 15-character card"""
    return [c for c in patient.insurance_cards
        if c.number == number
        or (len(number) == 10 and c.number[-10:] == number)]


def _same_card(patient, number):
    cards = _same_cards(patient, number)
    return cards[0] if cards else None


def _current_card(patient):
    "The card of the patient valid today, else the latest one"
    Date = Pool().get('ir.date')
    today = Date.today()
    cards = sorted(patient.insurance_cards,
        key=lambda c: (c.valid_from or dt.date.min, c.id), reverse=True)
    for card in cards:
        if ((not card.valid_from or card.valid_from <= today)
                and (not card.valid_to or card.valid_to >= today)):
            return card
    return cards[0] if cards else None


class Reception(Wizard):
    "Receive a patient: identify, check the insurance, open an encounter"
    __name__ = 'health.reception'

    start = StateView(
        'health.reception.start',
        'health_emr.reception_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Find", 'find', 'tryton-search', default=True),
            ])
    find = StateTransition()
    patient = StateView(
        'health.reception.patient',
        'health_emr.reception_patient_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Next", 'confirm', 'tryton-forward', default=True),
            ])
    confirm = StateTransition()
    insurance = StateView(
        'health.reception.insurance',
        'health_emr.reception_insurance_view_form', [
            Button("Back", 'patient', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Next", 'visit', 'tryton-forward', default=True),
            ])
    visit = StateView(
        'health.reception.visit',
        'health_emr.reception_visit_view_form', [
            Button("Back", 'patient', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Register", 'register', 'tryton-ok', default=True),
            ])
    register = StateTransition()
    open_ = StateAction('health_emr.act_reception_encounter')

    # Defaults: the values each step got from the previous transition

    def _stored(self, state, fields):
        values = getattr(self, state)._default_values
        return {f: v for f, v in values.items() if f in fields}

    def default_start(self, fields):
        values = self._stored('start', fields)
        context = Transaction().context
        if (not values.get('scan')
                and context.get('active_model') == 'health.patient'
                and context.get('active_id')):
            # Started from a patient: receive that patient
            Patient = Pool().get('health.patient')
            patient = Patient(context['active_id'])
            values['scan'] = patient.personal_id or patient.code
            values['identity_method'] = 'declared'
        return values

    def default_patient(self, fields):
        return self._stored('patient', fields)

    def default_insurance(self, fields):
        return self._stored('insurance', fields)

    def default_visit(self, fields):
        return self._stored('visit', fields)

    # Transitions

    @staticmethod
    def _company():
        Company = Pool().get('company.company')
        company = Transaction().context.get('company')
        if not company:
            raise _error('msg_reception_no_company')
        return Company(company)

    def transition_find(self):
        pool = Pool()
        Patient = pool.get('health.patient')
        Commune = pool.get('health.commune')
        company = self._company()
        text = clean_scan(self.start.scan)
        if not text:
            raise _error('msg_reception_scan_empty')
        scan = classify_scan(text)
        values = {'scan_kind': scan.kind}
        if scan.kind == 'cccd_qr':
            try:
                qr = parse_cccd_qr(scan.value)
            except CccdQrError as exception:
                names = {'number': '', 'person': '', **exception.names}
                raise ReceptionError(gettext(
                        'health_emr.msg_reception_cccd_qr',
                        error=gettext(
                            f'health_emr.{exception.message_id}', **names))
                    ) from None
            patients = Patient.search([
                    ('company', '=', company.id),
                    ('personal_id', '=', qr.personal_id),
                    ])
            if not patients and qr.old_id_number:
                patients = Patient.search([
                        ('company', '=', company.id),
                        ('old_id_number', '=', qr.old_id_number),
                        ('personal_id', '=', None),
                        ])
            address = map_address(qr.address)
            communes = Commune.search([
                    ('code', '=', address.commune),
                    ]) if address.commune else []
            values.update(
                name=qr.name,
                birth_date=qr.birth_date,
                birth_date_precision=qr.birth_date_precision,
                sex=qr.sex,
                personal_id=qr.personal_id,
                old_id_number=(
                    qr.old_id_number if qr.old_id_number
                    and len(qr.old_id_number) == 9 else None),
                address_original=qr.address,
                commune=communes[0].id if len(communes) == 1 else None,
                street=address.street)
        else:
            value = scan.value
            person = gettext('health_emr.msg_reception_scanned_person')
            if scan.kind == 'personal_id':
                if message := check_personal_id(value):
                    raise _error(message, number=value, person=person)
                values['personal_id'] = value
            elif scan.kind in {'insurance_card', 'social_insurance_number'}:
                if message := check_insurance_card_number(value):
                    raise _error(message, number=value, person=person)
                values['card_number'] = value
            elif scan.kind == 'phone':
                values['phone'] = value
            patients = Patient.search_by_identifier(value, company=company)
        patients = self._follow_merges(patients)
        values['candidates'] = [p.id for p in patients]
        if len(patients) == 1:
            patient, = patients
            values['patient'] = patient.id
            number = values.get('card_number')
            card = (_same_card(patient, number) if number
                else _current_card(patient))
            if card:
                values.update(
                    card=card.id,
                    card_number=card.number,
                    card_valid_from=card.valid_from,
                    card_valid_to=card.valid_to,
                    card_registered_facility=card.registered_facility)
        # Without the screen's on_change (RPC, import), keep the method
        # consistent with what was scanned
        method = SCAN_IDENTITY_METHODS.get(scan.kind)
        if method and self.start.identity_method not in {
                method, 'vneid', 'chip'}:
            self.start.identity_method = method
        elif not method and self.start.identity_method in {
                'cccd_qr', 'insurance_card'}:
            self.start.identity_method = 'declared'
        self.patient = self.patient.__class__(**values)
        self.insurance = self.insurance.__class__()
        self.visit = self.visit.__class__()
        return 'patient'

    @staticmethod
    def _follow_merges(patients):
        "A merged patient is received as the patient kept"
        result = []
        for patient in patients:
            seen = set()
            while getattr(patient, 'merged_into', None) and (
                    patient.id not in seen):
                seen.add(patient.id)
                patient = patient.merged_into
            if patient not in result:
                result.append(patient)
        return result

    def _check_patient(self):
        """Check what the receptionist filled; raise ReceptionError.
        Return the existing patient, or None for a new one."""
        pool = Pool()
        Patient = pool.get('health.patient')
        Date = pool.get('ir.date')
        today = Date.today()
        company = self._company()
        data = self.patient
        patient = data.patient
        if patient and patient.company != company:
            patient = data.patient = None
        if not patient:
            labels = data.fields_get(['name', 'birth_date', 'sex'])
            missing = [labels[f]['string']
                for f in ['name', 'birth_date', 'sex']
                if not getattr(data, f)]
            if missing:
                raise _error(
                    'msg_reception_patient_missing',
                    fields=', '.join(missing))
            if data.birth_date > today:
                raise _error(
                    'msg_patient_birth_date_future', person=data.name)
            data.personal_id = normalize_digits(data.personal_id) or None
            if data.personal_id:
                if message := check_personal_id(
                        data.personal_id, data.birth_date.year, data.sex):
                    raise _error(
                        message, number=data.personal_id, person=data.name)
                # A personal ID already registered is that patient
                existing = self._follow_merges(Patient.search([
                            ('company', '=', company.id),
                            ('personal_id', '=', data.personal_id),
                            ]))
                if existing:
                    patient = data.patient = existing[0]
            data.phone = normalize_phone(data.phone) or None
        data.card_number = normalize_code(data.card_number) or None
        if data.card_number:
            person = patient.name if patient else data.name
            if message := check_insurance_card_number(data.card_number):
                raise _error(message, number=data.card_number, person=person)
            data.card_registered_facility = (
                normalize_digits(data.card_registered_facility) or None)
            if data.card_registered_facility and (
                    message := check_registered_facility_code(
                        data.card_registered_facility)):
                raise _error(
                    message, code=data.card_registered_facility,
                    number=data.card_number)
            if (data.card_valid_from and data.card_valid_to
                    and data.card_valid_from > data.card_valid_to):
                raise _error(
                    'msg_insurance_card_dates', number=data.card_number)
        return patient

    def transition_confirm(self):
        pool = Pool()
        Category = pool.get('health.visit.category')
        self._check_patient()
        card_number = self.patient.card_number
        if card_number:
            if self.insurance.card_number != card_number:
                self.insurance = self.insurance.__class__(
                    card_number=card_number, record_check=True,
                    method='manual')
                answer = self._check_eligibility(card_number)
                if answer:
                    for name, value in answer.items():
                        setattr(self.insurance, name, value)
                    self.insurance.method = 'gateway'
        codes = (VISIT_CATEGORIES_WITH_CARD if card_number
            else [VISIT_CATEGORY_WITHOUT_CARD])
        current = self.visit.visit_category
        if not current or (current.code in VISIT_CATEGORIES_WITH_CARD
                + [VISIT_CATEGORY_WITHOUT_CARD]
                and current.code not in codes):
            self.visit.visit_category = None
            for code in codes:
                categories = Category.search([('code', '=', code)], limit=1)
                if categories:
                    self.visit.visit_category, = categories
                    break
        return 'insurance' if card_number else 'visit'

    def _check_eligibility(self, card_number):
        """Ask the social-insurance gateway whether the card may be used
        today (tra cứu thẻ BHYT, §3.3 of the regulations digest).

        Return None when there is no gateway (the receptionist records
        the answer of the portal by hand), or a dict of the fields of
        health.reception.insurance (eligible, result_code,
        result_message, raw_answer).  A module that adds the gateway
        client overrides this method."""
        return None

    def transition_register(self):
        """Create the patient, the card, the check and the encounter: all
        of it or nothing (one transaction, every check made first)."""
        pool = Pool()
        Patient = pool.get('health.patient')
        Check = pool.get('health.insurance.check')
        Encounter = pool.get('health.encounter')
        company = self._company()
        patient = self._check_patient()
        site = self.visit.site
        if not site or site.company != company:
            raise _error('msg_reception_no_site')
        data = self.patient
        card_number = data.card_number

        if not patient:
            values = {f: getattr(data, f) for f in NEW_PATIENT_FIELDS}
            for name, value in values.items():
                if isinstance(value, ModelView):
                    values[name] = value.id
            values['company'] = company.id
            values['birth_date_precision'] = (
                values['birth_date_precision'] or 'day')
            patient, = Patient.create([values])
        else:
            self._complete_patient(patient)

        card = None
        if card_number:
            card = self._save_card(patient, card_number)

        check = None
        if card and self.insurance.record_check:
            employee = Transaction().context.get('employee')
            check_values = {
                'company': company.id,
                'patient': patient.id,
                'card': card.id,
                'card_number': card.number,
                'checked_at': dt.datetime.now(),
                'checked_by': employee,
                'method': self.insurance.method or 'manual',
                'eligible': bool(self.insurance.eligible),
                'result_code': self.insurance.result_code,
                'result_message': self.insurance.result_message,
                'raw_answer': self.insurance.raw_answer,
                }
            check, = Check.create([check_values])

        encounter, = Encounter.create([{
                    'company': company.id,
                    'site': site.id,
                    'patient': patient.id,
                    'arrival_at': dt.datetime.now(),
                    'identity_method': self.start.identity_method,
                    'reason': self.visit.reason,
                    'insurance_card': card.id if card else None,
                    'insurance_check': check.id if check else None,
                    'visit_category': (self.visit.visit_category.id
                        if self.visit.visit_category else None),
                    }])
        if check and 'encounter' in Check._fields:
            Check.write([check], {'encounter': encounter.id})
        self.visit.encounter = encounter
        return 'open_'

    def _complete_patient(self, patient):
        """Fill what the card tells and the record lacks (a patient
        registered with the old CMND gets the personal ID)"""
        Patient = Pool().get('health.patient')
        data = self.patient
        values = {}
        if data.scan_kind == 'cccd_qr':
            for name in ['personal_id', 'old_id_number', 'address_original']:
                if getattr(data, name) and not getattr(patient, name):
                    values[name] = getattr(data, name)
        if values:
            Patient.write([patient], values)

    def _save_card(self, patient, number):
        """The card of the patient with that number and period: updated
        when its details changed, added when new (a renewal with a new
        period or a new code keeps the old card as history)."""
        Card = Pool().get('health.insurance.card')
        data = self.patient
        details = {
            'valid_from': data.card_valid_from,
            'valid_to': data.card_valid_to,
            'registered_facility': data.card_registered_facility,
            }
        for card in _same_cards(patient, number):
            if (not data.card_valid_from or not card.valid_from
                    or card.valid_from == data.card_valid_from):
                changes = {k: v for k, v in details.items()
                    if v and v != getattr(card, k)}
                if changes:
                    Card.write([card], changes)
                return card
        card, = Card.create([{'patient': patient.id, 'number': number,
                    **details}])
        return card

    def do_open_(self, action):
        encounter = self.visit.encounter
        action['res_id'] = [encounter.id]
        action['views'] = [(None, 'form'), (None, 'tree')]
        action['name'] = gettext(
            'health_emr.msg_reception_queue_number',
            number=encounter.queue_number or '',
            patient=encounter.patient.rec_name)
        return action, {}
