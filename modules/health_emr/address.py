# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Addresses as printed on identity cards issued before 01/07/2025
(thôn/xóm, xã/phường, huyện/quận, tỉnh/thành phố) mapped to the
communes of the two-level administration in force since then.

A commune is given only when the match is certain: the old commune is
found, with its district and province, in the official rearrangement
(data/commune_mapping_2025.csv) and went whole into exactly one new
commune; or the address is already written in the new form (commune,
province) and names exactly one commune of that province.  Anything else
is left for the receptionist, with the text of the card kept.

data/commune_mapping_2025.csv is derived by scripts/build_commune_mapping.py
from the data of the vietnamadminunits package 1.0.4 (MIT licence,
© 2025 Tran Ngoc Minh Hieu), a compilation of the resolutions of the
National Assembly Standing Committee on the rearrangement of communes of
each province (2025); its new communes are the codes of QĐ 19/2025/QĐ-TTg
as listed by vietnam-provinces.
"""
import csv
import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import vietnam_provinces

MAPPING_PATH = Path(__file__).parent / 'data' / 'commune_mapping_2025.csv'

# NQ 202/2025/QH15 (12/06/2025, in force 01/07/2025): the 63 provinces
# and their province of 01/07/2025.  Old code → (old name, new code).
OLD_PROVINCES = {
    '01': ("Hà Nội", '01'),
    '02': ("Hà Giang", '08'),
    '04': ("Cao Bằng", '04'),
    '06': ("Bắc Kạn", '19'),
    '08': ("Tuyên Quang", '08'),
    '10': ("Lào Cai", '15'),
    '11': ("Điện Biên", '11'),
    '12': ("Lai Châu", '12'),
    '14': ("Sơn La", '14'),
    '15': ("Yên Bái", '15'),
    '17': ("Hòa Bình", '25'),
    '19': ("Thái Nguyên", '19'),
    '20': ("Lạng Sơn", '20'),
    '22': ("Quảng Ninh", '22'),
    '24': ("Bắc Giang", '24'),
    '25': ("Phú Thọ", '25'),
    '26': ("Vĩnh Phúc", '25'),
    '27': ("Bắc Ninh", '24'),
    '30': ("Hải Dương", '31'),
    '31': ("Hải Phòng", '31'),
    '33': ("Hưng Yên", '33'),
    '34': ("Thái Bình", '33'),
    '35': ("Hà Nam", '37'),
    '36': ("Nam Định", '37'),
    '37': ("Ninh Bình", '37'),
    '38': ("Thanh Hóa", '38'),
    '40': ("Nghệ An", '40'),
    '42': ("Hà Tĩnh", '42'),
    '44': ("Quảng Bình", '44'),
    '45': ("Quảng Trị", '44'),
    '46': ("Thừa Thiên Huế", '46'),
    '48': ("Đà Nẵng", '48'),
    '49': ("Quảng Nam", '48'),
    '51': ("Quảng Ngãi", '51'),
    '52': ("Bình Định", '52'),
    '54': ("Phú Yên", '66'),
    '56': ("Khánh Hòa", '56'),
    '58': ("Ninh Thuận", '56'),
    '60': ("Bình Thuận", '68'),
    '62': ("Kon Tum", '51'),
    '64': ("Gia Lai", '52'),
    '66': ("Đắk Lắk", '66'),
    '67': ("Đắk Nông", '68'),
    '68': ("Lâm Đồng", '68'),
    '70': ("Bình Phước", '75'),
    '72': ("Tây Ninh", '80'),
    '74': ("Bình Dương", '79'),
    '75': ("Đồng Nai", '75'),
    '77': ("Bà Rịa - Vũng Tàu", '79'),
    '79': ("Hồ Chí Minh", '79'),
    '80': ("Long An", '80'),
    '82': ("Tiền Giang", '82'),
    '83': ("Bến Tre", '86'),
    '84': ("Trà Vinh", '86'),
    '86': ("Vĩnh Long", '86'),
    '87': ("Đồng Tháp", '82'),
    '89': ("An Giang", '91'),
    '91': ("Kiên Giang", '91'),
    '92': ("Cần Thơ", '92'),
    '93': ("Hậu Giang", '92'),
    '94': ("Sóc Trăng", '92'),
    '95': ("Bạc Liêu", '96'),
    '96': ("Cà Mau", '96'),
    }
# Other names seen on cards for the same provinces
OLD_PROVINCE_ALIASES = {
    'hue': '46',
    'tphcm': '79',
    'hcm': '79',
    'saigon': '79',
    'brvt': '77',
    }

# Type words, full and abbreviated, at the start of each level
_PROVINCE_TYPES = [
    ('thanh pho', 'thanhpho'), ('tinh', 'tinh'), ('tp', 'thanhpho'),
    ('t', 'tinh')]
_DISTRICT_TYPES = [
    ('thanh pho', 'thanhpho'), ('thi xa', 'thixa'), ('huyen', 'huyen'),
    ('quan', 'quan'), ('tp', 'thanhpho'), ('tx', 'thixa'),
    ('q', 'quan'), ('h', 'huyen')]
_WARD_TYPES = [
    ('thi tran', 'thitran'), ('phuong', 'phuong'), ('xa', 'xa'),
    ('dac khu', 'dackhu'), ('tt', 'thitran'), ('p', 'phuong'),
    ('x', 'xa')]
_ABBREVIATIONS = {'tp', 't', 'tx', 'q', 'h', 'tt', 'p', 'x'}


def _fold(text):
    text = text.replace('đ', 'd').replace('Đ', 'D')
    text = ''.join(c for c in unicodedata.normalize('NFD', text)
        if not unicodedata.combining(c))
    return re.sub(r'\s+', ' ', text).strip().lower()


def _key(text):
    "Letters and digits only, folded; numbers without leading zeros"
    key = re.sub(r'[^a-z0-9 ]', ' ', _fold(text))
    key = re.sub(r'\b0+(\d)', r'\1', key)
    return key.replace(' ', '')


_TONE_MARKS = {'\u0300', '\u0301', '\u0303', '\u0309', '\u0323'}


def _spellings(text):
    """(lower-case letters with every mark, the same without tone marks)
    of a name, to tell apart names that fold alike: "Cẩm Giang" and
    "Cẩm Giàng", "Hương Vân" and "Hương Văn"; without tone marks "Hoà"
    and "Hòa" (old and new placement of the mark) agree."""
    text = re.sub(r'[^\w]', '', unicodedata.normalize('NFC', text.lower()))
    toneless = unicodedata.normalize('NFC', ''.join(
            c for c in unicodedata.normalize('NFD', text)
            if c not in _TONE_MARKS))
    return text, toneless


def split_unit(text, types):
    """Return (type, key, spellings) of one level of an address:
    "Xã Bảo Đài" → ('xa', 'baodai', ('bảođài', 'bảođài')); the type is
    None when the text names none."""
    folded = _fold(text)
    for prefix, kind in types:
        if prefix in _ABBREVIATIONS:
            pattern = rf'{re.escape(prefix)}(?:\.\s*|\s+|(?=\d))'
        else:
            pattern = rf'{re.escape(prefix)}\.?\s+'
        match = re.match(pattern, folded)
        if match and folded[match.end():]:
            rest = text.strip()[match.end():]
            return kind, _key(folded[match.end():]), _spellings(rest)
    return None, _key(folded), _spellings(text)


@functools.lru_cache(maxsize=1)
def _old_units():
    """{(old province code, district key, ward key): [(district type,
    district accented, ward type, ward accented, new codes)]}"""
    index = {}
    with open(MAPPING_PATH, encoding='utf-8', newline='') as file:
        for row in csv.DictReader(file):
            district = split_unit(row['old_district'], _DISTRICT_TYPES)
            ward = (split_unit(row['old_ward'], _WARD_TYPES)
                if row['old_ward'] else (None, '', ('', '')))
            index.setdefault(
                (row['old_province_code'], district[1], ward[1]), []).append(
                (district[0], district[2], ward[0], ward[2],
                    tuple(row['new_communes'].split())))
    return index


@functools.lru_cache(maxsize=1)
def _new_units():
    """({province key: code}, {(province code, ward key): [(type,
    accented, code)]}) of the units in force since 01/07/2025"""
    provinces, communes = {}, {}
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH,
            encoding='utf-8') as file:
        for province in json.load(file):
            code = '%02d' % province['code']
            provinces[split_unit(province['name'], _PROVINCE_TYPES)[1]] = code
            for ward in province['wards']:
                kind, key, accented = split_unit(ward['name'], _WARD_TYPES)
                communes.setdefault((code, key), []).append(
                    (kind, accented, '%05d' % ward['code']))
    return provinces, communes


@functools.lru_cache(maxsize=1)
def _old_province_keys():
    keys = dict(OLD_PROVINCE_ALIASES)
    for code, (name, _) in OLD_PROVINCES.items():
        keys[_key(name)] = code
    return keys


def _choose(candidates, kind, spellings, kind_index, spellings_index):
    """The one candidate of that type (when given), else the one spelt
    exactly so, else the one spelt so but for the tone marks, or None"""
    if kind:
        candidates = [c for c in candidates if c[kind_index] == kind]
    for i in range(2):
        if len(candidates) <= 1:
            break
        candidates = [c for c in candidates
            if c[spellings_index][i] == spellings[i]] or candidates
    if len(candidates) == 1:
        return candidates[0]


@dataclass(frozen=True)
class AddressMatch:
    """commune: the 5-digit code of the commune of 01/07/2025, or None
    when it is not certain; province: the code of the province of
    01/07/2025 when known; street: the hamlet, street and house number
    (what comes before the commune) when the levels were recognised."""
    commune: str | None
    province: str | None
    street: str | None


def map_address(text):
    """Map a card address to the commune in force since 01/07/2025, only
    where the match is certain (see the module docstring)."""
    parts = [p.strip() for p in re.split(r'[,;\n]', text or '') if p.strip()]
    if len(parts) < 2:
        return AddressMatch(None, None, None)
    province_type, province_key, _ = split_unit(parts[-1], _PROVINCE_TYPES)
    old_province = _old_province_keys().get(province_key)
    new_provinces, new_communes = _new_units()
    new_province = new_provinces.get(province_key)

    def street(levels):
        return ', '.join(parts[:-levels]) or None

    # Old three-level form: commune, district, province
    if old_province and len(parts) >= 3:
        new_province_code = OLD_PROVINCES[old_province][1]
        district = split_unit(parts[-2], _DISTRICT_TYPES)
        ward = split_unit(parts[-3], _WARD_TYPES)
        units = _old_units()
        rows = [r for r in units.get((old_province, district[1], ward[1]), [])
            if not district[0] or r[0] == district[0]]
        if rows:
            row = _choose(rows, ward[0], ward[2], 2, 3)
            commune = row[4][0] if row and len(row[4]) == 1 else None
            return AddressMatch(commune, new_province_code, street(3))
        # An island district without communes (Côn Đảo, Lý Sơn…)
        rows = [r for r in units.get((old_province, district[1], ''), [])
            if not district[0] or r[0] == district[0]]
        if len(rows) == 1 and len(rows[0][4]) == 1:
            return AddressMatch(rows[0][4][0], new_province_code, street(2))
        if district[0] and ward[0]:
            # The levels are there but the commune is not in the list
            return AddressMatch(None, new_province_code, street(3))
    # New two-level form: commune, province
    if new_province:
        kind, key, accented = split_unit(parts[-2], _WARD_TYPES)
        if kind:
            candidates = new_communes.get((new_province, key), [])
            match = _choose(candidates, kind, accented, 0, 1)
            if match:
                return AddressMatch(match[2], new_province, street(2))
    if old_province:
        return AddressMatch(None, OLD_PROVINCES[old_province][1], None)
    return AddressMatch(None, new_province, None)
