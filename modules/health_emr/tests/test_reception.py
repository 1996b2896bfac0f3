# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Reception: reading the CCCD QR code, telling what was scanned, mapping
card addresses to the 2025 communes, and the health.reception wizard."""
import datetime as dt
import unittest

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.modules.health_emr.address import OLD_PROVINCES, map_address
from trytond.modules.health_emr.exceptions import ReceptionError
from trytond.modules.health_emr.identity import (
    CccdQrError, classify_scan, parse_cccd_qr, person_name_case)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

TODAY = dt.date(2026, 3, 1)
# Synthetic: a man born 15/08/1990, birth registered in Bắc Giang (024)
QR_7 = ('024090001234|121234567|NGUYỄN VĂN AN|15081990|Nam|'
    'Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang|20042021')
QR_6 = ('024090001234|NGUYỄN VĂN AN|15081990|Nam|'
    'Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang|20042021')
# A woman born 2015 (digit 4 = 3: woman born in the 2000s)
QR_CHILD = ('024315000123||TRẦN THỊ BÌNH|02032015|Nữ|'
    'Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang|10012024')


class CccdQrTestCase(unittest.TestCase):
    "Reading the QR code of a chip citizen identity card"

    def parse(self, text):
        return parse_cccd_qr(text, today=TODAY)

    def assertRefused(self, text, message_id):
        with self.assertRaises(CccdQrError) as context:
            self.parse(text)
        self.assertEqual(context.exception.message_id, message_id, text)
        return context.exception

    def test_seven_fields(self):
        qr = self.parse(QR_7)
        self.assertEqual(qr.personal_id, '024090001234')
        self.assertEqual(qr.old_id_number, '121234567')
        self.assertEqual(qr.name, "Nguyễn Văn An")
        self.assertEqual(qr.birth_date, dt.date(1990, 8, 15))
        self.assertEqual(qr.birth_date_precision, 'day')
        self.assertEqual(qr.sex, 'male')
        self.assertEqual(qr.address,
            "Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang")
        self.assertEqual(qr.issue_date, dt.date(2021, 4, 20))

    def test_six_fields(self):
        qr = self.parse(QR_6)
        self.assertEqual(qr.personal_id, '024090001234')
        self.assertIsNone(qr.old_id_number)
        self.assertEqual(qr.name, "Nguyễn Văn An")
        self.assertEqual(qr.issue_date, dt.date(2021, 4, 20))

    def test_empty_old_id(self):
        qr = self.parse(QR_CHILD)
        self.assertIsNone(qr.old_id_number)
        self.assertEqual(qr.sex, 'female')
        self.assertEqual(qr.name, "Trần Thị Bình")

    def test_scanner_noise(self):
        "CR/LF, tabs, spaces, a byte-order mark and NFD text are cleaned"
        import unicodedata
        for text in [
                QR_7 + '\r\n',
                '\ufeff ' + QR_7 + '\n',
                QR_7.replace('|', ' | '),
                QR_7.replace('NGUYỄN VĂN AN', 'NGUYỄN\r\nVĂN  AN'),
                unicodedata.normalize('NFD', QR_7),
                QR_7 + '|',
                ]:
            with self.subTest(text=text):
                qr = self.parse(text)
                self.assertEqual(qr.name, "Nguyễn Văn An")
                self.assertEqual(qr.personal_id, '024090001234')
                self.assertEqual(qr.issue_date, dt.date(2021, 4, 20))

    def test_name_case(self):
        self.assertEqual(person_name_case("NGUYỄN VĂN AN"), "Nguyễn Văn An")
        self.assertEqual(person_name_case("ĐẶNG THỊ ĐỨC"), "Đặng Thị Đức")
        # Without diacritics: kept so, never guessed
        self.assertEqual(person_name_case("NGUYEN VAN A"), "Nguyen Van A")
        self.assertEqual(person_name_case("H'HEN NIÊ"), "H'Hen Niê")
        # Mixed case is the person's own spelling
        self.assertEqual(person_name_case("Nguyễn Văn An"), "Nguyễn Văn An")
        self.assertEqual(person_name_case("Lê thị Mai"), "Lê thị Mai")
        qr = self.parse(QR_7.replace('NGUYỄN VĂN AN', 'NGUYEN VAN A'))
        self.assertEqual(qr.name, "Nguyen Van A")

    def test_sex_spellings(self):
        for sex, expected in [('Nam', 'male'), ('NAM', 'male'),
                ('nam', 'male')]:
            self.assertEqual(
                self.parse(QR_7.replace('|Nam|', f'|{sex}|')).sex, expected)
        for sex in ['Nữ', 'NỮ', 'Nu']:
            self.assertEqual(
                self.parse(QR_CHILD.replace('|Nữ|', f'|{sex}|')).sex,
                'female')
        for sex in ['Khác', 'M', '', '1']:
            exception = self.assertRefused(
                QR_7.replace('|Nam|', f'|{sex}|'), 'msg_cccd_qr_sex')
            self.assertEqual(exception.names, {'value': sex})

    def test_field_count(self):
        for text, count in [
                ('024090001234|NGUYỄN VĂN AN|15081990|Nam|Thôn Đông', 5),
                (QR_7 + '|x', 8),
                ('024090001234', 1),
                ('||', 3),
                ]:
            exception = self.assertRefused(text, 'msg_cccd_qr_field_count')
            self.assertEqual(exception.names, {'count': count})

    def test_invalid_birth_date(self):
        for value in ['31021990', '15131990', '1581990', '15-08-1990',
                'abcdefgh', '15082099', '15081870', '']:
            with self.subTest(value=value):
                self.assertRefused(
                    QR_7.replace('15081990', value), 'msg_cccd_qr_birth_date')

    def test_partial_birth_date(self):
        "Elderly people whose day or month of birth is unknown"
        qr = self.parse(QR_7.replace('15081990', '00001990'))
        self.assertEqual(
            (qr.birth_date, qr.birth_date_precision),
            (dt.date(1990, 1, 1), 'year'))
        qr = self.parse(QR_7.replace('15081990', '00081990'))
        self.assertEqual(
            (qr.birth_date, qr.birth_date_precision),
            (dt.date(1990, 8, 1), 'month'))
        self.assertRefused(
            QR_7.replace('15081990', '15001990'), 'msg_cccd_qr_birth_date')

    def test_invalid_issue_date(self):
        for value in ['32012021', '20042099', '01011980', '00002021']:
            with self.subTest(value=value):
                self.assertRefused(
                    QR_7.replace('20042021', value), 'msg_cccd_qr_issue_date')
        # Absent issue date: accepted
        self.assertIsNone(
            self.parse(QR_7.replace('|20042021', '|')).issue_date)

    def test_personal_id_inconsistent(self):
        # Born 1991 but digits 5-6 say 90
        exception = self.assertRefused(
            QR_7.replace('15081990', '15081991'),
            'msg_personal_id_birth_year')
        self.assertEqual(exception.names,
            {'number': '024090001234', 'person': "Nguyễn Văn An"})
        # A woman with the number of a man
        self.assertRefused(
            QR_7.replace('|Nam|', '|Nữ|'), 'msg_personal_id_sex')
        # Century: 0 = born 19xx, so 2090 does not match
        self.assertRefused(
            QR_CHILD.replace('024315000123', '024115000123'),
            'msg_personal_id_birth_year')
        self.assertRefused(
            QR_7.replace('024090001234', '02409000123'),
            'msg_personal_id_format')
        self.assertRefused(
            QR_7.replace('024090001234', '099090001234'),
            'msg_personal_id_province')

    def test_invalid_name_or_old_id(self):
        self.assertRefused(
            QR_7.replace('NGUYỄN VĂN AN', ''), 'msg_cccd_qr_name')
        self.assertRefused(
            QR_7.replace('NGUYỄN VĂN AN', 'NGUYEN VAN 4N'), 'msg_cccd_qr_name')
        self.assertRefused(
            QR_7.replace('121234567', '12123456'), 'msg_cccd_qr_old_id')
        self.assertRefused(
            QR_7.replace('121234567', '12123456X'), 'msg_cccd_qr_old_id')


class ClassifyScanTestCase(unittest.TestCase):
    "What the receptionist scanned or typed"

    def test_kinds(self):
        for text, kind, value in [
                (QR_7, 'cccd_qr', QR_7),
                (QR_7 + '\r\n', 'cccd_qr', QR_7),
                ('024090001234', 'personal_id', '024090001234'),
                (' 024 090 001 234\n', 'personal_id', '024090001234'),
                ('dn4240123456789', 'insurance_card', 'DN4240123456789'),
                ('DN4 24 0123456789', 'insurance_card', 'DN4240123456789'),
                ('DN4240123456789|4e677579656e|15/08/1990|1|',
                    'insurance_card', 'DN4240123456789'),
                ('2401234567', 'social_insurance_number', '2401234567'),
                ('0912345678', 'phone', '0912345678'),
                ('0912.345.678', 'phone', '0912345678'),
                ('+84 912 345 678', 'phone', '0912345678'),
                ('0812345678', 'number', '0812345678'),
                ('BN-000123', 'other', 'BN-000123'),
                ('Nguyễn Văn An', 'other', 'Nguyễn Văn An'),
                ]:
            with self.subTest(text=text):
                scan = classify_scan(text)
                self.assertEqual((scan.kind, scan.value), (kind, value))


class AddressTestCase(unittest.TestCase):
    "Card addresses mapped to the communes of 01/07/2025"

    def test_old_provinces(self):
        "NQ 202/2025/QH15: 63 provinces into 34"
        self.assertEqual(len(OLD_PROVINCES), 63)
        self.assertEqual(len({new for _, new in OLD_PROVINCES.values()}), 34)
        self.assertEqual(OLD_PROVINCES['24'], ("Bắc Giang", '24'))
        self.assertEqual(OLD_PROVINCES['89'], ("An Giang", '91'))

    def test_certain(self):
        for text, commune, province, street in [
                ("Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang",
                    '07462', '24', "Thôn Đông"),
                # Abbreviated types
                ("Thôn Đông, X. Bảo Đài, H. Lục Nam, T. Bắc Giang",
                    '07462', '24', "Thôn Đông"),
                # The new two-level form (cards issued since 07/2025)
                ("Thôn Đông, Xã Bảo Đài, Tỉnh Bắc Ninh",
                    '07462', '24', "Thôn Đông"),
                # Numbered wards, with or without a leading zero
                ("Số 5, Phường 01, Quận Gò Vấp, TP. Hồ Chí Minh",
                    '26902', '79', "Số 5"),
                ("12 Lê Lợi, Tổ 3, P.1, Q. Gò Vấp, Thành phố Hồ Chí Minh",
                    '26902', '79', "12 Lê Lợi, Tổ 3"),
                # Two old wards of one district spelt alike but for a mark
                ("Tổ 3, Phường Hương Văn, Thị xã Hương Trà, "
                    "Tỉnh Thừa Thiên Huế", '19996', '46', "Tổ 3"),
                # An island district without communes
                ("Khu 2, Huyện Côn Đảo, Tỉnh Bà Rịa - Vũng Tàu",
                    '26732', '79', "Khu 2"),
                ]:
            with self.subTest(text=text):
                match = map_address(text)
                self.assertEqual(
                    (match.commune, match.province, match.street),
                    (commune, province, street))

    def test_uncertain(self):
        for text, province, street in [
                # Split between two new communes
                ("Thị trấn Tây Đằng, Huyện Ba Vì, Thành phố Hà Nội",
                    '01', None),
                # The commune is not in that district
                ("Thôn Đông, Xã Bảo Đài, Huyện Lục Ngạn, Tỉnh Bắc Giang",
                    '24', "Thôn Đông"),
                # No district, and Bắc Giang is no longer a province
                ("Thôn Đông, Xã Bảo Đài, Tỉnh Bắc Giang", '24', None),
                # Unknown province
                ("Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Xyz",
                    None, None),
                ("Bắc Giang", None, None),
                ("", None, None),
                (None, None, None),
                ]:
            with self.subTest(text=text):
                match = map_address(text)
                self.assertIsNone(match.commune)
                self.assertEqual(
                    (match.province, match.street), (province, street))


class ReceptionWizardTestCase(unittest.TestCase):
    "The health.reception wizard"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_emr')

    def setup_station(self):
        pool = Pool()
        Site = pool.get('health.site')
        Category = pool.get('health.visit.category')
        company = create_company()
        with set_company(company):
            employee = create_employee(company, "Lê Thị Tiếp Đón")
            site, = Site.create([{
                        'company': company.id, 'name': "Trụ sở chính",
                        'code': 'TS', 'kind': 'main'}])
            for code, name in [('1.2', "Trạm y tế"), ('9', "Không BHYT")]:
                if not Category.search([('code', '=', code)]):
                    Category.create([{'code': code, 'name': name}])
        return company, employee, site

    def context(self, company, employee, site):
        return Transaction().set_context(
            company=company.id, companies=[company.id],
            employee=employee.id, site=site.id if site else None)

    def execute(self, session_id, data, state):
        Reception = Pool().get('health.reception', type='wizard')
        return Reception.execute(session_id, data, state)

    @staticmethod
    def values(result):
        "The values the client would send back for the view shown"
        return {k: v for k, v in result['view']['defaults'].items()
            if '.' not in k}

    def receive(self, scan, method='cccd_qr', patient=None, insurance=None,
            visit=None):
        """Run the wizard as the client does; return the encounter and
        the action opened"""
        pool = Pool()
        Reception = pool.get('health.reception', type='wizard')
        Encounter = pool.get('health.encounter')
        session_id, _, _ = Reception.create()
        result = self.execute(session_id, {}, 'start')
        start = {**self.values(result), 'scan': scan,
            'identity_method': method}
        result = self.execute(session_id, {'start': start}, 'find')
        self.assertEqual(result['view']['state'], 'patient')
        values = {**self.values(result), **(patient or {})}
        result = self.execute(session_id, {'patient': values}, 'confirm')
        if result['view']['state'] == 'insurance':
            values = {**self.values(result), **(insurance or {})}
            result = self.execute(session_id, {'insurance': values}, 'visit')
        self.assertEqual(result['view']['state'], 'visit')
        values = {**self.values(result), **(visit or {})}
        result = self.execute(session_id, {'visit': values}, 'register')
        action, = result['actions']
        encounter = Encounter(action[0]['res_id'][0])
        Reception.delete(session_id)
        return encounter, action[0]

    def counts(self):
        pool = Pool()
        return tuple(len(pool.get(m).search([]))
            for m in ['health.patient', 'health.insurance.card',
                'health.insurance.check', 'health.encounter'])

    @with_transaction()
    def test_new_patient_from_qr(self):
        "A new patient filled from the QR code, with a checked card"
        pool = Pool()
        Patient = pool.get('health.patient')
        company, employee, site = self.setup_station()
        with self.context(company, employee, site):
            encounter, action = self.receive(QR_7, patient={
                    'phone': '0912 345 678',
                    'card_number': 'DN4240123456789',
                    'card_valid_from': dt.date(2026, 1, 1),
                    'card_valid_to': dt.date(2026, 12, 31),
                    'card_registered_facility': '24123',
                    }, insurance={
                    'eligible': True, 'result_code': '000',
                    'result_message': "Thẻ còn giá trị sử dụng",
                    'raw_answer': '{"maKetQua": "000"}',
                    }, visit={'reason': "Ho, sốt 2 ngày"})
            patient, = Patient.search([])
            self.assertEqual(patient.name, "Nguyễn Văn An")
            self.assertEqual(patient.personal_id, '024090001234')
            self.assertEqual(patient.old_id_number, '121234567')
            self.assertEqual(patient.birth_date, dt.date(1990, 8, 15))
            self.assertEqual(patient.sex, 'male')
            self.assertEqual(patient.phone, '0912345678')
            self.assertEqual(patient.commune.code, '07462')
            self.assertEqual(patient.street, "Thôn Đông")
            self.assertEqual(patient.address_original,
                "Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang")
            card, = patient.insurance_cards
            self.assertEqual(card.number, 'DN4240123456789')
            self.assertEqual(card.registered_facility, '24123')

            self.assertEqual(encounter.patient, patient)
            self.assertEqual(encounter.site, site)
            self.assertEqual(encounter.company, company)
            self.assertEqual(encounter.identity_method, 'cccd_qr')
            self.assertEqual(encounter.reason, "Ho, sốt 2 ngày")
            self.assertEqual(encounter.insurance_card, card)
            self.assertEqual(encounter.visit_category.code, '1.2')
            self.assertEqual(encounter.queue_number, 1)
            self.assertIn('1', action['name'])
            check = encounter.insurance_check
            self.assertEqual(check.card, card)
            self.assertEqual(check.card_number, 'DN4240123456789')
            self.assertEqual(check.checked_by, employee)
            self.assertEqual(check.method, 'manual')
            self.assertTrue(check.eligible)
            self.assertEqual(check.result_code, '000')
            self.assertEqual(check.raw_answer, '{"maKetQua": "000"}')
            self.assertTrue(check.checked_at)

    @with_transaction()
    def test_returning_patient(self):
        "Scanned twice: one patient, two encounters numbered 1 and 2"
        pool = Pool()
        Patient = pool.get('health.patient')
        Card = pool.get('health.insurance.card')
        company, employee, site = self.setup_station()
        with self.context(company, employee, site):
            first, _ = self.receive(QR_7, patient={
                    'card_number': 'DN4240123456789',
                    'card_valid_from': dt.date(2025, 1, 1),
                    'card_valid_to': dt.date(2025, 12, 31)})
            # The second time the wizard shows the patient and the card
            pool = Pool()
            Reception = pool.get('health.reception', type='wizard')
            session_id, _, _ = Reception.create()
            result = self.execute(session_id, {'start': {
                        'scan': QR_6 + '\r\n',
                        'identity_method': 'cccd_qr'}}, 'find')
            values = self.values(result)
            self.assertEqual(values['patient'], first.patient.id)
            self.assertEqual(values['card_number'], 'DN4240123456789')
            Reception.delete(session_id)
            # The card was renewed for 2026
            second, action = self.receive(QR_6 + '\r\n', patient={
                    'card_valid_from': dt.date(2026, 1, 1),
                    'card_valid_to': dt.date(2026, 12, 31)},
                insurance={'record_check': False})
            patient, = Patient.search([])
            self.assertEqual(second.patient, patient)
            self.assertEqual(
                [first.queue_number, second.queue_number], [1, 2])
            self.assertIn('2', action['name'])
            self.assertEqual(
                sorted(c.valid_from for c in Card.search([])),
                [dt.date(2025, 1, 1), dt.date(2026, 1, 1)])
            self.assertEqual(second.insurance_card.valid_from,
                dt.date(2026, 1, 1))
            self.assertIsNone(second.insurance_check)
            # The facility code was added to the same card: no new card
            third, _ = self.receive('024090001234', method='vneid', patient={
                    'card_registered_facility': '24123'},
                insurance={'record_check': False})
            self.assertEqual(third.identity_method, 'vneid')
            self.assertEqual(third.queue_number, 3)
            self.assertEqual(len(Card.search([])), 2)
            self.assertEqual(third.insurance_card.registered_facility,
                '24123')

    @with_transaction()
    def test_personal_id_already_registered(self):
        "A new patient typed by hand with a registered ID is that patient"
        pool = Pool()
        Patient = pool.get('health.patient')
        company, employee, site = self.setup_station()
        with self.context(company, employee, site):
            first, _ = self.receive(QR_7)
            second, _ = self.receive(
                "Nguyễn Văn An", method='declared', patient={
                    'name': "Nguyễn Văn An", 'sex': 'male',
                    'birth_date': dt.date(1990, 8, 15),
                    'personal_id': '024 090 001 234'})
            self.assertEqual(len(Patient.search([])), 1)
            self.assertEqual(second.patient, first.patient)
            self.assertEqual(second.visit_category.code, '9')

    @with_transaction()
    def test_child_without_card(self):
        "A child received with a guardian, without insurance"
        company, employee, site = self.setup_station()
        with self.context(company, employee, site):
            encounter, _ = self.receive(QR_CHILD, patient={
                    'guardian_name': "Trần Văn Cường",
                    'guardian_relationship': "Bố",
                    'guardian_phone': '0987654321'})
            patient = encounter.patient
            self.assertEqual(patient.sex, 'female')
            self.assertEqual(patient.guardian_name, "Trần Văn Cường")
            self.assertFalse(patient.insurance_cards)
            self.assertIsNone(encounter.insurance_card)
            self.assertEqual(encounter.visit_category.code, '9')

    @with_transaction()
    def test_uncertain_address_left_empty(self):
        company, employee, site = self.setup_station()
        address = "Thôn 5, Xã Tây Đằng, Huyện Ba Vì, Thành phố Hà Nội"
        with self.context(company, employee, site):
            encounter, _ = self.receive(QR_7.replace(
                    "Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang",
                    address))
            patient = encounter.patient
            self.assertIsNone(patient.commune)
            self.assertEqual(patient.address_original, address)

    @with_transaction()
    def test_bad_inputs_leave_nothing(self):
        "Every refused reception leaves no patient, card, check, encounter"
        company, employee, site = self.setup_station()
        with self.context(company, employee, site):
            before = self.counts()
            for scan, patient, visit in [
                    ('024090001234|NGUYỄN VĂN AN|15081990|Nam', None, None),
                    (QR_7.replace('|Nam|', '|Nữ|'), None, None),
                    (QR_7.replace('15081990', '31021990'), None, None),
                    ('   ', None, None),
                    ('024090001234X', None, None),
                    ('DN6240123456789', None, None),
                    (QR_7, {'card_number': 'DN424012345'}, None),
                    (QR_7, {'card_number': 'DN4240123456789',
                            'card_registered_facility': '241'}, None),
                    (QR_7, {'card_number': 'DN4240123456789',
                            'card_valid_from': dt.date(2026, 12, 31),
                            'card_valid_to': dt.date(2026, 1, 1)}, None),
                    (QR_7, {'name': None}, None),
                    (QR_7, {'personal_id': '024190001234'}, None),
                    (QR_7, None, {'site': None}),
                    ]:
                with self.subTest(scan=scan, patient=patient, visit=visit):
                    with self.assertRaises(ReceptionError) as context:
                        self.receive(scan, patient=patient, visit=visit)
                    self.assertTrue(str(context.exception.message))
                    self.assertEqual(self.counts(), before)

    @with_transaction()
    def test_no_site(self):
        company, employee, _ = self.setup_station()
        with self.context(company, employee, None):
            with self.assertRaises(ReceptionError):
                self.receive(QR_7)
            self.assertEqual(self.counts(), (0, 0, 0, 0))

    @with_transaction()
    def test_malformed_qr_message_in_vietnamese(self):
        from trytond.modules.health_emr.tests import load_vietnamese
        company, employee, site = self.setup_station()
        load_vietnamese()
        with self.context(company, employee, site), \
                Transaction().set_context(language='vi'):
            with self.assertRaises(ReceptionError) as context:
                self.receive('024090001234|NGUYỄN VĂN AN|15081990|Nam')
            self.assertIn('4', context.exception.message)
            self.assertIn('CCCD', context.exception.message)
