# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from lxml import etree

from trytond.model import ModelSQL
from trytond.pool import Pool, isregisteredby
from trytond.tests.test_tryton import with_transaction

__all__ = ['HealthModuleTestMixin', 'load_vietnamese']


def load_vietnamese():
    "As trytond-admin -l vi does (the test database is in English)"
    Lang = Pool().get('ir.lang')
    Lang.load_translations(Lang.search([('code', '=', 'vi')]))


class HealthModuleTestMixin:
    """Conventions every OpenTYT module keeps (mix into its ModuleTestCase):
    each of its health.* models has a default-deny access row, and each one
    with a company field is restricted to the user's companies by a global
    record rule."""
    # Public code lists: readable by everyone, writable by nobody
    health_public_models = set()

    def _health_models(self):
        for name, model in Pool().iterobject():
            if (name.startswith('health.')
                    and issubclass(model, ModelSQL)
                    and not model._is_table_query()
                    and isregisteredby(model, self.module)
                    and not model.__access__):
                yield name, model

    @with_transaction()
    def test_health_default_deny_access(self):
        "Each health model has a default access row that denies"
        Access = Pool().get('ir.model.access')
        for name, _ in self._health_models():
            with self.subTest(model=name):
                default, = Access.search([
                        ('model', '=', name),
                        ('group', '=', None),
                        ])
                self.assertFalse(
                    default.perm_write or default.perm_create
                    or default.perm_delete, name)
                self.assertEqual(
                    default.perm_read, name in self.health_public_models)
                self.assertTrue(
                    Access.search([
                            ('model', '=', name),
                            ('group', '!=', None),
                            ]) or name in self.health_public_models,
                    f"{name} grants no group")

    @with_transaction()
    def test_health_company_record_rule(self):
        "Each health model with a company keeps users to their companies"
        RuleGroup = Pool().get('ir.rule.group')
        for name, model in self._health_models():
            if 'company' not in model._fields:
                continue
            with self.subTest(model=name):
                rule_groups = RuleGroup.search([
                        ('model', '=', name),
                        ('global_p', '=', True),
                        ])
                domains = [r.domain for g in rule_groups for r in g.rules]
                self.assertTrue(
                    any('companies' in d for d in domains),
                    f"{name} has no global company rule")

    @with_transaction()
    def test_health_every_string_in_vietnamese(self):
        "Every label, help, selection, menu and message has Vietnamese"
        Translation = Pool().get('ir.translation')
        load_vietnamese()

        def keys(lang):
            return {(t.type, t.name, t.res_id, t.src)
                for t in Translation.search([
                        ('lang', '=', lang),
                        ('module', '=', self.module),
                        ])
                if lang == 'en' or t.value}
        self.assertFalse(keys('en') - keys('vi'))

    @with_transaction()
    def test_health_list_views_without_datetime_columns(self):
        "sao 8.0 cannot draw date-time columns: lists show date and time"
        pool = Pool()
        View = pool.get('ir.ui.view')
        for view in View.search([('module', '=', self.module)]):
            type_ = view.inherit.type if view.inherit else view.type
            if type_ != 'tree' or not view.model:
                continue
            Model = pool.get(view.model)
            tree = etree.fromstring(view.arch)
            for element in tree.iter('field'):
                field = Model._fields.get(element.get('name'))
                if field is None or field._type not in {
                        'datetime', 'timestamp'}:
                    continue
                with self.subTest(view=view.rec_name,
                        field=element.get('name')):
                    self.assertIn(element.get('widget'), {'date', 'time'})
