# OpenTYT: every folder of modules/ that holds a tryton.cfg is one Tryton
# module, installed as trytond.modules.<name> and announced through the
# trytond.modules entry-point group (the only discovery mechanism we use).
from pathlib import Path

from setuptools import setup

here = Path(__file__).parent
names = sorted(
    p.parent.name for p in (here / 'modules').glob('*/tryton.cfg'))

package_dir, packages = {}, []
for name in names:
    package = f'trytond.modules.{name}'
    package_dir[package] = f'modules/{name}'
    packages.append(package)
    if (here / 'modules' / name / 'tests' / '__init__.py').exists():
        package_dir[f'{package}.tests'] = f'modules/{name}/tests'
        packages.append(f'{package}.tests')

setup(
    package_dir=package_dir,
    packages=packages,
    package_data={
        package: [
            'tryton.cfg', '*.xml', 'view/*.xml', 'locale/*.po',
            'locale/*/*/*.po',
            '*.fodt', '*.odt', 'report/*', 'data/*', 'icons/*.svg',
            'tests/*.rst', 'tests/*.csv']
        for package in packages},
    entry_points={
        'trytond.modules': [
            f'{name} = trytond.modules.{name}' for name in names],
        },
    )
