# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Checks of Vietnamese identifiers that do not need the database.

Each check returns None when the value is valid, or the id of the
ir.message that explains, in Vietnamese, what was expected.
"""
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

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


# Patient registry (health.patient, health.insurance.card)

_OLD_ID_NUMBER = re.compile(r'\d{9}')
_PASSPORT_NUMBER = re.compile(r'(?=.*\d)[A-Z0-9]{6,9}')
_CARD_GROUP = re.compile(r'[A-Z]{2}')


def normalize_code(value):
    """Strip the spaces, dots and dashes typed inside a code and
    upper-case its letters (passport, card number, patient code)"""
    value = normalize_digits(value)
    return value.upper() if value else value


def normalize_phone(value):
    "A phone number as dialled in Vietnam: +84 912… → 0912…"
    value = normalize_digits(value)
    if value:
        value = re.sub(r'[()]', '', value)
        if value.startswith('+84'):
            value = '0' + value[3:]
        elif value.startswith('84') and len(value) == 11:
            value = '0' + value[2:]
    return value


def check_old_id_number(number):
    "Số CMND cũ: 9 digits"
    if not _OLD_ID_NUMBER.fullmatch(number or ''):
        return 'msg_old_id_number_format'


def check_passport_number(number):
    "Passport: 6 to 9 upper-case letters and digits, with a digit"
    if not _PASSPORT_NUMBER.fullmatch(number or ''):
        return 'msg_passport_number_format'


def check_insurance_card_number(number):
    """Check a BHYT card code (QĐ 1351/QĐ-BHXH): 15 characters, the
    2-letter beneficiary group, the benefit level 1-5, the 2-digit
    province code and the 10-digit social-insurance number; or the
    10-digit social-insurance number alone (cards since QĐ 1666/2020).

    The group → benefit level table is not checked: it changes (e.g. on
    01/01/2026), only the card tells the level."""
    number = number or ''
    if _SOCIAL_INSURANCE_NUMBER.fullmatch(number):
        return None
    if len(number) != 15:
        return 'msg_insurance_card_length'
    if not _CARD_GROUP.fullmatch(number[:2]):
        return 'msg_insurance_card_group'
    if number[2] not in '12345':
        return 'msg_insurance_card_benefit_level'
    if not (number[3:5].isdigit() and number[3:5].isascii()
            and number[3:5] != '00'):
        return 'msg_insurance_card_province'
    if not _SOCIAL_INSURANCE_NUMBER.fullmatch(number[5:]):
        return 'msg_insurance_card_social_insurance_number'


def split_insurance_card_number(number):
    """Return (group, benefit level, province code, social-insurance
    number) of a valid card number; a 10-digit number gives only the
    last item.  Invalid numbers give four None."""
    if not number or check_insurance_card_number(number):
        return None, None, None, None
    if len(number) == 10:
        return None, None, None, number
    return number[:2], int(number[2]), number[3:5], number[5:]


def check_registered_facility_code(code):
    "Nơi đăng ký KCB ban đầu (MA_DKBD): 5 digits"
    if check_facility_code(code):
        return 'msg_insurance_card_facility_format'


# Reception: what the scanner typed (CCCD QR code, personal ID, card…)

CCCD_QR_SEXES = {'nam': 'male', 'nu': 'female'}
_INVISIBLE = re.compile('[\u200b\u200c\u200d\u2060\ufeff]')
_LETTER_RUN = re.compile(r'[^\W\d_]+')
_DDMMYYYY = re.compile(r'(\d{2})(\d{2})(\d{4})')
_CARD_CODE = re.compile(r'[A-Z]{2}\d{13}')
_MOBILE_PREFIXES = ('03', '05', '07', '08', '09')


class CccdQrError(ValueError):
    """A CCCD QR text that cannot be read: message_id names the ir.message
    that says what is wrong, names fill its placeholders."""

    def __init__(self, message_id, **names):
        super().__init__(message_id, names)
        self.message_id = message_id
        self.names = names


@dataclass(frozen=True)
class CccdQr:
    "What the QR code on the back of a chip CCCD holds"
    personal_id: str
    old_id_number: str | None
    name: str
    birth_date: dt.date
    birth_date_precision: str
    sex: str
    address: str | None
    issue_date: dt.date | None


def _fold_letters(text):
    text = text.replace('đ', 'd').replace('Đ', 'D')
    return ''.join(c for c in unicodedata.normalize('NFD', text)
        if not unicodedata.combining(c)).lower()


def clean_scan(text):
    """The text a scanner typed: NFC, without the CR/LF, tabs and
    invisible characters some scanners add, without outer spaces."""
    if text is None:
        return ''
    text = unicodedata.normalize('NFC', _INVISIBLE.sub('', text))
    return re.sub(r'[\r\n\t]+', ' ', text).strip()


def person_name_case(name):
    """Title-case a name printed in capitals, with or without diacritics:
    "NGUYỄN VĂN AN" → "Nguyễn Văn An", "H'HEN NIÊ" → "H'Hen Niê".
    A name already in mixed case is kept as written."""
    name = re.sub(r'\s+', ' ', name).strip()
    if name != name.upper():
        return name
    return _LETTER_RUN.sub(
        lambda m: m.group(0).capitalize(), name.lower())


def _qr_date(value, field, today):
    """A date written ddmmyyyy; 00 for an unknown day or month (elderly
    people).  Return (date, precision) or raise CccdQrError."""
    match = _DDMMYYYY.fullmatch(value)
    if not match:
        raise CccdQrError(f'msg_cccd_qr_{field}', value=value)
    day, month, year = map(int, match.groups())
    precision = 'day'
    if month == 0:
        if day:
            raise CccdQrError(f'msg_cccd_qr_{field}', value=value)
        month, day, precision = 1, 1, 'year'
    elif day == 0:
        day, precision = 1, 'month'
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise CccdQrError(f'msg_cccd_qr_{field}', value=value)
    if date > today or year < 1880:
        raise CccdQrError(f'msg_cccd_qr_{field}', value=value)
    return date, precision


def parse_cccd_qr(text, today=None):
    """Read the text of the QR code of a chip citizen identity card:

        personal ID|old ID|full name|birth ddmmyyyy|Nam/Nữ|address|issue
        ddmmyyyy

    or the same 6 fields without the old ID.  Return a CccdQr or raise
    CccdQrError.  The personal ID must agree with the birth year and the
    sex (TT 59/2021/TT-BCA)."""
    today = today or dt.date.today()
    text = clean_scan(text)
    fields = [re.sub(r'\s+', ' ', f).strip() for f in text.split('|')]
    # Some readers end the text with a separator
    while len(fields) > 7 and not fields[-1]:
        fields.pop()
    if len(fields) == 7:
        personal_id, old_id, name, birth, sex, address, issue = fields
    elif len(fields) == 6:
        personal_id, name, birth, sex, address, issue = fields
        old_id = ''
    else:
        raise CccdQrError('msg_cccd_qr_field_count', count=len(fields))

    personal_id = normalize_digits(personal_id)
    old_id = normalize_digits(old_id) or None
    if not name or any(c.isdigit() for c in name):
        raise CccdQrError('msg_cccd_qr_name', value=name)
    name = person_name_case(name)
    birth_date, precision = _qr_date(birth, 'birth_date', today)
    sex_code = CCCD_QR_SEXES.get(_fold_letters(sex))
    if not sex_code:
        raise CccdQrError('msg_cccd_qr_sex', value=sex)
    if message := check_personal_id(personal_id, birth_date.year, sex_code):
        raise CccdQrError(message, number=personal_id, person=name)
    # The old number is the 9-digit CMND; some cards repeat a 12-digit one
    if old_id and not (len(old_id) in {9, 12} and old_id.isdigit()
            and old_id.isascii()):
        raise CccdQrError('msg_cccd_qr_old_id', value=old_id)
    issue_date = None
    if issue:
        issue_date, issue_precision = _qr_date(issue, 'issue_date', today)
        if issue_precision != 'day' or issue_date < birth_date:
            raise CccdQrError('msg_cccd_qr_issue_date', value=issue)
    return CccdQr(
        personal_id=personal_id,
        old_id_number=old_id,
        name=name,
        birth_date=birth_date,
        birth_date_precision=precision,
        sex=sex_code,
        address=address or None,
        issue_date=issue_date)


@dataclass(frozen=True)
class Scan:
    """What a scanned or typed text is: kind is 'cccd_qr', 'personal_id',
    'insurance_card' (a 15-character code, or the card's own QR code),
    'social_insurance_number' (10 digits), 'phone', 'number' (10 digits
    that may be a phone number or a social-insurance number) or 'other'
    (a patient code, a name…); value is the normalised text."""
    kind: str
    value: str


def classify_scan(text):
    """Tell what the receptionist scanned or typed.

    The VNeID application shows no documented QR format of its own: the
    identity QR it shows is read like the card's (same fields, '|'
    separated), so a VNeID identity is a 'cccd_qr' or a 'personal_id'
    here and the receptionist records that it came from VNeID."""
    text = clean_scan(text)
    if '|' in text:
        first = normalize_code(text.split('|', 1)[0])
        # The QR code of a paper BHYT card starts with the card code
        if _CARD_CODE.fullmatch(first or ''):
            return Scan('insurance_card', first)
        return Scan('cccd_qr', text)
    code = normalize_code(text) or ''
    if _PERSONAL_ID.fullmatch(code):
        return Scan('personal_id', code)
    if _CARD_CODE.fullmatch(code):
        return Scan('insurance_card', code)
    phone = normalize_phone(text) or ''
    if phone != code and re.fullmatch(r'0\d{9}', phone):
        # Written with +84: certainly a phone number
        return Scan('phone', phone)
    if _SOCIAL_INSURANCE_NUMBER.fullmatch(code):
        # 10 digits: a mobile number starts with 03, 05, 07, 08 or 09;
        # a social-insurance number with its province code, and province
        # 08 (Tuyên Quang) clashes with the 08 mobile numbers.
        if code.startswith('08'):
            return Scan('number', code)
        if code.startswith(_MOBILE_PREFIXES):
            return Scan('phone', code)
        return Scan('social_insurance_number', code)
    if re.fullmatch(r'0\d{9}', phone):
        return Scan('phone', phone)
    return Scan('other', text)
