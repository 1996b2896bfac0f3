# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Checks of Vietnamese identifiers that do not need the database.

Each check returns None when the value is valid, or the id of the
ir.message that explains, in Vietnamese, what was expected.
"""
import datetime as dt
import re

from trytond.i18n import gettext

# Digits 1-3 of the personal ID: province of birth registration, the
# pre-2025 two-digit province code with a leading zero (TT 59/2021/TT-BCA).
# The 34 provinces of 01/07/2025 kept codes from this list.
BIRTH_PROVINCE_CODES = frozenset(
    '%03d' % c for c in (
        1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27,
        30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52,
        54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82,
        83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96))

_PERSONAL_ID = re.compile(r'\d{12}')
_FACILITY_CODE = re.compile(r'\d{5}')
_SOCIAL_INSURANCE_NUMBER = re.compile(r'\d{10}')
_COMMUNE_CODE = re.compile(r'\d{5}')


def raise_if_invalid(error, check, value, *args, **names):
    """Raise error with the Vietnamese message of check(value, *args);
    names fill the message (the value is not checked when None)."""
    if value is not None and (message := check(value, *args)):
        raise error(gettext(f'health_emr.{message}', **names))


def normalize_digits(value):
    "Strip the spaces and dots people type inside numbers"
    if value is None:
        return None
    return re.sub(r'[\s.\-]', '', value)


def personal_id_century_sex(number):
    """Return (first year of the century, sex) encoded by digit 4:
    0/1 → 1900s, 2/3 → 2000s … even = male, odd = female."""
    digit = int(number[3])
    return 1900 + 100 * (digit // 2), 'female' if digit % 2 else 'male'


def check_personal_id(number, birth_date=None, sex=None):
    """Check a 12-digit personal ID (số định danh cá nhân).

    birth_date may be a date or a year (int); sex is 'male' or 'female'
    (anything else is not checked)."""
    if not _PERSONAL_ID.fullmatch(number or ''):
        return 'msg_personal_id_format'
    if number[:3] not in BIRTH_PROVINCE_CODES:
        return 'msg_personal_id_province'
    century, encoded_sex = personal_id_century_sex(number)
    if birth_date is not None:
        year = birth_date.year if isinstance(birth_date, dt.date) else int(
            birth_date)
        if year != century + int(number[4:6]):
            return 'msg_personal_id_birth_year'
    if sex in {'male', 'female'} and sex != encoded_sex:
        return 'msg_personal_id_sex'


def check_facility_code(code):
    "Mã cơ sở KCB: 5 digits, 2 of the province and 3 of the facility"
    if not _FACILITY_CODE.fullmatch(code or ''):
        return 'msg_facility_code_format'


def check_social_insurance_number(number):
    "Mã số BHXH: 10 digits, lifelong"
    if not _SOCIAL_INSURANCE_NUMBER.fullmatch(number or ''):
        return 'msg_social_insurance_number_format'


def check_commune_code(code):
    "Commune code of QĐ 19/2025/QĐ-TTg: 5 digits"
    if not _COMMUNE_CODE.fullmatch(code or ''):
        return 'msg_commune_code_format'
