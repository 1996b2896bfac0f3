# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Administrative units in force since 01/07/2025 (NQ 202/2025/QH15,
QĐ 19/2025/QĐ-TTg): 34 provinces and their communes, with no district
level.  The list comes from the vietnam-provinces package and is loaded
into the database each time the module is activated or updated."""
import json

import vietnam_provinces
from sql import Literal
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import CommuneCodeError
from .identity import check_commune_code, normalize_digits, raise_if_invalid
from .model import CodeNameSearchMixin

PROVINCE_TYPES = {
    'tỉnh': 'province',
    'thành phố trung ương': 'city',
    }
COMMUNE_TYPES = {
    'xã': 'commune',
    'phường': 'ward',
    'đặc khu': 'special_zone',
    }


def _package_units():
    "Yield (province, communes) from the vietnam-provinces package"
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH,
            encoding='utf-8') as file:
        for province in json.load(file):
            yield province, province.get('wards', [])


class _OfficialUnitMixin(CodeNameSearchMixin):
    __slots__ = ()

    def get_rec_name(self, name):
        return self.name

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # The official list is reloaded from the package at every update:
        # local edits of codes would be silently lost, so refuse them.
        if mode == 'delete' or (
                mode == 'write' and values and (
                    {'code', 'name'} & set(values))):
            raise AccessError(gettext(
                    'health_emr.msg_administrative_unit_official'))


class Province(_OfficialUnitMixin, DeactivableMixin, ModelSQL, ModelView):
    "A province-level unit (tỉnh or thành phố trung ương)"
    __name__ = 'health.province'

    code = fields.Char(
        "Code", required=True, readonly=True, size=2,
        help="The 2-digit code of QĐ 19/2025/QĐ-TTg.")
    name = fields.Char("Name", required=True, readonly=True)
    division_type = fields.Selection([
            ('province', "Province"),
            ('city', "Centrally-run City"),
            ], "Type", required=True, readonly=True, sort=False)
    communes = fields.One2Many(
        'health.commune', 'province', "Communes", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('code', 'ASC'), ('id', 'ASC')]

    @property
    def department_of_health_header(self):
        "The line-ministry header printed on forms"
        name = self.name.upper()
        if self.division_type == 'city':
            if not name.startswith('THÀNH PHỐ '):
                name = f'THÀNH PHỐ {name}'
        elif not name.startswith('TỈNH '):
            name = f'TỈNH {name}'
        return f'SỞ Y TẾ {name}'


class Commune(_OfficialUnitMixin, DeactivableMixin, ModelSQL, ModelView):
    "A commune-level unit (xã, phường or đặc khu)"
    __name__ = 'health.commune'

    code = fields.Char(
        "Code", required=True, readonly=True, size=5,
        help="The 5-digit code of QĐ 19/2025/QĐ-TTg.")
    name = fields.Char("Name", required=True, readonly=True)
    province = fields.Many2One(
        'health.province', "Province", required=True, readonly=True,
        ondelete='RESTRICT')
    division_type = fields.Selection([
            ('commune', "Commune"),
            ('ward', "Ward"),
            ('special_zone', "Special Zone"),
            ], "Type", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('code', 'ASC'), ('id', 'ASC')]
        cls.province.domain = [('active', 'in', [True, False])]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls.load_official_units()

    def get_rec_name(self, name):
        return f'{self.name}, {self.province.name} ({self.code})'

    @classmethod
    def from_code(cls, code):
        "The active commune of that code, or a Vietnamese error"
        code = normalize_digits(code) or ''
        raise_if_invalid(CommuneCodeError, check_commune_code, code, code=code)
        communes = cls.search([('code', '=', code)], limit=1)
        if not communes:
            raise CommuneCodeError(gettext(
                    'health_emr.msg_commune_code_unknown', code=code))
        return communes[0]

    @classmethod
    def load_official_units(cls):
        """Insert or rename provinces and communes from vietnam-provinces.

        Plain SQL: it runs inside __register__, before the ORM is usable.
        Units that left the list are kept (old records may point to them)
        but deactivated."""
        Province = Pool().get('health.province')
        province_table = Province.__table__()
        commune_table = cls.__table__()
        cursor = Transaction().connection.cursor()

        def existing(table):
            cursor.execute(*table.select(
                    table.id, table.code, table.name, table.active))
            return {code: (id_, name, active)
                for id_, code, name, active in cursor}

        def sync(table, rows, extra_columns):
            """rows: {code: (name, division_type, *extra values)}"""
            current = existing(table)
            to_insert = []
            for code, (name, division_type, *extra) in rows.items():
                if code not in current:
                    to_insert.append([
                            code, name, division_type, True, *extra,
                            Literal(0), CurrentTimestamp()])
                else:
                    id_, old_name, active = current[code]
                    if old_name != name or not active:
                        cursor.execute(*table.update(
                                [table.name, table.active],
                                [name, True],
                                where=table.id == id_))
            if to_insert:
                columns = [table.code, table.name, table.division_type,
                    table.active, *extra_columns,
                    table.create_uid, table.create_date]
                for start in range(0, len(to_insert), 500):
                    cursor.execute(*table.insert(
                            columns, to_insert[start:start + 500]))
            gone = [id_ for code, (id_, _, active) in current.items()
                if code not in rows and active]
            if gone:
                cursor.execute(*table.update(
                        [table.active], [False],
                        where=table.id.in_(gone)))

        provinces, communes = {}, {}
        for province, wards in _package_units():
            province_code = '%02d' % province['code']
            provinces[province_code] = (
                province['name'],
                PROVINCE_TYPES.get(province['division_type'], 'province'))
            for ward in wards:
                communes['%05d' % ward['code']] = (
                    ward['name'],
                    COMMUNE_TYPES.get(ward['division_type'], 'commune'),
                    province_code)
        sync(province_table, provinces, [])
        province_ids = {code: id_
            for code, (id_, _, _) in existing(province_table).items()}
        sync(commune_table, {
                code: (name, division_type, province_ids[province_code])
                for code, (name, division_type, province_code)
                in communes.items()},
            [commune_table.province])
