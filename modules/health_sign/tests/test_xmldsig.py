# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""XMLDSig of the social-insurance claim file (GIAMDINHHS, CHUKYDONVI),
checked by xmlsec1 as an independent validator"""
import base64
import os
import shutil
import subprocess
import tempfile
import unittest

from cryptography.hazmat.primitives import serialization
from lxml import etree

from trytond.modules.health_emr.tests import load_vietnamese
from trytond.modules.health_sign import testpki
from trytond.modules.health_sign.exceptions import XMLSignatureError
from trytond.modules.health_sign.xmldsig import (
    C14N_10, DS_NS, RSA_SHA256, SHA256, sign_xml, verify_xml)
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

SAMPLE = os.path.join(
    os.path.dirname(__file__), 'data', 'giamdinhhs_sample.xml')
XMLSEC1 = shutil.which('xmlsec1')


def _pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM)


class XMLSignatureTestCase(unittest.TestCase):
    "Enveloped XMLDSig of claim files"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = testpki.TestPKI(serve=False, key_type='rsa')
        cls.organisation = cls.pki.issue_organisation()
        cls.directory = tempfile.mkdtemp(prefix='opentyt-xmldsig-')
        cls.root_pem = cls._write('root.pem', cls.pki.root_pem)
        cls.intermediate_pem = cls._write(
            'intermediate.pem',
            _pem(cls.pki.intermediate.identity.certificate))
        with open(SAMPLE, 'rb') as file:
            cls.sample = file.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory, ignore_errors=True)
        cls.pki.close()
        super().tearDownClass()

    @classmethod
    def _write(cls, name, data):
        path = os.path.join(cls.directory, name)
        with open(path, 'wb') as file:
            file.write(data)
        return path

    def key(self, identity=None):
        identity = identity or self.organisation
        return (identity.key, [identity.certificate] + identity.chain)

    def xmlsec1_verify(self, data, untrusted=True):
        "Exit code and output of xmlsec1 --verify on data"
        path = self._write('to-verify.xml', data)
        command = [XMLSEC1, '--verify', '--trusted-pem', self.root_pem]
        if untrusted:
            command += ['--untrusted-pem', self.intermediate_pem]
        process = subprocess.run(
            command + [path], capture_output=True, text=True, timeout=60)
        return process.returncode, process.stdout + process.stderr

    def test_sample_is_giamdinhhs(self):
        "The synthetic sample has the envelope of REGULATIONS.md §3.3"
        root = etree.fromstring(self.sample)
        self.assertEqual(root.tag, 'GIAMDINHHS')
        self.assertEqual(root.findtext('THONGTINDONVI/MACSKCB'), '99999')
        files = root.findall(
            'THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO')
        self.assertEqual(
            [f.findtext('LOAIHOSO') for f in files], ['XML1', 'XML2'])
        xml1 = etree.fromstring(base64.b64decode(
                files[0].findtext('NOIDUNGFILE')))
        self.assertEqual(xml1.tag, 'TONG_HOP')
        self.assertEqual(xml1.findtext('MA_CSKCB'), '99999')
        self.assertEqual(len(root.findall('CHUKYDONVI')), 1)

    def test_sign_sample(self):
        "The signature goes into CHUKYDONVI and covers the whole file"
        signed = sign_xml(self.sample, self.key())
        root = etree.fromstring(signed)
        signature, = root.findall('CHUKYDONVI/{%s}Signature' % DS_NS)
        # Default XMLDSig namespace, like the .NET signers
        self.assertIsNone(signature.prefix)
        ns = {'ds': DS_NS}
        self.assertEqual(signature.xpath(
                'ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm',
                namespaces=ns), [C14N_10])
        self.assertEqual(signature.xpath(
                'ds:SignedInfo/ds:SignatureMethod/@Algorithm',
                namespaces=ns), [RSA_SHA256])
        self.assertEqual(signature.xpath(
                'ds:SignedInfo/ds:Reference/@URI', namespaces=ns), [''])
        self.assertEqual(signature.xpath(
                'ds:SignedInfo/ds:Reference/ds:DigestMethod/@Algorithm',
                namespaces=ns), [SHA256])
        # Signer and intermediate, not the root
        self.assertEqual(len(signature.xpath(
                    'ds:KeyInfo/ds:X509Data/ds:X509Certificate',
                    namespaces=ns)), 2)
        # The payload is untouched
        self.assertEqual(
            root.findtext('THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO/'
                'NOIDUNGFILE'),
            etree.fromstring(self.sample).findtext(
                'THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO/NOIDUNGFILE'))
        self.assertTrue(signed.startswith(b'<?xml'))

        status = verify_xml(signed, self.pki.trust_roots)
        self.assertTrue(status.intact)
        self.assertTrue(status.trusted)
        self.assertTrue(status.valid, status.message)
        self.assertIn(self.pki.organisation, status.signer)
        self.assertIn('hợp lệ', status.message)

    @unittest.skipUnless(XMLSEC1, "xmlsec1 is not installed")
    def test_xmlsec1_accepts(self):
        "xmlsec1 --verify accepts the signed sample GIAMDINHHS file"
        signed = sign_xml(self.sample, self.key())
        code, output = self.xmlsec1_verify(signed)
        self.assertEqual(code, 0, output)
        self.assertIn('OK', output)
        # The intermediate travels in KeyInfo: the root alone suffices
        code, output = self.xmlsec1_verify(signed, untrusted=False)
        self.assertEqual(code, 0, output)

    @unittest.skipUnless(XMLSEC1, "xmlsec1 is not installed")
    def test_tampered(self):
        "A file changed after signing fails our check and xmlsec1"
        signed = sign_xml(self.sample, self.key())
        tampered = [
            signed.replace(b'<MACSKCB>99999', b'<MACSKCB>99998'),
            signed.replace(b'<SOLUONGHOSO>1', b'<SOLUONGHOSO>2'),
            ]
        # One character of the base64 XML1 content
        root = etree.fromstring(signed)
        content = root.find('.//NOIDUNGFILE')
        content.text = ('B' if content.text[0] != 'B' else 'C') \
            + content.text[1:]
        tampered.append(etree.tostring(
                root.getroottree(), xml_declaration=True, encoding='utf-8'))
        for data in tampered:
            with self.subTest(data=data[:0]):
                self.assertNotEqual(data, signed)
                status = verify_xml(data, self.pki.trust_roots)
                self.assertFalse(status.intact)
                self.assertFalse(status.valid)
                self.assertIn('đã bị sửa', status.message)
                code, output = self.xmlsec1_verify(data)
                self.assertNotEqual(code, 0, output)
                self.assertIn('FAIL', output)

    def test_untrusted(self):
        "A signer of another PKI: intact but not trusted"
        stranger = self.pki.other_pki_signer('Trạm Y tế giả mạo')
        signed = sign_xml(self.sample, self.key(stranger))
        status = verify_xml(signed, self.pki.trust_roots)
        self.assertTrue(status.intact)
        self.assertFalse(status.trusted)
        self.assertFalse(status.valid)
        self.assertIn('không tin cậy', status.message)

    @unittest.skipUnless(XMLSEC1, "xmlsec1 is not installed")
    def test_verify_xmlsec1_signature(self):
        "We accept a signature made by xmlsec1 from a template"
        template = self.sample.replace(
            b'<CHUKYDONVI></CHUKYDONVI>',
            b'<CHUKYDONVI><Signature xmlns="' + DS_NS.encode() + b'">'
            b'<SignedInfo><CanonicalizationMethod Algorithm="'
            + C14N_10.encode() + b'"/><SignatureMethod Algorithm="'
            + RSA_SHA256.encode() + b'"/><Reference URI=""><Transforms>'
            b'<Transform Algorithm="' + DS_NS.encode()
            + b'enveloped-signature"/></Transforms><DigestMethod '
            b'Algorithm="' + SHA256.encode() + b'"/><DigestValue/>'
            b'</Reference></SignedInfo><SignatureValue/><KeyInfo>'
            b'<X509Data/></KeyInfo></Signature></CHUKYDONVI>')
        key = self._write('key.pem', self.organisation.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        certificate = self._write(
            'certificate.pem', _pem(self.organisation.certificate))
        path = self._write('template.xml', template)
        process = subprocess.run([
                XMLSEC1, '--sign', '--privkey-pem',
                f'{key},{certificate},{self.intermediate_pem}', path],
            capture_output=True, timeout=60)
        self.assertEqual(process.returncode, 0, process.stderr)
        status = verify_xml(process.stdout, self.pki.trust_roots)
        self.assertTrue(status.valid, status.message)

    def test_key_material(self):
        "A KeyMaterial from a PKCS#12 file signs as well"
        from trytond.modules.health_sign.crypto import load_pkcs12
        key_material = load_pkcs12(
            self.organisation.pkcs12('mật khẩu'), 'mật khẩu')
        with key_material:
            signed = sign_xml(self.sample, key_material)
        self.assertTrue(verify_xml(signed, self.pki.trust_roots).valid)

    def test_check_in_file(self):
        "The check-in file has its own CHUKYDONVI under another root"
        data = ('<?xml version="1.0" encoding="utf-8"?>'
            '<CHI_TIEU_TRANG_THAI_KCB><MA_LK>TYT99999-1</MA_LK>'
            '<HO_TEN>NGUYỄN VĂN THỬ</HO_TEN><CHUKYDONVI/>'
            '</CHI_TIEU_TRANG_THAI_KCB>').encode('utf-8')
        signed = sign_xml(data, self.key())
        self.assertTrue(verify_xml(signed, self.pki.trust_roots).valid)

    def test_bad_input(self):
        "Malformed XML, no or two CHUKYDONVI, already signed, EC key"
        cases = [
            (b'<GIAMDINHHS><THONGTINDONVI>', 'không đọc được'),
            (b'not xml at all', 'không đọc được'),
            (b'<GIAMDINHHS><THONGTINDONVI/></GIAMDINHHS>', 'CHUKYDONVI'),
            (b'<A><CHUKYDONVI/><B><CHUKYDONVI/></B></A>', 'đúng một'),
            ]
        for data, text in cases:
            with self.subTest(data=data):
                with self.assertRaises(XMLSignatureError) as context:
                    sign_xml(data, self.key())
                self.assertIn(text, str(context.exception))
        signed = sign_xml(self.sample, self.key())
        with self.assertRaises(XMLSignatureError) as context:
            sign_xml(signed, self.key())
        self.assertIn('đã có chữ ký', str(context.exception))
        ec_signer = self.pki.issue_signer('EC', key_type='ec')
        with self.assertRaises(XMLSignatureError) as context:
            sign_xml(self.sample, self.key(ec_signer))
        self.assertIn('RSA', str(context.exception))
        with self.assertRaises(XMLSignatureError) as context:
            sign_xml(self.sample, (self.organisation.key, []))
        self.assertIn('Khóa ký', str(context.exception))
        # Verification of unsigned or broken files
        with self.assertRaises(XMLSignatureError):
            verify_xml(self.sample, self.pki.trust_roots)
        with self.assertRaises(XMLSignatureError):
            verify_xml(b'<GIAMDINHHS>', self.pki.trust_roots)

    def test_signature_moved(self):
        "A signature taken out of CHUKYDONVI is not accepted there"
        signed = sign_xml(self.sample, self.key())
        root = etree.fromstring(signed)
        signature = root.find('CHUKYDONVI/{%s}Signature' % DS_NS)
        root.find('THONGTINDONVI').append(signature)
        with self.assertRaises(XMLSignatureError):
            verify_xml(etree.tostring(root), self.pki.trust_roots)

    def test_sign_with_certificate(self):
        "Only the facility's organisation certificate signs claim files"
        from trytond.modules.health_sign.crypto import load_pkcs12
        from trytond.modules.health_sign.xmldsig import sign_with_certificate
        pkcs12 = self.organisation.pkcs12('mật khẩu')

        class Certificate:
            "Stands for a health.sign.certificate record"
            rec_name = 'Trạm Y tế xã Thử nghiệm'
            checked = False

            def __init__(self, kind):
                self.kind = kind

            def check_before_signing(self, at=None):
                self.checked = True

            def get_key_material(self, secret):
                return load_pkcs12(pkcs12, secret)

        personal = Certificate('personal')
        with self.assertRaises(XMLSignatureError) as context:
            sign_with_certificate(self.sample, personal, 'mật khẩu')
        self.assertIn('Trạm Y tế xã Thử nghiệm', str(context.exception))
        self.assertFalse(personal.checked)
        organisation = Certificate('organisation')
        signed = sign_with_certificate(self.sample, organisation, 'mật khẩu')
        self.assertTrue(organisation.checked)
        self.assertTrue(verify_xml(signed, self.pki.trust_roots).valid)


class XMLSignatureMessagesTestCase(unittest.TestCase):
    "Inside trytond the errors come from the translated ir.message"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_sign')

    @with_transaction()
    def test_vietnamese_messages(self):
        "Errors in Vietnamese and English from message.xml / vi.po"
        with self.assertRaisesRegex(
                XMLSignatureError, 'has no <CHUKYDONVI> element'):
            sign_xml(b'<GIAMDINHHS/>', (None, []))
        load_vietnamese()
        with Transaction().set_context(language='vi'):
            with self.assertRaisesRegex(
                    XMLSignatureError,
                    'không có phần tử <CHUKYDONVI> để đặt chữ ký số'):
                sign_xml(b'<GIAMDINHHS/>', (None, []))
            with self.assertRaisesRegex(
                    XMLSignatureError, 'không đọc được'):
                verify_xml(b'<GIAMDINHHS>', [])
