# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The printing infrastructure: FormReport, print log, station templates"""
import datetime as dt
import hashlib
import re
import subprocess
import tempfile
import unittest
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.modules.health_vn_forms import converter
from trytond.modules.health_vn_forms.exceptions import (
    ConversionError, FormMissingDataError, TemplateError)
from trytond.modules.health_vn_forms.report import (
    CONVERSION_TEXT, FormReport, count_pdf_pages, date_words, format_vn_date,
    new_lookup_code, qr_image)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

HERE = Path(__file__).parent
TEST_REPORT = 'health.vn_forms.test_form'


class TestForm(FormReport):
    "A form for the tests (tests/form_test.fodt), refused without diagnosis"
    __name__ = TEST_REPORT

    @classmethod
    def missing_data(cls, record):
        missing = super().missing_data(record)
        if not record.diagnoses:
            missing.append(cls.field_label(record, 'diagnoses'))
        return missing


def pdf_text(pdf):
    with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(['pdftotext', '-layout', file.name, '-'],
            check=True, capture_output=True).stdout.decode('utf-8')


class HelpersTestCase(unittest.TestCase):
    "Vietnamese dates, lookup codes and QR images without a database"

    def test_date_words(self):
        self.assertEqual(date_words(dt.date(2026, 11, 5)),
            'ngày 05 tháng 11 năm 2026')
        self.assertEqual(date_words(None),
            'ngày ..... tháng ..... năm ..........')
        # 20:00 UTC is already the next day in Vietnam
        from trytond.tools.timezone import get_tzinfo
        vietnam = get_tzinfo('Asia/Ho_Chi_Minh')
        self.assertEqual(
            date_words(dt.datetime(2026, 11, 5, 20, 0), vietnam),
            'ngày 06 tháng 11 năm 2026')

    def test_format_vn_date(self):
        self.assertEqual(format_vn_date(dt.date(2026, 11, 5)), '05/11/2026')
        self.assertEqual(format_vn_date(None), '')
        from trytond.tools.timezone import get_tzinfo
        vietnam = get_tzinfo('Asia/Ho_Chi_Minh')
        self.assertEqual(
            format_vn_date(dt.datetime(2026, 11, 5, 1, 30), vietnam),
            '08:30 05/11/2026')

    def test_lookup_code(self):
        codes = {new_lookup_code() for _ in range(200)}
        self.assertEqual(len(codes), 200)
        for code in codes:
            self.assertRegex(code, r'^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]'
                r'{4}-[0-9A-HJKMNP-TV-Z]{2}$')

    def test_qr_image(self):
        image, mimetype, width, height = qr_image('OpenTYT:24123:ABCD', 3)
        self.assertTrue(image.startswith(b'\x89PNG'))
        self.assertEqual(
            (mimetype, width, height), ('image/png', '3cm', '3cm'))


class FormReportTestCase(unittest.TestCase):
    "Printing a form: PDF, conversion mark, print log, bad input"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_vn_forms')

    # -- fixtures (synthetic people only) -------------------------------------

    @contextmanager
    def station(self):
        pool = Pool()
        User = pool.get('res.user')
        ActionReport = pool.get('ir.action.report')
        Commune = pool.get('health.commune')
        Site = pool.get('health.site')

        company = create_company(name="Trạm Y tế Bảo Đài")
        company.facility_code = '24123'
        company.commune = Commune.from_code('07462')
        company.on_change_commune()
        company.timezone = 'Asia/Ho_Chi_Minh'
        company.save()
        site, = Site.create([{
                    'company': company.id, 'name': "Trụ sở chính",
                    'code': 'TS', 'kind': 'main'}])
        doctor = create_employee(company, name="Bác sĩ Lê Văn Minh")
        user = User(Transaction().user)
        User.write([user], {
                'companies': [('add', [company.id])],
                'company': company.id,
                'employees': [('add', [doctor.id])],
                'employee': doctor.id,
                })
        self.company = company
        self.action, = ActionReport.create([{
                    'name': "Phiếu thử nghiệm",
                    'model': 'health.encounter',
                    'report_name': TEST_REPORT,
                    'report': 'health_vn_forms/tests/form_test.fodt',
                    'template_extension': 'odt',
                    'extension': 'pdf',
                    'health_form': True,
                    }])
        with set_company(company), \
                Transaction().set_context(site=site.id):
            yield

    def encounter(self, name="Nguyễn Thị Hường", diagnoses=('J06.9',)):
        pool = Pool()
        Patient = pool.get('health.patient')
        Encounter = pool.get('health.encounter')
        Diagnosis = pool.get('health.encounter.diagnosis')
        Disease = pool.get('health.disease')
        patient, = Patient.create([{
                    'company': self.company.id, 'name': name,
                    'birth_date': dt.date(1980, 5, 1), 'sex': 'female'}])
        encounter, = Encounter.create([{'patient': patient.id}])
        for i, code in enumerate(diagnoses):
            disease, = Disease.search([('code', '=', code)])
            Diagnosis.create([{
                        'encounter': encounter.id,
                        'kind': 'main' if i == 0 else 'secondary',
                        'sequence': i + 1,
                        'disease': disease.id,
                        }])
        return encounter

    def logs(self, encounter=None):
        PrintLog = Pool().get('health.form.print.log')
        domain = []
        if encounter:
            domain.append(('record', '=', str(encounter)))
        return PrintLog.search(domain)

    # -- tests ----------------------------------------------------------------

    @with_transaction()
    def test_print_pdf_with_conversion_mark_and_log(self):
        "A print is a PDF with the conversion mark, logged per record"
        with self.station():
            encounter = self.encounter()
            before = dt.datetime.now()
            oext, pdf, _, name = TestForm.execute(
                [encounter.id], {'model': 'health.encounter'})
            self.assertEqual(oext, 'pdf')
            self.assertTrue(pdf.startswith(b'%PDF-'))
            text = pdf_text(pdf)
            self.assertIn("Nguyễn Thị Hường", text)
            self.assertIn("SỞ Y TẾ TỈNH BẮC NINH", text)
            self.assertIn("Trạm Y tế Bảo Đài", text)
            self.assertIn("J06.9", text)
            self.assertIn(CONVERSION_TEXT, text)
            self.assertIn("OpenTYT", text)
            self.assertIn(Pool().get('res.user')(Transaction().user).name,
                text)
            self.assertRegex(text, r'ngày \d\d tháng \d\d năm \d{4}')

            log, = self.logs(encounter)
            self.assertEqual(log.record, encounter)
            self.assertEqual(log.company, self.company)
            self.assertEqual(log.report, self.action)
            self.assertEqual(log.printed_by.id, Transaction().user)
            self.assertGreaterEqual(log.printed_at, before.replace(
                    microsecond=0) - dt.timedelta(seconds=1))
            self.assertIn(log.lookup_code, text)
            self.assertEqual(log.sha256, hashlib.sha256(pdf).hexdigest())
            self.assertEqual(log.pages, 1)
            self.assertEqual(log.pages, count_pdf_pages(pdf))
            PrintLog = Pool().get('health.form.print.log')
            self.assertEqual(
                PrintLog.find(log.lookup_code.lower().replace('-', ' ')),
                log)

            # Printed again: a new entry with another code
            TestForm.execute([encounter.id], {'model': 'health.encounter'})
            first, second = self.logs(encounter)
            self.assertNotEqual(first.lookup_code, second.lookup_code)

    @with_transaction()
    def test_print_qr_code(self):
        "The QR code is drawn on the page"
        with self.station():
            encounter = self.encounter()
            pdf = TestForm.render_pdf([encounter])
            # The PNG is embedded as an image XObject
            self.assertRegex(pdf, rb'/Subtype\s*/Image')
            pdf = TestForm.render_pdf([encounter], purpose='sign')
            self.assertNotRegex(pdf, rb'/Subtype\s*/Image')

    @with_transaction()
    def test_several_records_one_document(self):
        "Several records in one document: one log entry and code each"
        with self.station():
            first = self.encounter("Trần Văn Bình")
            second = self.encounter("Lê Thị Cúc")
            pdf = TestForm.render_pdf([first, second])
            text = pdf_text(pdf)
            log1, = self.logs(first)
            log2, = self.logs(second)
            self.assertIn(log1.lookup_code, text)
            self.assertIn(log2.lookup_code, text)
            self.assertEqual(log1.sha256, log2.sha256)

    @with_transaction()
    def test_render_for_signing(self):
        "Rendered for signing: no conversion mark and no log"
        with self.station():
            encounter = self.encounter()
            pdf = TestForm.render_pdf([encounter], purpose='sign')
            text = pdf_text(pdf)
            self.assertIn("Nguyễn Thị Hường", text)
            self.assertNotIn(CONVERSION_TEXT, text)
            self.assertFalse(self.logs())

            # A client cannot ask for an unmarked, unlogged copy
            with Transaction().set_context(_check_access=True):
                _, pdf, _, _ = TestForm.execute([encounter.id], {
                        'model': 'health.encounter', 'purpose': 'sign'})
            self.assertIn(CONVERSION_TEXT, pdf_text(pdf))
            self.assertEqual(len(self.logs(encounter)), 1)

    @with_transaction()
    def test_missing_data_refused(self):
        "A record lacking what the form needs is refused, naming the field"
        with self.station():
            encounter = self.encounter(diagnoses=())
            with patch.object(converter, 'convert_to_pdf') as convert:
                with self.assertRaisesRegex(FormMissingDataError,
                        r'Phiếu thử nghiệm.*Nguyễn Thị Hường.*Diagnoses'):
                    TestForm.execute(
                        [encounter.id], {'model': 'health.encounter'})
                with self.assertRaises(FormMissingDataError):
                    TestForm.render_pdf([encounter], purpose='sign')
                convert.assert_not_called()
            self.assertFalse(self.logs())

    @with_transaction()
    def test_conversion_failure(self):
        "A failed conversion is an error and nothing is logged"
        with self.station():
            encounter = self.encounter()
            # LibreOffice gives something that is not a PDF
            with patch.object(converter, '_unoserver_convert',
                    return_value=b'PK\x03\x04 not a pdf'), \
                    patch.object(converter, '_soffice_convert',
                        return_value=b'PK\x03\x04 not a pdf'):
                with self.assertRaisesRegex(ConversionError, 'PDF'):
                    TestForm.execute(
                        [encounter.id], {'model': 'health.encounter'})
            # LibreOffice cannot even start
            with patch.object(converter, 'converter_mode',
                    return_value='soffice'), \
                    patch.object(converter, '_config',
                        side_effect=lambda o, d=None: (
                            '/nonexistent/soffice' if o == 'soffice'
                            else d)):
                with self.assertRaises(ConversionError):
                    TestForm.render_pdf([encounter])
            self.assertFalse(self.logs())

    @with_transaction()
    def test_conversion_error_in_vietnamese(self):
        "The user reads the conversion error in Vietnamese"
        from trytond.modules.health_emr.tests import load_vietnamese
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(ConversionError, 'PDF'):
                converter.convert_to_pdf(b'PK\x03\x04broken')
            error = converter._conversion_error()
            self.assertIn('Không chuyển được tài liệu sang PDF', error.message)

    @with_transaction()
    def test_print_log_read_only(self):
        "Nobody changes or deletes the print log"
        PrintLog = Pool().get('health.form.print.log')
        with self.station():
            encounter = self.encounter()
            TestForm.render_pdf([encounter])
            log, = self.logs(encounter)
            with self.assertRaises(AccessError):
                PrintLog.write([log], {'pages': 9})
            with self.assertRaises(AccessError):
                PrintLog.delete([log])

    def user(self, login, group):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user, = User.create([{
                    'name': login, 'login': login,
                    'companies': [('add', [self.company.id])],
                    'company': self.company.id,
                    'groups': [('add', [
                                ModelData.get_id('health_emr', group)])],
                    }])
        return user

    @contextmanager
    def as_user(self, user):
        User = Pool().get('res.user')
        with Transaction().set_user(user.id), \
                Transaction().set_context(
                    User.get_preferences(context_only=True),
                    _check_access=True):
            yield

    @with_transaction()
    def test_print_log_access(self):
        "Users read their own prints; admin and auditor read all"
        PrintLog = Pool().get('health.form.print.log')
        with self.station():
            doctor = self.user('doctor', 'group_health_doctor')
            nurse = self.user('nurse', 'group_health_nurse')
            auditor = self.user('auditor', 'group_health_auditor')
            admin = self.user('station_admin', 'group_health_admin')
            encounter = self.encounter()
            for user in [doctor, nurse]:
                with Transaction().set_user(user.id):
                    TestForm.render_pdf([encounter])
            doctor_log, nurse_log = sorted(
                self.logs(encounter), key=lambda l: l.printed_by.login)
            with self.as_user(doctor):
                self.assertEqual(PrintLog.search([]), [doctor_log])
                with self.assertRaises(AccessError):
                    PrintLog.read([nurse_log.id], ['lookup_code'])
                with self.assertRaises(AccessError):
                    PrintLog.write([PrintLog(doctor_log.id)], {'pages': 2})
                with self.assertRaises(AccessError):
                    PrintLog.create([{
                                'company': self.company.id,
                                'record': str(encounter),
                                'report': self.action.id,
                                'printed_by': doctor.id,
                                'printed_at': dt.datetime.now(),
                                'lookup_code': 'FAKE-CODE-00'}])
                # A print through the client is logged for the doctor
                TestForm.execute(
                    [encounter.id], {'model': 'health.encounter'})
                self.assertEqual(len(PrintLog.search([])), 2)
            for user in [auditor, admin]:
                with self.as_user(user):
                    self.assertEqual(len(PrintLog.search([])), 3)
                    with self.assertRaises(AccessError):
                        PrintLog.delete(PrintLog.search([]))

    @with_transaction()
    def test_custom_template_and_restore(self):
        "The station admin replaces a template and goes back to the shipped"
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        with self.station():
            encounter = self.encounter()
            admin = self.user('station_admin', 'group_health_admin')
            doctor = self.user('doctor', 'group_health_doctor')
            shipped = (HERE / 'form_test.fodt').read_bytes()
            custom = shipped.replace(
                "PHIẾU THỬ NGHIỆM".encode(),
                "MẪU RIÊNG CỦA TRẠM BẢO ĐÀI".encode())
            self.assertTrue(self.action.health_form)
            self.assertEqual(
                self.action.report_content_name, "Phiếu thử nghiệm.fodt")

            with self.as_user(doctor):
                with self.assertRaises((AccessError, TemplateError)):
                    ActionReport.write([ActionReport(self.action.id)],
                        {'report_content': custom})
            with self.as_user(admin):
                action = ActionReport(self.action.id)
                # Not a template: refused
                with self.assertRaisesRegex(TemplateError, 'OpenDocument'):
                    ActionReport.write([action], {
                            'report_content': b'%PDF-1.4 not a template'})
                # Only the template of health forms
                with self.assertRaises(TemplateError):
                    ActionReport.write([action], {'name': "Khác"})
                ActionReport.write([action], {'report_content': custom})
                action = ActionReport(self.action.id)
                self.assertTrue(action.is_custom)
                text = pdf_text(TestForm.execute(
                        [encounter.id], {'model': 'health.encounter'})[1])
                self.assertIn("MẪU RIÊNG CỦA TRẠM BẢO ĐÀI", text)
                self.assertNotIn("PHIẾU THỬ NGHIỆM", text)

                ActionReport.restore_template([action])
                action = ActionReport(self.action.id)
                self.assertFalse(action.is_custom)
                self.assertEqual(action.report_content, shipped)
                text = pdf_text(TestForm.execute(
                        [encounter.id], {'model': 'health.encounter'})[1])
                self.assertIn("PHIẾU THỬ NGHIỆM", text)

            # A form given to nurses only: the station admin still sees it
            nurse_group = pool.get('ir.model.data').get_id(
                'health_emr', 'group_health_nurse')
            ActionReport.write([self.action], {
                    'groups': [('add', [nurse_group])]})
            with self.as_user(admin):
                self.assertIn(self.action, ActionReport.search(
                        [('health_form', '=', True)]))
            with self.as_user(doctor):
                self.assertNotIn(self.action, ActionReport.search(
                        [('health_form', '=', True)]))

            # Other reports stay out of the station admin's reach
            other, = ActionReport.search([
                    ('report_name', '!=', TEST_REPORT),
                    ('health_form', '=', False),
                    ], limit=1)
            with self.as_user(admin):
                with self.assertRaises(TemplateError):
                    ActionReport.write([ActionReport(other.id)],
                        {'report_content': custom})

    @with_transaction()
    def test_custom_template_zipped_odt(self):
        "A template saved by LibreOffice as .odt is accepted"
        from relatorio.templates.opendocument import fod2od
        ActionReport = Pool().get('ir.action.report')
        with self.station():
            encounter = self.encounter()
            odt = fod2od(str(HERE / 'form_test.fodt')).getvalue()
            ActionReport.write([self.action], {'report_content': odt})
            text = pdf_text(TestForm.render_pdf([encounter]))
            self.assertIn("Nguyễn Thị Hường", text)
            self.assertTrue(re.search(r'\d\d/\d\d/\d{4}', text))


def tearDownModule():
    converter.stop_server()
