# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.modules.health_emr.tests import HealthModuleTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class HealthVnFormsTestCase(HealthModuleTestMixin, ModuleTestCase):
    "Test health_vn_forms module"
    module = 'health_vn_forms'


del ModuleTestCase
