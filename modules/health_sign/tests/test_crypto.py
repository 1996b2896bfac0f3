# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Keys, certificate checks, PAdES signing and verification (crypto.py)
against the local test PKI (root, intermediate, OCSP responder, TSA)"""
import io
import shutil
import subprocess
import tempfile
import unittest

from trytond.modules.health_emr.tests import load_vietnamese
from trytond.modules.health_sign import crypto, testpki
from trytond.modules.health_sign.exceptions import (
    CertificateExpiredError, CertificateKeyUsageError,
    CertificateNotYetValidError, CertificateRevokedError,
    CertificateUntrustedError, NotPKCS12Error, PDFError,
    RevocationUnknownError, TimestampError, TokenError, WrongSecretError)
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

PASSPHRASE = 'mật khẩu thử 123'
PIN = '246810'


def setUpModule():
    global PKI
    PKI = testpki.TestPKI()


def tearDownModule():
    PKI.close()


def _closed_port_url():
    "An URL on 127.0.0.1 where nothing listens"
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return 'http://127.0.0.1:%s/tsa' % port


class CryptoTestCase(unittest.TestCase):
    "crypto.py: keys, checks, signing, verification"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_sign')
        cls.an = PKI.issue_signer(
            'Nguyễn Văn An', organisation='Trạm Y tế xã Thử nghiệm')
        cls.binh = PKI.issue_signer('Trần Thị Bình')
        cls.pdf = testpki.make_pdf(['Phieu kham benh'])

    def key(self, identity=None):
        identity = identity or self.an
        return crypto.load_pkcs12(identity.pkcs12(PASSPHRASE), PASSPHRASE)

    def assertRefused(self, exception, pattern, function, *args, **kwargs):
        "The refusal has the Vietnamese message"
        transaction = Transaction()
        if getattr(self, '_vietnamese_loaded', None) is not transaction:
            # once per test transaction (it takes seconds)
            load_vietnamese()
            self._vietnamese_loaded = transaction
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(exception, pattern):
                function(*args, **kwargs)

    # -- keys -------------------------------------------------------------

    def test_load_pkcs12(self):
        "A PKCS#12 file opens with its passphrase"
        key = self.key()
        self.assertEqual(
            key.certificate.subject.native['common_name'], 'Nguyễn Văn An')
        self.assertEqual(len(key.chain), 2)
        self.assertTrue(key.sign_raw(b'data'))
        key.close()

    def test_read_pkcs12(self):
        "The upload check gives the certificate and chain"
        certificate, chain = crypto.read_pkcs12(
            self.an.pkcs12(PASSPHRASE), PASSPHRASE)
        info = crypto.certificate_info(certificate)
        self.assertEqual(info['subject_cn'], 'Nguyễn Văn An')
        self.assertEqual(info['subject_o'], 'Trạm Y tế xã Thử nghiệm')
        self.assertEqual(
            info['key_usage'], ['digital_signature', 'non_repudiation'])
        self.assertTrue(info['can_sign'])
        self.assertEqual(info['issuer_cn'], 'OpenTYT Test Intermediate CA')
        self.assertRegex(info['serial_hex'], r'^[0-9A-F]{2}(:[0-9A-F]{2})+$')
        self.assertEqual(len(chain), 2)

    @with_transaction()
    def test_wrong_passphrase(self):
        "A wrong passphrase is refused in Vietnamese"
        self.assertRefused(
            WrongSecretError, 'Sai mật khẩu', crypto.load_pkcs12,
            self.an.pkcs12(PASSPHRASE), 'sai')

    @with_transaction()
    def test_not_pkcs12(self):
        "A file that is not a PKCS#12 is refused in Vietnamese"
        for data in [b'', b'garbage', self.an.cert_der, self.an.cert_pem]:
            with self.subTest(data=data[:10]):
                self.assertRefused(
                    NotPKCS12Error, 'không phải là tệp chứng thư số PKCS#12',
                    crypto.load_pkcs12, data, PASSPHRASE)

    def test_load_certificates(self):
        "DER, PEM and PEM bundles are read"
        self.assertEqual(
            crypto.load_certificate(self.an.cert_der).dump(),
            crypto.load_certificate(self.an.cert_pem).dump())
        self.assertEqual(len(crypto.load_certificates(self.an.chain_pem)), 2)
        pem = crypto.dump_certificates_pem(self.an.chain_asn1)
        self.assertEqual(len(crypto.load_certificates(pem)), 2)

    # -- certificate checks -------------------------------------------------

    def test_check_valid(self):
        "A valid certificate passes with OCSP required, soft and off"
        for mode in crypto.REVOCATION_MODES:
            with self.subTest(mode=mode):
                crypto.check_certificate(
                    self.an.cert_asn1, self.an.chain_asn1, PKI.trust_roots,
                    revocation=mode)

    @with_transaction()
    def test_check_expired(self):
        "An expired certificate is refused"
        expired = PKI.issue_signer('Lê Văn Cũ', expired=True)
        self.assertRefused(
            CertificateExpiredError, 'Lê Văn Cũ.*đã hết hạn',
            crypto.check_certificate, expired.cert_asn1, expired.chain_asn1,
            PKI.trust_roots)

    @with_transaction()
    def test_check_not_yet_valid(self):
        "A certificate not yet valid is refused"
        future = PKI.issue_signer('Lê Văn Mới', not_yet_valid=True)
        self.assertRefused(
            CertificateNotYetValidError, 'chỉ có hiệu lực từ',
            crypto.check_certificate, future.cert_asn1, future.chain_asn1,
            PKI.trust_roots)

    @with_transaction()
    def test_check_revoked(self):
        "A revoked certificate is refused (OCSP)"
        revoked = PKI.issue_signer('Phạm Văn Thu', revoked=True)
        self.assertRefused(
            CertificateRevokedError, 'Phạm Văn Thu.*đã bị thu hồi',
            crypto.check_certificate, revoked.cert_asn1, revoked.chain_asn1,
            PKI.trust_roots)
        # without revocation checking it is not seen
        crypto.check_certificate(
            revoked.cert_asn1, revoked.chain_asn1, PKI.trust_roots,
            revocation='off')

    @with_transaction()
    def test_check_untrusted(self):
        "A certificate of another CA is refused"
        stranger = PKI.other_pki_signer('Người Lạ')
        self.assertRefused(
            CertificateUntrustedError, 'không do tổ chức chứng thực tin cậy',
            crypto.check_certificate, stranger.cert_asn1,
            stranger.chain_asn1, PKI.trust_roots)
        self.assertRefused(
            CertificateUntrustedError, 'không do tổ chức chứng thực tin cậy',
            crypto.check_certificate, self.an.cert_asn1, self.an.chain_asn1,
            [])

    @with_transaction()
    def test_check_key_usage(self):
        "A certificate without signing key usage is refused"
        encipher = PKI.issue_signer('Chỉ Mã Hóa', key_usage='encipher')
        self.assertRefused(
            CertificateKeyUsageError, 'không được phép dùng để ký',
            crypto.check_certificate, encipher.cert_asn1,
            encipher.chain_asn1, PKI.trust_roots)

    @with_transaction()
    def test_check_revocation_unreachable(self):
        "An unreachable OCSP responder refuses in mode require only"
        pki = testpki.TestPKI()
        try:
            identity = pki.issue_signer('Đỗ Văn Xa')
        finally:
            pki.close()
        self.assertRefused(
            RevocationUnknownError, 'Không kiểm tra được trạng thái thu hồi',
            crypto.check_certificate, identity.cert_asn1,
            identity.chain_asn1, pki.trust_roots, revocation='require')
        crypto.check_certificate(
            identity.cert_asn1, identity.chain_asn1, pki.trust_roots,
            revocation='soft')

    # -- signing ----------------------------------------------------------

    def test_stamp_lines(self):
        "The stamp is in Vietnamese with the local time"
        import datetime as dt
        at = dt.datetime(2026, 11, 5, 2, 30)  # UTC
        self.assertEqual(
            crypto.stamp_lines('Nguyễn Văn An', 'Bác sĩ', at), [
                'Ký bởi: Nguyễn Văn An',
                'Chức danh: Bác sĩ',
                'Thời gian: 05/11/2026 09:30',
                ])
        self.assertEqual(len(crypto.stamp_lines('An', None, at)), 2)

    def test_sign_bb(self):
        "PAdES B-B: valid, trusted, whole document, no timestamp"
        with self.key() as key:
            signed = crypto.sign_pdf(
                self.pdf, key, 'Signature1',
                crypto.stamp_lines('Nguyễn Văn An', 'Bác sĩ'),
                reason='Phiếu khám bệnh', location='Trạm Y tế')
        self.assertTrue(signed.startswith(self.pdf))  # incremental
        status, = crypto.verify_pdf(signed, PKI.trust_roots)
        self.assertEqual(status.field, 'Signature1')
        self.assertEqual(status.signer, 'Nguyễn Văn An')
        self.assertTrue(status.ok)
        self.assertTrue(status.intact and status.valid and status.trusted)
        self.assertTrue(status.whole_document)
        self.assertEqual(status.coverage, 'entire_file')
        self.assertFalse(status.modified)
        self.assertIsNone(status.timestamp)
        self.assertTrue(status.signing_time)

    def test_sign_bt(self):
        "PAdES B-T: a timestamp from the TSA"
        with self.key() as key:
            signed = crypto.sign_pdf(
                self.pdf, key, 'Signature1',
                crypto.stamp_lines('Nguyễn Văn An', 'Bác sĩ'),
                tsa_url=PKI.tsa_url)
        status, = crypto.verify_pdf(signed, PKI.trust_roots)
        self.assertTrue(status.ok)
        self.assertTrue(status.timestamp)

    @with_transaction()
    def test_sign_tsa_unreachable(self):
        "An unreachable TSA refuses to sign"
        with self.key() as key:
            self.assertRefused(
                TimestampError, 'dấu thời gian', crypto.sign_pdf,
                self.pdf, key, 'Signature1', ['Ký bởi: An'],
                tsa_url=_closed_port_url())

    def test_two_signers(self):
        "Two signers in sequence: both signatures stay valid"
        with self.key(self.an) as an, self.key(self.binh) as binh:
            first = crypto.sign_pdf(
                self.pdf, an, 'Signature1',
                crypto.stamp_lines('Nguyễn Văn An', 'Bác sĩ'),
                tsa_url=PKI.tsa_url)
            second = crypto.sign_pdf(
                first, binh, 'Signature2',
                crypto.stamp_lines('Trần Thị Bình', 'Điều dưỡng'))
        self.assertTrue(second.startswith(first))
        one, two = crypto.verify_pdf(second, PKI.trust_roots)
        self.assertEqual((one.field, two.field), ('Signature1', 'Signature2'))
        self.assertEqual((one.signer, two.signer),
            ('Nguyễn Văn An', 'Trần Thị Bình'))
        self.assertTrue(one.ok and two.ok)
        self.assertFalse(one.whole_document)
        self.assertFalse(one.modified)
        self.assertTrue(two.whole_document)

    @with_transaction()
    def test_field_exists(self):
        "A second signature cannot reuse a field name"
        with self.key() as key:
            signed = crypto.sign_pdf(self.pdf, key, 'Signature1', [])
            self.assertRefused(
                PDFError, 'đã có ô chữ ký', crypto.sign_pdf,
                signed, key, 'Signature1', [])

    @unittest.skipUnless(shutil.which('pdfsig'), "pdfsig (poppler) missing")
    def test_pdfsig(self):
        "poppler's pdfsig reports our signatures valid"
        with self.key(self.an) as an, self.key(self.binh) as binh:
            signed = crypto.sign_pdf(
                self.pdf, an, 'Signature1',
                crypto.stamp_lines('Nguyễn Văn An', 'Bác sĩ'),
                tsa_url=PKI.tsa_url)
            signed = crypto.sign_pdf(
                signed, binh, 'Signature2',
                crypto.stamp_lines('Trần Thị Bình', 'Điều dưỡng'))
        with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
            file.write(signed)
            file.flush()
            output = subprocess.run(
                ['pdfsig', file.name], capture_output=True, text=True,
                check=False).stdout
        self.assertEqual(output.count('Signature is Valid.'), 2, output)
        self.assertIn('Nguyễn Văn An', output)

    # -- verification -----------------------------------------------------

    @with_transaction()
    def test_verify_tampered(self):
        "A byte changed in the signed content is detected"
        with self.key() as key:
            signed = crypto.sign_pdf(self.pdf, key, 'Signature1', [])
        position = signed.index(b'Phieu kham benh')
        tampered = (signed[:position] + b'Phieu kham bXnh'
            + signed[position + 15:])
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            status, = crypto.verify_pdf(tampered, PKI.trust_roots)
        self.assertFalse(status.intact)
        self.assertFalse(status.ok)
        self.assertIn('đã bị sửa đổi', status.message)

    def test_verify_modified_after_signing(self):
        "Content added after the signature is reported"
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.incremental_writer import (
            IncrementalPdfFileWriter)
        with self.key() as key:
            signed = crypto.sign_pdf(self.pdf, key, 'Signature1', [])
        writer = IncrementalPdfFileWriter(io.BytesIO(signed))
        writer.root['/Evil'] = generic.TextStringObject('changed')
        writer.update_root()
        output = io.BytesIO()
        writer.write(output)
        status, = crypto.verify_pdf(output.getvalue(), PKI.trust_roots)
        self.assertTrue(status.intact)
        self.assertTrue(status.modified)
        self.assertFalse(status.ok)

    @with_transaction()
    def test_verify_untrusted(self):
        "A signature of an unknown CA is intact but not trusted"
        with self.key() as key:
            signed = crypto.sign_pdf(self.pdf, key, 'Signature1', [])
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            status, = crypto.verify_pdf(signed, [])
        self.assertTrue(status.intact and status.valid)
        self.assertFalse(status.trusted)
        self.assertFalse(status.ok)
        self.assertIn('không do tổ chức chứng thực tin cậy', status.message)

    @with_transaction()
    def test_verify_garbage(self):
        "Garbage and truncated PDF files give a clear error"
        with self.key() as key:
            signed = crypto.sign_pdf(self.pdf, key, 'Signature1', [])
        for data in [b'', b'not a pdf', signed[:len(signed) // 2],
                b'%PDF-1.7\n' + b'x' * 100 + b'\n%%EOF\n']:
            with self.subTest(data=data[:20]):
                self.assertRefused(
                    PDFError, 'không phải là tài liệu PDF hợp lệ',
                    crypto.verify_pdf, data, PKI.trust_roots)
                self.assertRefused(
                    PDFError, 'không phải là tài liệu PDF hợp lệ',
                    crypto.sign_pdf, data, key, 'Signature9', [])

    def test_verify_unsigned(self):
        "A PDF without signature has no status"
        self.assertEqual(crypto.verify_pdf(self.pdf, PKI.trust_roots), [])


@unittest.skipUnless(
    testpki.SoftHSM.available(),
    "softhsm2-util, pkcs11-tool or libsofthsm2.so missing "
    "(Debian packages softhsm2 and opensc)")
class PKCS11TestCase(unittest.TestCase):
    "Signing with a key on a SoftHSM2 token"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_sign')
        cls.hsm = testpki.SoftHSM()
        cls.hsm.init_token('OpenTYT Test', PIN)
        cls.rsa = PKI.issue_signer('Hoàng Văn Token')
        cls.ec = PKI.issue_signer('Hoàng Thị EC', key_type='ec')
        cls.hsm.import_identity(cls.rsa, 'OpenTYT Test', PIN, 'rsa-key')
        cls.hsm.import_identity(cls.ec, 'OpenTYT Test', PIN, 'ec-key')
        cls.hsm.reinitialize()
        cls.pdf = testpki.make_pdf(['Don thuoc'])

    @classmethod
    def tearDownClass(cls):
        cls.hsm.cleanup()
        super().tearDownClass()

    def open(self, label='rsa-key', pin=PIN, token='OpenTYT Test'):
        return crypto.open_pkcs11(
            self.hsm.module, token, label, pin, chain=self.rsa.chain_asn1)

    def test_sign_rsa_and_ec(self):
        "RSA and EC keys on the token sign valid PDFs"
        for label, name in [
                ('rsa-key', 'Hoàng Văn Token'), ('ec-key', 'Hoàng Thị EC')]:
            with self.subTest(label=label), self.open(label) as key:
                self.assertEqual(
                    key.certificate.subject.native['common_name'], name)
                signed = crypto.sign_pdf(
                    self.pdf, key, 'Signature1',
                    crypto.stamp_lines(name, 'Bác sĩ'), tsa_url=PKI.tsa_url)
                status, = crypto.verify_pdf(signed, PKI.trust_roots)
                self.assertTrue(status.ok, status)
                self.assertTrue(status.timestamp)

    def test_batch_one_login(self):
        "One login signs several documents"
        with self.open() as key:
            for number in range(3):
                signed = crypto.sign_pdf(
                    self.pdf, key, 'Signature1', ['Ký bởi: Token'])
                self.assertTrue(
                    crypto.verify_pdf(signed, PKI.trust_roots)[0].ok)

    @with_transaction()
    def test_wrong_pin(self):
        "A wrong PIN is refused in Vietnamese"
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(WrongSecretError, 'Sai mã PIN'):
                self.open(pin='000000')

    @with_transaction()
    def test_unknown_token_or_key(self):
        "A missing token or key is refused in Vietnamese"
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(TokenError, 'Không tìm thấy'):
                self.open(token='Không có')
            with self.assertRaisesRegex(TokenError, 'không có khóa'):
                self.open(label='missing')
            with self.assertRaisesRegex(TokenError, 'PKCS#11'):
                crypto.open_pkcs11('/nonexistent/lib.so', 0, 'x', PIN)
