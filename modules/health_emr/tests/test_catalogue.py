# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import csv
import datetime as dt
import io
import time
import unittest
from decimal import Decimal
from pathlib import Path

from trytond.model.exceptions import AccessError
from trytond.modules.health_emr import catalogue
from trytond.modules.health_emr.catalogue import (
    age_bound_days, column_key, read_table_file)
from trytond.modules.health_emr.exceptions import (
    CatalogueImportError, DiagnosisCodingError)
from trytond.modules.health_emr.tests import load_vietnamese
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

TODAY = dt.date(2026, 11, 26)


def csv_bytes(rows):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode('utf-8')


MEDICINE_HEADER = [
    'STT', 'MA_THUOC', 'TEN_HOAT_CHAT', 'TEN_THUOC', 'HAM_LUONG',
    'DUONG_DUNG', 'DANG_BAO_CHE', 'DON_VI_TINH', 'SO_DANG_KY', 'DON_GIA',
    'QUYET_DINH', 'GOI_THAU', 'NHOM_THAU']


class CatalogueFunctionsTestCase(unittest.TestCase):
    "Helpers without a database"

    def test_age_bounds(self):
        self.assertEqual(age_bound_days('0d'), 0)
        self.assertEqual(age_bound_days('365d', upper=True), 365)
        # "trên 27 ngày tuổi": over 27 days
        self.assertEqual(age_bound_days('>27d'), 28)
        self.assertEqual(age_bound_days('1y'), 365)
        # "trên 15 tuổi": more than 15 × 365.25 days
        self.assertEqual(age_bound_days('>15y'), 5479)
        # "0 ngày – 2 tuổi": up to the day before the 3rd birthday
        self.assertEqual(age_bound_days('2y', upper=True), 1094)
        self.assertEqual(age_bound_days('60y', upper=True), 22279)
        self.assertIsNone(age_bound_days(''))

    def test_column_key(self):
        self.assertEqual(column_key('Mã thuốc'), 'MA_THUOC')
        self.assertEqual(column_key(' ten_hoat_chat '), 'TEN_HOAT_CHAT')
        self.assertEqual(column_key('ĐƠN GIÁ'), 'DON_GIA')

    def test_read_csv_semicolon(self):
        rows = read_table_file(
            'MA_DICH_VU;TEN_DICH_VU;DON_GIA\n01.1;Khám;30000\n'.encode(),
            'dv.csv')
        self.assertEqual(rows, [
                ['MA_DICH_VU', 'TEN_DICH_VU', 'DON_GIA'],
                ['01.1', 'Khám', '30000']])

    def test_read_not_utf8(self):
        with self.assertRaisesRegex(
                CatalogueImportError, 'msg_import_encoding'):
            read_table_file('Tên,Giá\n'.encode('cp1258'), 'x.csv')


class CatalogueTestCase(unittest.TestCase):
    "Official code lists, ICD-10 coding rules and facility catalogues"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_emr')

    @with_transaction()
    def test_official_lists_loaded(self):
        "Ethnic groups, occupations and visit categories are loaded"
        pool = Pool()
        Ethnicity = pool.get('health.ethnicity')
        Occupation = pool.get('health.occupation')
        VisitCategory = pool.get('health.visit.category')

        self.assertEqual(Ethnicity.search([], count=True), 56)
        kinh, = Ethnicity.search([('code', '=', '01')])
        self.assertEqual(kinh.name, "Kinh")
        self.assertEqual(kinh.rec_name, "01 - Kinh")
        self.assertIn(
            kinh, Ethnicity.search([('rec_name', 'ilike', '%Việt%')]))
        self.assertEqual(
            Ethnicity.search([('rec_name', '=', 'Kinh')]), [kinh])
        self.assertEqual(
            len(Ethnicity.search([('code', 'in', ['55', '99'])])), 2)
        self.assertEqual(Occupation.search([], count=True), 49)
        self.assertEqual(Occupation.search([('code', '=', '00')])[0].name,
            "Không xác định")
        categories = VisitCategory.search([])
        self.assertEqual(len(categories), 27)
        self.assertEqual(
            [c.code for c in categories[:3]], ['1.1', '1.2', '1.3'])
        self.assertIn('100%', categories[0].benefit)

    @with_transaction()
    def test_official_list_reload(self):
        "Reloading keeps ids, restores names and deactivates what left"
        pool = Pool()
        Ethnicity = pool.get('health.ethnicity')
        table = Ethnicity.__table__()
        cursor = Transaction().connection.cursor()
        kinh, = Ethnicity.search([('code', '=', '01')])
        cursor.execute(*table.update(
                [table.name], ['Old'], where=table.id == kinh.id))
        cursor.execute(*table.insert(
                [table.code, table.name, table.active],
                [['98', 'Gone', True]]))
        Ethnicity.load_official_list()
        self.assertEqual(Ethnicity(kinh.id).name, "Kinh")
        gone, = Ethnicity.search([
                ('code', '=', '98'), ('active', '=', False)])
        self.assertEqual(Ethnicity.search([], count=True), 56)

    @with_transaction()
    def test_official_lists_read_only(self):
        "Users cannot edit official lists through the client"
        pool = Pool()
        Ethnicity = pool.get('health.ethnicity')
        Disease = pool.get('health.disease')
        kinh, = Ethnicity.search([('code', '=', '01')])
        with self.assertRaises(AccessError):
            Ethnicity.check_modification(
                'write', [kinh], {'name': 'X'}, external=True)
        j069, = Disease.search([('code', '=', 'J06.9')])
        with self.assertRaises(AccessError):
            Disease.check_modification(
                'write', [j069], {'name': 'X'}, external=True)
        with self.assertRaises(AccessError):
            Disease.check_modification('delete', [j069], external=True)
        # Only the chronic-prescription tick is for the administrator
        Disease.check_modification(
            'write', [j069], {'chronic_prescription': True}, external=True)

    @with_transaction()
    def test_icd10_loaded(self):
        "The 12,137 codes of QĐ 4469 are loaded with their rules"
        pool = Pool()
        Disease = pool.get('health.disease')
        Pair = pool.get('health.disease.pair')

        self.assertEqual(Disease.search([], count=True), 12137)
        j069, = Disease.search([('code', '=', 'J06.9')])
        self.assertEqual(j069.code_nodot, 'J069')
        self.assertEqual(j069.version, 'QĐ 4469/QĐ-BYT')
        self.assertEqual(j069.valid_from, dt.date(2020, 10, 28))
        self.assertIsNone(j069.valid_to)
        self.assertEqual(j069.level, 'subcategory')
        self.assertEqual(j069.category_code, 'J06')
        self.assertEqual(j069.chapter, 'X (J00-J99)')
        self.assertFalse(j069.has_children)
        self.assertFalse(j069.chronic_prescription)
        self.assertTrue(j069.rec_name.startswith(
                "J06.9 - Nhiễm trùng đường hô hấp trên cấp"))
        self.assertTrue(Disease.search([('code', '=', 'J06')])[0]
            .has_children)

        # Rules of Phụ lục A2–A4
        b950, = Disease.search([('code', '=', 'B95.0')])
        self.assertTrue(b950.not_primary)
        self.assertEqual(Disease.search(
                [('not_primary', '=', True)], count=True), 1263 - 410)
        self.assertEqual(
            Disease.search([('sex', '=', 'female')], count=True), 843 - 76)
        self.assertEqual(
            Disease.search([('sex', '=', 'male')], count=True), 112 - 10)
        self.assertEqual(
            Disease.search([('age_rule', '!=', None)], count=True),
            1824 - 2 - 485)
        newborn = Disease.search([('code', '=', 'P07.3')])[0]
        self.assertEqual(
            (newborn.age_min_days, newborn.age_max_days), (0, 365))
        g01, = Disease.search([('code', '=', 'G01')])
        self.assertEqual(g01.dagger_asterisk, '*')
        self.assertEqual(g01.rec_name[:6], 'G01* -')
        self.assertIn('A01.0', [p.dagger.code for p in g01.asterisk_pairs])
        self.assertGreater(Pair.search([], count=True), 1500)

    @with_transaction()
    def test_icd10_reload(self):
        "Reloading ICD-10 keeps the administrator's ticks and end-dates"
        pool = Pool()
        Disease = pool.get('health.disease')
        Date = pool.get('ir.date')
        table = Disease.__table__()
        cursor = Transaction().connection.cursor()
        i10, = Disease.search([('code', '=', 'I10')])
        Disease.write([i10], {'chronic_prescription': True})
        cursor.execute(*table.insert(
                [table.code, table.code_nodot, table.name, table.version],
                [['X99.9', 'X999', 'Gone', 'QĐ 4469/QĐ-BYT']]))
        start = time.perf_counter()
        Disease.load_official_list()
        elapsed = time.perf_counter() - start
        self.assertLess(elapsed, 5)
        self.assertTrue(Disease(i10.id).chronic_prescription)
        gone, = Disease.search([('code', '=', 'X99.9')])
        self.assertEqual(
            gone.valid_to, Date.today() - dt.timedelta(days=1))
        self.assertEqual(Disease.search(
                Disease.valid_on_domain(Date.today()), count=True), 12137)

    @with_transaction()
    def test_icd10_search(self):
        "Codes are found with or without the dot, names without diacritics"
        Disease = Pool().get('health.disease')
        j069, = Disease.search([('code', '=', 'J06.9')])
        for text in ['J06.9', 'J069', 'j06.9', '%j069%']:
            with self.subTest(text=text):
                self.assertEqual(
                    Disease.search([('rec_name', 'ilike', text)]), [j069])
        j06 = Disease.search([('rec_name', 'ilike', 'j06')])
        self.assertIn(j069, j06)
        self.assertTrue(all(d.code.startswith('J06') for d in j06))
        self.assertEqual(Disease.search([('rec_name', '=', 'J069')]),
            [j069])
        for text in ['viem hong', 'Viêm họng', 'VIEM HONG', '%viem hong%']:
            with self.subTest(text=text):
                found = Disease.search([('rec_name', 'ilike', text)])
                self.assertTrue(found)
                self.assertTrue(all(
                        'viem hong' in d.name_folded for d in found))
        self.assertIn('J02.9', [d.code for d in Disease.search(
                    [('rec_name', 'ilike', 'viem hong cap')])])
        # d finds đ
        self.assertTrue(Disease.search(
                [('rec_name', 'ilike', 'dai thao duong')]))
        self.assertNotIn(j069, Disease.search(
                [('rec_name', 'not ilike', '%J06%')], limit=1000))

    @with_transaction()
    def test_coding_accepted(self):
        "A usual coding passes every rule"
        Disease = Pool().get('health.disease')
        main = Disease.from_code('J06.9', TODAY)
        secondaries = [Disease.from_code(c, TODAY)
            for c in ['I10', 'E11.9']]
        Disease.check_encounter_coding(
            main, secondaries, 'male', 40 * 365, TODAY)
        # Dagger as main, asterisk as secondary
        Disease.check_encounter_coding(
            Disease.from_code('A01.0', TODAY),
            [Disease.from_code('G01', TODAY)], 'female', 3000, TODAY)
        Disease.check_encounter_coding(None, [], None, None, TODAY)

    def assertCodingRefused(self, pattern, *args):
        with self.assertRaisesRegex(DiagnosisCodingError, pattern):
            Pool().get('health.disease').check_encounter_coding(*args)

    @with_transaction()
    def test_coding_rules_refused(self):
        "Each coding rule of QĐ 4469 is enforced with its own message"
        Disease = Pool().get('health.disease')

        def code(text):
            return Disease.from_code(text, TODAY)
        adult = 40 * 365
        self.assertCodingRefused(
            r'"B95\.0" .* may not be used as the main diagnosis',
            code('B95.0'), [], 'male', adult, TODAY)
        self.assertCodingRefused(
            r'"G01" .* asterisk \(\*\) code .* cannot be the main',
            code('G01'), [], 'male', adult, TODAY)
        self.assertCodingRefused(
            r'"O80.0" .* for women only .* the patient is a man',
            code('O80.0'), [], 'male', adult, TODAY)
        self.assertCodingRefused(
            r'"N40" .* for men only',
            code('J06.9'), [code('N40')], 'female', adult, TODAY)
        # A newborn disease for a 3-year-old, an adult one for a child
        self.assertCodingRefused(
            r'"P07.3" .* does not fit the age of the patient '
            r'\(3 years old\)',
            code('P07.3'), [], 'male', 3 * 366, TODAY)
        self.assertCodingRefused(
            r'does not fit the age of the patient \(20 days old\)',
            code('J06.9'), [code(self.adult_code())], 'male', 20, TODAY)
        self.assertCodingRefused(
            r'"J06.9" .* not in the ICD-10 list in force on 10/27/2020',
            code('J06.9'), [], 'male', adult, dt.date(2020, 10, 27))
        many = Disease.search([
                ('code', 'like', 'A0%'), ('not_primary', '=', False),
                ('sex', '=', None), ('age_rule', '=', None),
                ('dagger_asterisk', '=', None)], limit=13)
        self.assertCodingRefused(
            r'at most 12 secondary diagnoses .* but 13',
            code('J06.9'), many, 'male', adult, TODAY)
        Disease.check_encounter_coding(
            code('J06.9'), many[:12], 'male', adult, TODAY)
        self.assertCodingRefused(
            r'"J06.9" is coded more than once',
            code('J06.9'), [code('J06.9')], 'male', adult, TODAY)
        # Unknown sex or age: those rules cannot apply
        Disease.check_encounter_coding(
            code('O80.0'), [], 'unknown', None, TODAY)

    def adult_code(self):
        "A code of Phụ lục A3.9 (over 15 years)"
        path = Path(catalogue.__file__).parent / 'data' / (
            'icd10_qd4469_2020_rules.csv')
        with open(path, encoding='utf-8') as file:
            for row in csv.DictReader(file):
                if row['appendix'] == 'A3.9':
                    return row['code']

    @with_transaction()
    def test_coding_messages_in_vietnamese(self):
        "Doctors read the coding errors in Vietnamese"
        Disease = Pool().get('health.disease')
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(DiagnosisCodingError,
                    'Mã "B95.0" .* không được dùng làm chẩn đoán chính'):
                Disease.check_encounter_coding(
                    Disease.from_code('B95.0', TODAY), [], 'male', 20000,
                    TODAY)
            with self.assertRaisesRegex(DiagnosisCodingError,
                    r'không phù hợp với tuổi của người bệnh \(20 ngày tuổi\)'):
                Disease.check_encounter_coding(
                    Disease.from_code('J06.9', TODAY),
                    [Disease.from_code(self.adult_code(), TODAY)],
                    'male', 20, TODAY)
            with self.assertRaisesRegex(DiagnosisCodingError,
                    'tối đa 12 chẩn đoán kèm theo'):
                Disease.check_encounter_coding(
                    None, Disease.search([], limit=13), 'male', 20000,
                    TODAY)

    @with_transaction()
    def test_shipped_services(self):
        "The sample service list is loaded without prices, marked"
        Service = Pool().get('health.service')
        services = Service.search([])
        self.assertEqual(len(services), 32)
        self.assertTrue(all(s.get_price(TODAY) is None for s in services))
        self.assertTrue(all('no price' in s.source for s in services))
        cbc, = Service.search([('rec_name', 'ilike', '%te bao mau%')],
            limit=1)
        self.assertTrue(cbc.code.startswith('22.'))
        Service.write([cbc], {'name': 'Edited', 'active': False})
        Service.load_shipped_list()
        self.assertEqual(Service(cbc.id).name, 'Edited')
        self.assertEqual(Service.search([], count=True), 31)

    @with_transaction()
    def test_medicine_import(self):
        "A good medicine file is imported, searchable, with its price"
        Medicine = Pool().get('health.medicine')
        rows = [MEDICINE_HEADER,
            ['1', '40.5', 'Paracetamol', 'Panadol', '500mg', 'Uống',
                'Viên nén', 'Viên', 'VN-1234-18', '1.250', 'QĐ 12/QĐ-SYT',
                'G1', 'N4'],
            ['2', '40.677', 'Omeprazol', 'Omeprazol 20mg', '20mg', 'Uống',
                'Viên nang', 'Viên', 'VD-5678-20', '850', 'QĐ 12/QĐ-SYT',
                'G1', 'N4'],
            ]
        summary = Medicine.import_rows(
            rows, on_date=dt.date(2026, 1, 1), source='thuoc.csv')
        self.assertEqual(summary,
            {'created': 2, 'updated': 0, 'prices': 2, 'ended': 0})
        paracetamol, = Medicine.search([('rec_name', 'ilike', '%panadol%')])
        self.assertEqual(paracetamol.code, '40.5')
        self.assertEqual(paracetamol.unit, 'Viên')
        self.assertEqual(paracetamol.registration_number, 'VN-1234-18')
        self.assertEqual(paracetamol.bid_group, 'N4')
        self.assertEqual(paracetamol.get_price(TODAY), Decimal('1.250'))
        self.assertIsNone(paracetamol.get_price(dt.date(2025, 12, 31)))
        self.assertEqual(paracetamol.rec_name,
            "Paracetamol 500mg (Panadol), Viên nén")
        self.assertEqual(Medicine.search(
                [('rec_name', 'ilike', '%omeprazol%')]), Medicine.search(
                [('code', '=', '40.677')]))

    @with_transaction()
    def test_medicine_import_xlsx(self):
        "An XLSX workbook with a title row above the header is read"
        import openpyxl
        Medicine = Pool().get('health.medicine')
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(['DANH MỤC THUỐC SỬ DỤNG TẠI TRẠM Y TẾ'])
        sheet.append(['Mã thuốc', 'Tên hoạt chất', 'Hàm lượng',
                'Đơn vị tính', 'Đơn giá', 'Từ ngày'])
        sheet.append(['40.5', 'Paracetamol', '500mg', 'Viên', 1250,
                dt.datetime(2026, 2, 1)])
        data = io.BytesIO()
        book.save(data)
        rows = read_table_file(data.getvalue(), 'thuoc.xlsx')
        summary = Medicine.import_rows(rows, on_date=TODAY)
        self.assertEqual(summary['created'], 1)
        medicine, = Medicine.search([])
        self.assertEqual(medicine.prices[0].valid_from, dt.date(2026, 2, 1))
        self.assertEqual(medicine.get_price(TODAY), Decimal(1250))

    @with_transaction()
    def test_medicine_import_bad_row(self):
        "A bad row refuses the whole file, naming row and column"
        Medicine = Pool().get('health.medicine')
        rows = [MEDICINE_HEADER,
            ['1', '40.5', 'Paracetamol', 'Panadol', '500mg', 'Uống',
                'Viên nén', 'Viên', 'VN-1234-18', '1250', '', '', ''],
            ['2', '40.677', 'Omeprazol', '', '20mg', 'Uống',
                'Viên nang', 'Viên', 'VD-5678-20', '12,5.0', '', '', ''],
            ['3', '40.1', '', '', '', '', '', 'Ống', '', '100', '', '', ''],
            ]
        with self.assertRaises(CatalogueImportError) as context:
            Medicine.import_rows(rows, on_date=TODAY)
        message = str(context.exception)
        self.assertIn('Nothing was imported', message)
        self.assertIn('Row 3, column DON_GIA: "12,5.0" is not a price',
            message)
        self.assertIn('Row 4, column TEN_HOAT_CHAT: a value is required',
            message)
        self.assertEqual(Medicine.search([], count=True), 0)
        with self.assertRaisesRegex(
                CatalogueImportError, 'no column DON_VI_TINH'):
            Medicine.import_rows([['TEN_HOAT_CHAT', 'DON_GIA'],
                    ['Paracetamol', '1000']])
        with self.assertRaisesRegex(
                CatalogueImportError, 'Row 3 describes the same item as '
                'row 2'):
            Medicine.import_rows([
                    {'TEN_HOAT_CHAT': 'A', 'DON_VI_TINH': 'Viên',
                        'DON_GIA': '1', 'SO_DANG_KY': 'VD-1'},
                    {'TEN_HOAT_CHAT': 'A', 'DON_VI_TINH': 'Viên',
                        'DON_GIA': '2', 'SO_DANG_KY': 'VD-1'}])

    @with_transaction()
    def test_medicine_import_vietnamese(self):
        "Import errors are in Vietnamese"
        Medicine = Pool().get('health.medicine')
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(CatalogueImportError,
                    r'Dòng 2, cột TU_NGAY: "31/02/2026" không phải là ngày'):
                Medicine.import_rows([{
                            'TEN_HOAT_CHAT': 'A', 'DON_VI_TINH': 'Viên',
                            'DON_GIA': '1', 'TU_NGAY': '31/02/2026'}])

    @with_transaction()
    def test_medicine_reimport(self):
        "A new price is a dated price; a new code ends the old item"
        pool = Pool()
        Medicine = pool.get('health.medicine')
        Price = pool.get('health.medicine.price')

        def row(code, price, date):
            return {'MA_THUOC': code, 'TEN_HOAT_CHAT': 'Amoxicilin',
                'HAM_LUONG': '500mg', 'DON_VI_TINH': 'Viên',
                'SO_DANG_KY': 'VD-1111-19', 'DON_GIA': price,
                'TU_NGAY': date}
        Medicine.import_rows([row('40.150', '900', '20260101')])
        summary = Medicine.import_rows([row('40.150', '950', '20260601')])
        self.assertEqual(summary,
            {'created': 0, 'updated': 0, 'prices': 1, 'ended': 0})
        amoxicillin, = Medicine.search([])
        self.assertEqual(
            amoxicillin.get_price(dt.date(2026, 3, 1)), Decimal(900))
        self.assertEqual(
            amoxicillin.get_price(dt.date(2026, 6, 1)), Decimal(950))
        # The same file again changes nothing
        self.assertEqual(
            Medicine.import_rows([row('40.150', '950', '20260601')]),
            {'created': 0, 'updated': 0, 'prices': 0, 'ended': 0})
        # Old prices are history for users
        old = [p for p in amoxicillin.prices
            if p.valid_from == dt.date(2026, 1, 1)]
        with self.assertRaises(AccessError):
            Price.check_modification(
                'write', old, {'price': 1}, external=True)

        summary = Medicine.import_rows([row('40.151', '960', '20261001')])
        self.assertEqual(summary['ended'], 1)
        self.assertEqual(summary['created'], 1)
        old, new = Medicine.search([], order=[('id', 'ASC')])
        self.assertEqual(old.code, '40.150')
        self.assertEqual(old.valid_to, dt.date(2026, 9, 30))
        self.assertEqual(old.get_price(dt.date(2026, 7, 1)), Decimal(950))
        self.assertEqual(new.code, '40.151')
        self.assertEqual(new.valid_from, dt.date(2026, 10, 1))
        self.assertEqual(Medicine.search(
                Medicine.valid_on_domain(dt.date(2026, 7, 1))), [old])
        self.assertEqual(Medicine.search(
                Medicine.valid_on_domain(TODAY)), [new])

    @with_transaction()
    def test_service_import(self):
        "Services: price history by code, through the wizard"
        pool = Pool()
        Service = pool.get('health.service')
        Import = pool.get('health.service.import', type='wizard')

        def run(data, on_date, filename='dv.csv'):
            session_id, _, _ = Import.create()
            wizard = Import(session_id)
            wizard.start.file = data
            wizard.start.filename = filename
            wizard.start.on_date = on_date
            wizard.transition_import_()
            return wizard.default_done(None)

        header = ['MA_DICH_VU', 'TEN_DICH_VU', 'DON_GIA', 'QUYET_DINH']
        summary = run(csv_bytes([header,
                    ['22.0120.1370', 'Tổng phân tích tế bào máu ngoại vi',
                        '46200', 'NQ 01/2026'],
                    ['02.1899', 'Khám bệnh', '30500', 'NQ 01/2026']]),
            dt.date(2026, 1, 1))
        self.assertEqual(summary,
            {'created': 1, 'updated': 1, 'prices': 2, 'ended': 0})
        cbc, = Service.search([('code', '=', '22.0120.1370')])
        # The shipped sample gets the name and price of the imported list
        self.assertEqual(cbc.name, 'Tổng phân tích tế bào máu ngoại vi')
        self.assertEqual(cbc.source, 'dv.csv')
        self.assertEqual(cbc.prices[0].decision, 'NQ 01/2026')
        with self.assertRaisesRegex(CatalogueImportError,
                'Row 3, column DON_GIA'):
            run(csv_bytes([header,
                        ['22.0120.1370', 'Tổng phân tích', '50000', ''],
                        ['02.1899', 'Khám bệnh', 'ba mươi', '']]),
                dt.date(2026, 7, 1))
        self.assertEqual(len(Service(cbc.id).prices), 1)
        run(csv_bytes([header,
                    ['22.0120.1370', 'Tổng phân tích tế bào máu ngoại vi',
                        '50000', 'NQ 09/2026']]),
            dt.date(2026, 7, 1))
        cbc = Service(cbc.id)
        self.assertEqual(cbc.get_price(dt.date(2026, 6, 30)), Decimal(46200))
        self.assertEqual(cbc.get_price(dt.date(2026, 7, 1)), Decimal(50000))
        self.assertEqual(cbc.current_price, Decimal(50000))
