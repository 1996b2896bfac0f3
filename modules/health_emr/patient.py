# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The patient registry (master patient index of a facility) and the
health-insurance (BHYT) cards of each patient."""
import datetime as dt
import hashlib
import re
from collections import defaultdict
from itertools import chain

from sql import Column
from sql.conditionals import Coalesce

from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.transaction import (
    Transaction, record_cache_size, without_check_access)
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import PersonalIdError
from .identity import (
    check_insurance_card_number, check_old_id_number, check_passport_number,
    check_personal_id, check_registered_facility_code, normalize_code,
    normalize_digits, normalize_phone, raise_if_invalid,
    split_insurance_card_number)
from .model import FoldedNameMixin, facility_sequence, fold

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
ALLERGY_SEVERITIES = [
    ('mild', "Mild"),
    ('moderate', "Moderate"),
    ('severe', "Severe"),
    ('unknown', "Unknown"),
    ]
# TT 26/2025: a child under 72 months has its age written in months
CHILD_AGE_MONTHS = 72
# Identity fields a merge copies to the patient kept when it has none
MERGE_COPIED_FIELDS = [
    'personal_id', 'old_id_number', 'passport_number', 'ethnicity',
    'nationality', 'occupation', 'commune', 'street', 'address_original',
    'phone', 'guardian_name', 'guardian_relationship',
    'guardian_personal_id', 'guardian_phone']
# Copied identifiers are unique per facility: the duplicate gives them up
MERGE_MOVED_IDENTIFIERS = {'personal_id'}


class PatientError(ValidationError):
    pass


class InsuranceCardError(ValidationError):
    pass


class DuplicatePatientError(ValidationError):
    pass


class DuplicatePatientWarning(UserWarning):
    pass


class PatientMergeError(UserError):
    pass


class PatientMergeWarning(UserWarning):
    pass


def _months_between(start, end):
    "Completed months from start to end"
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return months


def _warning_key(*parts):
    key = '|'.join(str(p) for p in parts).encode('utf-8')
    return 'health_emr.%s' % hashlib.md5(key).hexdigest()


class Patient(FoldedNameMixin, DeactivableMixin, ModelSQL, ModelView):
    """A person registered at the facility: one record per person and
    facility, linked to the person's 12-digit personal ID (TT 13/2025
    Điều 1)."""
    __name__ = 'health.patient'
    _history = True

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT',
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='RESTRICT',
        readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    code = fields.Char(
        "Patient Code", readonly=True,
        help="Given by the facility's patient-code sequence on creation.")
    name = fields.Char("Full Name", required=True)
    birth_date = fields.Date(
        "Birth Date", required=True,
        help="For a year-only birth date, 1 January of the year; for a "
        "month and year, the first day of the month.")
    birth_date_precision = fields.Selection(
        BIRTH_DATE_PRECISIONS, "Birth Date Precision", required=True,
        sort=False)
    birth_date_text = fields.Function(
        fields.Char("Date of Birth"), 'get_birth_date_text')
    age = fields.Function(fields.Char("Age"), 'get_age')
    sex = fields.Selection(SEXES, "Sex", required=True, sort=False)
    sex_string = sex.translated('sex')
    personal_id = fields.Char(
        "Personal ID",
        help="Số định danh cá nhân: the 12-digit number of the citizen "
        "identity card, also the health identifier (mã định danh y tế).")
    old_id_number = fields.Char("Old ID Card Number", help="9-digit CMND.")
    passport_number = fields.Char(
        "Passport Number",
        help="For foreigners: 6 to 9 letters and digits.")
    ethnicity = fields.Many2One('health.ethnicity', "Ethnicity")
    nationality = fields.Many2One('country.country', "Nationality")
    occupation = fields.Many2One('health.occupation', "Occupation")
    commune = fields.Many2One(
        'health.commune', "Commune", ondelete='RESTRICT',
        help="Commune or ward since the reform of 01/07/2025.")
    province = fields.Function(
        fields.Many2One('health.province', "Province"),
        'on_change_with_province', searcher='search_province')
    street = fields.Char(
        "Hamlet / Street", help="Thôn, xóm, tổ dân phố, house and street.")
    address_original = fields.Text(
        "Address as on the Card",
        help="The address read from the identity card, kept as written "
        "(it may name a district or commune that no longer exists).")
    phone = fields.Char("Phone")
    guardian_name = fields.Char(
        "Guardian",
        help="Required for a child under 72 months when prescribing.")
    guardian_relationship = fields.Char("Guardian Relationship")
    guardian_personal_id = fields.Char("Guardian Personal ID")
    guardian_phone = fields.Char("Guardian Phone")
    insurance_cards = fields.One2Many(
        'health.insurance.card', 'patient', "Health Insurance Cards")
    insurance_card = fields.Function(
        fields.Many2One('health.insurance.card', "Current Insurance Card",
            help="The health-insurance card valid today."),
        'get_insurance_card')
    allergies = fields.One2Many(
        'health.patient.allergy', 'patient', "Allergies",
        order=[('noted_at', 'DESC'), ('id', 'DESC')])
    encounters = fields.One2Many(
        'health.encounter', 'patient', "Encounters", readonly=True,
        order=[('arrival_at', 'DESC'), ('id', 'DESC')])
    diagnoses = fields.Function(
        fields.Many2Many(
            'health.encounter.diagnosis', None, None, "Diagnoses",
            readonly=True,
            help="The diagnoses of every encounter, newest first."),
        'get_record')
    problems = fields.Function(
        fields.Many2Many(
            'health.encounter.diagnosis', None, None, "Problem List",
            readonly=True,
            help="The chronic diseases diagnosed, the latest diagnosis of "
            "each."),
        'get_record')
    prescriptions = fields.One2Many(
        'health.prescription', 'patient', "Prescriptions", readonly=True,
        order=[('create_date', 'DESC'), ('id', 'DESC')])
    possible_duplicates = fields.Function(
        fields.Many2Many(
            'health.patient', None, None, "Possible Duplicates",
            readonly=True,
            help="Other patients of the facility with the same personal "
            "ID, the same insurance card, or the same name and birth year."),
        'get_possible_duplicates')
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
        # Identifier lookups are exact matches: keep them on a b-tree
        # Char searches compare COALESCE(column, ''): index that.
        cls._sql_indexes.update({
                Index(table, (Coalesce(column, ''), Index.Equality()))
                for column in [table.personal_id, table.old_id_number,
                    table.passport_number, table.phone, table.code]})
        cls._sql_indexes.add(Index(table, (table.birth_date, Index.Range())))
        cls._order = [('name', 'ASC'), ('id', 'ASC')]
        cls.__rpc__.update({
                'search_by_identifier': RPC(
                    readonly=True, result=lambda r: list(map(int, r))),
                })
        cls._buttons.update({
                'merge': {
                    'invisible': ~Eval('active', True),
                    'depends': ['active'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_birth_date_precision(cls):
        return 'day'

    @classmethod
    def default_sex(cls):
        return 'unknown'

    # Normalisation

    @classmethod
    def _normalize_values(cls, values):
        "Normalise the identifiers people type with spaces, dots or dashes"
        values = values.copy()
        for name in ['personal_id', 'old_id_number', 'guardian_personal_id']:
            if values.get(name) is not None:
                values[name] = normalize_digits(values[name]) or None
        if values.get('passport_number') is not None:
            values['passport_number'] = (
                normalize_code(values['passport_number']) or None)
        for name in ['phone', 'guardian_phone']:
            if values.get(name) is not None:
                values[name] = normalize_phone(values[name]) or None
        if isinstance(values.get('name'), str):
            values['name'] = re.sub(r'\s+', ' ', values['name']).strip()
        if values.get('birth_date') and values.get('birth_date_precision'):
            values['birth_date'] = cls._round_birth_date(
                values['birth_date'], values['birth_date_precision'])
        return values

    @staticmethod
    def _round_birth_date(date, precision):
        if precision == 'year':
            return date.replace(month=1, day=1)
        elif precision == 'month':
            return date.replace(day=1)
        return date

    @classmethod
    def preprocess_values(cls, mode, values):
        return super().preprocess_values(mode, cls._normalize_values(values))

    @fields.depends('personal_id')
    def on_change_personal_id(self):
        self.personal_id = normalize_digits(self.personal_id) or None

    @fields.depends('old_id_number')
    def on_change_old_id_number(self):
        self.old_id_number = normalize_digits(self.old_id_number) or None

    @fields.depends('passport_number')
    def on_change_passport_number(self):
        self.passport_number = normalize_code(self.passport_number) or None

    @fields.depends('phone')
    def on_change_phone(self):
        self.phone = normalize_phone(self.phone) or None

    @fields.depends('guardian_phone')
    def on_change_guardian_phone(self):
        self.guardian_phone = normalize_phone(self.guardian_phone) or None

    @fields.depends('birth_date', 'birth_date_precision')
    def on_change_birth_date_precision(self):
        if self.birth_date and self.birth_date_precision:
            self.birth_date = self._round_birth_date(
                self.birth_date, self.birth_date_precision)

    # Presentation

    def get_rec_name(self, name):
        year = ' (%s)' % self.birth_date.year if self.birth_date else ''
        if self.code:
            return f'{self.code} - {self.name}{year}'
        return f'{self.name}{year}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if isinstance(operand, str) and operator in {
                '=', 'ilike', 'like'}:
            text = operand.strip('%')
            # The rec_name itself: "BN000123 - Nguyễn Văn An (1985)"
            if match := re.fullmatch(r'(\S+) - .+', text):
                text = match.group(1)
            domain = cls.identifier_domain(text)
            if domain:
                return domain
        return cls.folded_name_domain(operator, operand)

    def get_birth_date_text(self, name):
        if not self.birth_date:
            return None
        if self.birth_date_precision == 'year':
            return self.birth_date.strftime('%Y')
        elif self.birth_date_precision == 'month':
            return self.birth_date.strftime('%m/%Y')
        return self.birth_date.strftime('%d/%m/%Y')

    def get_age(self, name):
        months = self.age_months()
        if months is None:
            return None
        if months < 1:
            return gettext(
                'health_emr.msg_patient_age_days', days=self.age_days())
        elif months < CHILD_AGE_MONTHS:
            return gettext(
                'health_emr.msg_patient_age_months', months=months)
        return gettext(
            'health_emr.msg_patient_age_years', years=self.age_years())

    @fields.depends('commune')
    def on_change_with_province(self, name=None):
        return self.commune.province if self.commune else None

    @classmethod
    def search_province(cls, name, clause):
        return [('commune.province' + clause[0][len(name):], *clause[1:])]

    # Age (contract: on_date defaults to today, no birth date → None)

    def _age_date(self, on_date):
        if on_date is None:
            Date = Pool().get('ir.date')
            on_date = Date.today()
        elif isinstance(on_date, dt.datetime):
            on_date = on_date.date()
        return on_date

    def age_days(self, on_date=None):
        if not self.birth_date:
            return None
        return (self._age_date(on_date) - self.birth_date).days

    def age_months(self, on_date=None):
        if not self.birth_date:
            return None
        return _months_between(self.birth_date, self._age_date(on_date))

    def age_years(self, on_date=None):
        if not self.birth_date:
            return None
        return _months_between(self.birth_date, self._age_date(on_date)) // 12

    # The record at a glance

    @classmethod
    def get_insurance_card(cls, patients, name):
        pool = Pool()
        Card = pool.get('health.insurance.card')
        result = dict.fromkeys(map(int, patients))
        for sub_ids in grouped_slice(
                list(result), record_cache_size(Transaction())):
            # Cards are ordered by valid_from DESC: the first one wins
            for card in Card.search([
                        ('patient', 'in', list(sub_ids)),
                        ('current', '=', True),
                        ]):
                if result[card.patient.id] is None:
                    result[card.patient.id] = card.id
        return result

    @classmethod
    def get_record(cls, patients, names):
        pool = Pool()
        Diagnosis = pool.get('health.encounter.diagnosis')
        ModelAccess = pool.get('ir.model.access')
        result = {n: {p.id: [] for p in patients} for n in names}
        if not ModelAccess.check(
                'health.encounter.diagnosis', 'read', raise_exception=False):
            return result
        chronic_diagnosis = 'chronic' in Diagnosis._fields
        Disease = pool.get('health.disease')
        chronic_disease = 'chronic_prescription' in Disease._fields
        domain = [('encounter.patient', 'in', [p.id for p in patients])]
        if 'state' in pool.get('health.encounter')._fields:
            domain.append(('encounter.state', '!=', 'cancelled'))
        diagnoses = Diagnosis.search(domain, order=[
                ('encounter.arrival_at', 'DESC'), ('encounter.id', 'DESC'),
                ('sequence', 'ASC NULLS LAST'), ('id', 'ASC')])
        seen = defaultdict(set)
        for diagnosis in diagnoses:
            patient = diagnosis.encounter.patient.id
            if 'diagnoses' in result:
                result['diagnoses'][patient].append(diagnosis.id)
            if 'problems' in result:
                chronic = (
                    (chronic_diagnosis and diagnosis.chronic)
                    or (chronic_disease
                        and diagnosis.disease.chronic_prescription))
                if chronic and diagnosis.disease.id not in seen[patient]:
                    seen[patient].add(diagnosis.disease.id)
                    result['problems'][patient].append(diagnosis.id)
        return result

    # Identifier search

    @classmethod
    def identifier_domain(cls, text):
        """The domain of exact identifier matches for text, or None when
        text holds no digit (then it is a name).  Each clause is an
        equality on an indexed column."""
        if not isinstance(text, str) or not re.search(r'\d', text):
            return None
        code = normalize_code(text)
        if not code or not re.fullmatch(r'[0-9A-Z+/()]+', code):
            return None
        domain = ['OR', ('code', '=', code)]
        digits = normalize_phone(code)
        if re.fullmatch(r'\d{12}', code):
            domain.append(('personal_id', '=', code))
        if re.fullmatch(r'\d{9}', code):
            domain.append(('old_id_number', '=', code))
        if re.fullmatch(r'[A-Z0-9]{6,9}', code):
            domain.append(('passport_number', '=', code))
        if digits and re.fullmatch(r'\d{8,12}', digits):
            domain.append(('phone', '=', digits))
        if not check_insurance_card_number(code):
            _, _, _, number = split_insurance_card_number(code)
            if len(code) == 15:
                domain.append(('insurance_cards.number', '=', code))
            domain.append(
                ('insurance_cards.social_insurance_number', '=', number))
        return domain

    @classmethod
    def search_by_identifier(cls, text, company=None):
        """The patients whose personal ID, old ID, passport, card number
        (or its social-insurance number), phone or patient code is text,
        after normalisation."""
        domain = cls.identifier_domain(text)
        if not domain:
            return []
        domain = [domain]
        if company is not None:
            domain.append(('company', '=', int(company)))
        return cls.search(domain)

    # Duplicates

    @classmethod
    def _duplicate_domain(cls, company, personal_id, name, birth_date,
            exclude=None):
        "The domain of the patients a new or changed patient duplicates"
        clauses = ['OR']
        if personal_id:
            clauses.append(('personal_id', '=', personal_id))
        if name and birth_date:
            clauses.append([
                    ('name_folded', '=', fold(name)),
                    ('birth_date', '>=', dt.date(birth_date.year, 1, 1)),
                    ('birth_date', '<=', dt.date(birth_date.year, 12, 31)),
                    ])
        if len(clauses) == 1:
            return None
        domain = [('company', '=', company), clauses]
        if exclude:
            domain.append(('id', 'not in', exclude))
        return domain

    @classmethod
    def check_duplicates(cls, vlist, exclude=None):
        """Refuse a personal ID the facility already has; warn (the
        receptionist may go on) about the same name and birth year."""
        pool = Pool()
        Warning = pool.get('res.user.warning')
        context = Transaction().context
        seen_ids = {}
        for values in vlist:
            company = values.get('company') or context.get('company')
            personal_id = values.get('personal_id')
            name = values.get('name')
            if personal_id:
                key = (company, personal_id)
                if key in seen_ids:
                    raise DuplicatePatientError(gettext(
                            'health_emr.msg_patient_duplicate_personal_id',
                            number=personal_id, patient=seen_ids[key]))
                seen_ids[key] = name
            domain = cls._duplicate_domain(
                company, personal_id, name, values.get('birth_date'),
                exclude=exclude)
            if not domain:
                continue
            with without_check_access():
                others = cls.search(domain, limit=10)
            for other in others:
                if personal_id and other.personal_id == personal_id:
                    raise DuplicatePatientError(gettext(
                            'health_emr.msg_patient_duplicate_personal_id',
                            number=personal_id, patient=other.rec_name))
            if others:
                key = _warning_key(
                    'health.patient.duplicate', company, fold(name),
                    values['birth_date'].year)
                if Warning.check(key):
                    raise DuplicatePatientWarning(key, gettext(
                            'health_emr.msg_patient_duplicate_name',
                            name=name, year=values['birth_date'].year,
                            patients=', '.join(o.rec_name for o in others)))

    @classmethod
    def get_possible_duplicates(cls, patients, name):
        pool = Pool()
        Card = pool.get('health.insurance.card')
        result = {}
        for patient in patients:
            domain = cls._duplicate_domain(
                patient.company.id, patient.personal_id, patient.name,
                patient.birth_date, exclude=[patient.id])
            others = set(cls.search(domain)) if domain else set()
            numbers = [c.social_insurance_number
                for c in patient.insurance_cards
                if c.social_insurance_number]
            if numbers:
                others.update(c.patient for c in Card.search([
                            ('social_insurance_number', 'in', numbers),
                            ('patient', '!=', patient.id),
                            ('patient.company', '=', patient.company.id),
                            ('patient.active', '=', True),
                            ]))
            result[patient.id] = [p.id for p in sorted(
                    others, key=lambda p: p.id)]
        return result

    # Codes and parties

    @classmethod
    def _code_sequence(cls, company_id):
        "The patient-code sequence of the facility, made on first use"
        return facility_sequence('sequence_type_patient', company_id,
            name=gettext('health_emr.msg_patient_sequence'),
            prefix='BN', padding=6)

    @classmethod
    def create(cls, vlist):
        pool = Pool()
        Party = pool.get('party.party')
        context = Transaction().context
        vlist = [cls._normalize_values(v) for v in vlist]
        cls.check_duplicates(vlist)
        to_party = []
        for values in vlist:
            company = values.get('company') or context.get('company')
            if company and not values.get('code'):
                with without_check_access():
                    values['code'] = cls._code_sequence(company).get()
            if not values.get('party'):
                to_party.append(values)
        if to_party:
            with without_check_access():
                parties = Party.create([
                        {'name': v.get('name')} for v in to_party])
            for values, party in zip(to_party, parties):
                values['party'] = party.id
        patients = super().create(vlist)
        to_link = defaultdict(list)
        for patient in patients:
            if patient.party.patient != patient:
                to_link[patient].append(patient.party)
        if to_link:
            with without_check_access():
                Party.write(*chain.from_iterable(
                        (parties, {'patient': patient.id})
                        for patient, parties in to_link.items()))
        return patients

    @classmethod
    def write(cls, *args):
        pool = Pool()
        Party = pool.get('party.party')
        actions = iter(args)
        args = []
        to_check = []
        for patients, values in zip(actions, actions):
            values = cls._normalize_values(values)
            if values.get('personal_id'):
                for patient in patients:
                    to_check.append(({
                                'company': values.get(
                                    'company', patient.company.id),
                                'personal_id': values['personal_id'],
                                }, patient.id))
            args.extend((patients, values))
        for values, exclude in to_check:
            cls.check_duplicates([values], exclude=[exclude])
        super().write(*args)
        actions = iter(args)
        to_sync = defaultdict(list)
        for patients, values in zip(actions, actions):
            if 'name' in values:
                for patient in patients:
                    to_sync[values['name']].append(patient.party)
        if to_sync:
            with without_check_access():
                Party.write(*chain.from_iterable(
                        (parties, {'name': name})
                        for name, parties in to_sync.items()))

    @classmethod
    def copy(cls, patients, default=None):
        default = default.copy() if default is not None else {}
        for name in ['code', 'party', 'personal_id', 'merged_into',
                'insurance_cards', 'encounters', 'prescriptions']:
            default.setdefault(name, None)
        return super().copy(patients, default=default)

    # Validation

    @classmethod
    def validate_fields(cls, patients, field_names):
        super().validate_fields(patients, field_names)
        identity = {'personal_id', 'birth_date', 'birth_date_precision',
            'sex'}
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        for patient in patients:
            person = patient.name
            if field_names is None or identity & field_names:
                # The personal ID gives only the year of birth: with a
                # year-only or month-year birth date it is all we know
                raise_if_invalid(
                    PersonalIdError, check_personal_id, patient.personal_id,
                    patient.birth_date.year if patient.birth_date else None,
                    patient.sex, number=patient.personal_id, person=person)
            if field_names is None or 'birth_date' in field_names:
                if patient.birth_date and patient.birth_date > today:
                    raise PatientError(gettext(
                            'health_emr.msg_patient_birth_date_future',
                            person=person))
            if field_names is None or 'old_id_number' in field_names:
                raise_if_invalid(
                    PatientError, check_old_id_number, patient.old_id_number,
                    number=patient.old_id_number, person=person)
            if field_names is None or 'passport_number' in field_names:
                raise_if_invalid(
                    PatientError, check_passport_number,
                    patient.passport_number,
                    number=patient.passport_number, person=person)
            if field_names is None or 'guardian_personal_id' in field_names:
                raise_if_invalid(
                    PersonalIdError, check_personal_id,
                    patient.guardian_personal_id,
                    number=patient.guardian_personal_id,
                    person=patient.guardian_name or person)

    @classmethod
    @ModelView.button_action('health_emr.wizard_patient_merge')
    def merge(cls, patients):
        pass


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    patient = fields.Many2One(
        'health.patient', "Patient", readonly=True, ondelete='CASCADE',
        help="The patient this party stands for: only the users of the "
        "patient's facility see it.")


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
    beneficiary_group = fields.Function(
        fields.Char("Beneficiary Group",
            help="Mã đối tượng: characters 1-2 of the card code."),
        'get_number_part')
    benefit_level = fields.Function(
        fields.Integer("Benefit Level",
            help="Mức hưởng: character 3 of the card code, 1 to 5."),
        'get_number_part')
    province_code = fields.Function(
        fields.Char("Province Code",
            help="Characters 4-5: the province of the issuing "
            "social-insurance office."),
        'get_number_part')
    social_insurance_number = fields.Char(
        "Social Insurance Number", readonly=True,
        help="Mã số BHXH: the last 10 digits of the card code.")
    valid_from = fields.Date("Valid From")
    valid_to = fields.Date("Valid To")
    current = fields.Function(
        fields.Boolean("Valid Today"), 'get_current',
        searcher='search_current')
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
        table = cls.__table__()
        cls._sql_indexes.update({
                Index(table, (table.number, Index.Equality())),
                Index(table, (Coalesce(table.social_insurance_number, ''),
                        Index.Equality())),
                })
        cls._order = [('valid_from', 'DESC NULLS FIRST'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return self.number

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if isinstance(operand, str) and operator in {'=', 'ilike', 'like'}:
            number = normalize_code(operand.strip('%'))
            if not check_insurance_card_number(number):
                return ['OR',
                    ('number', '=', number),
                    ('social_insurance_number', '=', number[-10:]),
                    ]
        return [('number', operator, operand, *extra)]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('number') is not None:
            values['number'] = normalize_code(values['number'])
            _, _, _, values['social_insurance_number'] = (
                split_insurance_card_number(values['number']))
        if values.get('registered_facility') is not None:
            values['registered_facility'] = (
                normalize_code(values['registered_facility']) or None)
        return values

    @fields.depends('number')
    def on_change_number(self):
        self.number = normalize_code(self.number)

    @fields.depends('registered_facility')
    def on_change_registered_facility(self):
        self.registered_facility = (
            normalize_code(self.registered_facility) or None)

    def get_number_part(self, name):
        group, level, province, _ = split_insurance_card_number(self.number)
        return {
            'beneficiary_group': group,
            'benefit_level': level,
            'province_code': province,
            }[name]

    def is_valid_on(self, date):
        return ((not self.valid_from or self.valid_from <= date)
            and (not self.valid_to or self.valid_to >= date))

    def get_current(self, name):
        return self.is_valid_on(Pool().get('ir.date').today())

    @classmethod
    def search_current(cls, name, clause):
        today = Pool().get('ir.date').today()
        _, operator, value = clause
        valid = [
            ['OR', ('valid_from', '=', None), ('valid_from', '<=', today)],
            ['OR', ('valid_to', '=', None), ('valid_to', '>=', today)],
            ]
        if (operator == '=') == bool(value):
            return valid
        return ['OR',
            ('valid_from', '>', today),
            ('valid_to', '<', today),
            ]

    @classmethod
    def validate_fields(cls, cards, field_names):
        super().validate_fields(cards, field_names)
        for card in cards:
            person = card.patient.name
            if field_names is None or 'number' in field_names:
                raise_if_invalid(
                    InsuranceCardError, check_insurance_card_number,
                    card.number, number=card.number, person=person)
            if field_names is None or 'registered_facility' in field_names:
                raise_if_invalid(
                    InsuranceCardError, check_registered_facility_code,
                    card.registered_facility,
                    code=card.registered_facility, number=card.number)
            if (field_names is None
                    or {'valid_from', 'valid_to'} & field_names):
                if (card.valid_from and card.valid_to
                        and card.valid_from > card.valid_to):
                    raise InsuranceCardError(gettext(
                            'health_emr.msg_insurance_card_dates',
                            number=card.number))

    @classmethod
    def create(cls, vlist):
        cards = super().create(vlist)
        cls.check_duplicates(cards)
        return cards

    @classmethod
    def write(cls, *args):
        super().write(*args)
        actions = iter(args)
        cards = []
        for records, values in zip(actions, actions):
            if 'number' in values or 'patient' in values:
                cards.extend(records)
        cls.check_duplicates(cards)

    @classmethod
    def check_duplicates(cls, cards):
        "Warn when another patient of the facility has the same card"
        pool = Pool()
        Warning = pool.get('res.user.warning')
        for card in cards:
            if not card.social_insurance_number:
                continue
            with without_check_access():
                others = cls.search([
                        ('social_insurance_number', '=',
                            card.social_insurance_number),
                        ('patient', '!=', card.patient.id),
                        ('patient.company', '=', card.patient.company.id),
                        ('patient.active', '=', True),
                        ], limit=1)
            if others:
                other = others[0].patient
                key = _warning_key(
                    'health.insurance.card.duplicate', card.patient.id,
                    other.id, card.social_insurance_number)
                if Warning.check(key):
                    raise DuplicatePatientWarning(key, gettext(
                            'health_emr.msg_insurance_card_duplicate',
                            number=card.number, person=card.patient.name,
                            patient=other.rec_name))


class InsuranceCheck(ModelSQL, ModelView):
    """The result of an insurance eligibility check (tra cứu thẻ BHYT),
    with its evidence: who, when, how and the raw answer."""
    __name__ = 'health.insurance.check'

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT')
    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='CASCADE',
        domain=[('company', '=', Eval('company', -1))])
    card = fields.Many2One(
        'health.insurance.card', "Card", ondelete='RESTRICT',
        domain=[('patient', '=', Eval('patient', -1))])
    encounter = fields.Many2One(
        'health.encounter', "Encounter", ondelete='SET NULL',
        domain=[('patient', '=', Eval('patient', -1))])
    card_number = fields.Char("Card Number Checked", required=True)
    checked_at = fields.DateTime("Checked At", required=True)
    checked_by = fields.Many2One(
        'company.employee', "Checked By", ondelete='RESTRICT')
    method = fields.Selection([
            ('manual', "Manual (portal or phone)"),
            ('gateway', "Social-Insurance Gateway"),
            ], "Method", required=True, sort=False)
    method_string = method.translated('method')
    eligible = fields.Boolean("Eligible")
    result_code = fields.Char("Result Code")
    result_message = fields.Char("Result")
    raw_answer = fields.Text("Raw Answer")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('checked_at', 'DESC'), ('id', 'DESC')]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_checked_at(cls):
        return dt.datetime.now()

    @classmethod
    def default_checked_by(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_method(cls):
        return 'manual'

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('card_number') is not None:
            values['card_number'] = normalize_code(values['card_number'])
        return values


class Allergy(ModelSQL, ModelView):
    "An allergy or intolerance of a patient, with who noted it and when"
    __name__ = 'health.patient.allergy'
    _history = True

    patient = fields.Many2One(
        'health.patient', "Patient", required=True, ondelete='CASCADE')
    allergen = fields.Char(
        "Allergen", required=True,
        help="The medicine, food or substance, e.g. \"Penicillin\".")
    reaction = fields.Char(
        "Reaction", help="e.g. rash, angioedema, anaphylaxis.")
    severity = fields.Selection(
        ALLERGY_SEVERITIES, "Severity", required=True, sort=False)
    severity_string = severity.translated('severity')
    noted_at = fields.DateTime("Noted At", required=True)
    noted_by = fields.Many2One(
        'company.employee', "Noted By", ondelete='RESTRICT')
    note = fields.Text("Note")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('noted_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_severity(cls):
        return 'unknown'

    @classmethod
    def default_noted_at(cls):
        return dt.datetime.now()

    @classmethod
    def default_noted_by(cls):
        return Transaction().context.get('employee')

    def get_rec_name(self, name):
        return self.allergen


class PatientMergeLog(ModelSQL, ModelView):
    "The record of a merge of a duplicate patient into the patient kept"
    __name__ = 'health.patient.merge.log'

    company = fields.Many2One(
        'company.company', "Facility", required=True, readonly=True,
        ondelete='RESTRICT')
    patient = fields.Many2One(
        'health.patient', "Patient Kept", required=True, readonly=True,
        ondelete='RESTRICT')
    duplicate = fields.Many2One(
        'health.patient', "Duplicate", required=True, readonly=True,
        ondelete='RESTRICT')
    duplicate_name = fields.Char("Duplicate Name", readonly=True)
    duplicate_code = fields.Char("Duplicate Code", readonly=True)
    merged_at = fields.DateTime("Merged At", required=True, readonly=True)
    merged_by = fields.Many2One(
        'res.user', "Merged By", readonly=True, ondelete='RESTRICT')
    employee = fields.Many2One(
        'company.employee', "Employee", readonly=True, ondelete='RESTRICT')
    record_count = fields.Integer("Records Moved", readonly=True)
    moved_records = fields.Text(
        "Moved Records", readonly=True,
        help="Per model and field, the ids of the records moved.")
    copied_fields = fields.Text(
        "Copied Fields", readonly=True,
        help="The identity fields copied from the duplicate.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('merged_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def check_modification(cls, mode, logs, values=None, external=False):
        super().check_modification(
            mode, logs, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise PatientMergeError(gettext(
                    'health_emr.msg_patient_merge_log_readonly'))


class PatientMergeStart(ModelView):
    "Choose the duplicate to merge into the patient kept"
    __name__ = 'health.patient.merge.start'

    company = fields.Many2One('company.company', "Facility", readonly=True)
    patient = fields.Many2One(
        'health.patient', "Patient Kept", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('id', '!=', Eval('duplicate', -1)),
            ])
    duplicate = fields.Many2One(
        'health.patient', "Duplicate", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('id', '!=', Eval('patient', -1)),
            ],
        help="The patient record that disappears: its encounters, "
        "prescriptions, cards and other records move to the patient kept.")


class PatientMerge(Wizard):
    """Merge a duplicate patient into the patient kept: every record of
    the duplicate moves, the duplicate is deactivated, the merge logged."""
    __name__ = 'health.patient.merge'
    start = StateView('health.patient.merge.start',
        'health_emr.patient_merge_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Merge", 'merge', 'tryton-ok', default=True),
            ])
    merge = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Patient = pool.get('health.patient')
        values = {}
        if self.model and self.model.__name__ == 'health.patient':
            patient = Patient(self.record.id) if self.record else None
            if patient:
                values['patient'] = patient.id
                values['company'] = patient.company.id
                if len(patient.possible_duplicates) == 1:
                    values['duplicate'] = patient.possible_duplicates[0].id
        if 'company' not in values:
            values['company'] = Transaction().context.get('company')
        return values

    @classmethod
    def fields_to_move(cls):
        """Every stored Many2One (and Reference) to health.patient in the
        pool, as (model, field): those of later modules too."""
        pool = Pool()
        skip = cls.fields_not_moved()
        result = []
        for model_name, Model in pool.iterobject():
            if (not issubclass(Model, ModelSQL)
                    or Model._is_table_query()):
                continue
            for field_name, field in Model._fields.items():
                if (isinstance(field, fields.Function)
                        or (model_name, field_name) in skip):
                    continue
                if (field._type == 'many2one'
                        and field.model_name == 'health.patient'):
                    result.append((model_name, field_name))
                elif (field._type == 'reference'
                        and isinstance(field.selection, (list, tuple))
                        and 'health.patient' in dict(field.selection)):
                    result.append((model_name, field_name))
        return sorted(result)

    @classmethod
    def fields_not_moved(cls):
        "The references that keep pointing to the duplicate"
        return {
            ('health.patient.merge.log', 'patient'),
            ('health.patient.merge.log', 'duplicate'),
            # The duplicate keeps its own party, deactivated
            ('party.party', 'patient'),
            }

    def check_similarity(self, patient, duplicate):
        pool = Pool()
        Warning = pool.get('res.user.warning')
        if (patient.personal_id and duplicate.personal_id
                and patient.personal_id != duplicate.personal_id):
            raise PatientMergeError(gettext(
                    'health_emr.msg_patient_merge_personal_id',
                    patient=patient.rec_name, duplicate=duplicate.rec_name))
        differences = []
        if patient.name_folded != duplicate.name_folded:
            differences.append('name')
        if patient.birth_date.year != duplicate.birth_date.year:
            differences.append('birth_date')
        if ('unknown' not in {patient.sex, duplicate.sex}
                and patient.sex != duplicate.sex):
            differences.append('sex')
        if differences:
            key = _warning_key(
                'health.patient.merge', patient.id, duplicate.id)
            if Warning.check(key):
                raise PatientMergeWarning(key, gettext(
                        'health_emr.msg_patient_merge_different',
                        patient=patient.rec_name,
                        duplicate=duplicate.rec_name))

    def transition_merge(self):
        pool = Pool()
        Patient = pool.get('health.patient')
        Party = pool.get('party.party')
        Log = pool.get('health.patient.merge.log')
        transaction = Transaction()
        cursor = transaction.connection.cursor()

        patient = Patient(self.start.patient.id)
        duplicate = Patient(self.start.duplicate.id)
        if patient == duplicate or patient.company != duplicate.company:
            raise PatientMergeError(gettext(
                    'health_emr.msg_patient_merge_same_facility'))
        for record in [patient, duplicate]:
            if not record.active or record.merged_into:
                raise PatientMergeError(gettext(
                        'health_emr.msg_patient_merge_inactive',
                        patient=record.rec_name))
        self.check_similarity(patient, duplicate)

        moved = []
        changed = defaultdict(list)
        for model_name, field_name in self.fields_to_move():
            Model = pool.get(model_name)
            field = Model._fields[field_name]
            table = Model.__table__()
            column = Column(table, field_name)
            if field._type == 'reference':
                old, new = str(duplicate), str(patient)
            else:
                old, new = duplicate.id, patient.id
            where = column == old
            cursor.execute(*table.select(table.id, where=where))
            ids = [i for i, in cursor]
            if not ids:
                continue
            for sub_ids in grouped_slice(ids, record_cache_size(transaction)):
                cursor.execute(*table.update(
                        [column], [new],
                        where=table.id.in_(list(sub_ids))))
            Model._insert_history(ids)
            changed[Model].append((field_name, ids))
            moved.append((model_name, field_name, ids))
        for Model, modified in changed.items():
            for field_name, ids in modified:
                Model.on_modification(
                    'write', Model.browse(ids), {field_name})
        transaction.counter += 1

        # Identity the patient kept lacks
        copied = {}
        for name in MERGE_COPIED_FIELDS:
            value = getattr(duplicate, name)
            if value and not getattr(patient, name):
                copied[name] = value.id if hasattr(value, 'id') else value
        copied_text = '\n'.join(
            '%s: %s' % (n, getattr(duplicate, n).rec_name
                if hasattr(getattr(duplicate, n), 'rec_name')
                else getattr(duplicate, n))
            for n in sorted(copied))
        released = {n: None for n in MERGE_MOVED_IDENTIFIERS if n in copied}
        if released:
            Patient.write([duplicate], released)
        Patient.write([duplicate], {
                'active': False,
                'merged_into': patient.id,
                })
        if copied:
            Patient.write([patient], copied)
        if duplicate.party != patient.party:
            with without_check_access():
                Party.write([duplicate.party], {
                        'active': False,
                        'replaced_by': patient.party.id,
                        })

        Log.create([{
                    'company': patient.company.id,
                    'patient': patient.id,
                    'duplicate': duplicate.id,
                    'duplicate_name': duplicate.name,
                    'duplicate_code': duplicate.code,
                    'merged_at': dt.datetime.now(),
                    'merged_by': transaction.user or None,
                    'employee': transaction.context.get('employee'),
                    'record_count': sum(len(i) for _, _, i in moved),
                    'moved_records': '\n'.join(
                        '%s.%s: %s' % (m, f, ', '.join(map(str, sorted(i))))
                        for m, f, i in moved),
                    'copied_fields': copied_text,
                    }])
        return 'end'
