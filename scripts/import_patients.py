#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Import a station's existing patient list (CSV or XLSX, as exported from
the spreadsheets stations keep) into OpenTYT through proteus.

    # check every row, change nothing:
    .venv/bin/python scripts/import_patients.py --database opentyt_demo \\
        --config config/opentyt.conf --dry-run patients.xlsx
    # import (run it again: nothing is created twice):
    .venv/bin/python scripts/import_patients.py --database opentyt_demo \\
        --config config/opentyt.conf patients.xlsx
    # against a running server (password from OPENTYT_PASSWORD or asked):
    .venv/bin/python scripts/import_patients.py \\
        --url http://quantri@127.0.0.1:8000/opentyt_demo/ patients.csv

The patients go to the facility (company) of the user who imports.  The
file is a CSV file (UTF-8, separated by commas, semicolons or tabs) or the
first sheet of an XLSX workbook; its first row holds the column names,
recognised with or without diacritics: "Họ và tên", "Ngày sinh", "Giới
tính", "Số CCCD", "Số CMND", "Số hộ chiếu", "Số điện thoại", "Mã thẻ
BHYT", "Hạn thẻ từ", "Hạn thẻ đến", "Nơi ĐKKCB ban đầu", "Mã xã", "Xã",
"Thôn/xóm", "Dân tộc", "Nghề nghiệp", "Người giám hộ" (and a few other
spellings, see COLUMNS); "Họ và tên" and "Ngày sinh" are required.  A
birth date is dd/mm/yyyy, mm/yyyy or a year alone.  Numbers a spreadsheet
stored as numbers get their leading zeros back (personal ID, phone,
commune code).  The commune is the code or the name (with or without
"Xã"/"Phường") of a commune or ward since 01/07/2025, looked for in the
facility's province first.

The rows refused and the rows already there get a report line, in
Vietnamese, with their line number in the file:

- "từ chối" (refused) and the reason: a personal ID, card number or date
  that cannot be right, an unknown commune, the same person as an earlier
  row of the file, a conflict with the patients of the facility...  The
  dry run makes the same checks as the real run: only an error of the
  server when saving (someone registered the person meanwhile...) can
  refuse a row the dry run accepted.
- "đã có" (already there): the row is a patient of the facility, found by
  personal ID, then by health-insurance card (its social-insurance
  number), then by name and birth date (with no personal ID, card or sex
  telling them apart).  The patient is not created again; only its empty
  fields are filled in ("bổ sung") and a new card is added.  So running
  the same file again creates nothing.

Two people may share a name and a birth year.  A row with the name and
birth year of a patient of the facility (or of an earlier row) that is not
found to be the same person is refused, like the warning the receptionist
gets: check those rows, then run again with --accept-same-name to create
them as new patients (the report still names the namesakes).

Exit status: 0 every row imported (or importable, with --dry-run), 1 some
rows refused, 2 nothing done: the file cannot be read or lacks a required
column, the login failed or the user belongs to no facility."""
import argparse
import base64
import csv
import datetime as dt
import getpass
import io
import os
import re
import sys
import urllib.parse
import xmlrpc.client
from collections import Counter
from pathlib import Path

# Recognised column names, compared folded (no diacritics, lower case,
# letters and digits only)
COLUMNS = {
    'name': ['hovaten', 'hoten', 'tenbenhnhan', 'tennguoibenh', 'ten',
        'fullname', 'name'],
    'birth': ['ngaysinh', 'namsinh', 'ngaythangnamsinh', 'birthdate'],
    'sex': ['gioitinh', 'gioi', 'sex'],
    'personal_id': ['socccd', 'cccd', 'sodinhdanh', 'sodinhdanhcanhan',
        'madinhdanh', 'madinhdanhyte', 'socancuoc', 'personalid'],
    'old_id': ['socmnd', 'cmnd'],
    'passport': ['hochieu', 'sohochieu', 'passport'],
    'phone': ['sodienthoai', 'dienthoai', 'sdt', 'phone'],
    'card': ['mathebhyt', 'sothebhyt', 'thebhyt', 'mathe', 'bhyt'],
    'card_from': ['gtthetu', 'hanthetu', 'thetu', 'tungay'],
    'card_to': ['gttheden', 'hantheden', 'theden', 'denngay'],
    'registered_facility': ['madkbd', 'noidkkcb', 'noidkkcbbandau',
        'noidangkykcbbandau', 'madkkcb'],
    'commune_code': ['maxa', 'maxaphuong', 'communecode'],
    'commune_name': ['xa', 'xaphuong', 'phuongxa', 'commune'],
    'street': ['thon', 'thonxom', 'xom', 'diachi', 'sonha', 'street'],
    'ethnicity': ['dantoc', 'madantoc'],
    'occupation': ['nghenghiep', 'manghenghiep'],
    'guardian': ['nguoigiamho', 'hotenbome', 'tenbome', 'giamho'],
    'guardian_phone': ['dienthoaigiamho', 'sdtgiamho'],
    }
REQUIRED_COLUMNS = {'name': "Họ và tên", 'birth': "Ngày sinh"}
# A number a spreadsheet stored as a number lost its leading zeros
WIDTHS = {'personal_id': 12, 'old_id': 9, 'phone': 10, 'guardian_phone': 10,
    'card': 10, 'commune_code': 5, 'registered_facility': 5,
    'ethnicity': 2, 'occupation': 2}
DATE_FIELDS = {'birth', 'card_from', 'card_to'}
SEXES = {'nam': 'male', 'm': 'male', '1': 'male', 'male': 'male',
    'nu': 'female', 'f': 'female', '2': 'female', 'female': 'female'}
# The fields filled in on a patient who has them empty
FILLED = {
    'personal_id': "số định danh cá nhân",
    'sex': "giới tính",
    'old_id_number': "số CMND",
    'passport_number': "số hộ chiếu",
    'phone': "số điện thoại",
    'commune': "xã/phường",
    'street': "thôn/xóm",
    'ethnicity': "dân tộc",
    'occupation': "nghề nghiệp",
    'guardian_name': "người giám hộ",
    'guardian_phone': "điện thoại người giám hộ",
    }
PATIENT_FIELDS = [
    'rec_name', 'name', 'birth_date', 'sex', 'active', *FILLED]


class FileProblem(Exception):
    "The file cannot be imported at all"


def fold_key(text):
    from trytond.modules.health_emr.model import fold
    return re.sub(r'[^a-z0-9]', '', fold(str(text or '')))


def read_rows(path):
    "Return [(line number, {column: value})] of a CSV or XLSX file"
    path = Path(path)
    if not path.is_file():
        raise FileProblem(f'không mở được tệp "{path}".')
    suffix = path.suffix.lower()
    if suffix in {'.xlsx', '.xlsm'}:
        import openpyxl
        try:
            workbook = openpyxl.load_workbook(
                path, read_only=True, data_only=True)
        except Exception as exception:
            raise FileProblem(
                f'không đọc được tệp Excel "{path}": {exception}.')
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
        workbook.close()
    elif suffix == '.xls':
        raise FileProblem("tệp .xls (Excel 97-2003) không được hỗ trợ: "
            "lưu lại thành .xlsx hoặc .csv.")
    else:
        try:
            text = path.read_text(encoding='utf-8-sig')
        except UnicodeDecodeError:
            raise FileProblem(
                f'tệp "{path}" không phải văn bản UTF-8: lưu lại tệp CSV '
                "với bảng mã UTF-8.")
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=',;\t')
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(io.StringIO(text, newline=''), dialect))
    if not rows:
        raise FileProblem(f'tệp "{path}" không có dữ liệu.')
    header = [fold_key(c) for c in rows[0]]
    missing = [label for field, label in REQUIRED_COLUMNS.items()
        if not set(COLUMNS[field]) & set(header)]
    if missing:
        raise FileProblem("dòng 1 của tệp phải có tên các cột; không thấy "
            "cột %s." % ', '.join(f'"{m}"' for m in missing))
    known = {alias for aliases in COLUMNS.values() for alias in aliases}
    ignored = [str(c) for c, key in zip(rows[0], header)
        if c not in (None, '') and key not in known]
    if ignored:
        print("Bỏ qua các cột không nhận ra: %s" % ', '.join(
                f'"{c}"' for c in ignored))
    result = []
    for number, row in enumerate(rows[1:], 2):
        if not any(str(c).strip() for c in row if c is not None):
            continue
        result.append((number, dict(zip(header, row))))
    return result


def pick(row, field):
    "The text (or date) of a field of a row, None when empty"
    for alias in COLUMNS[field]:
        value = row.get(alias)
        if isinstance(value, (dt.date, dt.datetime)):
            if field in DATE_FIELDS:
                return value
            value = value.strftime('%d/%m/%Y')
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value).zfill(WIDTHS.get(field, 0))
        if value is not None and str(value).strip():
            return str(value).strip()


def parse_birth(value):
    "Return (date, precision) of a birth date cell"
    if isinstance(value, dt.datetime):
        return value.date(), 'day'
    if isinstance(value, dt.date):
        return value, 'day'
    value = re.sub(r'\s', '', value or '')
    for pattern, precision in [
            (r'(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})', 'day'),
            (r'(\d{4})-(\d{1,2})-(\d{1,2})', 'iso'),
            (r'(\d{1,2})[/.-](\d{4})', 'month'),
            (r'(\d{4})', 'year')]:
        match = re.fullmatch(pattern, value)
        if not match:
            continue
        numbers = [int(g) for g in match.groups()]
        if precision == 'day':
            return dt.date(numbers[2], numbers[1], numbers[0]), 'day'
        if precision == 'iso':
            return dt.date(*numbers), 'day'
        if precision == 'month':
            return dt.date(numbers[1], numbers[0], 1), 'month'
        return dt.date(numbers[0], 1, 1), 'year'
    raise ValueError(value)


def parse_date(value):
    if value in (None, ''):
        return None
    date, precision = parse_birth(value)
    if precision != 'day':
        raise ValueError(value)
    return date


def error_text(exception):
    "The message of an error of the server, direct or through XML-RPC"
    if isinstance(exception, xmlrpc.client.Fault):
        text = exception.faultString
    else:
        text = getattr(exception, 'message', None) or str(exception)
    return re.sub(r'\s+-\s*$', '', str(text)).strip()


class Refused(Exception):
    "A row that is not imported, with the reason"


class Importer:
    """Check and import the rows of a file with proteus (configured
    before).  run(path) prints one line per row that is refused or already
    there, then the counts; it returns the number of rows refused."""

    def __init__(self, dry_run, accept_same_name=False):
        from proteus import Model
        from proteus.config import get_config
        self.dry_run = dry_run
        self.accept_same_name = accept_same_name
        self.config = get_config()
        self.Patient = Model.get('health.patient')
        self.Card = Model.get('health.insurance.card')
        self.Commune = Model.get('health.commune')
        self.Ethnicity = Model.get('health.ethnicity')
        self.Occupation = Model.get('health.occupation')
        self.Company = Model.get('company.company')
        self.Warning = Model.get('res.user.warning')
        self.ModelData = Model.get('ir.model.data')
        self.Message = Model.get('ir.message')
        company = self.config.context.get('company')
        if not company:
            raise FileProblem("người dùng chưa thuộc cơ sở y tế nào "
                "(Tùy chọn người dùng → Công ty): không biết nhập người "
                "bệnh vào đâu.")
        self.company = self.Company(company)
        self.province = (self.company.commune.province.id
            if self.company.commune else None)
        self.messages = {}
        self.catalogues = {}
        self.communes = {}
        self.seen = {}
        self.counts = Counter()

    def call(self, Model, method, *args, **context):
        "An RPC call on the model with the user's context (and context)"
        return getattr(Model._proxy, method)(
            *args, dict(self.config.context, **context))

    def text(self, message_id, **names):
        "A message of the module in Vietnamese"
        if message_id not in self.messages:
            id_ = self.call(self.ModelData, 'get_id', 'health_emr',
                message_id)
            text, = self.Message._proxy.read(
                [id_], ['text'], dict(self.config.context, language='vi'))
            self.messages[message_id] = text['text']
        text = self.messages[message_id]
        try:
            return text % names
        except (KeyError, ValueError, TypeError):
            return text

    def report(self, line, text):
        print(f"Dòng {line}: {text}")

    # Checking a row

    def check(self, line, row):
        """Return the values of a patient from a row, or raise Refused
        with the reason"""
        from trytond.modules.health_emr import identity
        name = pick(row, 'name')
        if not name:
            raise Refused("thiếu họ và tên.")
        name = re.sub(r'\s+', ' ', name)
        values = {'name': name}
        birth = pick(row, 'birth')
        if birth is None:
            raise Refused("thiếu ngày sinh (dd/mm/yyyy, mm/yyyy hoặc "
                "năm sinh).")
        try:
            birth_date, precision = parse_birth(birth)
        except (ValueError, TypeError):
            raise Refused(f'ngày sinh "{birth}" không đọc được '
                "(dd/mm/yyyy, mm/yyyy hoặc yyyy).")
        if birth_date > dt.date.today() or birth_date.year < 1880:
            raise Refused(f'ngày sinh "{birth}" không thể đúng.')
        values.update(birth_date=birth_date, birth_date_precision=precision)
        sex = pick(row, 'sex')
        if sex and fold_key(sex) not in SEXES:
            raise Refused(f'giới tính "{sex}" phải là Nam hoặc Nữ.')
        values['sex'] = SEXES[fold_key(sex)] if sex else 'unknown'

        def verify(check, value, *args):
            if message := check(value, *args):
                raise Refused(self.text(message, number=value, code=value,
                        person=name))

        personal_id = identity.normalize_digits(pick(row, 'personal_id'))
        if personal_id:
            # Only the year when the birth date is not known to the day
            verify(identity.check_personal_id, personal_id,
                birth_date if precision == 'day' else birth_date.year,
                values['sex'])
            values['personal_id'] = personal_id
        if old_id := identity.normalize_digits(pick(row, 'old_id')):
            verify(identity.check_old_id_number, old_id)
            values['old_id_number'] = old_id
        if passport := identity.normalize_code(pick(row, 'passport')):
            verify(identity.check_passport_number, passport)
            values['passport_number'] = passport
        for field, key in [('phone', 'phone'),
                ('guardian_phone', 'guardian_phone')]:
            if value := identity.normalize_phone(pick(row, key)):
                values[field] = value
        for field, key in [('street', 'street'),
                ('guardian_name', 'guardian')]:
            if value := pick(row, key):
                values[field] = value
        if commune := self.commune(row):
            values['commune'] = commune
        for field in ['ethnicity', 'occupation']:
            if value := pick(row, field):
                values[field] = self.catalogue(field, value)

        card = identity.normalize_code(pick(row, 'card'))
        if card:
            verify(identity.check_insurance_card_number, card)
            try:
                card_from = parse_date(pick(row, 'card_from'))
                card_to = parse_date(pick(row, 'card_to'))
            except (ValueError, TypeError):
                raise Refused(f'hạn thẻ BHYT "{card}" không đọc được '
                    "(dd/mm/yyyy).")
            if card_from and card_to and card_from > card_to:
                raise Refused(self.text(
                        'msg_insurance_card_dates', number=card))
            facility = identity.normalize_code(
                pick(row, 'registered_facility'))
            message = facility and identity.check_registered_facility_code(
                facility)
            if message:
                raise Refused(self.text(message, code=facility,
                        number=card))
            values['card'] = {'number': card, 'valid_from': card_from,
                'valid_to': card_to, 'registered_facility': facility}
        return values

    def catalogue(self, field, value):
        "The ethnicity or occupation of a name or code"
        Model = {'ethnicity': self.Ethnicity,
            'occupation': self.Occupation}[field]
        if field not in self.catalogues:
            records = {}
            for record in self.call(
                    Model, 'search_read', [], 0, None, None,
                    ['code', 'name']):
                for key in [record['code'], record['name']]:
                    records[fold_key(key)] = record['id']
            self.catalogues[field] = records
        key = fold_key(value)
        found = self.catalogues[field].get(key)
        if found is None and key.isdigit():
            found = self.catalogues[field].get(key.zfill(WIDTHS[field]))
        if found is None:
            catalogue = {'ethnicity': "dân tộc",
                'occupation': "nghề nghiệp"}[field]
            raise Refused(f'không có "{value}" trong danh mục {catalogue}.')
        return found

    def _communes(self, province):
        "{folded name: [ids]} of the communes of the province (or all)"
        if province not in self.communes:
            domain = [('province', '=', province)] if province else []
            names = {}
            for commune in self.call(self.Commune, 'search_read', domain, 0,
                    None, None, ['code', 'name']):
                name = fold_key(commune['name'])
                short = re.sub(r'^(xa|phuong|dackhu|thitran)', '', name)
                for key in {name, short, commune['code']}:
                    names.setdefault(key, []).append(commune['id'])
            self.communes[province] = names
        return self.communes[province]

    def commune(self, row):
        "The id of the commune of a row (None when the row has none)"
        code = pick(row, 'commune_code')
        name = pick(row, 'commune_name')
        if code:
            digits = re.sub(r'\D', '', code)
            found = self._communes(None).get(digits.zfill(5)) if (
                digits and len(digits) <= 5) else None
        elif name:
            key = fold_key(name)
            found = self.province and self._communes(self.province).get(key)
            if not found:
                found = self._communes(None).get(key)
            if found and len(found) > 1:
                raise Refused(f'có nhiều xã/phường tên "{name}": ghi mã xã '
                    "(cột Mã xã).")
        else:
            return None
        if not found:
            raise Refused(f'không tìm thấy xã/phường "{code or name}" trong '
                "danh mục đơn vị hành chính từ 01/07/2025.")
        return found[0]

    # Matching with the patients of the facility and of the file

    @staticmethod
    def _social_insurance_number(values):
        from trytond.modules.health_emr.identity import (
            split_insurance_card_number)
        if 'card' in values:
            return split_insurance_card_number(values['card']['number'])[3]

    @staticmethod
    def _differ(a, b, unknown=(None, 'unknown')):
        return a not in unknown and b not in unknown and a != b

    def check_file(self, line, values):
        "Refuse the second row of the same person in the file"
        from trytond.modules.health_emr.model import fold
        name = fold(values['name'])
        personal_id = values.get('personal_id')
        number = self._social_insurance_number(values)
        earlier = None
        if personal_id and ('id', personal_id) in self.seen:
            earlier = self.seen['id', personal_id]
        elif number and ('card', number) in self.seen:
            earlier = self.seen['card', number]
        else:
            for other in self.seen.get(
                    ('name', name, values['birth_date']), []):
                if not (self._differ(personal_id, other['personal_id'])
                        or self._differ(number, other['number'])
                        or self._differ(values['sex'], other['sex'])):
                    earlier = other
                    break
        if earlier:
            raise Refused(f"trùng với dòng {earlier['line']} của tệp.")
        if not self.accept_same_name:
            others = self.seen.get(('year', name, values['birth_date'].year))
            if others:
                raise Refused(f"cùng họ tên và năm sinh với dòng "
                    f"{others[0]['line']} của tệp: nếu đúng là người khác, "
                    "chạy lại với --accept-same-name.")
        this = {'line': line, 'personal_id': personal_id, 'number': number,
            'sex': values['sex']}
        if personal_id:
            self.seen['id', personal_id] = this
        if number:
            self.seen['card', number] = this
        for key in [('name', name, values['birth_date']),
                ('year', name, values['birth_date'].year)]:
            self.seen.setdefault(key, []).append(this)

    def existing(self, values):
        """Return (patient as a dict, how it was found) of the facility
        that the row is, or (None, [same name and birth year])"""
        from trytond.modules.health_emr.model import fold
        name = fold(values['name'])
        personal_id = values.get('personal_id')
        number = self._social_insurance_number(values)
        year = values['birth_date'].year
        company = ('company', '=', self.company.id)
        clauses = ['OR', [
                ('name_folded', '=', name),
                ('birth_date', '>=', dt.date(year, 1, 1)),
                ('birth_date', '<=', dt.date(year, 12, 31)),
                ('active', '=', True),
                ]]
        if personal_id:
            # A personal ID is unique in the facility, archived or not
            clauses.append(('personal_id', '=', personal_id))
        patients = {p['id']: p for p in self.call(
                self.Patient, 'search_read', [company, clauses], 0, None,
                None, PATIENT_FIELDS, active_test=False)}
        numbers = {}
        cards = []
        if number:
            cards = self.call(self.Card, 'search_read', [
                    ('social_insurance_number', '=', number),
                    ('patient.company', '=', self.company.id),
                    ('patient.active', '=', True),
                    ], 0, None, None, ['patient'])
            missing = {c['patient'] for c in cards} - set(patients)
            if missing:
                patients.update((p['id'], p) for p in self.call(
                        self.Patient, 'search_read', [
                            ('id', 'in', list(missing))], 0, None, None,
                        PATIENT_FIELDS))
        if patients:
            for card in self.call(self.Card, 'search_read', [
                        ('patient', 'in', list(patients))], 0, None, None,
                    ['patient', 'number', 'social_insurance_number']):
                numbers.setdefault(card['patient'], set()).add(
                    card['social_insurance_number'])

        by_id = next((p for p in patients.values()
                if personal_id and p['personal_id'] == personal_id), None)
        by_card = next((patients[c['patient']] for c in cards
                if c['patient'] in patients), None)
        if by_id and by_card and by_id['id'] != by_card['id']:
            raise Refused(f'số định danh "{personal_id}" là của người bệnh '
                f'"{by_id["rec_name"]}" nhưng thẻ BHYT '
                f'"{values["card"]["number"]}" là của người bệnh '
                f'"{by_card["rec_name"]}".')
        if by_id and not by_id['active']:
            raise Refused(f'số định danh "{personal_id}" là của người bệnh '
                f'"{by_id["rec_name"]}" đã ngừng hoạt động (lưu trữ): kích '
                "hoạt lại người bệnh đó thay vì nhập mới.")
        if by_id or by_card:
            patient = by_id or by_card
            what = (f'số định danh "{personal_id}"' if by_id
                else f'thẻ BHYT "{values["card"]["number"]}"')
            if fold(patient['name']) != name:
                raise Refused(f'{what} đã là của người bệnh '
                    f'"{patient["rec_name"]}" (họ tên khác).')
            if self._differ(personal_id, patient['personal_id']):
                raise Refused(f'{what} đã là của người bệnh '
                    f'"{patient["rec_name"]}", số định danh '
                    f'"{patient["personal_id"]}".')
            how = ("cùng số định danh cá nhân" if by_id
                else "cùng số BHXH trên thẻ BHYT")
            return patient, how
        for patient in sorted(patients.values(), key=lambda p: p['id']):
            if (fold(patient['name']) == name
                    and patient['birth_date'] == values['birth_date']
                    and not self._differ(
                        personal_id, patient['personal_id'])
                    and not self._differ(values['sex'], patient['sex'])
                    and not (number and numbers.get(patient['id'])
                        and number not in numbers[patient['id']])):
                return patient, "cùng họ tên và ngày sinh"
        same_name = [p for p in patients.values()
            if fold(p['name']) == name]
        return None, sorted(same_name, key=lambda p: p['id'])

    # Importing

    def import_row(self, line, row):
        values = self.check(line, row)
        self.check_file(line, values)
        patient, how = self.existing(values)
        card = values.pop('card', None)
        if patient:
            return self.update(line, patient, how, values, card)
        if how:  # the same name and birth year
            names = ', '.join(f'"{p["rec_name"]}"' for p in how)
            if not self.accept_same_name:
                raise Refused(f"đã có người bệnh cùng họ tên và năm sinh: "
                    f"{names}; nếu đúng là người khác, chạy lại với "
                    "--accept-same-name.")
            self.report(line, f"tạo mới dù đã có người bệnh cùng họ tên và "
                f"năm sinh: {names} (--accept-same-name).")
        if not self.dry_run:
            self.create(values, card, same_name=bool(how))
        self.counts['created'] += 1

    def create(self, values, card, same_name):
        from trytond.modules.health_emr.model import fold
        from trytond.modules.health_emr.patient import _warning_key
        values = values.copy()
        for field, Model in [('commune', self.Commune),
                ('ethnicity', self.Ethnicity),
                ('occupation', self.Occupation)]:
            if field in values:
                values[field] = Model(values[field])
        patient = self.Patient(**values)
        if card:
            patient.insurance_cards.append(self.Card(**card))
        if same_name:
            # The operator said so: skip the warning of the server once
            self.call(self.Warning, 'skip', _warning_key(
                    'health.patient.duplicate', self.company.id,
                    fold(values['name']), values['birth_date'].year), False)
        self.save(patient)

    def update(self, line, found, how, values, card):
        "Fill in the empty fields of a patient found"
        filled = [field for field in FILLED if values.get(field)
            and found[field] in (None, '', 'unknown')]
        if card:
            numbers = [c['number'] for c in self.call(self.Card,
                    'search_read', [('patient', '=', found['id'])], 0,
                    None, None, ['number'])]
            if card['number'] in numbers:
                card = None
        changes = [FILLED[f] for f in filled] + (["thẻ BHYT"] if card else [])
        text = f'đã có người bệnh "{found["rec_name"]}" ({how}): không tạo lại'
        if changes:
            text += ", %sbổ sung %s" % (
                "sẽ " if self.dry_run else "", ', '.join(changes))
        if changes and not self.dry_run:
            patient = self.Patient(found['id'])
            for field in filled:
                value = values[field]
                if field in {'commune', 'ethnicity', 'occupation'}:
                    value = {'commune': self.Commune,
                        'ethnicity': self.Ethnicity,
                        'occupation': self.Occupation}[field](values[field])
                setattr(patient, field, value)
            if card:
                patient.insurance_cards.append(self.Card(**card))
            self.save(patient)
        self.report(line, text + ".")
        self.counts['updated' if changes else 'unchanged'] += 1

    def save(self, patient):
        from trytond.exceptions import TrytonException
        try:
            patient.save()
        except (TrytonException, xmlrpc.client.Fault) as exception:
            raise Refused(error_text(exception))

    def run(self, path):
        rows = read_rows(path)
        with self.config.set_context(language='vi'):
            for line, row in rows:
                try:
                    self.import_row(line, row)
                except Refused as refused:
                    self.counts['refused'] += 1
                    self.report(line, f"từ chối — {refused}")
        verb = "sẽ " if self.dry_run else ""
        print(f"{'Chạy thử, không ghi gì — ' if self.dry_run else ''}"
            f"{verb}tạo mới: {self.counts['created']}, "
            f"{verb}bổ sung: {self.counts['updated']}, "
            f"đã có: {self.counts['unchanged']}, "
            f"từ chối: {self.counts['refused']}")
        return self.counts['refused']


def connect(args):
    """Configure proteus; through a server, log in once and use the
    session (a password on every call costs a password check each)"""
    from proteus import config
    if not args.url:
        config.set_trytond(args.database, config_file=args.config,
            user=args.user)
        return None
    url = urllib.parse.urlsplit(args.url)
    if not url.username or not url.hostname:
        raise FileProblem("--url phải có dạng "
            "http://tên-đăng-nhập@máy:cổng/cơ-sở-dữ-liệu/")
    login = urllib.parse.unquote(url.username)
    password = (url.password and urllib.parse.unquote(url.password)) or (
        os.environ.get('OPENTYT_PASSWORD') or getpass.getpass(
            f"Mật khẩu của {login}: "))
    # The RPC end point of a database is /<database>/rpc/
    path = url.path.rstrip('/')
    if not path.endswith('/rpc'):
        path += '/rpc'
    rpc_url = urllib.parse.urlunsplit((url.scheme,
            url.hostname + (f':{url.port}' if url.port else ''),
            path + '/', '', ''))
    try:
        server = xmlrpc.client.ServerProxy(rpc_url, allow_none=True)
        user_id, token, *_ = server.common.db.login(
            login, {'password': password}, 'vi')
        session = base64.b64encode(
            f'{login}:{user_id}:{token}'.encode()).decode()
        headers = [('Authorization', f'Session {session}')]
        config.set_xmlrpc(rpc_url, headers=headers)
    except (OSError, xmlrpc.client.Error) as exception:
        raise FileProblem(f"không đăng nhập được vào {rpc_url} với tên "
            f'"{login}": {exception}')
    return xmlrpc.client.ServerProxy(rpc_url, allow_none=True,
        headers=headers)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('file', help="CSV or XLSX file")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument('--database', help="database name (direct access)")
    target.add_argument('--url',
        help="running server: http://user@host:port/database/")
    parser.add_argument('--config', help="trytond configuration file")
    parser.add_argument('--user', default='admin',
        help="user to import as, with --database (default admin)")
    parser.add_argument('--dry-run', action='store_true',
        help="check and report every row, change nothing")
    parser.add_argument('--accept-same-name', action='store_true',
        help="create the rows with the name and birth year of another "
        "patient (checked: they are other people)")
    args = parser.parse_args(argv)
    try:
        if not Path(args.file).is_file():  # before connecting
            raise FileProblem(f'không mở được tệp "{args.file}".')
        server = connect(args)
        try:
            importer = Importer(args.dry_run,
                accept_same_name=args.accept_same_name)
            refused = importer.run(args.file)
        finally:
            if server:
                try:
                    server.common.db.logout()
                except (OSError, xmlrpc.client.Error):
                    pass
    except FileProblem as problem:
        print(f"Không nhập được: {problem}", file=sys.stderr)
        return 2
    return 1 if refused else 0


if __name__ == '__main__':
    sys.exit(main())
