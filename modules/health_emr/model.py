# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import re
import unicodedata
from decimal import Decimal

from sql.conditionals import Coalesce

from trytond.model import Index, fields
from trytond.pool import Pool
from trytond.tools import timezone as tz
from trytond.transaction import without_check_access


def company_timezone(company):
    "The time zone of the facility (the server's when it has none)"
    if company and company.timezone:
        return tz.get_tzinfo(company.timezone)
    return tz.SERVER


def format_number(value, digits=None):
    """The number in the user's language (decimal comma in Vietnamese),
    with the decimals a Decimal carries unless digits are given; empty
    for no value"""
    Lang = Pool().get('ir.lang')
    if value is None:
        return ''
    if isinstance(value, Decimal) and digits is None:
        digits = max(0, -value.normalize().as_tuple().exponent)
    return Lang.get().format_number(value, digits or 0)


def fold(text):
    """Return text lower-cased and without Vietnamese diacritics, the form
    people type on a keyboard without a Vietnamese input method:
    "Nguyễn Văn Đức" → "nguyen van duc" (đ is a letter of its own in
    Unicode, not d with a mark, so it is mapped by hand)."""
    if text is None:
        return None
    text = text.replace('đ', 'd').replace('Đ', 'D')
    text = ''.join(
        c for c in unicodedata.normalize('NFD', text)
        if not unicodedata.combining(c))
    return re.sub(r'\s+', ' ', text).strip().lower()


def facility_sequence(sequence_type, company_id, **values):
    """The ir.sequence of sequence_type (XML id in health_emr) for the
    facility, created with values on first use (a station administrator
    may change it later)"""
    pool = Pool()
    Sequence = pool.get('ir.sequence')
    ModelData = pool.get('ir.model.data')
    type_id = ModelData.get_id('health_emr', sequence_type)
    with without_check_access():
        sequences = Sequence.search([
                ('sequence_type', '=', type_id),
                ('company', 'in', [company_id, None]),
                ], order=[('company', 'ASC NULLS LAST'), ('id', 'ASC')],
            limit=1)
        if sequences:
            return sequences[0]
        sequence, = Sequence.create([{
                    'sequence_type': type_id,
                    'company': company_id,
                    **values,
                    }])
        return sequence


class CodeNameSearchMixin:
    "Records found by their code or their name (catalogues, sites…)"
    __slots__ = ()

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('code', operator, operand, *extra),
            ('name', operator, operand, *extra),
            ]


class FoldedNameMixin:
    """Keeps name_folded = fold(name) so that a name typed with or
    without diacritics finds the record on SQLite and PostgreSQL alike
    (PostgreSQL indexes it with trigrams when pg_trgm is installed).
    Search it through ('name_folded', 'ilike', fold(text))."""
    __slots__ = ()
    name_folded = fields.Char("Name without Diacritics", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        # Char searches compare COALESCE(column, ''): index that
        cls._sql_indexes.add(
            Index(table, (Coalesce(table.name_folded, ''),
                    Index.Similarity(cardinality='high'))))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'name' in values:
            values['name_folded'] = fold(values['name'])
        return values

    @classmethod
    def folded_name_domain(cls, operator, operand):
        "The domain on name_folded for a (i)like search on the name"
        if isinstance(operand, str) and operator.endswith('like'):
            negative = operator.startswith('not')
            return [('name_folded', 'not ilike' if negative else 'ilike',
                    fold(operand))]
        return [('name', operator, operand)]
