# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""ODT → PDF through LibreOffice (no database needed)"""
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import zipfile
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from unittest.mock import patch

from trytond import config
from trytond.modules.health_vn_forms import converter
from trytond.modules.health_vn_forms.exceptions import ConversionError

# Every vowel with every tone mark, đ, and the capitals
VIETNAMESE = [
    "Nguyễn Thị Hường, Trần Đức Ất, Phạm Quỳnh Ỷ",
    "aàáảãạ ăằắẳẵặ âầấẩẫậ eèéẻẽẹ êềếểễệ iìíỉĩị",
    "oòóỏõọ ôồốổỗộ ơờớởỡợ uùúủũụ ưừứửữự yỳýỷỹỵ",
    "đĐ ÂĂÊÔƠƯ ỄỆỖỘỠỢỮỰ",
    ]

CONTENT = '''<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
    xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
    xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
    office:version="1.3">
 <office:automatic-styles>
  <style:style style:name="P1" style:family="paragraph">
   <style:text-properties style:font-name="Liberation Serif"
       fo:font-size="12pt"/>
  </style:style>
 </office:automatic-styles>
 <office:body><office:text>%s</office:text></office:body>
</office:document-content>'''
STYLES = '''<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles
    xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
    xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
    office:version="1.3">
 <office:font-face-decls>
  <style:font-face style:name="Liberation Serif"
      svg:font-family="'Liberation Serif'" style:font-family-generic="roman"/>
 </office:font-face-decls>
</office:document-styles>'''
MANIFEST = '''<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest
    xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
    manifest:version="1.3">
 <manifest:file-entry manifest:full-path="/"
     manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml"
     manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="styles.xml"
     manifest:media-type="text/xml"/>
</manifest:manifest>'''


def make_odt(*paragraphs):
    "A minimal ODT, one paragraph per argument"
    body = ''.join(
        '<text:p text:style-name="P1">%s</text:p>' % p for p in paragraphs)
    output = BytesIO()
    with zipfile.ZipFile(output, 'w') as odt:
        odt.writestr('mimetype', 'application/vnd.oasis.opendocument.text',
            zipfile.ZIP_STORED)
        odt.writestr('content.xml', CONTENT % body)
        odt.writestr('styles.xml', STYLES)
        odt.writestr('META-INF/manifest.xml', MANIFEST)
    return output.getvalue()


def pdf_text(pdf):
    with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(['pdftotext', file.name, '-'],
            check=True, capture_output=True).stdout.decode('utf-8')


def live_processes(group):
    "The processes of a process group still running"
    live = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != 'Z':
            live.append(int(stat.parent.name))
    return live


@contextmanager
def configured(**options):
    "Options of [health_vn_forms] for the duration of a test"
    section = converter.SECTION
    if not config.has_section(section):
        config.add_section(section)
    old = {o: config.get(section, o) for o in options}
    for option, value in options.items():
        config.set(section, option, value)
    try:
        yield
    finally:
        for option, value in old.items():
            if value is None:
                config._config.remove_option(section, option)
            else:
                config._config.set(section, option, value)
        config._cache_clear()


class ConverterTestCase(unittest.TestCase):
    "LibreOffice converts our documents to PDF, or we say it did not"

    def assertVietnamese(self, text):
        for line in VIETNAMESE:
            self.assertIn(line, text)

    @classmethod
    def tearDownClass(cls):
        converter.stop_server()
        super().tearDownClass()

    def test_default_mode(self):
        "unoserver when the system Python has uno"
        self.assertTrue(converter._system_python_has_uno())
        self.assertEqual(converter.converter_mode(), 'unoserver')
        with configured(converter='soffice'):
            self.assertEqual(converter.converter_mode(), 'soffice')
        with configured(converter='wrong'):
            with self.assertRaises(ValueError):
                converter.converter_mode()

    def test_vietnamese_odt_to_pdf(self):
        "Every Vietnamese diacritic survives the conversion"
        pdf = converter.convert_to_pdf(make_odt(*VIETNAMESE, "Trang 1"))
        self.assertTrue(pdf.startswith(b'%PDF-'))
        text = pdf_text(pdf)
        self.assertVietnamese(text)
        # And page 1 renders to a picture
        with tempfile.TemporaryDirectory() as directory:
            pdf_path = Path(directory, 'form.pdf')
            pdf_path.write_bytes(pdf)
            subprocess.run(['pdftoppm', '-png', '-r', '50', '-f', '1',
                    '-l', '1', str(pdf_path), str(Path(directory, 'page'))],
                check=True)
            png, = Path(directory).glob('page*.png')
            self.assertTrue(png.read_bytes().startswith(b'\x89PNG'))

    def test_persistent_server_is_fast(self):
        "Once started, the server converts a document well under 0.3 s"
        odt = make_odt(*VIETNAMESE)
        converter.convert_to_pdf(odt)
        start = time.monotonic()
        for _ in range(5):
            converter.convert_to_pdf(odt)
        self.assertLess((time.monotonic() - start) / 5, 0.3)

    def test_flat_odt(self):
        "A flat .fodt converts too"
        fodt = (Path(__file__).parent / 'form_test.fodt').read_bytes()
        text = pdf_text(converter.convert_to_pdf(fodt, 'fodt'))
        self.assertIn("PHIẾU THỬ NGHIỆM", text)

    def test_broken_odt(self):
        "A broken document is an error, never a PDF of garbage"
        odt = make_odt(*VIETNAMESE)
        for data in [b'PK\x03\x04 broken', odt[:len(odt) // 2], b'', None]:
            with self.subTest(data=data[:10] if data else data):
                with self.assertRaises(ConversionError):
                    converter.convert_to_pdf(data)

    def test_not_a_pdf(self):
        "Whatever comes back that is not a PDF is an error"
        for output in [None, b'', b'PK\x03\x04odt', b'<html>']:
            with self.subTest(output=output), \
                    patch.object(converter, '_unoserver_convert',
                        return_value=output):
                with self.assertRaises(ConversionError):
                    converter.convert_to_pdf(make_odt("x"))

    def test_server_restarted(self):
        "A dead server is started again and the document still converts"
        odt = make_odt(*VIETNAMESE)
        converter.convert_to_pdf(odt)
        process = converter._server.process
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        self.assertVietnamese(pdf_text(converter.convert_to_pdf(odt)))
        self.assertNotEqual(converter._server.process.pid, process.pid)

    def test_one_server_for_threads(self):
        "Threads printing at once share one server"
        converter.stop_server()
        odt = make_odt(*VIETNAMESE)
        results, errors = [], []

        def convert():
            try:
                results.append(converter.convert_to_pdf(odt))
            except Exception as exception:
                errors.append(exception)
        with patch.object(converter._server, 'start',
                wraps=converter._server.start) as start:
            threads = [threading.Thread(target=convert) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual(start.call_count, 1)
        self.assertFalse(errors)
        self.assertEqual(len(results), 4)

    def test_stop_server(self):
        "Stopping removes the process and its profile"
        converter.convert_to_pdf(make_odt("x"))
        process = converter._server.process
        directory = converter._server.directory
        self.assertTrue(Path(directory, 'profile').exists())
        converter.stop_server()
        self.assertIsNotNone(process.poll())
        self.assertFalse(Path(directory).exists())
        # LibreOffice is gone too (zombies reparented to init aside)
        self.assertEqual(live_processes(process.pid), [])

    def test_profile_dir(self):
        "The profile goes under the configured directory"
        converter.stop_server()
        with tempfile.TemporaryDirectory() as base, \
                configured(profile_dir=base):
            converter.convert_to_pdf(make_odt("x"))
            self.assertEqual(
                Path(converter._server.directory).parent, Path(base))
            converter.stop_server()

    def test_external_server(self):
        "A server someone else runs is used as configured"
        converter.convert_to_pdf(make_odt("x"))
        host, port = converter._server.address()
        with configured(unoserver='%s:%s' % (host, port)), \
                patch.object(converter._server, 'start') as start:
            text = pdf_text(converter.convert_to_pdf(make_odt(*VIETNAMESE)))
            self.assertVietnamese(text)
            start.assert_not_called()
        # Nobody listening: an error, at once
        with configured(unoserver='127.0.0.1:%s' % converter._free_port()):
            start = time.monotonic()
            with self.assertRaises(ConversionError):
                converter.convert_to_pdf(make_odt("x"))
            self.assertLess(time.monotonic() - start, 5)

    def test_soffice(self):
        "One soffice process per document, with its own profile"
        with configured(converter='soffice'):
            text = pdf_text(converter.convert_to_pdf(make_odt(*VIETNAMESE)))
            self.assertVietnamese(text)
            with self.assertRaises(ConversionError):
                converter.convert_to_pdf(b'PK\x03\x04 broken')
            with configured(soffice='/nonexistent/soffice'):
                with self.assertRaises(ConversionError):
                    converter.convert_to_pdf(make_odt("x"))
