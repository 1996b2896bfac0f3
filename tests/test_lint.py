# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Lint like upstream Tryton: flake8 and isort (settings in setup.cfg)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ['modules', 'scripts', 'tests', 'conftest.py', 'setup.py']


def python_files():
    files = []
    for name in PATHS:
        path = ROOT / name
        files.extend([path] if path.is_file() else sorted(path.rglob('*.py')))
    return [str(f) for f in files]


def run(*command):
    return subprocess.run(
        [sys.executable, '-m', *command], cwd=ROOT,
        capture_output=True, text=True)


def test_flake8():
    result = run('flake8', *python_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_isort():
    result = run('isort', '--check-only', '--diff', *python_files())
    assert result.returncode == 0, result.stdout + result.stderr
