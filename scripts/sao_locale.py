#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Convert OpenTYT's translations of the sao web client (web/locale/*.po)
into the locale/<lang>.json files that sao loads.

sao ships no Vietnamese.  For the user's language it fetches
``locale/<lang>.json`` (``vi_VN`` falling back to ``vi``) relative to its
index.html and hands it to gettext.js.  The expected format is the "raw"
output of po2json, which sao's own build uses:

    {"": {<PO headers, keys lower-cased>},
     "<msgid>": [null, "<msgstr>"],
     "<msgid>": ["<msgid_plural>", "<msgstr[0]>", "<msgstr[1]>", ...]}

with ``<msgctxt>\\x04<msgid>`` as key for entries with a context.  sao
reduces each value to its translations and turns a single translation
into a plain string, which gettext.js then refuses for ngettext; so a
plural entry with only one form (Vietnamese: ``nplurals=1``) is written
as ``["<msgid_plural>", ["<msgstr[0]>"]]``, exactly as po2json does.

Fuzzy, obsolete and untranslated entries are left out: sao shows the
English text for them.

    sao_locale.py TARGET_DIR [FILE.po ...]

Without FILE.po, converts every web/locale/*.po of the repository.
FILE.po becomes TARGET_DIR/FILE.json, so name it after the Tryton language
code (vi.po -> vi.json); its "Language" header, else that name, is the
language given to gettext.js.

Run by scripts/_setup.sh (ensure_sao) into web/node_modules/tryton-sao/
locale/ with the project's virtualenv (polib comes with trytond).
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / 'web' / 'locale'
CONTEXT_SEPARATOR = '\x04'  # gettext.js' _ctxt_delimiter


def convert(pofile):
    "Return the sao (po2json raw) dictionary of the PO file at pofile."
    po = polib.pofile(str(pofile))
    headers = {k.lower(): v for k, v in po.metadata.items()}
    headers.setdefault('language', Path(pofile).stem)
    data = {'': headers}
    for entry in po:
        if entry.obsolete or entry.fuzzy or not entry.translated():
            continue
        key = entry.msgid
        if entry.msgctxt is not None:
            key = entry.msgctxt + CONTEXT_SEPARATOR + key
        if entry.msgid_plural:
            forms = [entry.msgstr_plural[i]
                for i in sorted(entry.msgstr_plural)]
            if len(forms) == 1:
                data[key] = [entry.msgid_plural, forms]
            else:
                data[key] = [entry.msgid_plural] + forms
        else:
            data[key] = [None, entry.msgstr]
    return data


def write(data, path):
    "Write data as JSON to path, atomically."
    path = Path(path)
    with tempfile.NamedTemporaryFile('w', encoding='utf-8',
            dir=path.parent, prefix=path.name, delete=False) as tmp:
        json.dump(data, tmp, ensure_ascii=False, separators=(',', ':'))
        tmp.write('\n')
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert web/locale/*.po into sao's locale json.")
    parser.add_argument('target', type=Path,
        help="folder to write <lang>.json into (sao's locale/)")
    parser.add_argument('po', nargs='*', type=Path,
        help="PO files (default: web/locale/*.po)")
    args = parser.parse_args(argv)
    pofiles = args.po or sorted(SOURCE.glob('*.po'))
    if not args.target.is_dir():
        parser.error(f'{args.target} is not a folder')
    for pofile in pofiles:
        if not pofile.is_file():
            print(f'{pofile}: no such file', file=sys.stderr)
            return 1
        try:
            data = convert(pofile)
        except (OSError, ValueError) as exception:
            print(f'{pofile}: {exception}', file=sys.stderr)
            return 1
        write(data, args.target / f'{pofile.stem}.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
