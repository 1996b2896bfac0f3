# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import re
import unittest
from pathlib import Path

import polib

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.modules.health_emr.identity import check_personal_id
from trytond.modules.health_emr.tests import (
    HealthModuleTestMixin, load_vietnamese)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class IdentityTestCase(unittest.TestCase):
    "Checks of Vietnamese identifiers without a database"

    def test_personal_id_valid(self):
        # 024 Bắc Giang, 0 = man born 19xx, 90 → 1990
        self.assertIsNone(check_personal_id('024090123456'))
        self.assertIsNone(check_personal_id(
                '024090123456', birth_date=dt.date(1990, 5, 1), sex='male'))
        # 3 = woman born 20xx, 15 → 2015
        self.assertIsNone(check_personal_id(
                '001315000123', birth_date=2015, sex='female'))

    def test_personal_id_format(self):
        for number in ['', None, '02409012345', '0240901234567',
                '02409O123456', '024 090 123 456']:
            self.assertEqual(check_personal_id(number),
                'msg_personal_id_format', number)

    def test_personal_id_province(self):
        self.assertEqual(check_personal_id('003090123456'),
            'msg_personal_id_province')
        self.assertEqual(check_personal_id('099090123456'),
            'msg_personal_id_province')

    def test_personal_id_birth_year(self):
        self.assertEqual(check_personal_id(
                '024090123456', birth_date=dt.date(1991, 5, 1)),
            'msg_personal_id_birth_year')
        # Same two digits, wrong century
        self.assertEqual(check_personal_id(
                '024090123456', birth_date=2090),
            'msg_personal_id_birth_year')

    def test_personal_id_sex(self):
        self.assertEqual(check_personal_id('024190123456', sex='male'),
            'msg_personal_id_sex')
        self.assertEqual(check_personal_id('024090123456', sex='female'),
            'msg_personal_id_sex')
        self.assertIsNone(check_personal_id('024090123456', sex='other'))


class TranslationFilesTestCase(unittest.TestCase):
    "The Vietnamese translations we ship are complete and well-formed"
    locale = Path(__file__).parent.parent / 'locale'
    placeholder = re.compile(r'%\([a-z_0-9]+\)[sd]|%[sd]|\{[a-z_0-9]*\}')

    def po_files(self):
        return [self.locale / 'vi.po', *sorted(
                (self.locale / 'tryton' / 'vi').glob('*.po'))]

    def test_core_translations_shipped(self):
        self.assertEqual(
            {p.stem for p in self.po_files()[1:]},
            {'ir', 'res', 'party', 'company', 'currency', 'country'})

    def test_entries(self):
        for path in self.po_files():
            entries = [e for e in polib.pofile(str(path)) if not e.obsolete]
            self.assertTrue(entries, path)
            for entry in entries:
                with self.subTest(file=path.name, msgctxt=entry.msgctxt):
                    msgstr = entry.msgstr or entry.msgstr_plural.get(0)
                    self.assertTrue(msgstr, entry.msgid)
                    self.assertEqual(
                        sorted(self.placeholder.findall(msgstr)),
                        sorted(self.placeholder.findall(entry.msgid)),
                        entry.msgid)


class HealthEmrTestCase(
        HealthModuleTestMixin, CompanyTestMixin, ModuleTestCase):
    "Test Health EMR module"
    module = 'health_emr'
    health_public_models = {'health.province', 'health.commune',
        'health.ethnicity', 'health.occupation', 'health.visit.category',
        'health.disease', 'health.disease.pair'}

    @with_transaction()
    def test_official_units_loaded(self):
        "The 2025 administrative units are loaded at activation"
        pool = Pool()
        Province = pool.get('health.province')
        Commune = pool.get('health.commune')

        self.assertEqual(Province.search([], count=True), 34)
        bac_ninh, = Province.search([('code', '=', '24')])
        self.assertEqual(bac_ninh.name, "Bắc Ninh")
        self.assertEqual(
            bac_ninh.department_of_health_header, "SỞ Y TẾ TỈNH BẮC NINH")
        ha_noi, = Province.search([('code', '=', '01')])
        self.assertEqual(
            ha_noi.department_of_health_header,
            "SỞ Y TẾ THÀNH PHỐ HÀ NỘI")
        bao_dai = Commune.from_code('07462')
        self.assertEqual(bao_dai.name, "Xã Bảo Đài")
        self.assertEqual(bao_dai.province, bac_ninh)
        self.assertEqual(bao_dai.rec_name, "Xã Bảo Đài, Bắc Ninh (07462)")
        self.assertGreater(Commune.search([], count=True), 3000)
        self.assertEqual(Commune.search([('rec_name', '=', '07462')]),
            [bao_dai])

    @with_transaction()
    def test_official_units_reload(self):
        "Loading again keeps ids, renames and deactivates what left"
        pool = Pool()
        Commune = pool.get('health.commune')
        table = Commune.__table__()
        cursor = Transaction().connection.cursor()

        bao_dai = Commune.from_code('07462')
        cursor.execute(*table.update(
                [table.name], ['Old name'], where=table.id == bao_dai.id))
        cursor.execute(*table.insert(
                [table.code, table.name, table.division_type,
                    table.province, table.active],
                [['99999', 'Gone', 'commune', bao_dai.province.id, True]]))
        count = Commune.search([], count=True)
        Commune.load_official_units()

        self.assertEqual(Commune(bao_dai.id).name, "Xã Bảo Đài")
        self.assertEqual(Commune.search([], count=True), count - 1)
        gone, = Commune.search([
                ('code', '=', '99999'), ('active', '=', False)])
        self.assertEqual(gone.name, 'Gone')

    @with_transaction()
    def test_commune_from_code_errors(self):
        "A wrong commune code gets a message saying what is expected"
        Commune = Pool().get('health.commune')
        with self.assertRaisesRegex(UserError, '5 digits'):
            Commune.from_code('7462x')
        with self.assertRaisesRegex(UserError, 'not in the list'):
            Commune.from_code('00000')
        self.assertEqual(Commune.from_code(' 07462 ').code, '07462')

    @with_transaction()
    def test_errors_in_vietnamese(self):
        "Users working in Vietnamese get the errors in Vietnamese"
        pool = Pool()
        Commune = pool.get('health.commune')
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(
                    UserError, 'Mã xã "123" phải gồm đúng 5 chữ số'):
                Commune.from_code('123')
            company = create_company(name="Trạm Y tế Bảo Đài")
            company.facility_code = '2499'
            with self.assertRaisesRegex(ValidationError,
                    'Mã cơ sở KCB "2499" của "Trạm Y tế Bảo Đài" phải gồm'):
                company.save()

    @with_transaction()
    def test_core_modules_in_vietnamese(self):
        "Loading Vietnamese also translates the Tryton modules below ours"
        pool = Pool()
        Menu = pool.get('ir.ui.menu')
        ModelData = pool.get('ir.model.data')
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            administration = Menu(ModelData.get_id(
                    'ir', 'menu_administration'))
            self.assertEqual(administration.name, "Quản trị")
            health = Menu(ModelData.get_id('health_emr', 'menu_health'))
            self.assertEqual(health.name, "Y tế")

    @with_transaction()
    def test_official_units_read_only(self):
        "Administrative units cannot be renamed or deleted"
        Commune = Pool().get('health.commune')
        bao_dai = Commune.from_code('07462')
        with self.assertRaises(AccessError):
            Commune.write([bao_dai], {'name': 'Xã Khác'})
        with self.assertRaises(AccessError):
            Commune.delete([bao_dai])

    @with_transaction()
    def test_facility(self):
        "A facility has a valid code, a commune and a line-ministry header"
        pool = Pool()
        Company = pool.get('company.company')
        Commune = pool.get('health.commune')

        company = create_company(name="Trạm Y tế Bảo Đài")
        company.commune = Commune.from_code('07462')
        company.on_change_commune()
        company.facility_code = '24 123'
        company.on_change_facility_code()
        company.save()

        self.assertEqual(company.facility_code, '24123')
        self.assertEqual(company.province.code, '24')
        self.assertEqual(
            company.department_of_health_header, "SỞ Y TẾ TỈNH BẮC NINH")
        self.assertEqual(
            Company.search([('province.code', '=', '24')]), [company])

        for code in ['2412', '241234', '24A23']:
            company.facility_code = code
            with self.assertRaisesRegex(ValidationError, '5 digits'):
                company.save()

    @with_transaction()
    def test_facility_code_unique(self):
        "Two facilities cannot share a facility code"
        company1 = create_company(name="Trạm 1")
        company1.facility_code = '24123'
        company1.save()
        company2 = create_company(name="Trạm 2")
        company2.facility_code = '24123'
        with self.assertRaises(Exception):
            company2.save()

    @with_transaction()
    def test_employee_practitioner(self):
        "Staff carry title, certificate, personal ID and insurance number"
        company = create_company()
        employee = create_employee(company, name="Nguyễn Thị Hoa")
        employee.professional_title = 'doctor'
        employee.practising_certificate = ' 001234/bn-cchn '
        employee.on_change_practising_certificate()
        employee.personal_id = '024 185 000 111'
        employee.on_change_personal_id()
        employee.social_insurance_number = '2412345678'
        employee.save()
        self.assertEqual(employee.personal_id, '024185000111')
        self.assertEqual(employee.practising_certificate, '001234/BN-CCHN')
        self.assertEqual(employee.professional_title_string, 'Doctor')

        employee.personal_id = '24185000111'
        with self.assertRaisesRegex(ValidationError, '12 digits'):
            employee.save()
        employee.personal_id = '099185000111'
        with self.assertRaisesRegex(ValidationError, 'province'):
            employee.save()
        employee.personal_id = '024185000111'
        employee.social_insurance_number = '241234567'
        with self.assertRaisesRegex(ValidationError, '10 digits'):
            employee.save()

    @with_transaction()
    def test_site_one_main(self):
        "A facility has at most one main station"
        Site = Pool().get('health.site')
        company = create_company()
        Site.create([
                {'company': company.id, 'name': "Trụ sở chính",
                    'code': 'TS', 'kind': 'main'},
                {'company': company.id, 'name': "Điểm trạm 2",
                    'code': 'D2', 'kind': 'sub'},
                ])
        # Found by code or by name
        self.assertEqual(
            [s.code for s in Site.search([('rec_name', '=', 'D2')])], ['D2'])
        self.assertEqual(
            [s.code for s in Site.search([('rec_name', 'ilike', '%chính')])],
            ['TS'])
        with self.assertRaisesRegex(ValidationError, 'only one main'):
            Site.create([{'company': company.id, 'name': "Khác",
                        'code': 'K', 'kind': 'main'}])

    @with_transaction()
    def test_site_record_rule(self):
        "A user of one facility cannot read another facility's sites"
        pool = Pool()
        Site = pool.get('health.site')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')

        company_a = create_company(name="Trạm A")
        company_b = create_company(name="Trạm B")
        site_a, site_b = Site.create([
                {'company': company_a.id, 'name': "A", 'code': 'A'},
                {'company': company_b.id, 'name': "B", 'code': 'B'},
                ])
        doctor_group = ModelData.get_id('health_emr', 'group_health_doctor')
        user, = User.create([{
                    'name': "Bác sĩ A", 'login': 'doctor_a',
                    'companies': [('add', [company_a.id])],
                    'company': company_a.id,
                    'sites': [('add', [site_a.id])],
                    'site': site_a.id,
                    'groups': [('add', [doctor_group])],
                    }])
        self.assertEqual(user.site, site_a)

        # _check_access: as the RPC layer does for a client request
        with Transaction().set_user(user.id), \
                Transaction().set_context(
                    User.get_preferences(context_only=True),
                    _check_access=True):
            self.assertEqual(Site.search([]), [site_a])
            with self.assertRaises(AccessError):
                Site.read([site_b.id], ['name'])
            # Doctors read sites but do not manage them
            with self.assertRaises(AccessError):
                Site.write([Site(site_a.id)], {'name': "A2"})

    @with_transaction()
    def test_user_current_site(self):
        "The current site is in the user's context and follows the company"
        pool = Pool()
        Site = pool.get('health.site')
        User = pool.get('res.user')
        company = create_company()
        main, sub = Site.create([
                {'company': company.id, 'name': "Trụ sở", 'code': 'TS',
                    'kind': 'main'},
                {'company': company.id, 'name': "Điểm 2", 'code': 'D2'},
                ])
        with set_company(company):
            user = User(Transaction().user)
            user.sites = [main, sub]
            user.site = sub
            user.save()
            self.assertEqual(
                User.get_preferences(context_only=True)['site'], sub.id)
            self.assertTrue(User(user.id).status_bar.endswith(' - Điểm 2'))

    @with_transaction()
    def test_vietnamese_language(self):
        "Vietnamese exists, is translatable and formats the Vietnamese way"
        Lang = Pool().get('ir.lang')
        vi, = Lang.search([('code', '=', 'vi')])
        self.assertTrue(vi.translatable)
        self.assertEqual(vi.strftime(dt.date(2026, 3, 9)), '09/03/2026')
        self.assertEqual(vi.format('%.2f', 1234567.5, grouping=True),
            '1.234.567,50')


del ModuleTestCase
