# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Our Vietnamese translation of the sao web client covers every string of
the sao version we pin, and converts to the json sao loads."""
import re
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'scripts'))
import sao_locale  # noqa: E402

VI = ROOT / 'web' / 'locale' / 'vi.po'
POT = ROOT / 'web' / 'node_modules' / 'tryton-sao' / 'locale' / 'messages.pot'
PLACEHOLDER = re.compile(r'%\d+|%[sd]|\{\d*\}')


def test_every_sao_string_translated():
    if not POT.exists():
        pytest.skip('sao is not installed (./scripts/test installs it)')
    translated = {(e.msgctxt, e.msgid) for e in polib.pofile(str(VI))
        if e.translated() and not e.fuzzy}
    missing = [e.msgid for e in polib.pofile(str(POT))
        if (e.msgctxt, e.msgid) not in translated]
    assert not missing, missing


def test_placeholders_kept():
    for entry in polib.pofile(str(VI)):
        translations = [entry.msgstr] if not entry.msgid_plural else list(
            entry.msgstr_plural.values())
        for text in translations:
            assert (sorted(PLACEHOLDER.findall(text))
                == sorted(PLACEHOLDER.findall(entry.msgid))), entry.msgid


def test_json_for_sao():
    data = sao_locale.convert(VI)
    assert data['']['language'] == 'vi'
    assert data['Save'] == [None, 'Lưu']
    # One plural form: kept as a list so gettext.js accepts it for ngettext
    plurals = [v for v in data.values()
        if isinstance(v, list) and v[0] is not None]
    assert plurals and all(isinstance(v[1], list) for v in plurals)
