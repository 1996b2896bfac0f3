# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Remote signing ("ký số từ xa") against the local test service"""
import io
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from trytond.modules.health_sign import crypto, testpki
from trytond.modules.health_sign.exceptions import (
    PDFError, RemoteSigningAuthError, RemoteSigningError,
    RemoteSigningExpiredError, RemoteSigningRefusedError,
    RemoteSigningUnavailableError, SignError)
from trytond.modules.health_sign.remote import (
    RemoteSigner, remote_signer, sign_concurrently)
from trytond.modules.health_sign.tests.remote_server import RemoteSigningServer
from trytond.modules.health_sign.xmldsig import sign_xml, verify_xml


def make_pdf(text='Phieu kham benh'):
    "A one-page PDF (no LibreOffice needed)"
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter
    name = generic.pdf_name
    writer = PdfFileWriter()
    font = writer.add_object(generic.DictionaryObject({
                name('/Type'): name('/Font'),
                name('/Subtype'): name('/Type1'),
                name('/BaseFont'): name('/Helvetica'),
                }))
    content = writer.add_object(generic.StreamObject(
            stream_data=b'BT /F1 18 Tf 72 720 Td (' + text.encode('ascii')
            + b') Tj ET'))
    writer.insert_page(generic.DictionaryObject({
                name('/Type'): name('/Page'),
                name('/MediaBox'): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 595, 842)]),
                name('/Contents'): content,
                name('/Resources'): generic.DictionaryObject({
                        name('/Font'): generic.DictionaryObject({
                                name('/F1'): font}),
                        }),
                }))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


class RemoteSigningTestCase(unittest.TestCase):
    "Remote signing client and test service"

    def assertRaisedFrom(self, error, exception_class):
        """error is exception_class or was caused by one (sign_pdf may wrap
        the key material's error); returns the exception_class one"""
        seen = error
        while seen is not None and not isinstance(seen, exception_class):
            seen = seen.__cause__ or seen.__context__
        self.assertIsInstance(seen, exception_class, repr(error))
        return seen

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = testpki.TestPKI(serve=False)
        cls.doctor = cls.pki.issue_signer('BS. Nguyễn Văn Thử')
        cls.organisation = cls.pki.issue_organisation()

    @classmethod
    def tearDownClass(cls):
        cls.pki.close()
        super().tearDownClass()

    def setUp(self):
        self.server = RemoteSigningServer(pending_polls=1)
        self.addCleanup(self.server.close)
        self.server.add_credential('doctor', self.doctor)
        self.server.add_credential('organisation', self.organisation)
        self.server.add_credential('manual', self.doctor, mode='manual')
        self.server.add_credential('refuses', self.doctor, mode='refuse')
        self.server.add_credential('locked', self.doctor, locked=True)

    def signer(self, credential='doctor', **kwargs):
        kwargs.setdefault('client_id', self.server.client_id)
        kwargs.setdefault('client_secret', self.server.client_secret)
        kwargs.setdefault('poll_interval', 0.02)
        kwargs.setdefault('wait', 10)
        return RemoteSigner(self.server.base_url, credential, **kwargs)

    def sign_requests(self):
        return [p for m, p in self.server.requests
            if p.endswith('/signatures/sign')]

    def test_certificate_from_service(self):
        "The certificate and chain come from the service"
        signer = self.signer()
        self.assertEqual(
            signer.certificate.dump(), self.doctor.cert_der)
        self.assertEqual(len(signer.chain), 2)

    def test_sign_pdf(self):
        "A PDF signed remotely is valid (pyHanko and crypto.verify_pdf)"
        pdf = make_pdf()
        signer = self.signer()
        with signer.describe('Phiếu khám bệnh BN000123'):
            signed = crypto.sign_pdf(
                pdf, signer, 'Chu_ky_1',
                crypto.stamp_lines('BS. Nguyễn Văn Thử', 'Bác sĩ'))
        self.assertEqual(len(self.sign_requests()), 1)
        transaction, = self.server.transactions.values()
        self.assertEqual(
            transaction['description'], 'Phiếu khám bệnh BN000123')
        status, = crypto.verify_pdf(signed, self.pki.trust_roots)
        self.assertTrue(status.ok, status)
        self.assertEqual(status.signer, 'BS. Nguyễn Văn Thử')
        if shutil.which('pdfsig'):
            # Independent validator (poppler)
            with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
                file.write(signed)
                file.flush()
                output = subprocess.run(
                    ['pdfsig', file.name], capture_output=True, text=True,
                    timeout=60).stdout
            self.assertIn('Signature is Valid.', output)
        # A second signer, incrementally: both stay valid
        signed = crypto.sign_pdf(
            signed, self.signer('organisation'), 'Chu_ky_2', ['Đơn vị'])
        statuses = crypto.verify_pdf(signed, self.pki.trust_roots)
        self.assertEqual(len(statuses), 2)
        self.assertTrue(all(s.intact and s.valid for s in statuses))

    def test_manual_confirmation(self):
        "The signer confirms on the phone while we poll"
        signer = self.signer('manual')

        def phone():
            for _ in range(200):
                pending = self.server.pending()
                if pending:
                    self.server.confirm(pending[0])
                    return
                time.sleep(0.01)
        thread = threading.Thread(target=phone)
        thread.start()
        signature, = signer.sign_digests([b'\x01' * 32])
        thread.join()
        self.assertEqual(len(signature), 256)

    def test_confirm_endpoint(self):
        "The test service has a confirmation endpoint for the phone"
        import json
        import urllib.request
        signer = self.signer('manual')
        transaction_id = signer.request_signatures([b'\x02' * 32])
        self.assertEqual(
            signer.transaction_status(transaction_id)['status'], 'pending')
        request = urllib.request.Request(
            f'{self.server.base_url}/test/transactions/'
            f'{transaction_id}/confirm', data=b'', method='POST')
        with urllib.request.urlopen(request) as response:
            self.assertEqual(json.load(response)['code'], 0)
        signature, = signer.wait_signatures(transaction_id, 1)
        self.assertEqual(len(signature), 256)

    def test_batch_one_confirmation(self):
        "Several documents, one transaction, one confirmation"
        signer = self.signer()
        digests = [bytes([i]) * 32 for i in range(5)]
        signatures = signer.sign_digests(digests, 'Lô 5 đơn thuốc')
        self.assertEqual(len(signatures), 5)
        self.assertEqual(len(set(signatures)), 5)
        self.assertEqual(len(self.sign_requests()), 1)

        pdfs = [make_pdf(f'Don thuoc {i}') for i in range(6)]
        jobs = [lambda pdf=pdf: crypto.sign_pdf(
                pdf, signer, 'Chu_ky_1', ['Ký bởi: BS. Nguyễn Văn Thử'])
            for pdf in pdfs]
        # A broken document fails alone and does not hold the others
        jobs.append(lambda: crypto.sign_pdf(
                b'%PDF-1.7 broken', signer, 'Chu_ky_1', ['x']))
        results = sign_concurrently(signer, jobs, 'Lô 6 đơn thuốc')
        self.assertEqual(len(self.sign_requests()), 2)
        for signed, error in results[:-1]:
            self.assertIsNone(error)
            status, = crypto.verify_pdf(signed, self.pki.trust_roots)
            self.assertTrue(status.ok)
        signed, error = results[-1]
        self.assertIsNone(signed)
        self.assertIsInstance(error, PDFError)

    def test_batch_refused(self):
        "A refused batch leaves every document unsigned"
        signer = self.signer('refuses')
        pdfs = [make_pdf(f'Don thuoc {i}') for i in range(3)]
        results = sign_concurrently(signer, [
                lambda pdf=pdf: crypto.sign_pdf(pdf, signer, 'S', ['x'])
                for pdf in pdfs])
        for signed, error in results:
            self.assertIsNone(signed)
            self.assertRaisedFrom(error, RemoteSigningRefusedError)

    def test_refused(self):
        "The signer refuses: a clear Vietnamese error, nothing signed"
        pdf = make_pdf()
        signer = self.signer('refuses', description='Phiếu khám bệnh')
        with self.assertRaises(SignError) as context:
            crypto.sign_pdf(pdf, signer, 'Chu_ky_1', ['x'])
        error = self.assertRaisedFrom(
            context.exception, RemoteSigningRefusedError)
        self.assertIn('từ chối', str(error))
        self.assertIn('Phiếu khám bệnh', str(error))

    def test_expired(self):
        "The signer does not answer in time"
        self.server.ttl = 0.1
        signer = self.signer('manual')
        with self.assertRaises(RemoteSigningExpiredError) as context:
            signer.sign_digests([b'\x01' * 32])
        self.assertIn('hết hạn', str(context.exception))
        # Our own patience runs out first
        self.server.ttl = 60
        signer = self.signer('manual', wait=0.1)
        with self.assertRaises(RemoteSigningExpiredError):
            signer.sign_digests([b'\x01' * 32])

    def test_server_errors(self):
        "Wrong client account, unknown or locked credential, bad request"
        with self.assertRaises(RemoteSigningAuthError) as context:
            self.signer(client_secret='wrong')
        self.assertIn('tài khoản tích hợp', str(context.exception))
        with self.assertRaises(RemoteSigningAuthError) as context:
            self.signer('nobody')
        self.assertIn('nobody', str(context.exception))
        with self.assertRaises(RemoteSigningAuthError) as context:
            self.signer(
                'locked', certificate=self.doctor.cert_der).sign_digests(
                [b'\x01' * 32])
        self.assertIn('khóa', str(context.exception))
        with self.assertRaises(RemoteSigningError) as context:
            self.signer().sign_digests([b'short'])
        self.assertIn('1004', str(context.exception))
        with self.assertRaises(RemoteSigningError):
            self.signer().transaction_status('unknown')

    def test_server_down(self):
        "Nobody listens: a clear Vietnamese error"
        url = self.server.base_url
        self.server.close()
        with self.assertRaises(RemoteSigningUnavailableError) as context:
            RemoteSigner(url, 'doctor', 'a', 'b', timeout=2)
        self.assertIn('Không kết nối được', str(context.exception))
        signer = RemoteSigner(
            url, 'doctor', certificate=self.doctor.cert_der, timeout=2)
        with self.assertRaises(SignError) as context:
            crypto.sign_pdf(make_pdf(), signer, 'Chu_ky_1', ['x'])
        self.assertRaisedFrom(
            context.exception, RemoteSigningUnavailableError)

    def test_xml_remote(self):
        "The facility's remote credential signs a claim file"
        import os
        with open(os.path.join(os.path.dirname(__file__), 'data',
                    'giamdinhhs_sample.xml'), 'rb') as file:
            sample = file.read()
        signed = sign_xml(sample, self.signer('organisation'))
        self.assertTrue(verify_xml(signed, self.pki.trust_roots).valid)

    def test_from_config(self):
        "remote_signer reads our client account from the configuration"
        from trytond import config
        section = 'health_sign'
        existed = config.has_section(section)
        if not existed:
            config.add_section(section)
        options = {
            'remote_client_id': self.server.client_id,
            'remote_client_secret': self.server.client_secret,
            'remote_poll_interval': '0.02',
            }
        previous = {o: config.get(section, o) for o in options}
        for option, value in options.items():
            config.set(section, option, value)
        try:
            signer = remote_signer(self.server.base_url, 'doctor')
            self.assertEqual(len(signer.sign_digests([b'\x01' * 32])), 1)
        finally:
            if not existed:
                config.remove_section(section)
            else:
                for option, value in previous.items():
                    config.set(section, option, value or '')

    def test_concurrently_local_key(self):
        "sign_concurrently accepts a local key too (sequential)"
        with crypto.load_pkcs12(self.doctor.pkcs12('x'), 'x') as key:
            results = sign_concurrently(key, [
                    lambda: crypto.sign_pdf(make_pdf(), key, 'S', ['x']),
                    lambda: crypto.sign_pdf(b'garbage', key, 'S', ['x'])])
        self.assertTrue(results[0][0])
        self.assertIsInstance(results[1][1], PDFError)
