# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The printed forms: each rendered to PDF from synthetic records, its
text read back with pdftotext (Vietnamese diacritics included), and the
records that lack data refused before rendering."""
import datetime as dt
import os
import shutil
import subprocess
import tempfile
import unittest
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.modules.health_emr.tests import load_vietnamese
from trytond.modules.health_vn_forms.exceptions import FormMissingDataError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

PATIENT_NAME = "Nguyễn Thị Ánh Tuyết"
CHILD_NAME = "Trần Bảo Ngọc"
CONVERSION_TEXT = "Bản giấy chuyển đổi từ hồ sơ bệnh án điện tử"
FORMS = [
    'encounter_record', 'prescription', 'reexamination', 'referral',
    'sick_leave', 'patient_summary']


def pdf_text(pdf):
    "The text of a PDF as pdftotext reads it (reading order, no layout)"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / 'form.pdf'
        path.write_bytes(pdf)
        return subprocess.run(
            ['pdftotext', '-enc', 'UTF-8', str(path), '-'],
            check=True, capture_output=True, text=True).stdout


def save_reference(pdf, name):
    """Page 1 as the reference picture of the form, when asked for by
    scripts/render_form_references (OPENTYT_FORM_REFERENCES=directory)"""
    directory = os.environ.get('OPENTYT_FORM_REFERENCES')
    if not directory:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'form.pdf'
        path.write_bytes(pdf)
        subprocess.run(
            ['pdftoppm', '-png', '-r', '60', '-f', '1', '-l', '1',
                '-singlefile', str(path), str(Path(directory) / name)],
            check=True)


def pdf_pages(pdf):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / 'form.pdf'
        path.write_bytes(pdf)
        info = subprocess.run(
            ['pdfinfo', str(path)],
            check=True, capture_output=True, text=True).stdout
    for line in info.splitlines():
        if line.startswith('Pages:'):
            return int(line.split()[1])


def normalize(text):
    "One space between words (pdftotext breaks lines where the PDF does)"
    return ' '.join(text.split())


@unittest.skipUnless(
    shutil.which('pdftotext') and shutil.which('soffice'),
    "poppler-utils and LibreOffice are needed")
class FormsTestCase(unittest.TestCase):
    "Each health form printed to PDF"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_vn_forms')

    # -- fixtures (synthetic people only) ---------------------------------

    @contextmanager
    def station(self, vietnamese=True):
        """A station with a doctor who is the current user's staff member;
        with Vietnamese loaded as at a station (trytond-admin -l vi)"""
        pool = Pool()
        Site = pool.get('health.site')
        User = pool.get('res.user')
        Medicine = pool.get('health.medicine')
        ModelData = pool.get('ir.model.data')

        if vietnamese:
            # First: translations looked up before stay cached
            load_vietnamese()
        company = create_company(name="Trạm Y tế xã Bảo Đài")
        company.facility_code = '24123'
        company.department_of_health_header = "Sở Y tế tỉnh Bắc Ninh"
        company.save()
        site, = Site.create([{
                    'company': company.id, 'name': "Trụ sở chính",
                    'code': 'TS', 'kind': 'main'}])
        doctor = create_employee(company, name="Lê Văn Minh")
        doctor.professional_title = 'doctor'
        doctor.save()
        user = User(Transaction().user)
        User.write([user], {
                'groups': [('add', [ModelData.get_id(
                                'health_emr', 'group_health_doctor')])],
                'companies': [('add', [company.id])],
                'company': company.id,
                'employees': [('add', [doctor.id])],
                'employee': doctor.id,
                })
        self.company, self.site, self.doctor = company, site, doctor
        self.paracetamol, self.diazepam = Medicine.create([{
                    'code': '40.17', 'name': "Paracetamol",
                    'strength': "500mg", 'dosage_form': "Viên nén",
                    'route': "Uống", 'unit': "viên", 'controlled': 'none',
                    }, {
                    'code': '40.70', 'name': "Diazepam",
                    'strength': "5mg", 'dosage_form': "Viên nén",
                    'route': "Uống", 'unit': "viên",
                    'controlled': 'psychotropic',
                    }])
        with set_company(company), Transaction().set_context(
                employee=doctor.id):
            yield

    def patient(self, name=PATIENT_NAME, birth_date=dt.date(1985, 3, 12),
            sex='female', **values):
        Patient = Pool().get('health.patient')
        # 024: Bắc Giang, 1: a woman born in the 1900s, 85: 1985
        values.setdefault('personal_id', '024185000123')
        patient, = Patient.create([{
                    'company': self.company.id, 'name': name,
                    'birth_date': birth_date, 'sex': sex,
                    'street': "Thôn Đông", **values}])
        return patient

    def encounter(self, patient, diagnoses=('J06.9', 'I10'), **values):
        "An encounter in progress with these ICD-10 diagnoses, main first"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        Disease = pool.get('health.disease')
        values.setdefault('reason', "Sốt, ho khan 3 ngày")
        values.setdefault('examination_general', "Tỉnh, tiếp xúc tốt")
        values.setdefault('examination_organs', "Họng đỏ, phổi không ran")
        values.setdefault('conclusion', "Viêm họng cấp")
        values.setdefault('treatment_plan', "Hạ sốt, giảm ho, uống nhiều nước")
        encounter, = Encounter.create([{
                    'company': self.company.id, 'site': self.site.id,
                    'patient': patient.id,
                    'practitioner': self.doctor.id,
                    'arrival_at': dt.datetime.now() - dt.timedelta(hours=1),
                    'identity_method': 'declared',
                    'temperature': Decimal('38.2'), 'pulse': 88,
                    'systolic_pressure': 135, 'diastolic_pressure': 85,
                    'diagnoses': [('create', [{
                                    'kind': 'main' if i == 0 else 'secondary',
                                    'sequence': i + 1,
                                    'disease': Disease.search([
                                            ('code', '=', code)])[0].id,
                                    } for i, code in enumerate(diagnoses)])],
                    **values}])
        # The encounter workflow is health_emr's: only the state matters
        table = Encounter.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [table.state], ['in_progress'],
                where=table.id == encounter.id))
        return Encounter(encounter.id)

    def prescription(self, encounter, medicine=None, issue=True, **values):
        Prescription = Pool().get('health.prescription')
        prescription, = Prescription.create([{
                    'encounter': encounter.id,
                    'advice': "Uống thuốc sau ăn.",
                    'lines': [('create', [{
                                    'medicine': (
                                        medicine or self.paracetamol).id,
                                    'dose': Decimal(1), 'times_per_day': 3,
                                    'days': 5,
                                    'instructions': "Uống sau ăn no"}])],
                    **values}])
        if issue:
            Prescription.issue([prescription])
        return Prescription(prescription.id)

    def render(self, form, record, reference=None):
        "The PDF of the form (what the client gets) and its text"
        Report = Pool().get(f'health.vn_forms.{form}', type='report')
        oext, content, _, _ = Report.execute([record.id], {})
        self.assertEqual(oext, 'pdf')
        content = bytes(content)
        self.assertTrue(content.startswith(b'%PDF-'))
        if reference:
            save_reference(content, reference)
        return content, normalize(pdf_text(content))

    def assertConversionMark(self, text):
        self.assertIn(CONVERSION_TEXT, text)
        self.assertIn("OpenTYT", text)
        self.assertIn("Trạm Y tế xã Bảo Đài", text)

    # -- the forms --------------------------------------------------------

    @with_transaction()
    def test_encounter_record(self):
        "The examination record has every section and the ICD-10 codes"
        with self.station():
            encounter = self.encounter(self.patient())
            pdf, text = self.render(
                'encounter_record', encounter, reference='encounter_record')
        self.assertIn(PATIENT_NAME.upper(), text)
        for expected in [
                "SỞ Y TẾ TỈNH BẮC NINH", "TRẠM Y TẾ XÃ BẢO ĐÀI",
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                "Độc lập - Tự do - Hạnh phúc",
                "PHIẾU KHÁM BỆNH NGOẠI TRÚ", "(J06.9)", "(I10)",
                "Sốt, ho khan 3 ngày", "Họng đỏ, phổi không ran",
                "Viêm họng cấp", "Nhiệt độ: 38,2 °C", "135/85 mmHg",
                "024185000123", "Lê Văn Minh", encounter.number]:
            self.assertIn(expected, text)
        self.assertConversionMark(text)
        self.assertLessEqual(pdf_pages(pdf), 2)

    @with_transaction()
    def test_prescription(self):
        "The prescription has its code, medicines, diagnosis and prescriber"
        with self.station():
            encounter = self.encounter(self.patient())
            prescription = self.prescription(encounter)
            pdf, text = self.render(
                'prescription', prescription, reference='prescription')
        self.assertIn("ĐƠN THUỐC", text)
        self.assertNotIn('ĐƠN THUỐC "H"', text)
        self.assertIn(prescription.code, text)
        self.assertIn(PATIENT_NAME.upper(), text)
        self.assertIn("(J06.9)", text)
        self.assertIn("Paracetamol 500mg, Viên nén", text)
        self.assertIn("15 viên", text)
        self.assertIn("Uống sau ăn no", text)
        self.assertIn("Lê Văn Minh", text)
        self.assertConversionMark(text)
        self.assertEqual(pdf_pages(pdf), 1)

    @with_transaction()
    def test_prescription_psychotropic_child(self):
        "A child's \"H\" prescription: age in months, weight, guardian"
        with self.station():
            child = self.patient(
                CHILD_NAME, birth_date=dt.date.today() - dt.timedelta(
                    days=30 * 31), personal_id=None,
                guardian_name="Trần Văn Bình",
                guardian_personal_id='024080001234')
            encounter = self.encounter(child, ['J06.9'])
            prescription = self.prescription(
                encounter, self.diazepam, kind='psychotropic',
                weight=Decimal('12.5'))
            pdf, text = self.render(
                'prescription', prescription,
                reference='prescription_h_child')
        self.assertIn('ĐƠN THUỐC "H"', text)
        self.assertIn("Thuốc hướng thần, tiền chất", text)
        self.assertIn(CHILD_NAME.upper(), text)
        self.assertIn("Tuổi (tháng): %s" % prescription.age_months, text)
        self.assertIn("12,5 kg", text)
        self.assertIn("Trần Văn Bình", text)
        self.assertIn("024080001234", text)
        self.assertIn(prescription.code, text)

    @with_transaction()
    def test_reexamination(self):
        "The appointment slip gives the day in words"
        with self.station():
            day = dt.date.today() + dt.timedelta(days=7)
            encounter = self.encounter(
                self.patient(), disposition='reexamination',
                reexamination_date=day)
            pdf, text = self.render(
                'reexamination', encounter, reference='reexamination')
        self.assertIn("GIẤY HẸN KHÁM LẠI", text)
        self.assertIn(PATIENT_NAME.upper(), text)
        self.assertIn("ngày %02d tháng %02d năm %04d" % (
                day.day, day.month, day.year), text)
        self.assertIn("(J06.9)", text)
        self.assertConversionMark(text)
        self.assertEqual(pdf_pages(pdf), 1)

    @with_transaction()
    def test_referral(self):
        "The referral names the destination, the diagnoses and the reason"
        with self.station():
            encounter = self.encounter(
                self.patient(), disposition='referral',
                referral_facility='27001',
                referral_facility_name="Bệnh viện Đa khoa tỉnh Bắc Ninh",
                referral_kind='professional',
                referral_reason="Cần chụp X-quang phổi")
            pdf, text = self.render(
                'referral', encounter, reference='referral')
        self.assertIn("PHIẾU CHUYỂN CƠ SỞ KHÁM BỆNH, CHỮA BỆNH", text)
        self.assertIn("Bệnh viện Đa khoa tỉnh Bắc Ninh", text)
        self.assertIn("27001", text)
        self.assertIn("Cần chụp X-quang phổi", text)
        self.assertIn("(J06.9)", text)
        self.assertIn(PATIENT_NAME.upper(), text)
        self.assertConversionMark(text)
        self.assertEqual(pdf_pages(pdf), 1)

    @with_transaction()
    def test_sick_leave(self):
        "The sick-leave certificate gives the days and the period"
        with self.station():
            encounter = self.encounter(self.patient())
            start = encounter.date
            encounter.sick_leave_days = 3
            encounter.sick_leave_from = start
            encounter.sick_leave_to = start + dt.timedelta(days=2)
            encounter.sick_leave_employer = "Công ty TNHH Dệt may Ánh Dương"
            encounter.save()
            pdf, text = self.render(
                'sick_leave', encounter, reference='sick_leave')
        self.assertIn(
            "GIẤY CHỨNG NHẬN NGHỈ VIỆC HƯỞNG BẢO HIỂM XÃ HỘI", text)
        self.assertIn("Mẫu số 07", text)
        self.assertIn("3 ngày", text)
        self.assertIn(start.strftime('%d/%m/%Y'), text)
        self.assertIn("Công ty TNHH Dệt may Ánh Dương", text)
        self.assertIn("(J06.9)", text)
        self.assertIn(PATIENT_NAME.upper(), text)
        self.assertConversionMark(text)
        self.assertEqual(pdf_pages(pdf), 1)

    @with_transaction()
    def test_patient_summary(self):
        "The summary lists the encounters, diagnoses and prescriptions"
        with self.station():
            patient = self.patient()
            first = self.encounter(patient, ['I10'])
            second = self.encounter(patient, ['J06.9'])
            prescription = self.prescription(second)
            pdf, text = self.render(
                'patient_summary', patient, reference='patient_summary')
        self.assertIn("TÓM TẮT HỒ SƠ SỨC KHỎE", text)
        self.assertIn(PATIENT_NAME.upper(), text)
        self.assertIn(first.number, text)
        self.assertIn(second.number, text)
        self.assertIn("I10 - ", text)
        self.assertIn("J06.9 - ", text)
        self.assertIn(prescription.code, text)
        self.assertConversionMark(text)

    @with_transaction()
    def test_print_logged(self):
        "Each print leaves a log entry with the lookup code on the paper"
        pool = Pool()
        PrintLog = pool.get('health.form.print.log')
        with self.station():
            encounter = self.encounter(self.patient())
            _, text = self.render('encounter_record', encounter)
            log, = PrintLog.search([('record', '=', str(encounter))])
        self.assertIn(log.lookup_code, text)

    @with_transaction()
    def test_sign_rendering_has_no_mark(self):
        "Rendered for signing, a form has no conversion mark and no log"
        pool = Pool()
        Report = pool.get('health.vn_forms.encounter_record', type='report')
        PrintLog = pool.get('health.form.print.log')
        with self.station():
            encounter = self.encounter(self.patient())
            pdf = Report.render_pdf([encounter], purpose='sign')
        text = normalize(pdf_text(pdf))
        self.assertIn(PATIENT_NAME.upper(), text)
        self.assertNotIn(CONVERSION_TEXT, text)
        self.assertFalse(PrintLog.search([]))

    # -- refused before rendering ------------------------------------------

    def assertRefused(self, form, record, field):
        Report = Pool().get(f'health.vn_forms.{form}', type='report')
        with self.assertRaises(FormMissingDataError) as cm:
            Report.execute([record.id], {})
        self.assertIn(field, cm.exception.message)

    @with_transaction()
    def test_referral_without_diagnosis_or_destination(self):
        "A referral without diagnosis or destination is refused"
        with self.station(vietnamese=False):
            encounter = self.encounter(self.patient(), diagnoses=())
            self.assertRefused('referral', encounter, "Diagnoses")
            self.assertRefused('referral', encounter, "Referral Facility")

    @with_transaction()
    def test_refused_in_vietnamese(self):
        "The refusal names the missing data in Vietnamese"
        with self.station():
            encounter = self.encounter(self.patient(), diagnoses=())
            self.assertRefused('referral', encounter, "Chẩn đoán")
            self.assertRefused('reexamination', encounter, "Ngày tái khám")

    @with_transaction()
    def test_reexamination_without_date(self):
        "An appointment slip needs the re-examination date"
        with self.station(vietnamese=False):
            encounter = self.encounter(self.patient())
            self.assertRefused(
                'reexamination', encounter, "Re-examination Date")

    @with_transaction()
    def test_prescription_child_without_guardian(self):
        "A child's prescription without guardian is refused"
        with self.station(vietnamese=False):
            child = self.patient(
                CHILD_NAME, birth_date=dt.date.today() - dt.timedelta(
                    days=30 * 20), personal_id=None)
            encounter = self.encounter(child, ['J06.9'])
            # Issued before the rule of health_emr could refuse it (an
            # import, an older version): the form still refuses it
            prescription = self.prescription(
                encounter, issue=False, weight=Decimal('10'))
            Prescription = Pool().get('health.prescription')
            table = Prescription.__table__()
            Transaction().connection.cursor().execute(*table.update(
                    [table.state, table.code],
                    ['issued', '24123abcdefg-c'],
                    where=table.id == prescription.id))
            prescription = Prescription(prescription.id)
            self.assertRefused('prescription', prescription, "Guardian")

    @with_transaction()
    def test_prescription_draft_refused(self):
        "A draft prescription has no code: it is not printed"
        with self.station(vietnamese=False):
            encounter = self.encounter(self.patient())
            prescription = self.prescription(encounter, issue=False)
            self.assertRefused(
                'prescription', prescription, "Prescription Code")

    @with_transaction()
    def test_sick_leave_missing(self):
        "A sick-leave certificate needs the days off"
        with self.station(vietnamese=False):
            encounter = self.encounter(self.patient())
            self.assertRefused('sick_leave', encounter, "Sick Leave Days")

    # -- sick-leave fields on the encounter ---------------------------------

    @with_transaction()
    def test_sick_leave_validation(self):
        "From before to, days matching the period, at most 30 days"
        with self.station(vietnamese=False):
            encounter = self.encounter(self.patient())
            start = encounter.date
            for days, end in [
                    (3, start - dt.timedelta(days=1)),
                    (5, start + dt.timedelta(days=2)),
                    (31, start + dt.timedelta(days=30)),
                    (None, start),
                    ]:
                with self.subTest(days=days, end=end):
                    encounter.sick_leave_days = days
                    encounter.sick_leave_from = start
                    encounter.sick_leave_to = end
                    with self.assertRaises(ValidationError):
                        encounter.save()
                    encounter = type(encounter)(encounter.id)
            encounter.sick_leave_days = 2
            encounter.sick_leave_from = start
            encounter.sick_leave_to = start + dt.timedelta(days=1)
            encounter.save()

    @with_transaction()
    def test_sick_leave_on_change(self):
        "The days fill the last day and the dates fill the days"
        Encounter = Pool().get('health.encounter')
        encounter = Encounter()
        encounter.sick_leave_from = dt.date(2026, 11, 26)
        encounter.sick_leave_days = 5
        encounter.on_change_sick_leave_days()
        self.assertEqual(encounter.sick_leave_to, dt.date(2026, 11, 30))
        encounter.sick_leave_to = dt.date(2026, 11, 27)
        encounter.on_change_sick_leave_to()
        self.assertEqual(encounter.sick_leave_days, 2)
