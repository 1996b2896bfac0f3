# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Signing encounters and prescriptions: locking, amendments, the sign
wizard (one secret for many documents, each document atomic) and the
verification of stored signatures"""
import datetime as dt
import io
import shutil
import subprocess
import tempfile
import unittest
from contextlib import contextmanager
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessButtonError, AccessError
from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.modules.health_emr.tests.test_module import load_vietnamese
from trytond.modules.health_sign import crypto
from trytond.modules.health_sign import signature as signature_module
from trytond.modules.health_sign import testpki
from trytond.modules.health_sign.exceptions import (
    CertificateRevokedError, SignatureAccessError, SignatureError,
    SignedRecordError, WrongSecretError)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction, without_check_access

PASSWORD = 'MatKhau-BacSi-2026'
PASSPHRASE = 'cum-tu-bi-mat-12'


def simple_pdf(text="PHIEU KHAM BENH"):
    "A one-page PDF standing for a rendered form (no LibreOffice needed)"
    from PIL import Image, ImageDraw
    image = Image.new('RGB', (595, 842), 'white')
    ImageDraw.Draw(image).text((50, 50), text, fill='black')
    data = io.BytesIO()
    image.save(data, 'PDF')
    return data.getvalue()


def fake_render(document_type, record):
    return simple_pdf(record.rec_name)


def pdfsig(pdf):
    "The output of poppler's pdfsig on the PDF"
    with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(
            ['pdfsig', file.name], capture_output=True, text=True).stdout


class SignatureTestCase(unittest.TestCase):
    "Signatures of encounters and prescriptions"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_sign')
        cls.pki = testpki.TestPKI()

    @classmethod
    def tearDownClass(cls):
        cls.pki.close()
        super().tearDownClass()

    # -- fixtures (synthetic people only) -------------------------------------

    @contextmanager
    def station(self):
        """A station, a doctor who is the current user's staff member and
        a medicine"""
        pool = Pool()
        Site = pool.get('health.site')
        User = pool.get('res.user')
        Medicine = pool.get('health.medicine')
        ModelData = pool.get('ir.model.data')

        company = create_company(name="Trạm Y tế Bảo Đài")
        company.facility_code = '24123'
        company.timezone = 'Asia/Ho_Chi_Minh'
        company.save()
        site, = Site.create([{
                    'company': company.id, 'name': "Trụ sở chính",
                    'code': 'TS', 'kind': 'main'}])
        doctor = create_employee(company, name="Bác sĩ Lê Văn Minh")
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
                'password': PASSWORD,
                })
        self.user = User(user.id)
        self.company, self.site, self.doctor = company, site, doctor
        self.paracetamol, = Medicine.create([{
                    'code': '40.17', 'name': "Paracetamol",
                    'strength': "500mg", 'dosage_form': "Viên nén",
                    'route': "Uống", 'unit': "viên",
                    'controlled': 'none',
                    }])
        with set_company(company), \
                Transaction().set_context(site=site.id):
            yield

    _patient_count = 0

    def patient(self):
        Patient = Pool().get('health.patient')
        SignatureTestCase._patient_count += 1
        count = SignatureTestCase._patient_count
        patient, = Patient.create([{
                    'company': self.company.id,
                    'name': f"Nguyễn Văn An {count}",
                    'birth_date': dt.date(1950 + count % 50, 5, 1),
                    'sex': 'male'}])
        return patient

    def encounter(self, disposition='home'):
        "A finished encounter with a main diagnosis"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        Disease = pool.get('health.disease')
        encounter, = Encounter.create([{
                    'patient': self.patient().id,
                    'practitioner': self.doctor.id,
                    }])
        Encounter.start([encounter])
        disease, = Disease.search([('code', '=', 'J06.9')])
        Encounter.write([encounter], {
                'diagnoses': [('create', [{
                                'kind': 'main', 'sequence': 1,
                                'disease': disease.id}])],
                'conclusion': "Viêm đường hô hấp trên cấp",
                'disposition': disposition,
                })
        return encounter

    def done(self, encounter):
        Encounter = Pool().get('health.encounter')
        Encounter.done([encounter])
        return Encounter(encounter.id)

    def prescription(self, encounter):
        "An issued prescription of paracetamol"
        Prescription = Pool().get('health.prescription')
        prescription, = Prescription.create([{
                    'encounter': encounter.id,
                    'lines': [('create', [{
                                    'medicine': self.paracetamol.id,
                                    'dose': 1, 'times_per_day': 3,
                                    'days': 5,
                                    }])],
                    }])
        Prescription.issue([prescription])
        return Prescription(prescription.id)

    def set_method(self, model, method):
        DocumentType = Pool().get('health.sign.document.type')
        document_type = DocumentType.get_for_model(model)
        document_type.method = method
        document_type.save()

    def certificate(self, identity=None, passphrase=PASSPHRASE):
        "The doctor's PKCS#12 certificate, the station trusting the PKI"
        pool = Pool()
        Certificate = pool.get('health.sign.certificate')
        TrustAnchor = pool.get('health.sign.trust_anchor')
        Configuration = pool.get('health.sign.configuration')
        if not TrustAnchor.search([]):
            TrustAnchor.create([{
                        'company': self.company.id,
                        'name': "OpenTYT Test Root CA",
                        'certificate': self.pki.root_pem,
                        }])
            Configuration.create([{
                        'company': self.company.id,
                        'revocation': 'require',
                        'tsa_url': self.pki.tsa_url,
                        }])
        if identity is None:
            identity = self.pki.issue_signer("Lê Văn Minh")
        return Certificate.create_from_pkcs12(
            identity.pkcs12(passphrase), passphrase,
            company=self.company.id, kind='personal',
            owner=Transaction().user, employee=self.doctor.id,
            name=identity.name)

    def sign_certificate(self, records, certificate, secret=PASSPHRASE):
        with patch.object(signature_module, '_render', fake_render):
            return signature_module.sign_documents(
                records, 'certificate', certificate, secret)

    def sign_account(self, records, password=PASSWORD):
        with patch.object(signature_module, '_render', fake_render):
            return signature_module.sign_documents(
                records, 'account', None, password)

    # -- document types -------------------------------------------------------

    @with_transaction()
    def test_default_document_types(self):
        "Encounters and prescriptions need a digital signature by default"
        DocumentType = Pool().get('health.sign.document.type')
        for model, report in [
                ('health.encounter', 'health.vn_forms.encounter_record'),
                ('health.prescription', 'health.vn_forms.prescription')]:
            document_type = DocumentType.get_for_model(model)
            self.assertEqual(document_type.method, 'certificate')
            self.assertEqual(document_type.report.report_name, report)

    # -- account confirmation and locking -------------------------------------

    @with_transaction()
    def test_account_confirmation(self):
        "Where allowed, the signer confirms with the account password"
        Encounter = Pool().get('health.encounter')
        with self.station():
            self.set_method('health.encounter', 'account')
            encounter = self.done(self.encounter())
            batch = self.sign_account([encounter])

            self.assertEqual(
                (batch.total, batch.signed_count, batch.failed_count),
                (1, 1, 0))
            encounter = Encounter(encounter.id)
            self.assertTrue(encounter.signed)
            self.assertEqual(encounter.signature_state, 'signed')
            signature, = encounter.signatures
            self.assertEqual(signature.method, 'account')
            self.assertEqual(signature.sequence, 1)
            self.assertEqual(signature.employee, self.doctor)
            self.assertEqual(
                signature.title, self.doctor.professional_title_string)
            self.assertIsNone(signature.certificate)
            self.assertTrue(bytes(signature.pdf).startswith(b'%PDF-'))
            self.assertEqual(
                signature.sha256, signature_module.sha256(signature.pdf))
            self.assertEqual(
                Encounter.search([('signed', '=', True)]), [encounter])
            self.assertNotIn(
                encounter, Encounter.search([('signed', '=', False)]))

            signature.__class__.verify([signature])
            self.assertEqual(signature.verification_state, 'valid')

    @with_transaction()
    def test_account_wrong_password(self):
        "A wrong password signs nothing"
        Encounter = Pool().get('health.encounter')
        with self.station():
            self.set_method('health.encounter', 'account')
            encounter = self.done(self.encounter())
            with self.assertRaises(SignatureError):
                self.sign_account([encounter], password='sai-mat-khau')
            self.assertFalse(Encounter(encounter.id).signed)

    @with_transaction()
    def test_account_refused_where_certificate_required(self):
        "The regulation asks a certificate: the password is not enough"
        Encounter = Pool().get('health.encounter')
        with self.station():
            encounter = self.done(self.encounter())
            batch = self.sign_account([encounter])
            self.assertEqual((batch.signed_count, batch.failed_count), (0, 1))
            line, = batch.lines
            self.assertEqual(line.state, 'failed')
            self.assertIn(encounter.rec_name, line.message)
            self.assertFalse(Encounter(encounter.id).signed)

    @with_transaction()
    def test_signed_encounter_is_locked(self):
        "A signed encounter refuses every change, for root too"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        Diagnosis = pool.get('health.encounter.diagnosis')
        Disease = pool.get('health.disease')
        with self.station():
            self.set_method('health.encounter', 'account')
            encounter = self.done(self.encounter())
            self.sign_account([encounter])
            encounter = Encounter(encounter.id)
            diagnosis, = encounter.diagnoses
            other, = Disease.search([('code', '=', 'J00')])

            for user in [0, 1, Transaction().user]:
                with Transaction().set_user(user), without_check_access():
                    with self.assertRaises(SignedRecordError):
                        Encounter.write([encounter], {'conclusion': "Khác"})
                    with self.assertRaises(SignedRecordError):
                        Encounter.delete([encounter])
                    with self.assertRaises(SignedRecordError):
                        Diagnosis.write([diagnosis], {'disease': other.id})
                    with self.assertRaises(SignedRecordError):
                        Diagnosis.delete([diagnosis])
            self.assertEqual(
                Encounter(encounter.id).conclusion,
                "Viêm đường hô hấp trên cấp")
            with self.assertRaises(SignedRecordError):
                Diagnosis.create([{
                            'encounter': encounter.id,
                            'kind': 'secondary',
                            'disease': other.id}])

    @with_transaction()
    def test_lock_message_in_vietnamese(self):
        "The refusal says why in Vietnamese"
        Encounter = Pool().get('health.encounter')
        with self.station():
            load_vietnamese()
            self.set_method('health.encounter', 'account')
            encounter = self.done(self.encounter())
            self.sign_account([encounter])
            with Transaction().set_context(language='vi'), \
                    self.assertRaises(SignedRecordError) as context:
                Encounter.write([encounter], {'conclusion': "Khác"})
            self.assertIn("đã được ký", context.exception.message)

    @with_transaction()
    def test_signature_records_are_readonly(self):
        "Nobody changes or deletes a signature through the API"
        Signature = Pool().get('health.sign.signature')
        with self.station():
            self.set_method('health.encounter', 'account')
            encounter = self.done(self.encounter())
            self.sign_account([encounter])
            signature, = Signature.search([])
            with Transaction().set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Signature.write([signature], {'title': "Khác"})
                with self.assertRaises(AccessError):
                    Signature.delete([signature])
            with self.assertRaises(SignatureAccessError):
                Signature.delete([signature])
            with self.assertRaises(SignatureAccessError):
                Signature.write([signature], {'sha256': '0' * 64})

    @with_transaction()
    def test_second_signature(self):
        "A second signer signs on top; the same signer cannot sign twice"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        User = pool.get('res.user')
        with self.station():
            self.set_method('health.encounter', 'account')
            encounter = self.done(self.encounter())
            self.sign_account([encounter])
            batch = self.sign_account([encounter])
            self.assertEqual(batch.failed_count, 1)

            head = create_employee(self.company, name="Trưởng trạm Hà")
            chief, = User.create([{
                        'login': 'truongtram', 'name': "Trưởng trạm Hà",
                        'password': 'MatKhau-Truong-2026',
                        'companies': [('add', [self.company.id])],
                        'company': self.company.id,
                        'employees': [('add', [head.id])],
                        'employee': head.id,
                        }])
            with Transaction().set_user(chief.id):
                batch = self.sign_account(
                    [Encounter(encounter.id)],
                    password='MatKhau-Truong-2026')
            self.assertEqual(batch.signed_count, 1)
            first, second = Encounter(encounter.id).signatures
            self.assertEqual((first.sequence, second.sequence), (1, 2))
            # An account confirmation signs on top of the same PDF
            self.assertEqual(first.sha256, second.sha256)

    @with_transaction()
    def test_signer_roles(self):
        "The document type says who gives which signature"
        pool = Pool()
        DocumentType = pool.get('health.sign.document.type')
        ModelData = pool.get('ir.model.data')
        with self.station():
            self.set_method('health.encounter', 'account')
            document_type = DocumentType.get_for_model('health.encounter')
            DocumentType.write([document_type], {
                    'roles': [('create', [{
                                    'sequence': 1,
                                    'name': "Trưởng trạm",
                                    'group': ModelData.get_id(
                                        'health_emr', 'group_health_auditor'),
                                    }])],
                    })
            encounter = self.done(self.encounter())
            batch = self.sign_account([encounter])
            line, = batch.lines
            self.assertEqual(line.state, 'failed')
            self.assertIn("Trưởng trạm", line.message)

    @with_transaction()
    def test_sign_button_access(self):
        "Only those who may press Sign can run the wizard on a document"
        pool = Pool()
        Sign = pool.get('health.sign.sign', type='wizard')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        with self.station():
            encounter = self.done(self.encounter())
            nurse, = User.create([{
                        'login': 'dieuduong', 'name': "Phạm Thị Lan",
                        'groups': [('add', [ModelData.get_id(
                                        'health_emr',
                                        'group_health_nurse')])],
                        'companies': [('add', [self.company.id])],
                        'company': self.company.id,
                        }])
            with Transaction().set_user(nurse.id), \
                    Transaction().set_context(
                        active_model='health.encounter',
                        active_ids=[encounter.id], active_id=encounter.id):
                session_id, _, _ = Sign.create()
                with self.assertRaises(AccessButtonError):
                    Sign(session_id).transition_check()

    # -- amendments -----------------------------------------------------------

    @with_transaction()
    def test_amendment(self):
        "A signed encounter is corrected by a new version to sign"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        with self.station():
            self.set_method('health.encounter', 'account')
            unsigned = self.done(self.encounter())
            with self.assertRaises(UserError):
                Encounter.create_amendments([unsigned])

            encounter = self.done(self.encounter())
            self.sign_account([encounter])
            amendment, = Encounter.create_amendments([encounter])
            self.assertEqual(amendment.amends, encounter)
            self.assertEqual(amendment.state, 'in_progress')
            self.assertFalse(amendment.signed)
            self.assertEqual(
                [d.disease.code for d in amendment.diagnoses], ['J06.9'])
            self.assertEqual(amendment.patient, encounter.patient)
            self.assertEqual(amendment.arrival_at, encounter.arrival_at)
            self.assertNotEqual(amendment.number, encounter.number)
            self.assertEqual(
                list(Encounter(encounter.id).amended_by), [amendment])
            with self.assertRaises(UserError):
                Encounter.create_amendments([encounter])

            amendment.conclusion = "Viêm mũi họng cấp"
            amendment.save()
            amendment = self.done(amendment)
            self.sign_account([amendment])
            self.assertTrue(Encounter(amendment.id).signed)
            # The first version stays as it was signed, and verifiable
            old = Encounter(encounter.id)
            self.assertEqual(old.conclusion, "Viêm đường hô hấp trên cấp")
            old.__class__.verify_signatures([old])
            self.assertEqual(old.signature_state, 'signed')

    @with_transaction()
    def test_amendment_keeps_prescriptions(self):
        "An amendment with a prescription disposition can be finished"
        Encounter = Pool().get('health.encounter')
        with self.station():
            self.set_method('health.encounter', 'account')
            encounter = self.encounter(disposition='home_prescription')
            self.prescription(encounter)
            encounter = self.done(encounter)
            self.sign_account([encounter])
            amendment, = Encounter.create_amendments([encounter])
            self.done(amendment)

    # -- prescriptions --------------------------------------------------------

    @with_transaction()
    def test_signed_prescription_replace(self):
        "A signed prescription is locked but replaced and cancelled"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Line = pool.get('health.prescription.line')
        with self.station():
            self.set_method('health.prescription', 'account')
            encounter = self.encounter(disposition='home_prescription')
            prescription = self.prescription(encounter)
            self.sign_account([prescription])
            prescription = Prescription(prescription.id)
            self.assertTrue(prescription.signed)

            line, = prescription.lines
            with self.assertRaises(SignedRecordError):
                Line.write([line], {'days': 3})
            with self.assertRaises(SignedRecordError):
                Prescription.write([prescription], {'advice': "Khác"})

            new, = Prescription.create_replacements([prescription])
            Prescription.issue([new])
            old = Prescription(prescription.id)
            self.assertEqual(old.state, 'cancelled')
            self.assertTrue(old.signed)
            self.assertFalse(Prescription(new.id).signed)

    @with_transaction()
    def test_pending_list(self):
        "Finished encounters and issued prescriptions wait for signing"
        pool = Pool()
        Pending = pool.get('health.sign.pending')
        with self.station():
            self.set_method('health.prescription', 'account')
            encounter = self.encounter(disposition='home_prescription')
            prescription = self.prescription(encounter)
            encounter = self.done(encounter)
            waiting = Pending.search([('employee', '=', self.doctor.id)])
            self.assertEqual(
                {p.record for p in waiting}, {encounter, prescription})
            self.sign_account([prescription])
            waiting = Pending.search([])
            self.assertEqual([p.record for p in waiting], [encounter])

    # -- the wizard -----------------------------------------------------------

    @with_transaction()
    def test_wizard_batch_account(self):
        "The wizard signs the selection and forgets the password"
        pool = Pool()
        Sign = pool.get('health.sign.sign', type='wizard')
        Prescription = pool.get('health.prescription')
        with self.station():
            self.set_method('health.prescription', 'account')
            prescriptions = [
                self.prescription(self.encounter()) for _ in range(3)]
            session_id, _, _ = Sign.create()
            with Transaction().set_context(
                    active_model='health.prescription',
                    active_ids=[p.id for p in prescriptions],
                    active_id=prescriptions[0].id):
                sign = Sign(session_id)
                state = sign.transition_check()
                self.assertEqual(state, 'start')
                defaults = sign.default_start(None)
                self.assertEqual(defaults['count'], 3)
                sign.start.method = 'account'
                sign.start.certificate = None
                sign.start.secret = PASSWORD
                with patch.object(signature_module, '_render', fake_render):
                    state = sign.transition_sign_()
                self.assertEqual(state, 'result')
                self.assertIsNone(sign.start.secret)
                sign._save()
            Session = pool.get('ir.session.wizard')
            self.assertNotIn(PASSWORD, Session(session_id).data)
            self.assertEqual(sign.result.signed_count, 3)
            self.assertTrue(all(
                    p.signed for p in Prescription.browse(prescriptions)))

    @with_transaction()
    def test_failed_document_left_untouched(self):
        "A conversion error fails one document; the others are signed"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Signature = pool.get('health.sign.signature')
        with self.station():
            self.set_method('health.prescription', 'account')
            prescriptions = [
                self.prescription(self.encounter()) for _ in range(3)]
            broken = prescriptions[1]

            def render(document_type, record):
                if record == broken:
                    return b'PK\x03\x04 an ODT, not a PDF'
                return fake_render(document_type, record)
            with patch.object(signature_module, '_render',
                    lambda t, r: signature_module._check_pdf(
                        render(t, r), r)):
                batch = signature_module.sign_documents(
                    prescriptions, 'account', None, PASSWORD)
            self.assertEqual((batch.signed_count, batch.failed_count), (2, 1))
            failed, = [l for l in batch.lines if l.state == 'failed']
            self.assertEqual(failed.record, broken)
            self.assertEqual(
                [p.signed for p in Prescription.browse(prescriptions)],
                [True, False, True])
            self.assertEqual(len(Signature.search([])), 2)

    # -- digital signatures ---------------------------------------------------

    @with_transaction()
    def test_certificate_batch(self):
        "Many prescriptions signed PAdES with one passphrase entry"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Signature = pool.get('health.sign.signature')
        with self.station():
            certificate = self.certificate()
            prescriptions = [
                self.prescription(self.encounter()) for _ in range(3)]
            opened = []
            get_key_material = certificate.__class__.get_key_material

            def count_opening(self, secret):
                opened.append(self.id)
                return get_key_material(self, secret)
            with patch.object(certificate.__class__, 'get_key_material',
                    count_opening):
                batch = self.sign_certificate(prescriptions, certificate)
            self.assertEqual(opened, [certificate.id])
            self.assertEqual((batch.signed_count, batch.failed_count), (3, 0))
            for prescription in Prescription.browse(prescriptions):
                signature, = prescription.signatures
                self.assertEqual(signature.method, 'certificate')
                self.assertEqual(signature.certificate, certificate)
                self.assertEqual(signature.field_name, 'Signature1')
                statuses = crypto.verify_pdf(
                    bytes(signature.pdf), self.pki.trust_roots)
                self.assertEqual([s.ok for s in statuses], [True])
                # PAdES B-T: the TSA of the configuration stamped it
                self.assertIsNotNone(statuses[0].timestamp)
            signatures = Signature.search([])
            Signature.verify(signatures)
            self.assertEqual(
                {s.verification_state for s in signatures}, {'valid'})
            if shutil.which('pdfsig'):
                self.assertIn("Signature is Valid.",
                    pdfsig(bytes(signatures[0].pdf)))

    @with_transaction()
    def test_certificate_countersignature(self):
        "The second signature is added on top; both stay valid"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        User = pool.get('res.user')
        with self.station():
            certificate = self.certificate()
            encounter = self.done(self.encounter())
            self.sign_certificate([encounter], certificate)

            head = create_employee(self.company, name="Trưởng trạm Hà")
            chief, = User.create([{
                        'login': 'truongtram', 'name': "Trưởng trạm Hà",
                        'companies': [('add', [self.company.id])],
                        'company': self.company.id,
                        'employees': [('add', [head.id])],
                        'employee': head.id,
                        }])
            with Transaction().set_user(chief.id):
                identity = self.pki.issue_signer("Trưởng trạm Hà")
                second = self.certificate(identity)
                batch = self.sign_certificate(
                    [Encounter(encounter.id)], second)
            self.assertEqual(batch.signed_count, 1)
            first, last = Encounter(encounter.id).signatures
            self.assertEqual(last.field_name, 'Signature2')
            statuses = crypto.verify_pdf(
                bytes(last.pdf), self.pki.trust_roots)
            self.assertEqual([s.ok for s in statuses], [True, True])
            self.assertTrue(bytes(last.pdf).startswith(bytes(first.pdf)))

    @with_transaction()
    def test_wrong_passphrase(self):
        "A wrong passphrase signs nothing"
        Signature = Pool().get('health.sign.signature')
        with self.station():
            certificate = self.certificate()
            prescription = self.prescription(self.encounter())
            with self.assertRaises(WrongSecretError):
                self.sign_certificate(
                    [prescription], certificate, secret='sai-mat-khau')
            self.assertEqual(Signature.search([]), [])

    @with_transaction()
    def test_revoked_certificate(self):
        "A revoked certificate is refused before anything is signed"
        Signature = Pool().get('health.sign.signature')
        with self.station():
            load_vietnamese()
            identity = self.pki.issue_signer("Lê Văn Minh", revoked=True)
            certificate = self.certificate(identity)
            prescription = self.prescription(self.encounter())
            with Transaction().set_context(language='vi'), \
                    self.assertRaises(CertificateRevokedError) as context:
                self.sign_certificate([prescription], certificate)
            self.assertIn("thu hồi", context.exception.message)
            self.assertEqual(Signature.search([]), [])

    @with_transaction()
    def test_tampered_store_detected(self):
        "A stored PDF that no longer matches its hash is reported"
        Signature = Pool().get('health.sign.signature')
        with self.station():
            certificate = self.certificate()
            prescription = self.prescription(self.encounter())
            self.sign_certificate([prescription], certificate)
            signature, = Signature.search([])
            table = Signature.__table__()
            Transaction().connection.cursor().execute(*table.update(
                    [table.sha256], ['0' * 64],
                    where=table.id == signature.id))
            Transaction().cache.clear()
            Signature.verify([Signature(signature.id)])
            signature = Signature(signature.id)
            self.assertEqual(signature.verification_state, 'invalid')
            self.assertEqual(
                Pool().get('health.prescription')(
                    prescription.id).signature_state, 'invalid')

    @with_transaction()
    def test_verify_uploaded_pdf(self):
        "The verification wizard reads the signatures of a file"
        pool = Pool()
        Signature = pool.get('health.sign.signature')
        VerifyPdf = pool.get('health.sign.verify_pdf', type='wizard')
        with self.station():
            certificate = self.certificate()
            prescription = self.prescription(self.encounter())
            self.sign_certificate([prescription], certificate)
            signature, = Signature.search([])

            session_id, _, _ = VerifyPdf.create()
            wizard = VerifyPdf(session_id)
            wizard.start.pdf = signature.pdf
            wizard.start.filename = 'don-thuoc.pdf'
            self.assertEqual(wizard.transition_verify(), 'result')
            self.assertEqual(wizard.result.count, 1)
            self.assertTrue(wizard.result.valid)
            self.assertEqual(wizard.result.signature, signature)
            self.assertIsNone(wizard.start.pdf)

            wizard = VerifyPdf(session_id)
            wizard.start.pdf = simple_pdf()
            wizard.transition_verify()
            self.assertEqual(wizard.result.count, 0)
            self.assertFalse(wizard.result.valid)

            wizard = VerifyPdf(session_id)
            wizard.start.pdf = bytes(signature.pdf)[:2000]
            wizard.transition_verify()
            self.assertFalse(wizard.result.valid)
            self.assertTrue(wizard.result.report)

    @with_transaction()
    def test_cron_verify_all(self):
        "The daily job verifies the stored signatures"
        Signature = Pool().get('health.sign.signature')
        with self.station():
            self.set_method('health.encounter', 'account')
            self.sign_account([self.done(self.encounter())])
            Signature.verify_all()
            signature, = Signature.search([])
            self.assertEqual(signature.verification_state, 'valid')
            self.assertIn("SHA-256", signature.verification_message)
