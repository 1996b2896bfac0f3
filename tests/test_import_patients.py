# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""scripts/import_patients.py run as a station runs it: on a throw-away
SQLite database made with trytond-admin, on CSV and XLSX files, directly
(--database) and through a running server (--url).

Every person and number here is synthetic."""
import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CONFIG = ROOT / 'config' / 'opentyt.conf'
SCRIPT = ROOT / 'scripts' / 'import_patients.py'
DB = 'import_test'
PASSWORD = 'import-test-pw'
HEADER = ["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Số điện thoại",
    "Mã thẻ BHYT", "Hạn thẻ từ", "Hạn thẻ đến", "Nơi ĐKKCB ban đầu",
    "Mã xã", "Xã", "Thôn/xóm", "Dân tộc", "Người giám hộ"]

# Patients the station already has (made by SETUP below)
SETUP = textwrap.dedent('''
    import datetime as dt
    import sys
    from decimal import Decimal

    from proteus import Model, config

    config = config.set_trytond(sys.argv[1], config_file=sys.argv[2])
    Currency = Model.get('currency.currency')
    Company = Model.get('company.company')
    Party = Model.get('party.party')
    User = Model.get('res.user')
    Commune = Model.get('health.commune')
    Patient = Model.get('health.patient')

    vnd = Currency(name="Đồng Việt Nam", code='VND', symbol='₫',
        rounding=Decimal('1'), digits=0)
    vnd.save()
    party = Party(name="Trạm Y tế Bảo Đài")
    party.save()
    commune, = Commune.find([('code', '=', '07462')])
    company = Company(party=party, currency=vnd, facility_code='24999',
        commune=commune)
    company.save()
    admin, = User.find([('login', '=', 'admin')])
    admin.companies.append(Company(company.id))
    admin.company = company
    admin.save()
    config._context = User.get_preferences(True, {})

    for name, birth, sex, personal_id in [
            ("Vũ Văn Hải", dt.date(1965, 4, 4), 'male', '024065000200'),
            ("Nguyễn Thị Hoa", dt.date(1970, 7, 7), 'female',
                '024170000201'),
            ("Đặng Văn Khoa", dt.date(1958, 1, 1), 'male', None),
            # for test_through_server
            ("Hồ Văn Phúc", dt.date(1960, 6, 6), 'male', '024060000203'),
            ]:
        patient = Patient(name=name, birth_date=birth, sex=sex,
            personal_id=personal_id, commune=commune)
        if not personal_id:
            patient.birth_date_precision = 'year'
        patient.save()
    archived = Patient(name="Lương Văn Tâm", birth_date=dt.date(1972, 2, 2),
        sex='male', personal_id='024072000202', active=False)
    archived.save()
''')

CSV_ROWS = [
    # 2: full date, personal ID, card, commune code
    ["Nguyễn Văn An", "12/03/1985", "Nam", "024 085 000 101", "0912345101",
        "GD4240000000101", "01/01/2026", "31/12/2026", "24999", "07462", "",
        "Thôn Đông", "Kinh", ""],
    # 3: month and year, commune by name without its type
    ["Trần Thị Bình", "05/1990", "Nữ", "024190000102", "", "", "", "", "",
        "", "Bảo Đài", "Thôn Tây", "", ""],
    # 4: year only, card without personal ID, commune name typed folded
    ["Lê Văn Cường", "1950", "Nam", "", "", "HT3240000000103", "", "", "",
        "", "xa bao dai", "", "", ""],
    # 5: a child, card, guardian, no commune
    ["Phạm Thị Dung", "15/06/2021", "Nữ", "", "", "TE1240000000104",
        "01/01/2026", "31/12/2026", "24999", "", "", "", "",
        "Phạm Thị Lan"],
    # 6: personal ID of a woman (digit 4 odd) for a man
    ["Hoàng Văn Em", "1980", "Nam", "024180000105", "", "", "", "", "",
        "07462", "", "", "", ""],
    # 7: personal ID of someone born in 1976
    ["Đỗ Thị Gấm", "02/02/1975", "Nữ", "024176000106", "", "", "", "", "",
        "07462", "", "", "", ""],
    # 8: 11 digits
    ["Bùi Văn Hùng", "1982", "Nam", "02408200010", "", "", "", "", "",
        "07462", "", "", "", ""],
    # 9: benefit level 6 does not exist
    ["Ngô Thị Yến", "1995", "Nữ", "", "", "GD6240000000108", "", "", "",
        "07462", "", "", "", ""],
    # 10: no such commune
    ["Lý Văn Khánh", "1988", "Nam", "", "", "", "", "", "", "99999", "", "",
        "", ""],
    # 11: no 32nd day
    ["Mai Thị Lụa", "32/13/1990", "Nữ", "", "", "", "", "", "", "07462",
        "", "", "", ""],
    # 12: row 2 again, typed without diacritics
    ["Nguyen Van An", "12/03/1985", "Nam", "024085000101", "", "", "", "",
        "", "07462", "", "", "", ""],
    # 13: a patient the station already has (same personal ID)
    ["Vũ Văn Hải", "04/04/1965", "Nam", "024065000200", "0912345113", "",
        "", "", "", "07462", "", "", "", ""],
    # 14: another woman with the name and birth year of a patient
    ["Nguyễn Thị Hoa", "09/09/1970", "Nữ", "024170000114", "", "", "", "",
        "", "07462", "", "", "", ""],
    # 15: a patient the station already has (same name and birth date)
    ["Đặng Văn Khoa", "1958", "Nam", "", "", "", "", "", "", "07462", "", "",
        "", ""],
    # 16: the personal ID of an archived patient
    ["Lương Văn Tâm", "02/02/1972", "Nam", "024072000202", "", "", "", "",
        "", "07462", "", "", "", ""],
    ]
CSV_GOOD = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"]
CSV_REFUSED = {
    6: "không khớp với giới tính",
    7: "không khớp với năm sinh",
    8: "12 chữ số",
    9: "mức hưởng",
    10: 'không tìm thấy xã/phường "99999"',
    11: 'ngày sinh "32/13/1990" không đọc được',
    12: "trùng với dòng 2",
    14: "cùng họ tên và năm sinh",
    16: "đã ngừng hoạt động",
    }
CSV_EXISTING = {13: "Vũ Văn Hải", 15: "Đặng Văn Khoa"}


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _env(folder):
    "SQLite in folder: no database setting of the caller may leak in"
    env = {k: v for k, v in os.environ.items()
        if not k.startswith(('TRYTOND_', 'DB_', 'OPENTYT_'))}
    env.update(TRYTOND_DATABASE__URI='sqlite://',
        TRYTOND_DATABASE__PATH=str(folder), PYTHONUNBUFFERED='1')
    return env


@pytest.fixture(scope='module')
def station(tmp_path_factory):
    "A database with health_emr, the facility and its patients: its folder"
    folder = tmp_path_factory.mktemp('import_patients')
    (folder / f'{DB}.sqlite').touch()
    passfile = folder / 'password'
    passfile.write_text(PASSWORD + '\n')
    env = _env(folder)
    created = subprocess.run([VENV_BIN / 'trytond-admin', '-c', CONFIG,
            '-d', DB, '--email', 'admin@example.invalid',
            '-u', 'health_emr', '--activate-dependencies', '-l', 'vi'],
        env=dict(env, TRYTONPASSFILE=str(passfile)), cwd=ROOT,
        capture_output=True, text=True, timeout=600)
    assert created.returncode == 0, created.stderr[-3000:]
    loaded = subprocess.run([sys.executable, '-c', SETUP, DB, CONFIG],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    return folder


def run_import(folder, *args, url=None):
    target = ['--url', url] if url else [
        '--database', DB, '--config', str(CONFIG)]
    env = _env(folder)
    if url:
        env['OPENTYT_PASSWORD'] = PASSWORD
    return subprocess.run([sys.executable, SCRIPT, *target, *map(str, args)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def patients(folder):
    "{name: (birth date, precision, personal ID, phone, commune code)}"
    with sqlite3.connect(folder / f'{DB}.sqlite') as connection:
        rows = connection.execute(
            'SELECT p.name, p.birth_date, p.birth_date_precision, '
            'p.personal_id, p.phone, c.code FROM health_patient AS p '
            'LEFT JOIN health_commune AS c ON c.id = p.commune').fetchall()
    result = {}
    for name, *values in rows:
        result.setdefault(name, []).append(tuple(values))
    return result


def cards(folder):
    with sqlite3.connect(folder / f'{DB}.sqlite') as connection:
        return dict(connection.execute(
                'SELECT c.number, p.name FROM health_insurance_card AS c '
                'JOIN health_patient AS p ON p.id = c.patient').fetchall())


def report(result):
    "{line number: text} of the lines of a report about a row"
    lines = {}
    for line in result.stdout.splitlines():
        if line.startswith('Dòng '):
            number, _, text = line[len('Dòng '):].partition(':')
            lines[int(number)] = text.strip()
    return lines


def write_csv(path, rows, delimiter=','):
    import csv
    with open(path, 'w', encoding='utf-8-sig', newline='') as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_csv_dry_run_import_and_again(station, tmp_path):
    path = write_csv(tmp_path / 'danh-sach.csv', CSV_ROWS, delimiter=';')
    before = patients(station)
    cards_before = cards(station)
    assert "Vũ Văn Hải" in before and "Nguyễn Văn An" not in before

    # Dry run: every refused row with its reason, nothing written
    dry = run_import(station, '--dry-run', path)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    lines = report(dry)
    for number, reason in CSV_REFUSED.items():
        assert reason in lines.get(number, ''), (number, dry.stdout)
    for number in CSV_EXISTING:
        assert lines[number].startswith('đã có'), (number, dry.stdout)
    assert not set(lines) - set(CSV_REFUSED) - set(CSV_EXISTING), dry.stdout
    assert "Chạy thử" in dry.stdout
    assert "sẽ tạo mới: 4," in dry.stdout, dry.stdout
    assert f"từ chối: {len(CSV_REFUSED)}" in dry.stdout, dry.stdout
    assert patients(station) == before

    # Real run: exactly the good rows
    real = run_import(station, path)
    assert real.returncode == 1, real.stdout + real.stderr
    assert report(real) == lines | {
        13: report(real)[13]}, real.stdout  # 13 fills in a phone number
    assert "bổ sung" in report(real)[13]
    after = patients(station)
    assert set(after) - set(before) == set(CSV_GOOD), after
    assert sum(map(len, after.values())) == (
        sum(map(len, before.values())) + len(CSV_GOOD))
    assert after["Nguyễn Văn An"] == [
        ('1985-03-12', 'day', '024085000101', '0912345101', '07462')]
    assert after["Trần Thị Bình"] == [
        ('1990-05-01', 'month', '024190000102', None, '07462')]
    assert after["Lê Văn Cường"] == [('1950-01-01', 'year', None, None,
            '07462')]
    assert after["Phạm Thị Dung"] == [('2021-06-15', 'day', None, None,
            None)]
    assert after["Vũ Văn Hải"] == [
        ('1965-04-04', 'day', '024065000200', '0912345113', '07462')]
    assert len(after["Nguyễn Thị Hoa"]) == 1
    assert cards(station).items() >= {
        'GD4240000000101': "Nguyễn Văn An",
        'HT3240000000103': "Lê Văn Cường",
        'TE1240000000104': "Phạm Thị Dung",
        }.items()
    assert len(cards(station)) == len(cards_before) + 3
    assert "tạo mới: 4," in real.stdout, real.stdout

    # Again: nothing is created twice
    again = run_import(station, path)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "tạo mới: 0," in again.stdout, again.stdout
    assert "bổ sung: 0," in again.stdout, again.stdout
    assert "đã có: 6," in again.stdout, again.stdout
    assert patients(station) == after

    # The other Nguyễn Thị Hoa, once the operator says so
    accepted = run_import(station, '--accept-same-name', path)
    assert accepted.returncode == 1, accepted.stdout + accepted.stderr
    assert "tạo mới: 1," in accepted.stdout, accepted.stdout
    assert 14 not in set(
        n for n, t in report(accepted).items() if 'từ chối' in t)
    hoa = patients(station)["Nguyễn Thị Hoa"]
    assert sorted(p[2] for p in hoa) == ['024170000114', '024170000201']
    final = run_import(station, '--accept-same-name', path)
    assert "tạo mới: 0," in final.stdout, final.stdout


def test_xlsx(station, tmp_path):
    import openpyxl
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    # Cells as spreadsheets keep them: dates, and numbers that lost their
    # leading zero
    sheet.append(["Trịnh Văn Xuân", dt.datetime(1979, 11, 2), "Nam",
            24079000301, 912345301, None, None, None, None, 7462, None,
            "Thôn Nam", "01", None])
    sheet.append(["Quách Thị Yên", 1948, "Nữ", None, None,
            "HT3240000000302", dt.datetime(2026, 1, 1),
            dt.datetime(2026, 12, 31), "24999", None, "Xã Bảo Đài", None,
            None, None])
    sheet.append([None] * len(HEADER))
    sheet.append(["Tạ Văn Zũng", "1990", "Nam", None, None, None, None, None,
            None, None, "Xã Không Có", None, None, None])
    path = tmp_path / 'danh-sach.xlsx'
    workbook.save(path)

    dry = run_import(station, '--dry-run', path)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert report(dry) == {5: report(dry).get(5)}, dry.stdout
    assert 'không tìm thấy xã/phường "Xã Không Có"' in report(dry)[5]
    assert "sẽ tạo mới: 2," in dry.stdout, dry.stdout

    real = run_import(station, path)
    assert real.returncode == 1, real.stdout + real.stderr
    after = patients(station)
    assert after["Trịnh Văn Xuân"] == [
        ('1979-11-02', 'day', '024079000301', '0912345301', '07462')]
    assert after["Quách Thị Yên"] == [
        ('1948-01-01', 'year', None, None, '07462')]
    assert "Tạ Văn Zũng" not in after
    assert cards(station)['HT3240000000302'] == "Quách Thị Yên"


def test_bad_file(station, tmp_path):
    path = tmp_path / 'khong-co-cot.csv'
    path.write_text("Tên đơn vị,Ghi chú\nTrạm,x\n", encoding='utf-8')
    result = run_import(station, '--dry-run', path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Họ và tên" in result.stderr
    missing = run_import(station, '--dry-run', tmp_path / 'khong-co.csv')
    assert missing.returncode == 2, missing.stdout + missing.stderr


@pytest.fixture
def server(station):
    "trytond serving the station's database on a free port: its URL"
    port = _free_port()
    log_path = station / 'server.log'
    env = dict(_env(station), TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}')
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen(
            [VENV_BIN / 'trytond', '-c', CONFIG, '-d', DB], env=env,
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                        f'http://127.0.0.1:{port}/', timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail('trytond did not start:\n'
                    + log_path.read_text(errors='replace')[-3000:])
            time.sleep(0.2)
        yield f'http://admin@127.0.0.1:{port}/{DB}/'
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_through_server(station, server, tmp_path):
    path = write_csv(tmp_path / 'qua-may-chu.csv', [
            ["Kiều Văn Long", "03/03/1993", "Nam", "024093000401", "", "",
                "", "", "", "07462", "", "", "", ""],
            ["Kiều Thị Mơ", "1994", "Nữ", "024094000402", "", "", "", "", "",
                "07462", "", "", "", ""],
            ["Hồ Văn Phúc", "06/06/1960", "Nam", "024060000203", "", "", "",
                "", "", "", "", "", "", ""],
            # another man with the name and birth year of row 4
            ["Hồ Văn Phúc", "05/05/1960", "Nam", "024060000403", "", "", "",
                "", "", "07462", "", "", "", ""],
            ])
    dry = run_import(station, '--dry-run', path, url=server)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    lines = report(dry)
    assert set(lines) == {3, 4, 5}, dry.stdout + dry.stderr
    assert "không khớp với giới tính" in lines[3]
    assert lines[4].startswith('đã có')
    assert "cùng họ tên và năm sinh" in lines[5]
    assert "sẽ tạo mới: 1," in dry.stdout, dry.stdout
    assert "Kiều Văn Long" not in patients(station)

    # The server warns about the same name: the script skips the warning
    real = run_import(station, '--accept-same-name', path, url=server)
    assert real.returncode == 1, real.stdout + real.stderr
    assert "tạo mới: 2," in real.stdout, real.stdout
    assert patients(station)["Kiều Văn Long"] == [
        ('1993-03-03', 'day', '024093000401', None, '07462')]
    assert sorted(p[2] for p in patients(station)["Hồ Văn Phúc"]) == [
        '024060000203', '024060000403']

    wrong = run_import(station, '--dry-run', path,
        url=server.replace('admin@', 'nobody@'))
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "không đăng nhập được" in wrong.stderr
