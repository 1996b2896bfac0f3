# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Certificates of the staff and of the facility, trust anchors and the
signing configuration"""
import json
import unittest
from contextlib import contextmanager

from trytond import config
from trytond.model.exceptions import AccessError, RequiredValidationError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.health_emr.tests import load_vietnamese
from trytond.modules.health_sign import crypto, testpki
from trytond.modules.health_sign.exceptions import (
    CertificateAccessError, CertificateExpiredError, CertificateRevokedError,
    CertificateUntrustedError, CertificateValidationError, NotPKCS12Error,
    SignError, WrongSecretError)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

PASSPHRASE = 'Mật khẩu 2026!'
PIN = '135790'


def setUpModule():
    global PKI
    PKI = testpki.TestPKI()


def tearDownModule():
    PKI.close()


class CertificateTestCase(unittest.TestCase):
    "Signing certificates"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_sign')
        cls.an = PKI.issue_signer('Nguyễn Văn An')
        cls.binh = PKI.issue_signer('Trần Thị Bình')

    @contextmanager
    def station(self, revocation='require'):
        "A station trusting the test root, a doctor user and an admin user"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        TrustAnchor = pool.get('health.sign.trust_anchor')
        Configuration = pool.get('health.sign.configuration')

        def group(name):
            return ModelData.get_id('health_emr', f'group_health_{name}')
        self.company = company = create_company(name="Trạm Y tế Thử nghiệm")
        self.doctor, self.nurse, self.admin = User.create([{
                    'name': name, 'login': login,
                    'companies': [('add', [company.id])],
                    'company': company.id,
                    'groups': [('add', [group(kind)])],
                    } for name, login, kind in [
                    ("Nguyễn Văn An", 'doctor_an', 'doctor'),
                    ("Trần Thị Bình", 'nurse_binh', 'nurse'),
                    ("Quản trị", 'admin_s', 'admin')]])
        with set_company(company):
            TrustAnchor.create([{
                        'company': company.id,
                        'certificate': PKI.root_pem,
                        }])
            Configuration.create([{
                        'company': company.id,
                        'revocation': revocation,
                        'tsa_url': PKI.tsa_url,
                        }])
            yield

    @contextmanager
    def as_user(self, user):
        User = Pool().get('res.user')
        language = Transaction().context.get('language')
        with Transaction().set_user(user.id), \
                Transaction().set_context(
                    User.get_preferences(context_only=True),
                    _check_access=True):
            with Transaction().set_context(
                    language=language or Transaction().language):
                yield

    def upload(self, identity, owner, passphrase=PASSPHRASE, **values):
        Certificate = Pool().get('health.sign.certificate')
        return Certificate.create_from_pkcs12(
            identity.pkcs12(PASSPHRASE), passphrase,
            company=self.company.id, kind='personal', owner=owner.id,
            **values)

    # -- upload -------------------------------------------------------------

    @with_transaction()
    def test_upload_pkcs12(self):
        "Uploading a PKCS#12 file fills the certificate fields"
        with self.station():
            certificate = self.upload(self.an, self.doctor)
            self.assertEqual(certificate.name, 'Nguyễn Văn An')
            self.assertEqual(certificate.subject_cn, 'Nguyễn Văn An')
            self.assertEqual(
                certificate.issuer,
                'Common Name: OpenTYT Test Intermediate CA, Country: VN')
            self.assertEqual(
                certificate.key_usage, 'digital_signature, non_repudiation')
            self.assertEqual(certificate.validity, 'valid')
            self.assertEqual(certificate.state, 'active')
            self.assertEqual(certificate.storage, 'pkcs12')
            self.assertEqual(
                certificate.serial, crypto.certificate_info(
                    self.an.cert_der)['serial_hex'])
            self.assertIn('OpenTYT Test Intermediate CA',
                certificate.chain_summary)
            self.assertIn('OpenTYT Test Root CA', certificate.chain_summary)
            # stored as uploaded: still encrypted
            with self.assertRaises(WrongSecretError):
                crypto.load_pkcs12(bytes(certificate.pkcs12), None)

    @with_transaction()
    def test_upload_refused(self):
        "A wrong passphrase or a file that is not a PKCS#12 is refused"
        load_vietnamese()
        with self.station(), Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(WrongSecretError, 'Sai mật khẩu'):
                self.upload(self.an, self.doctor, passphrase='sai')
            Certificate = Pool().get('health.sign.certificate')
            with self.assertRaisesRegex(NotPKCS12Error, 'PKCS#12'):
                Certificate.create_from_pkcs12(
                    b'not a pkcs12', PASSPHRASE, company=self.company.id,
                    owner=self.doctor.id)

    @with_transaction()
    def test_upload_wizard_forgets_passphrase(self):
        "The upload wizard never keeps the passphrase in its session"
        pool = Pool()
        Upload = pool.get('health.sign.certificate.upload', type='wizard')
        Session = pool.get('ir.session.wizard')
        with self.station(), self.as_user(self.doctor):
            session_id, _, _ = Upload.create()
            Upload.execute(session_id, {}, 'start')
            result = Upload.execute(session_id, {
                    'start': {
                        'company': self.company.id,
                        'kind': 'personal',
                        'owner': self.doctor.id,
                        'storage': 'pkcs12',
                        'file': self.an.pkcs12(PASSPHRASE),
                        'filename': 'an.p12',
                        'passphrase': PASSPHRASE,
                        },
                    }, 'upload')
            data = json.loads(Session(session_id).data)
            self.assertIsNone(data['start']['passphrase'])
            self.assertNotIn(PASSPHRASE, Session(session_id).data)
            action, = result['actions']
            Certificate = pool.get('health.sign.certificate')
            certificate, = Certificate.search([])
            self.assertEqual(action[1]['res_id'], [certificate.id])
            self.assertEqual(certificate.owner, self.doctor)

    @with_transaction()
    def test_upload_token_certificate(self):
        "A certificate on a token is registered from its .cer file"
        Certificate = Pool().get('health.sign.certificate')
        with self.station():
            certificate = Certificate.create_from_certificate(
                'pkcs11', self.an.cert_pem + self.an.chain_pem,
                company=self.company.id, owner=self.doctor.id,
                pkcs11_key_label='an')
            self.assertEqual(certificate.subject_cn, 'Nguyễn Văn An')
            self.assertEqual(
                len(crypto.load_certificates(certificate.chain)), 2)
            self.assertIsNone(certificate.pkcs12)

    @with_transaction()
    def test_key_data_immutable(self):
        "The certificate data cannot be changed after upload"
        Certificate = Pool().get('health.sign.certificate')
        with self.station():
            certificate = self.upload(self.an, self.doctor)
            with self.assertRaises(CertificateValidationError):
                Certificate.write([certificate], {
                        'certificate': self.binh.cert_der})
            Certificate.write([certificate], {'name': "BS An"})

    @with_transaction()
    def test_personal_needs_owner(self):
        "A personal certificate belongs to a user"
        Certificate = Pool().get('health.sign.certificate')
        with self.station():
            with self.assertRaises((
                        CertificateValidationError,
                        RequiredValidationError)):
                Certificate.create_from_certificate(
                    'pkcs11', self.an.cert_der, company=self.company.id,
                    kind='personal', pkcs11_key_label='an')
            organisation = Certificate.create_from_certificate(
                'pkcs11', PKI.issue_organisation().cert_der,
                company=self.company.id, kind='organisation',
                pkcs11_key_label='org')
            self.assertEqual(organisation.subject_o, PKI.organisation)

    # -- access ---------------------------------------------------------------

    @with_transaction()
    def test_own_certificates_only(self):
        "A signer sees and uses only their own certificate"
        Certificate = Pool().get('health.sign.certificate')
        with self.station():
            mine = self.upload(self.an, self.doctor)
            theirs = self.upload(self.binh, self.nurse)
        with self.as_user(self.doctor):
            self.assertEqual(Certificate.search([]), [mine])
            with self.assertRaises(AccessError):
                Certificate.read([theirs.id], ['name'])
            # the encrypted key file never goes to a client
            with self.assertRaises(AccessError):
                Certificate.read([mine.id], ['pkcs12'])
            key = Certificate(mine.id).get_key_material(PASSPHRASE)
            key.close()
        with self.as_user(self.doctor):
            with self.assertRaises(CertificateAccessError):
                Certificate(theirs.id).get_key_material(PASSPHRASE)
        with self.as_user(self.admin):
            self.assertEqual(
                set(Certificate.search([])), {mine, theirs})
            # the administrator cannot sign in the name of a doctor
            with self.assertRaises(CertificateAccessError):
                Certificate(mine.id).get_key_material(PASSPHRASE)

    @with_transaction()
    def test_organisation_certificate_for_admins(self):
        "The organisation certificate without holder is for administrators"
        Certificate = Pool().get('health.sign.certificate')
        organisation = PKI.issue_organisation()
        with self.station():
            certificate = Certificate.create_from_pkcs12(
                organisation.pkcs12(PASSPHRASE), PASSPHRASE,
                company=self.company.id, kind='organisation')
        with self.as_user(self.admin):
            Certificate(certificate.id).get_key_material(PASSPHRASE).close()
        with self.as_user(self.doctor):
            self.assertEqual(Certificate.search([]), [])

    # -- checks -------------------------------------------------------------

    @with_transaction()
    def test_check_before_signing(self):
        "Valid, revoked, expired, untrusted and disabled certificates"
        Certificate = Pool().get('health.sign.certificate')
        load_vietnamese()
        with self.station(), Transaction().set_context(language='vi'):
            valid = self.upload(self.an, self.doctor)
            valid.check_before_signing()
            revoked = self.upload(
                PKI.issue_signer('Thu Hồi', revoked=True), self.doctor)
            with self.assertRaisesRegex(
                    CertificateRevokedError, 'đã bị thu hồi'):
                revoked.check_before_signing()
            expired = self.upload(
                PKI.issue_signer('Hết Hạn', expired=True), self.doctor)
            with self.assertRaisesRegex(
                    CertificateExpiredError, 'đã hết hạn'):
                expired.check_before_signing()
            self.assertEqual(expired.validity, 'expired')
            stranger = self.upload(
                PKI.other_pki_signer('Người Lạ'), self.doctor)
            with self.assertRaisesRegex(
                    CertificateUntrustedError, 'tin cậy'):
                stranger.check_before_signing()
            Certificate.disable([valid])
            with self.assertRaisesRegex(SignError, 'Ngừng dùng'):
                valid.check_before_signing()
            with self.as_user(self.doctor):
                with self.assertRaisesRegex(SignError, 'Ngừng dùng'):
                    Certificate(valid.id).get_key_material(PASSPHRASE)

    @with_transaction()
    def test_sign_with_certificate(self):
        "The key of a certificate record signs a PDF verified by the anchors"
        pool = Pool()
        TrustAnchor = pool.get('health.sign.trust_anchor')
        Configuration = pool.get('health.sign.configuration')
        with self.station():
            certificate = self.upload(self.an, self.doctor)
            configuration = Configuration.get_for_company(self.company)
            with self.as_user(self.doctor):
                certificate.check_before_signing()
                with certificate.get_key_material(PASSPHRASE) as key:
                    signed = crypto.sign_pdf(
                        testpki.make_pdf(), key, 'Signature1',
                        crypto.stamp_lines('Nguyễn Văn An', 'Bác sĩ'),
                        tsa_url=configuration.tsa_url)
            status, = crypto.verify_pdf(
                signed, TrustAnchor.get_trust_roots(self.company))
            self.assertTrue(status.ok)
            self.assertTrue(status.timestamp)

    @with_transaction()
    def test_trust_anchor(self):
        "Trust anchors are CA certificates; PEM or DER"
        TrustAnchor = Pool().get('health.sign.trust_anchor')
        load_vietnamese()
        with self.station(), Transaction().set_context(language='vi'):
            anchor, = TrustAnchor.search([])
            self.assertEqual(anchor.name, 'OpenTYT Test Root CA')
            self.assertTrue(anchor.fingerprint)
            self.assertEqual(len(TrustAnchor.get_trust_roots()), 1)
            with self.assertRaisesRegex(
                    CertificateValidationError, 'không phải là chứng thư'):
                TrustAnchor.create([{
                            'company': self.company.id,
                            'certificate': self.an.cert_der,
                            }])

    @with_transaction()
    def test_configuration_default(self):
        "A facility without configuration requires the revocation check"
        Configuration = Pool().get('health.sign.configuration')
        other = create_company(name="Trạm khác")
        configuration = Configuration.get_for_company(other)
        self.assertEqual(configuration.revocation, 'require')
        self.assertIsNone(configuration.tsa_url)
        with self.assertRaises(CertificateValidationError):
            Configuration.create([{
                        'company': other.id, 'tsa_url': 'ftp://tsa'}])

    @unittest.skipUnless(
        testpki.SoftHSM.available(),
        "softhsm2-util, pkcs11-tool or libsofthsm2.so missing")
    @with_transaction()
    def test_pkcs11_certificate(self):
        "A certificate on a SoftHSM2 token signs with the PIN"
        Certificate = Pool().get('health.sign.certificate')
        hsm = testpki.SoftHSM()
        try:
            hsm.init_token('Token An', PIN)
            hsm.import_identity(self.an, 'Token An', PIN, 'an')
            hsm.reinitialize()
            if not config.has_section('health_sign'):
                config.add_section('health_sign')
            config.set('health_sign', 'pkcs11_module', hsm.module)
            config.set('health_sign', 'pkcs11_token', 'Token An')
            load_vietnamese()
            with self.station(), Transaction().set_context(language='vi'):
                certificate = Certificate.create_from_certificate(
                    'pkcs11', self.an.cert_der, chain=self.an.chain_pem,
                    company=self.company.id, owner=self.doctor.id,
                    pkcs11_key_label='an')
                with self.as_user(self.doctor):
                    certificate = Certificate(certificate.id)
                    certificate.check_before_signing()
                    with certificate.get_key_material(PIN) as key:
                        signed = crypto.sign_pdf(
                            testpki.make_pdf(), key, 'Signature1',
                            ['Ký bởi: Nguyễn Văn An'])
                    with self.assertRaisesRegex(
                            WrongSecretError, 'Sai mã PIN'):
                        certificate.get_key_material('000000')
            self.assertTrue(
                crypto.verify_pdf(signed, PKI.trust_roots)[0].ok)
        finally:
            config.set('health_sign', 'pkcs11_module', '')
            config.set('health_sign', 'pkcs11_token', '')
            hsm.cleanup()
