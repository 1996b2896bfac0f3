# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""scripts/verify_pdf: verification of a PDF without a server"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from trytond.modules.health_sign import crypto, testpki
from trytond.modules.health_sign.tests.test_remote import make_pdf

SCRIPT = os.path.normpath(os.path.join(
        os.path.dirname(__file__), '..', '..', '..', 'scripts', 'verify_pdf'))


@unittest.skipUnless(os.path.exists(SCRIPT), "scripts/verify_pdf not found")
class VerifyPdfCommandTestCase(unittest.TestCase):
    "The verify_pdf command line tool"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = testpki.TestPKI(serve=False)
        cls.directory = tempfile.mkdtemp(prefix='opentyt-verify-pdf-')
        cls.root = cls.write('root.pem', cls.pki.root_pem)
        doctor = cls.pki.issue_signer('BS. Nguyễn Văn Thử')
        nurse = cls.pki.issue_signer('ĐD. Trần Thị Mẫu')
        cls.pdf = make_pdf('Phieu kham benh')
        with crypto.load_pkcs12(doctor.pkcs12('a'), 'a') as key:
            cls.signed = crypto.sign_pdf(
                cls.pdf, key, 'Chu_ky_1',
                crypto.stamp_lines('BS. Nguyễn Văn Thử', 'Bác sĩ'))
        with crypto.load_pkcs12(nurse.pkcs12('b'), 'b') as key:
            cls.twice = crypto.sign_pdf(
                cls.signed, key, 'Chu_ky_2',
                crypto.stamp_lines('ĐD. Trần Thị Mẫu', 'Điều dưỡng'))
        stranger = cls.pki.other_pki_signer('Người lạ')
        with crypto.load_pkcs12(stranger.pkcs12('c'), 'c') as key:
            cls.untrusted = crypto.sign_pdf(cls.pdf, key, 'Chu_ky_1', ['x'])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory, ignore_errors=True)
        cls.pki.close()
        super().tearDownClass()

    @classmethod
    def write(cls, name, data):
        path = os.path.join(cls.directory, name)
        with open(path, 'wb') as file:
            file.write(data)
        return path

    def run_tool(self, data, *arguments, name='document.pdf'):
        path = self.write(name, data) if data is not None else name
        process = subprocess.run(
            [SCRIPT, path, *arguments], capture_output=True, text=True,
            timeout=120, env=dict(os.environ, PYTHONIOENCODING='utf-8'))
        return process

    def test_valid(self):
        "A valid signature: Vietnamese report, exit code 0"
        process = self.run_tool(self.signed, '--trust', self.root)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertIn('BS. Nguyễn Văn Thử', process.stdout)
        self.assertIn('Kết quả: Hợp lệ', process.stdout)
        self.assertIn('tất cả chữ ký hợp lệ', process.stdout)

    def test_two_signatures_json(self):
        "Two signers in sequence, JSON output"
        process = self.run_tool(self.twice, '--trust', self.root, '--json')
        self.assertEqual(process.returncode, 0, process.stderr)
        result = json.loads(process.stdout)
        self.assertTrue(result['valid'])
        self.assertEqual(
            [s['field'] for s in result['signatures']],
            ['Chu_ky_1', 'Chu_ky_2'])
        self.assertEqual(
            [s['signer'] for s in result['signatures']],
            ['BS. Nguyễn Văn Thử', 'ĐD. Trần Thị Mẫu'])
        self.assertTrue(all(s['ok'] for s in result['signatures']))
        self.assertEqual(result['signatures'][0]['coverage'],
            'entire_revision')

    def test_untrusted(self):
        "No trust anchor or another PKI: exit code 1"
        process = self.run_tool(self.signed)
        self.assertEqual(process.returncode, 1, process.stderr)
        self.assertIn('không thuộc chuỗi tin cậy', process.stdout)
        process = self.run_tool(self.untrusted, '--trust', self.root)
        self.assertEqual(process.returncode, 1, process.stderr)

    def test_tampered(self):
        "Content changed after signing: exit code 1"
        tampered = self.signed.replace(
            b'(Phieu kham benh)', b'(Phieu kham benX)')
        self.assertNotEqual(tampered, self.signed)
        process = self.run_tool(tampered, '--trust', self.root, '--json')
        self.assertEqual(process.returncode, 1, process.stderr)
        signature, = json.loads(process.stdout)['signatures']
        self.assertFalse(signature['ok'])
        self.assertIn('Không hợp lệ', signature['message'])

    def test_unsigned(self):
        "A PDF without signature is not valid: exit code 1"
        process = self.run_tool(self.pdf, '--trust', self.root)
        self.assertEqual(process.returncode, 1, process.stderr)
        self.assertIn('không có chữ ký', process.stdout)

    def test_unreadable(self):
        "Garbage, a truncated PDF, a missing file: exit code 2"
        for data in [b'this is not a PDF',
                self.signed[:len(self.signed) // 2]]:
            with self.subTest(size=len(data)):
                process = self.run_tool(data, '--trust', self.root)
                self.assertEqual(process.returncode, 2, process.stdout)
                self.assertIn('không đọc được', process.stderr)
        process = self.run_tool(
            None, name=os.path.join(self.directory, 'missing.pdf'))
        self.assertEqual(process.returncode, 2)
        self.assertIn('Không mở được tệp', process.stderr)
        process = self.run_tool(
            b'garbage', '--json', name='garbage.pdf')
        self.assertEqual(process.returncode, 2)
        self.assertFalse(json.loads(process.stdout)['readable'])
        bad_root = self.write('bad-root.pem', b'not a certificate')
        process = self.run_tool(self.signed, '--trust', bad_root)
        self.assertEqual(process.returncode, 2)

    def test_python_entry(self):
        "The script runs with any Python that has the venv's packages"
        process = subprocess.run(
            [sys.executable, SCRIPT + '.py', '--help'],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertIn('--trust', process.stdout)
