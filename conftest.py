# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Let pytest run each module's proteus scenarios (tests/scenario_*.rst)
exactly as Tryton's unittest loader does (load_doc_tests: same setUp,
tearDown, checker and option flags), one pytest item per scenario."""
import unittest

import pytest


class ScenarioFailure(Exception):
    pass


def pytest_collect_file(file_path, parent):
    if (file_path.suffix == '.rst'
            and file_path.name.startswith('scenario_')
            and file_path.parent.name == 'tests'
            and (file_path.parent.parent / 'tryton.cfg').exists()):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    def runtest(self):
        from trytond.tests.test_tryton import load_doc_tests
        module = self.path.parent.parent.name
        loader = unittest.TestLoader()
        loader.testNamePatterns = [self.path.name]
        suite = load_doc_tests(
            f'trytond.modules.{module}.tests.test_scenario', str(self.path),
            loader, unittest.TestSuite(), None)
        result = unittest.TestResult()
        suite.run(result)
        if not result.testsRun:
            raise ScenarioFailure(f"{self.path.name} did not run")
        problems = result.failures + result.errors
        if problems:
            raise ScenarioFailure('\n'.join(text for _, text in problems))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.path.name}"
