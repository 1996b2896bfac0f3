# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Vietnamese for the Tryton modules OpenTYT stands on.

Tryton core and its party/company/currency/country modules ship no
Vietnamese.  We keep their translations in locale/tryton/<lang>/<module>.po
and import them, as if each belonged to its own module, whenever this
module's translations are loaded (trytond-admin -l vi, or the "Load
translations" button of a language)."""
import os
from glob import glob

from trytond.pool import Pool, PoolMeta

CORE_LOCALE_DIR = os.path.join(
    os.path.dirname(__file__), 'locale', 'tryton')


def core_translation_files(lang):
    "{module: path} of the core translations we ship for lang"
    return {
        os.path.splitext(os.path.basename(path))[0]: path
        for path in glob(os.path.join(CORE_LOCALE_DIR, lang, '*.po'))}


class Translation(metaclass=PoolMeta):
    __name__ = 'ir.translation'

    @classmethod
    def translation_import(cls, lang, module, po_path):
        super().translation_import(lang, module, po_path)
        if module != 'health_emr':
            return
        Module = Pool().get('ir.module')
        files = core_translation_files(lang)
        if not files:
            return
        # Only the modules this database has (ir and res always do)
        present = {m.name for m in Module.search([
                    ('name', 'in', list(files)),
                    ('state', 'in', [
                            'activated', 'to upgrade', 'to activate']),
                    ])} | {'ir', 'res'}
        for core_module, path in sorted(files.items()):
            if core_module in present:
                super().translation_import(lang, core_module, path)
