# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""National code sets: ethnic groups, occupations, visit categories,
ICD-10 diagnoses, medicines and medical services.

The official lists (ethnic groups, occupations, visit categories and
ICD-10 with its validation lists) are shipped as CSV files in data/ and
loaded by plain SQL each time the module is activated or updated.
Medicines and services are the facility's own lists, imported from the
official upload layouts (see catalogue_import below) and effective-dated:
a new price is a new dated price line, a new code a new item."""
import csv
import datetime as dt
import io
import math
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sql import Literal
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import CatalogueImportError, DiagnosisCodingError
from .model import CodeNameSearchMixin, FoldedNameMixin, fold

DATA = Path(__file__).parent / 'data'

ICD10_VERSION = 'QĐ 4469/QĐ-BYT'
# QĐ 4469/QĐ-BYT of 28/10/2020 replaced the QĐ 7603/2018 list
ICD10_VALID_FROM = dt.date(2020, 10, 28)
# MA_BENH_KT holds at most 12 codes (QĐ 130/QĐ-BYT, amended by QĐ 4750)
MAX_SECONDARY_DIAGNOSES = 12
# Ages of the A3.x lists are converted to days with this year length
DAYS_PER_YEAR = Decimal('365.25')


def read_data(name):
    "The rows of a CSV file of data/ as dictionaries"
    with open(DATA / name, encoding='utf-8', newline='') as file:
        return list(csv.DictReader(file))


def age_bound_days(text, upper=False):
    """Convert an age bound of icd10_qd4469_2020_rules.csv to days.

    "365d" is 365 days; "2y" as a lower bound is 2 full years
    (floor(2 × 365.25) days) and as an upper bound any age up to the
    day before the next birthday ("0 ngày – 2 tuổi" admits 2 years and
    11 months).  A leading ">" means "over": ">27d" is 28 days or more,
    ">15y" is more than 15 × 365.25 days."""
    if not text:
        return None
    over = text.startswith('>')
    number, unit = int(text.lstrip('>')[:-1]), text[-1]
    if unit == 'd':
        return number + 1 if over else number
    assert unit == 'y', text
    if upper:
        return math.floor((number + 1) * DAYS_PER_YEAR) - 1
    days = math.floor(number * DAYS_PER_YEAR)
    return days + 1 if over else days


def sync_table(table, key_columns, columns, rows, missing=None,
        insert_only=False):
    """Make table hold rows, a dict {key tuple: value tuple of columns}.

    New keys are inserted in batches, changed rows updated; rows whose key
    left the list get the (column, value) pairs of missing (deactivated or
    end-dated, never deleted).  Returns {key: id}.  Plain SQL because it
    runs inside __register__, before the ORM is usable."""
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(
            table.id, *key_columns, *columns))
    current = {}
    for row in cursor:
        id_, key = row[0], tuple(row[1:1 + len(key_columns)])
        current[key] = (id_, row[1 + len(key_columns):])

    to_insert = []
    for key, values in rows.items():
        if key not in current:
            to_insert.append(list(key) + list(values))
        elif not insert_only:
            id_, old = current[key]
            if not all(map(_same, old, values)):
                cursor.execute(*table.update(
                        list(columns), list(values),
                        where=table.id == id_))
    if to_insert:
        insert_columns = [*key_columns, *columns, table.create_uid]
        query, _ = tuple(table.insert(
                insert_columns + [table.create_date],
                [[Literal(0)] * len(insert_columns) + [CurrentTimestamp()]]))
        cursor.executemany(query, [row + [0] for row in to_insert])
    if missing:
        gone = [id_ for key, (id_, _) in current.items() if key not in rows]
        for start in range(0, len(gone), 500):
            missing_columns, missing_values = zip(*missing)
            cursor.execute(*table.update(
                    list(missing_columns), list(missing_values),
                    where=table.id.in_(gone[start:start + 500])))
    cursor.execute(*table.select(table.id, *key_columns))
    return {tuple(row[1:]): row[0] for row in cursor}


def _same(old, new):
    if isinstance(new, bool) or isinstance(old, bool):
        return bool(old) == bool(new) and (old is None) == (new is None)
    if isinstance(new, dt.date) and isinstance(old, str):
        return old[:10] == new.isoformat()
    return old == new


class OfficialCatalogueMixin(CodeNameSearchMixin):
    """A code list loaded from the module's data files: everyone reads it,
    users do not edit it (a module update reloads it)."""
    __slots__ = ()
    _official_editable = set()

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if external and (mode in {'create', 'delete'} or (
                    mode == 'write' and values
                    and set(values) - cls._official_editable)):
            raise AccessError(gettext(
                    'health_emr.msg_catalogue_official',
                    catalogue=cls.__names__()['model']))

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls._register_official_list()

    @classmethod
    def _register_official_list(cls):
        "Each activation or update reloads the list shipped in data/"
        cls.load_official_list()

    def get_rec_name(self, name):
        return f'{self.code} - {self.name}'


class Ethnicity(OfficialCatalogueMixin, DeactivableMixin, ModelSQL,
        ModelView):
    "Ethnic group (dân tộc, QĐ 121-TCTK/PPCĐ): MA_DANTOC"
    __name__ = 'health.ethnicity'
    __string__ = "Ethnic Group"
    code = fields.Char(
        "Code", required=True, readonly=True,
        help="MA_DANTOC: 2 digits, 01 Kinh to 54; 55 foreigner and "
        "99 unknown are added by the FHIR code system.")
    name = fields.Char("Name", required=True, readonly=True)
    other_names = fields.Char(
        "Other Names", readonly=True,
        help="Other names and local groups of the same ethnic group.")
    note = fields.Char("Note", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('code', 'ASC'), ('id', 'ASC')]

    @classmethod
    def search_rec_name(cls, name, clause):
        domain = super().search_rec_name(name, clause)
        if domain[0] == 'OR':
            domain.append(('other_names', *clause[1:]))
        return domain

    @classmethod
    def load_official_list(cls):
        "Load data/dan_toc_54.csv (removed codes are deactivated)"
        table = cls.__table__()
        sync_table(table, [table.code],
            [table.name, table.other_names, table.note, table.active],
            {(r['code'],): (r['name_vi'], r['other_names_vi'] or None,
                    r['note'] or None, True)
                for r in read_data('dan_toc_54.csv')},
            missing=[(table.active, False)])


class Occupation(OfficialCatalogueMixin, DeactivableMixin, ModelSQL,
        ModelView):
    "Occupation, level 2 of QĐ 34/2020/QĐ-TTg: MA_NGHE_NGHIEP"
    __name__ = 'health.occupation'
    __string__ = "Occupation"
    code = fields.Char(
        "Code", required=True, readonly=True,
        help="MA_NGHE_NGHIEP: the 2-digit level-2 code of QĐ 34/2020/"
        "QĐ-TTg; 00 when the patient has no occupation (QĐ 3176/QĐ-BYT).")
    name = fields.Char("Name", required=True, readonly=True)
    note = fields.Char("Note", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('code', 'ASC'), ('id', 'ASC')]

    @classmethod
    def load_official_list(cls):
        "Load data/nghe_nghiep_qd34_2020_cap2.csv"
        table = cls.__table__()
        sync_table(table, [table.code],
            [table.name, table.note, table.active],
            {(r['code'],): (r['name_vi'], r['note'] or None, True)
                for r in read_data('nghe_nghiep_qd34_2020_cap2.csv')},
            missing=[(table.active, False)])


class VisitCategory(OfficialCatalogueMixin, DeactivableMixin, ModelSQL,
        ModelView):
    "Visit category (đối tượng đến KBCB, QĐ 3276/QĐ-BYT): MA_DOITUONG_KCB"
    __name__ = 'health.visit.category'
    __string__ = "Visit Category"
    code = fields.Char(
        "Code", required=True, readonly=True,
        help="MA_DOITUONG_KCB of QĐ 3276/QĐ-BYT (2025), Phụ lục 1.")
    name = fields.Text("Description", required=True, readonly=True)
    sequence = fields.Integer(
        "Sequence", readonly=True,
        help="The order of the official table: the first case that "
        "applies to a visit is the one to use.")
    benefit = fields.Text(
        "Insurance Benefit", readonly=True,
        help="What the health insurance pays in this case.")
    legal_basis = fields.Text("Legal Basis", readonly=True)
    note = fields.Text("Note", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('sequence', 'ASC NULLS LAST'), ('id', 'ASC')]

    def get_rec_name(self, name):
        text = self.name.splitlines()[0] if self.name else ''
        if len(text) > 80:
            text = text[:79].rstrip() + '…'
        return f'{self.code} - {text}'

    @classmethod
    def load_official_list(cls):
        "Load data/bhyt_ma_doituong_kcb_qd3276_2025.csv"
        table = cls.__table__()
        sync_table(table, [table.code],
            [table.name, table.sequence, table.benefit, table.legal_basis,
                table.note, table.active],
            {(r['code'],): (r['description_vi'], int(r['stt']),
                    r['muc_huong_benefit'] or None,
                    r['legal_basis'] or None, r['note'] or None, True)
                for r in read_data('bhyt_ma_doituong_kcb_qd3276_2025.csv')},
            missing=[(table.active, False)])


class Disease(FoldedNameMixin, OfficialCatalogueMixin, ModelSQL, ModelView):
    """A code of the Vietnamese ICD-10 list in force over a period, with
    the Ministry's coding rules (QĐ 4469/QĐ-BYT, Phụ lục A2–A4)"""
    __name__ = 'health.disease'
    __string__ = "Disease (ICD-10)"
    _official_editable = {'chronic_prescription'}

    code = fields.Char(
        "Code", required=True, readonly=True,
        help="The ICD-10 code with its dot, e.g. J06.9.")
    code_nodot = fields.Char(
        "Code without Dot", readonly=True,
        help="The form of MA_BENH_CHINH and MA_BENH_KT, e.g. J069.")
    dagger_asterisk = fields.Selection([
            (None, ""),
            ('†', "Dagger (†): underlying disease"),
            ('*', "Asterisk (*): manifestation"),
            ], "Dagger / Asterisk", readonly=True, sort=False)
    name = fields.Char("Name", required=True, readonly=True)
    name_en = fields.Char("English Name", readonly=True)
    chapter = fields.Char(
        "Chapter", readonly=True, help="Chapter number and code range.")
    block = fields.Char("Block", readonly=True)
    category_code = fields.Char(
        "Category", readonly=True, help="The 3-character category.")
    level = fields.Selection([
            ('category', "Category (3 characters)"),
            ('subcategory', "Subcategory (4 characters)"),
            ('subcategory5', "Subcategory (5 characters)"),
            ], "Level", readonly=True, sort=False)
    has_children = fields.Boolean(
        "Has More Specific Codes", readonly=True)
    version = fields.Char(
        "Version", readonly=True, help="The decision that issued the list.")
    valid_from = fields.Date("Valid From", readonly=True)
    valid_to = fields.Date(
        "Valid To", readonly=True,
        domain=[If(Eval('valid_to') & Eval('valid_from'),
                ('valid_to', '>=', Eval('valid_from')), ())])
    not_primary = fields.Boolean(
        "Not as Main Diagnosis", readonly=True,
        help="QĐ 4469/QĐ-BYT Phụ lục A2: the code may not be the main "
        "diagnosis.")
    sex = fields.Selection([
            (None, ""),
            ('male', "Men Only"),
            ('female', "Women Only"),
            ], "Sex", readonly=True, sort=False,
        help="QĐ 4469/QĐ-BYT Phụ lục A4.1 and A4.2.")
    age_min_days = fields.Integer(
        "Minimum Age (Days)", readonly=True,
        help="QĐ 4469/QĐ-BYT Phụ lục A3: years count as 365.25 days.")
    age_max_days = fields.Integer(
        "Maximum Age (Days)", readonly=True,
        help="QĐ 4469/QĐ-BYT Phụ lục A3: an age in years includes the "
        "whole year (up to 2 years admits 2 years and 11 months).")
    age_rule = fields.Char("Age Rule", readonly=True)
    chronic_prescription = fields.Boolean(
        "Chronic Prescription",
        help="On the list of chronic diseases that may be prescribed for "
        "up to 90 days (TT 26/2025/TT-BYT, Phụ lục VII). OpenTYT does not "
        "ship this list: the station administrator ticks the codes.")
    dagger_pairs = fields.One2Many(
        'health.disease.pair', 'dagger', "Asterisk Codes", readonly=True,
        help="Manifestation (*) codes to code with this disease.")
    asterisk_pairs = fields.One2Many(
        'health.disease.pair', 'asterisk', "Dagger Codes", readonly=True,
        help="Underlying disease (†) codes this manifestation goes with.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_indexes.update({
                Index(table, (table.code, Index.Equality())),
                Index(table, (table.code_nodot, Index.Similarity())),
                })
        cls._order = [('code', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _register_official_list(cls):
        # The pairs are loaded by health.disease.pair, registered next
        cls.load_official_codes()

    @classmethod
    def default_chronic_prescription(cls):
        return False

    def get_rec_name(self, name):
        return f'{self.code}{self.dagger_asterisk or ""} - {self.name}'

    @staticmethod
    def normalize_code(text):
        "J06.9, j069, 'J06.9 ' → J069 (the form of code_nodot)"
        return re.sub(r'[\s.†*]', '', text or '').upper()

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if isinstance(operand, str) and operator.endswith('like'):
            negative = operator.startswith('not')
            # A code is searched from its start, a name anywhere in it
            code = cls.normalize_code(operand).strip('%')
            name = fold(operand)
            if '%' not in name and '_' not in name:
                name = f'%{name}%'
            domain = [('name_folded', operator.replace('like', 'ilike')
                    if 'ilike' not in operator else operator, name)]
            if code:
                domain.append(('code_nodot', 'not ilike' if negative
                        else 'ilike', f'{code}%'))
            return ['AND' if negative else 'OR', *domain]
        if operator in {'=', '!='} and isinstance(operand, str):
            bool_op = 'AND' if operator == '!=' else 'OR'
            return [bool_op,
                ('code', operator, operand),
                ('code_nodot', operator, cls.normalize_code(operand)),
                ('name', operator, operand),
                ]
        return super().search_rec_name(name, clause)

    @classmethod
    def valid_on_domain(cls, date):
        "The domain of the codes in force on date"
        return [
            ['OR', ('valid_from', '=', None), ('valid_from', '<=', date)],
            ['OR', ('valid_to', '=', None), ('valid_to', '>=', date)],
            ]

    def is_valid_on(self, date):
        return ((not self.valid_from or self.valid_from <= date)
            and (not self.valid_to or date <= self.valid_to))

    @classmethod
    def from_code(cls, code, on_date=None):
        "The code in force on on_date (default today), or None"
        Date = Pool().get('ir.date')
        on_date = on_date or Date.today()
        diseases = cls.search([
                ('code_nodot', '=', cls.normalize_code(code)),
                *cls.valid_on_domain(on_date),
                ], limit=1)
        return diseases[0] if diseases else None

    @classmethod
    def check_encounter_coding(
            cls, main, secondaries, sex, age_days, on_date):
        """Refuse diagnosis codes that break the Ministry's coding rules.

        main: the main diagnosis (or None), secondaries: the secondary
        diagnoses, sex: 'male', 'female' or anything else when unknown,
        age_days: the patient's age in days on on_date (None if unknown).
        Raises DiagnosisCodingError naming the code and the rule."""
        pool = Pool()
        Lang = pool.get('ir.lang')
        secondaries = list(secondaries or [])
        if len(secondaries) > MAX_SECONDARY_DIAGNOSES:
            raise DiagnosisCodingError(gettext(
                    'health_emr.msg_diagnosis_too_many_secondary',
                    count=len(secondaries),
                    maximum=MAX_SECONDARY_DIAGNOSES))
        lang = Lang.get()
        codes = ([main] if main else []) + secondaries
        seen = set()
        for disease in codes:
            if disease.id in seen:
                raise DiagnosisCodingError(gettext(
                        'health_emr.msg_diagnosis_duplicate',
                        code=disease.code))
            seen.add(disease.id)
        if main:
            if main.dagger_asterisk == '*':
                raise DiagnosisCodingError(gettext(
                        'health_emr.msg_diagnosis_asterisk_main',
                        code=main.code, name=main.name))
            if main.not_primary:
                raise DiagnosisCodingError(gettext(
                        'health_emr.msg_diagnosis_not_primary',
                        code=main.code, name=main.name))
        for disease in codes:
            if on_date and not disease.is_valid_on(on_date):
                raise DiagnosisCodingError(gettext(
                        'health_emr.msg_diagnosis_not_valid',
                        code=disease.code, name=disease.name,
                        date=lang.strftime(on_date)))
            if disease.sex and sex in {'male', 'female'} \
                    and sex != disease.sex:
                raise DiagnosisCodingError(gettext(
                        'health_emr.msg_diagnosis_%s_only' % disease.sex,
                        code=disease.code, name=disease.name))
            if age_days is not None and (
                    (disease.age_min_days is not None
                        and age_days < disease.age_min_days)
                    or (disease.age_max_days is not None
                        and age_days > disease.age_max_days)):
                raise DiagnosisCodingError(gettext(
                        'health_emr.msg_diagnosis_age',
                        code=disease.code, name=disease.name,
                        rule=disease.age_rule or '',
                        age=cls._format_age(age_days)))

    @staticmethod
    def _format_age(days):
        if days < 60:
            return gettext('health_emr.msg_age_days', days=days)
        if days < 2 * 365:
            return gettext('health_emr.msg_age_months',
                months=int(days // Decimal('30.4375')))
        return gettext('health_emr.msg_age_years',
            years=int(days // DAYS_PER_YEAR))

    @classmethod
    def load_official_list(cls):
        "Load the QĐ 4469 codes, their rules and the dagger/asterisk pairs"
        cls.load_official_codes()
        Pool().get('health.disease.pair').load_official_list()

    @classmethod
    def load_official_codes(cls):
        """Load the QĐ 4469 list and its coding rules from data/.

        Codes that left the list are end-dated the day before the load,
        never deleted (old encounters point to them).  The
        chronic_prescription ticks of the administrator are kept."""
        pool = Pool()
        table = cls.__table__()

        rules = {}
        for row in read_data('icd10_qd4469_2020_rules.csv'):
            rule = rules.setdefault(row['code'], {})
            if row['rule'] == 'not_primary':
                rule['not_primary'] = True
            elif row['rule'] in {'female_only', 'male_only'}:
                rule['sex'] = row['rule'].split('_')[0]
            elif row['rule'] == 'age':
                low = age_bound_days(row['age_min'])
                high = age_bound_days(row['age_max'], upper=True)
                if 'age' in rule:
                    # Listed twice: the code is valid in either range
                    old_low, old_high, old_text = rule['age']
                    low = min(low, old_low)
                    high = None if None in {high, old_high} else max(
                        high, old_high)
                rule['age'] = (low, high, row['appendix_title'])

        rows = {}
        for row in read_data('icd10_qd4469_2020.csv'):
            rule = rules.get(row['code'], {})
            age_min, age_max, age_rule = rule.get('age', (None, None, None))
            rows[(row['code'],)] = (
                row['code_nodot'],
                row['dagger_asterisk'] or None,
                row['name_vi'],
                fold(row['name_vi']),
                row['name_en'] or None,
                f"{row['chapter_no']} ({row['chapter_range']})",
                row['block_range'] or None,
                row['category_code'],
                row['level'],
                row['has_children'] == 'Y',
                ICD10_VERSION,
                ICD10_VALID_FROM,
                rule.get('not_primary', False),
                rule.get('sex'),
                age_min,
                age_max,
                age_rule,
                )
        Date = pool.get('ir.date')
        ids = sync_table(table, [table.code],
            [table.code_nodot, table.dagger_asterisk, table.name,
                table.name_folded, table.name_en, table.chapter, table.block,
                table.category_code, table.level, table.has_children,
                table.version, table.valid_from, table.not_primary,
                table.sex, table.age_min_days, table.age_max_days,
                table.age_rule],
            rows)
        # End-date the codes that left the list (not the ones of other
        # versions: they are loaded with their own version name)
        gone = [ids[key] for key in ids if key not in rows]
        if gone:
            cursor = Transaction().connection.cursor()
            yesterday = Date.today() - dt.timedelta(days=1)
            for start in range(0, len(gone), 500):
                cursor.execute(*table.update(
                        [table.valid_to], [yesterday],
                        where=table.id.in_(gone[start:start + 500])
                        & (table.version == ICD10_VERSION)
                        & (Coalesce(table.valid_to, dt.date.max)
                            > yesterday)))
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.chronic_prescription], [False],
                where=table.chronic_prescription == Literal(None)))


class DiseasePair(ModelSQL, ModelView):
    """A dagger (†) / asterisk (*) pair of QĐ 4469/QĐ-BYT Phụ lục A1: the
    manifestation (*) is coded together with its underlying disease (†)"""
    __name__ = 'health.disease.pair'
    __string__ = "Dagger/Asterisk Pair"
    dagger = fields.Many2One(
        'health.disease', "Underlying Disease (†)", required=True,
        readonly=True, ondelete='CASCADE')
    asterisk = fields.Many2One(
        'health.disease', "Manifestation (*)", required=True,
        readonly=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_indexes.update({
                Index(table, (table.dagger, Index.Equality())),
                Index(table, (table.asterisk, Index.Equality())),
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls.load_official_list()

    @classmethod
    def load_official_list(cls):
        "Load the pairs of data/icd10_qd4469_2020_dagger_asterisk.csv"
        Disease = Pool().get('health.disease')
        table = Disease.__table__()
        pair_table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.id, table.code,
                where=table.version == ICD10_VERSION))
        ids = {(code,): id_ for id_, code in cursor}
        pairs = {}
        for row in read_data('icd10_qd4469_2020_dagger_asterisk.csv'):
            dagger = ids.get((row['dagger_code'],))
            asterisk = ids.get((row['asterisk_code'],))
            # Some 5-character codes of the appendix are not in the list
            if dagger and asterisk:
                pairs[(dagger, asterisk)] = ()
        cursor.execute(*pair_table.select(
                pair_table.id, pair_table.dagger, pair_table.asterisk))
        stale = [id_ for id_, dagger, asterisk in cursor
            if (dagger, asterisk) not in pairs]
        for start in range(0, len(stale), 500):
            cursor.execute(*pair_table.delete(
                    where=pair_table.id.in_(stale[start:start + 500])))
        sync_table(pair_table, [pair_table.dagger, pair_table.asterisk],
            [], pairs)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if external:
            raise AccessError(gettext(
                    'health_emr.msg_catalogue_official',
                    catalogue=cls.__names__()['model']))


class _DatedItemMixin:
    "An item of a facility catalogue with its validity and dated prices"
    __slots__ = ()

    @classmethod
    def valid_on_domain(cls, date):
        "The domain of the items in force on date"
        return [
            ['OR', ('valid_from', '=', None), ('valid_from', '<=', date)],
            ['OR', ('valid_to', '=', None), ('valid_to', '>=', date)],
            ]

    def is_valid_on(self, date):
        return ((not self.valid_from or self.valid_from <= date)
            and (not self.valid_to or date <= self.valid_to))

    def get_price(self, on_date=None):
        "The unit price in force on on_date (default today), or None"
        Date = Pool().get('ir.date')
        on_date = on_date or Date.today()
        prices = [p for p in self.prices if p.valid_from <= on_date]
        if not prices:
            return None
        return max(prices, key=lambda p: p.valid_from).price

    def get_current_price(self, name):
        return self.get_price()


class _PriceMixin:
    "A unit price in force from a date until the next price of the item"
    __slots__ = ()
    valid_from = fields.Date("Valid From", required=True)
    price = fields.Numeric(
        "Unit Price", digits=(16, 3), required=True,
        domain=[('price', '>=', 0)],
        help="In Vietnamese đồng, rounded to 3 decimals (DON_GIA).")
    decision = fields.Char(
        "Decision", help="The decision that set this price (QUYET_DINH).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('valid_from', 'DESC'), ('id', 'DESC')]

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # A price in force before today is history: a change is a new
        # dated price, never an edit of the old one
        if external and mode in {'write', 'delete'}:
            today = Pool().get('ir.date').today()
            for record in records:
                if record.valid_from < today:
                    raise AccessError(gettext(
                            'health_emr.msg_catalogue_price_history',
                            price=record.rec_name))

    def get_rec_name(self, name):
        return f'{self.price} ({self.valid_from})'


CONTROLLED = [
    ('none', "Not Controlled"),
    ('narcotic', "Narcotic"),
    ('psychotropic', "Psychotropic"),
    ('precursor', "Precursor"),
    ]


class Medicine(_DatedItemMixin, DeactivableMixin, FoldedNameMixin,
        CodeNameSearchMixin, ModelSQL, ModelView):
    """A medicine the facility may prescribe: one product (active
    ingredient, strength, form and registration) of its medicine list"""
    __name__ = 'health.medicine'
    __string__ = "Medicine"
    code = fields.Char(
        "Active Ingredient Code",
        help="MA_THUOC: the active-ingredient code of the Ministry's "
        "common code set (e.g. 40.17); 00.0000 for a medicine outside the "
        "insurance list.")
    name = fields.Char(
        "Active Ingredient (INN)", required=True,
        help="TEN_HOAT_CHAT: the active ingredient(s).")
    brand = fields.Char("Brand Name", help="TEN_THUOC.")
    strength = fields.Char("Strength", help="HAM_LUONG.")
    dosage_form = fields.Char("Dosage Form", help="DANG_BAO_CHE.")
    route = fields.Char("Route", help="DUONG_DUNG.")
    route_code = fields.Char("Route Code", help="MA_DUONG_DUNG.")
    unit = fields.Char(
        "Unit", help="DON_VI_TINH: the smallest unit given to the patient.")
    packaging = fields.Char("Packaging", help="DONG_GOI / QUY_CACH.")
    registration_number = fields.Char(
        "Registration Number", help="SO_DANG_KY, without spaces.")
    national_drug_code = fields.Char(
        "National Drug Code",
        help="The product code of the national drug database (MA_DMDC / "
        "DQG code).")
    manufacturer = fields.Char("Manufacturer", help="HANG_SX.")
    country_of_origin = fields.Char("Country of Origin", help="NUOC_SX.")
    controlled = fields.Selection(
        CONTROLLED, "Special Control", required=True, sort=False,
        help="Narcotic, psychotropic and precursor medicines need their "
        "own prescription form (TT 26/2025/TT-BYT).")
    bid_decision = fields.Char(
        "Bid Decision", help="QUYET_DINH: the decision approving the bid.")
    bid_package = fields.Char("Bid Package", help="GOI_THAU, e.g. G1.")
    bid_group = fields.Char("Bid Group", help="NHOM_THAU, e.g. N4.")
    valid_from = fields.Date("Valid From")
    valid_to = fields.Date(
        "Valid To",
        domain=[If(Eval('valid_to') & Eval('valid_from'),
                ('valid_to', '>=', Eval('valid_from')), ())])
    prices = fields.One2Many(
        'health.medicine.price', 'medicine', "Prices")
    current_price = fields.Function(
        fields.Numeric("Current Price", digits=(16, 3)),
        'get_current_price')
    source = fields.Char(
        "Source", readonly=True, help="The file the item was imported from.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_indexes.update({
                Index(table, (table.code, Index.Equality())),
                Index(table, (table.registration_number, Index.Equality())),
                })
        cls._order = [('name', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_controlled(cls):
        return 'none'

    def get_rec_name(self, name):
        text = self.name
        if self.strength:
            text += f' {self.strength}'
        if self.brand and fold(self.brand) != fold(self.name):
            text += f' ({self.brand})'
        if self.dosage_form:
            text += f', {self.dosage_form}'
        return text

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith(('!', 'not ')) else 'OR'
        return [bool_op,
            cls.folded_name_domain(operator, operand),
            ('code', operator, operand, *extra),
            ('brand', operator, operand, *extra),
            ('registration_number', operator, operand, *extra),
            ]

    @classmethod
    def import_rows(cls, rows, on_date=None, source=None, first_row=None):
        """Import rows of the official medicine list (dicts keyed by column
        name, e.g. MA_THUOC, TEN_HOAT_CHAT, TEN_THUOC, HAM_LUONG,
        DUONG_DUNG, DANG_BAO_CHE, DON_VI_TINH, SO_DANG_KY, DON_GIA,
        QUYET_DINH, GOI_THAU, NHOM_THAU, TU_NGAY…), all or nothing.
        Returns a summary dict (created, updated, prices, ended)."""
        return MEDICINE_IMPORT.run(cls, rows, on_date, source, first_row)


class MedicinePrice(_PriceMixin, ModelSQL, ModelView):
    "The unit price of a medicine from a date"
    __name__ = 'health.medicine.price'
    __string__ = "Medicine Price"
    medicine = fields.Many2One(
        'health.medicine', "Medicine", required=True, ondelete='CASCADE')
    bid_package = fields.Char("Bid Package")
    bid_group = fields.Char("Bid Group")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('medicine')
        table = cls.__table__()
        cls._sql_constraints += [
            ('medicine_date_unique',
                Unique(table, table.medicine, table.valid_from),
                'health_emr.msg_catalogue_price_date_unique'),
            ]


class MedicalService(_DatedItemMixin, DeactivableMixin, FoldedNameMixin,
        CodeNameSearchMixin, ModelSQL, ModelView):
    "A medical service (dịch vụ kỹ thuật, khám bệnh) the facility provides"
    __name__ = 'health.service'
    __string__ = "Medical Service"
    code = fields.Char(
        "National Service Code", required=True,
        help="MA_DICH_VU of the Ministry's common code set, e.g. "
        "22.0120.1370.")
    name = fields.Char("Name", required=True, help="TEN_DICH_VU.")
    unit = fields.Char("Unit", help="DON_VI_TINH.")
    category = fields.Char("Category")
    tier = fields.Char(
        "Technical Tier", help="A, B, C or D (D: commune level).")
    procedure_class = fields.Char(
        "Procedure Class", help="Surgery (P1–P3, PD) or procedure "
        "(T1–T3, TD) class.")
    icd9cm_code = fields.Char("ICD-9-CM Code", help="MA_PTTT_QT.")
    valid_from = fields.Date("Valid From")
    valid_to = fields.Date(
        "Valid To",
        domain=[If(Eval('valid_to') & Eval('valid_from'),
                ('valid_to', '>=', Eval('valid_from')), ())])
    prices = fields.One2Many('health.service.price', 'service', "Prices")
    current_price = fields.Function(
        fields.Numeric("Current Price", digits=(16, 3)),
        'get_current_price')
    source = fields.Char(
        "Source", readonly=True,
        help="The file the item was imported from or the list shipped "
        "with OpenTYT.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(table, table.code),
                'health_emr.msg_service_code_unique'),
            ]
        cls._order = [('code', 'ASC'), ('id', 'ASC')]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls.load_shipped_list()

    def get_rec_name(self, name):
        return f'{self.code} - {self.name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith(('!', 'not ')) else 'OR'
        return [bool_op,
            cls.folded_name_domain(operator, operand),
            ('code', operator, operand, *extra),
            ]

    @classmethod
    def load_shipped_list(cls):
        """Add the services of data/dvkt_primary_care_subset.csv that the
        database does not have yet, without prices (the file has none);
        existing services, edited or deactivated, are left alone."""
        table = cls.__table__()
        source = SHIPPED_SERVICE_SOURCE
        sync_table(table, [table.code],
            [table.name, table.name_folded, table.category, table.tier,
                table.procedure_class, table.icd9cm_code, table.source,
                table.active],
            {(r['dvkt_code'],): (r['dvkt_name_vi'], fold(r['dvkt_name_vi']),
                    r['category_vi'] or None, r['tier'] or None,
                    r['pttt_class'] or None, r['icd9cm_code'] or None,
                    source, True)
                for r in read_data('dvkt_primary_care_subset.csv')},
            insert_only=True)

    @classmethod
    def import_rows(cls, rows, on_date=None, source=None, first_row=None):
        """Import rows of the official service list (dicts keyed by column
        name: MA_DICH_VU, TEN_DICH_VU, DON_GIA, QUYET_DINH, TU_NGAY,
        DEN_NGAY…), all or nothing.  Returns a summary dict."""
        return SERVICE_IMPORT.run(cls, rows, on_date, source, first_row)


SHIPPED_SERVICE_SOURCE = (
    "QĐ 4440/QĐ-BYT Phụ lục 3 (OpenTYT sample, no price: check against "
    "the approved list)")


class MedicalServicePrice(_PriceMixin, ModelSQL, ModelView):
    "The unit price of a medical service from a date"
    __name__ = 'health.service.price'
    __string__ = "Medical Service Price"
    service = fields.Many2One(
        'health.service', "Service", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('service')
        table = cls.__table__()
        cls._sql_constraints += [
            ('service_date_unique',
                Unique(table, table.service, table.valid_from),
                'health_emr.msg_catalogue_price_date_unique'),
            ]


# Import of the official upload layouts -------------------------------------

def column_key(text):
    "'Mã thuốc', 'ma_thuoc', 'MA THUOC ' → 'MA_THUOC'"
    text = fold(str(text or '')) or ''
    return re.sub(r'[^a-z0-9]+', '_', text).strip('_').upper()


class CatalogueImport:
    """How one catalogue is read from the official upload layout.

    columns: field name → accepted column names (first is the official
    one, shown in messages); key: how a row finds its item."""

    def __init__(self, columns, required, kind):
        self.columns = columns
        self.required = required
        self.kind = kind

    def error(self, message, **kwargs):
        return gettext('health_emr.msg_import_' + message, **kwargs)

    def map_header(self, header):
        "{field: index} for the header row, or None if not a header"
        index = {}
        keys = [column_key(h) for h in header]
        for field, names in self.columns.items():
            for name in names:
                if name in keys:
                    index[field] = keys.index(name)
                    break
        return index

    def read_rows(self, rows, first_row):
        """Rows as (row number, {field: cell}).  rows are dicts (keyed by
        column name) or lists after a header row."""
        rows = list(rows)
        dictionaries = bool(rows) and isinstance(rows[0], dict)
        if first_row is None:
            # The header is row 1: above the first dictionary, or the
            # first list
            first_row = 2 if dictionaries else 1
        if dictionaries:
            # Dictionaries (from a script): each row names its columns
            header = []
            for row in rows:
                header.extend(k for k in row if k not in header)
            index = self.map_header(header)
            records = []
            for number, row in enumerate(rows, first_row):
                cells = {column_key(k): v for k, v in row.items()}
                records.append((number, {
                            field: cells.get(column_key(header[position]))
                            for field, position in index.items()}))
            return index, records
        # Lists: the header is the first row holding the required columns
        # (official templates often have title rows above it), or else the
        # row naming most columns, so that the error names what is missing
        best = None
        for position, header in enumerate(rows[:20]):
            index = self.map_header(header)
            if set(self.required) <= set(index):
                best = position, index
                break
            if index and (not best or len(index) > len(best[1])):
                best = position, index
        if not best:
            return {}, []
        position, index = best
        records = []
        for number, row in enumerate(
                rows[position + 1:], first_row + position + 1):
            if not any(str(c).strip() for c in row if c is not None):
                continue
            records.append((number, {
                        field: row[i] if i < len(row) else None
                        for field, i in index.items()}))
        return index, records

    @staticmethod
    def text(value):
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = re.sub(r'\s+', ' ', str(value)).strip()
        return value or None

    def price(self, value, row, column, errors):
        if value is None or value == '':
            return None
        if isinstance(value, (int, float, Decimal)) \
                and not isinstance(value, bool):
            price = Decimal(str(value))
        else:
            text = str(value).strip().replace(' ', '')
            if ',' in text and '.' in text:
                text = '!'
            text = text.replace(',', '.')
            try:
                price = Decimal(text)
            except InvalidOperation:
                price = None
        if price is None or not price.is_finite() or price < 0:
            errors.append(self.error(
                    'price', row=row, column=column, value=value))
            return None
        return price.quantize(Decimal('0.001'))

    def date(self, value, row, column, errors):
        if value is None or value == '':
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = self.text(value)
        for pattern in ['%Y%m%d', '%Y-%m-%d', '%d/%m/%Y', '%d-%m-%Y',
                '%Y%m%d%H%M']:
            try:
                return dt.datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        errors.append(self.error(
                'date', row=row, column=column, value=value))
        return None

    def run(self, Model, rows, on_date, source, first_row):
        pool = Pool()
        Date = pool.get('ir.date')
        on_date = on_date or Date.today()
        index, records = self.read_rows(rows, first_row)
        missing = [self.columns[f][0] for f in self.required
            if f not in index]
        if missing:
            raise CatalogueImportError(self.error(
                    'missing_column', columns=', '.join(missing)))
        if not records:
            raise CatalogueImportError(self.error('empty'))
        errors, parsed, seen = [], [], {}
        for number, record in records:
            values = self.parse(record, number, errors)
            if values is None:
                continue
            values.setdefault('valid_from', on_date)
            key = self.key(values)
            if key in seen:
                errors.append(self.error(
                        'duplicate', row=number, other=seen[key]))
                continue
            seen[key] = number
            parsed.append((number, values))
        if errors:
            shown = errors[:20]
            if len(errors) > len(shown):
                shown.append('…')
            raise CatalogueImportError(self.error(
                    'refused', count=len(errors), errors='\n'.join(shown)))
        return self.save(Model, parsed, on_date, source)

    def parse(self, record, number, errors):
        values = {}
        before = len(errors)
        for field, names in self.columns.items():
            if field not in record:
                continue
            value = record[field]
            if field == 'price':
                value = self.price(value, number, names[0], errors)
            elif field in {'valid_from', 'valid_to'}:
                value = self.date(value, number, names[0], errors)
            elif field == 'controlled':
                value = self.controlled(value, number, names[0], errors)
            else:
                value = self.text(value)
                if field == 'registration_number' and value:
                    value = value.replace(' ', '').upper()
            if value is None:
                if field in self.required:
                    errors.append(self.error(
                            'required', row=number, column=names[0]))
                continue
            values[field] = value
        if (values.get('valid_from') and values.get('valid_to')
                and values['valid_to'] < values['valid_from']):
            errors.append(self.error(
                    'dates', row=number, column=self.columns['valid_to'][0]))
        return values if len(errors) == before else None

    def controlled(self, value, number, column, errors):
        text = column_key(value).lower()
        if not text or text in {'0', 'khong', 'none'}:
            return 'none'
        for key, words in [
                ('narcotic', ('gay_nghien', 'narcotic', '1')),
                ('psychotropic', ('huong_than', 'psychotropic', '2')),
                ('precursor', ('tien_chat', 'precursor', '3')),
                ]:
            if any(w in text for w in words):
                return key
        errors.append(self.error(
                'controlled', row=number, column=column, value=value))
        return None

    def key(self, values):
        raise NotImplementedError

    def save(self, Model, parsed, on_date, source):
        pool = Pool()
        Price = pool.get(Model.prices.model_name)
        parent = Model.prices.field
        summary = {'created': 0, 'updated': 0, 'prices': 0, 'ended': 0}
        existing = self.existing(Model, [v for _, v in parsed])
        to_create, to_write, prices_create, prices_write = [], [], [], []
        for number, values in parsed:
            price = values.pop('price', None)
            decision = values.get('bid_decision', values.pop(
                    'decision', None))
            price_values = {
                'valid_from': values['valid_from'],
                'price': price,
                'decision': decision,
                }
            if 'bid_package' in Price._fields:
                price_values['bid_package'] = values.get('bid_package')
                price_values['bid_group'] = values.get('bid_group')
            values['source'] = source
            item = existing.get(self.key(values))
            if item and self.replaces(item, values):
                # A new code for the same product: end the old item, so
                # that old encounters keep what was in force
                end = values['valid_from'] - dt.timedelta(days=1)
                if not item.valid_to or item.valid_to > end:
                    to_write.extend(([item], {
                                'valid_to': max(end, item.valid_from or end),
                                }))
                    summary['ended'] += 1
                item = None
            if not item:
                if price is not None:
                    values['prices'] = [('create', [price_values])]
                    summary['prices'] += 1
                to_create.append(values)
                summary['created'] += 1
                continue
            changes = {f: v for f, v in values.items()
                if f not in {'valid_from', 'source'}
                and getattr(item, f) != v}
            if changes:
                summary['updated'] += 1
            if price is not None and item.get_price(
                    price_values['valid_from']) != price:
                same_day = [p for p in item.prices
                    if p.valid_from == price_values['valid_from']]
                if same_day:
                    prices_write.extend((same_day, price_values))
                else:
                    price_values[parent] = item.id
                    prices_create.append(price_values)
                summary['prices'] += 1
                changes['source'] = source
            if changes:
                to_write.extend(([item], changes))
        if to_write:
            Model.write(*to_write)
        if to_create:
            Model.create(to_create)
        if prices_write:
            Price.write(*prices_write)
        if prices_create:
            Price.create(prices_create)
        return summary

    def existing(self, Model, values):
        raise NotImplementedError

    def replaces(self, item, values):
        return False


class MedicineImport(CatalogueImport):

    def key(self, values):
        if values.get('registration_number'):
            return ('registration', values['registration_number'])
        return ('product', fold(values.get('name')),
            fold(values.get('brand')), fold(values.get('strength')),
            fold(values.get('unit')))

    def existing(self, Model, values):
        numbers = {v['registration_number'] for v in values
            if v.get('registration_number')}
        names = {v['name'] for v in values
            if not v.get('registration_number')}
        items = Model.search(['OR',
                ('registration_number', 'in', list(numbers)),
                ('name', 'in', list(names)),
                ], order=[('valid_from', 'ASC NULLS FIRST'), ('id', 'ASC')])
        result = {}
        for item in items:
            if item.valid_to:
                continue
            result[self.key({f: getattr(item, f) for f in [
                            'registration_number', 'name', 'brand',
                            'strength', 'unit']})] = item
        return result

    def replaces(self, item, values):
        return bool(values.get('code')) and item.code != values['code']


class ServiceImport(CatalogueImport):

    def key(self, values):
        return values['code']

    def existing(self, Model, values):
        items = Model.search([
                ('code', 'in', [v['code'] for v in values]),
                ('active', 'in', [True, False]),
                ])
        return {item.code: item for item in items}


MEDICINE_IMPORT = MedicineImport({
        'code': ['MA_THUOC', 'MA_HOAT_CHAT', 'MA_HC'],
        'name': ['TEN_HOAT_CHAT', 'HOAT_CHAT', 'TEN_HC'],
        'brand': ['TEN_THUOC', 'TEN_BIET_DUOC', 'TEN_THUONG_MAI'],
        'strength': ['HAM_LUONG', 'NONG_DO_HAM_LUONG', 'NONG_DO'],
        'route': ['DUONG_DUNG'],
        'route_code': ['MA_DUONG_DUNG'],
        'dosage_form': ['DANG_BAO_CHE'],
        'unit': ['DON_VI_TINH', 'DVT'],
        'packaging': ['DONG_GOI', 'QUY_CACH', 'QUY_CACH_DONG_GOI'],
        'registration_number': ['SO_DANG_KY', 'SDK', 'GPLH'],
        'national_drug_code': ['MA_DMDC', 'MA_DQG', 'MA_THUOC_DQG'],
        'manufacturer': ['HANG_SX', 'NHA_SX', 'CO_SO_SAN_XUAT'],
        'country_of_origin': ['NUOC_SX', 'NUOC_SAN_XUAT'],
        'controlled': ['KIEM_SOAT_DAC_BIET', 'THUOC_KIEM_SOAT'],
        'price': ['DON_GIA', 'DON_GIA_BH', 'GIA'],
        'bid_decision': ['QUYET_DINH', 'SO_QUYET_DINH', 'QD_THAU'],
        'bid_package': ['GOI_THAU'],
        'bid_group': ['NHOM_THAU'],
        'valid_from': ['TU_NGAY', 'NGAY_HIEU_LUC', 'HIEU_LUC_TU'],
        'valid_to': ['DEN_NGAY', 'HIEU_LUC_DEN'],
        }, required=['name', 'unit', 'price'], kind='medicine')
SERVICE_IMPORT = ServiceImport({
        'code': ['MA_DICH_VU', 'MA_DVKT', 'MA_TUONG_DUONG'],
        'name': ['TEN_DICH_VU', 'TEN_DVKT'],
        'unit': ['DON_VI_TINH', 'DVT'],
        'price': ['DON_GIA', 'DON_GIA_BH', 'GIA'],
        'decision': ['QUYET_DINH', 'SO_QUYET_DINH'],
        'tier': ['PHAN_TUYEN', 'TUYEN', 'PHAN_TUYEN_KY_THUAT'],
        'procedure_class': ['LOAI_PTTT', 'PHAN_LOAI_PTTT'],
        'valid_from': ['TU_NGAY', 'NGAY_HIEU_LUC'],
        'valid_to': ['DEN_NGAY'],
        }, required=['code', 'name', 'price'], kind='service')


def read_table_file(data, filename):
    """The rows (lists of cells) of a CSV or XLSX file, or raise
    CatalogueImportError"""
    data = bytes(data or b'')
    if not data:
        raise CatalogueImportError(gettext('health_emr.msg_import_empty'))
    if data[:2] == b'PK' or (filename or '').lower().endswith('.xlsx'):
        try:
            import openpyxl
        except ImportError:
            raise CatalogueImportError(gettext(
                    'health_emr.msg_import_xlsx_unavailable'))
        try:
            book = openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise CatalogueImportError(gettext(
                    'health_emr.msg_import_file', filename=filename or ''))
        sheet = book.worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        book.close()
        return rows
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        raise CatalogueImportError(gettext(
                'health_emr.msg_import_encoding', filename=filename or ''))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=',;\t')
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


class CatalogueImportStart(ModelView):
    "Import a catalogue file"
    __name__ = 'health.catalogue.import.start'
    __string__ = "Import Catalogue"
    file = fields.Binary(
        "File", required=True, filename='filename',
        help="A CSV (UTF-8) or XLSX file in the official column layout, "
        "one row per item after a header row.")
    filename = fields.Char("File Name")
    on_date = fields.Date(
        "Valid From", required=True,
        help="The date from which the prices of the file apply, for rows "
        "without a TU_NGAY column.")

    @classmethod
    def default_on_date(cls):
        return Pool().get('ir.date').today()


class CatalogueImportDone(ModelView):
    "Catalogue file imported"
    __name__ = 'health.catalogue.import.done'
    __string__ = "Catalogue Import Result"
    created = fields.Integer("Items Created", readonly=True)
    updated = fields.Integer("Items Updated", readonly=True)
    prices = fields.Integer("Prices Added", readonly=True)
    ended = fields.Integer(
        "Items Ended", readonly=True,
        help="Items replaced by an item with a new code.")


class _CatalogueImportWizard(Wizard):
    __slots__ = ()
    start = StateView('health.catalogue.import.start',
        'health_emr.catalogue_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-import', default=True),
            ])
    import_ = StateTransition()
    done = StateView('health.catalogue.import.done',
        'health_emr.catalogue_import_done_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        Model = Pool().get(self._model)
        rows = read_table_file(self.start.file, self.start.filename)
        self._summary = Model.import_rows(
            rows, on_date=self.start.on_date,
            source=self.start.filename or None, first_row=1)
        return 'done'

    def default_done(self, fields):
        return getattr(self, '_summary', {})


class MedicineImportWizard(_CatalogueImportWizard):
    "Import the medicine list"
    __name__ = 'health.medicine.import'
    _model = 'health.medicine'


class ServiceImportWizard(_CatalogueImportWizard):
    "Import the medical service list"
    __name__ = 'health.service.import'
    _model = 'health.service'
