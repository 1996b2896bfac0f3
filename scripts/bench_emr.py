#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark of the patient registry on PostgreSQL (issue 3).

Builds (or reuses) the database opentyt_bench: the demo station through
proteus, then N synthetic patients loaded in bulk by SQL (names made from
common Vietnamese names, personal IDs of birth province 002 so that they
never meet the demo's).  Then it serves the database with trytond and
measures, through the JSON-RPC layer the web client uses, as the demo
receptionist:
  - lookup by personal ID (what the search box sends: rec_name ilike),
  - name search typed without diacritics ("nguyen van an"), reading the
    first 100 rows of the list,
  - reception to encounter: the reception wizard run for a returning
    patient from the scan of the CCCD QR code to the encounter created.
Prints p50/p95/max for each and the size of the data."""
import argparse
import base64
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'scripts'))


def names():
    "Weighted name parts as SQL array literals (accented, folded)"
    from demo_clinical import (
        FAMILY_NAMES, FEMALE_GIVEN, FEMALE_MIDDLE, MALE_GIVEN, MALE_MIDDLE)
    family = [f for f, w in FAMILY_NAMES for _ in range(w)]
    return {
        'family': family,
        'male_middle': MALE_MIDDLE, 'female_middle': FEMALE_MIDDLE,
        'male_given': MALE_GIVEN, 'female_given': FEMALE_GIVEN,
        }


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(fraction * (
                        len(values) - 1))))]


def report(label, timings):
    ms = [t * 1000 for t in timings]
    print(f"{label:<44} n={len(ms):<4} p50={statistics.median(ms):7.1f} ms"
        f"  p95={percentile(ms, 0.95):7.1f} ms  max={max(ms):7.1f} ms")
    return percentile(ms, 0.95)


class Database:
    def __init__(self, uri, name):
        import psycopg
        self.psycopg = psycopg
        self.uri = uri.rstrip('/')
        self.name = name

    def admin_connect(self):
        return self.psycopg.connect(self.uri + '/postgres', autocommit=True)

    def connect(self):
        return self.psycopg.connect(f'{self.uri}/{self.name}')

    def exists(self):
        with self.admin_connect() as conn:
            return bool(conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s",
                    (self.name,)).fetchone())

    def create(self):
        with self.admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" '
                'WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}" ENCODING \'UTF8\' '
                'TEMPLATE template0')
        with self.psycopg.connect(f'{self.uri}/{self.name}',
                autocommit=True) as conn:
            conn.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')


def trytond_env(uri):
    env = {k: v for k, v in os.environ.items()
        if not k.startswith(('TRYTOND_', 'DB_'))}
    env['TRYTOND_DATABASE__URI'] = uri.rstrip('/') + '/'
    return env


def build(db, uri, password):
    "A new database with the demo station (its users and 500 patients)"
    db.create()
    venv = ROOT / '.venv' / 'bin'
    with tempfile.NamedTemporaryFile('w') as passfile:
        passfile.write(password + '\n')
        passfile.flush()
        env = trytond_env(uri)
        env['TRYTONPASSFILE'] = passfile.name
        subprocess.run([venv / 'trytond-admin', '-c',
                ROOT / 'config' / 'opentyt.conf', '-d', db.name,
                '--email', 'admin@example.invalid',
                '-u', 'health_emr', '--activate-dependencies', '-l', 'vi'],
            env=env, check=True)
    env = trytond_env(uri)
    env['OPENTYT_DEMO_PASSWORD'] = password
    subprocess.run([venv / 'python', ROOT / 'scripts' / 'demo_data.py',
            '--config', ROOT / 'config' / 'opentyt.conf',
            '--database', db.name], env=env, check=True)


def bulk_load(db, count):
    """Add synthetic patients (with a card for 9 in 10) up to count, in
    batches of 100,000 rows of plain SQL"""
    from trytond.modules.health_emr.model import fold
    parts = names()
    folded = {k: [fold(v) for v in values] for k, values in parts.items()}
    with db.connect() as conn:
        company, = conn.execute(
            "SELECT id FROM company_company ORDER BY id LIMIT 1").fetchone()
        done, = conn.execute("SELECT count(*) FROM health_patient "
            "WHERE code LIKE 'BX%%'").fetchone()
        batch = 100_000
        start = done + 1
        while start <= count:
            end = min(count, start + batch - 1)
            t0 = time.monotonic()
            conn.execute(BULK_SQL, {
                    'start': start, 'end': end, 'company': company,
                    **{k: v for k, v in parts.items()},
                    **{f'{k}_folded': v for k, v in folded.items()},
                    })
            conn.commit()
            print(f"  patients {start:,}–{end:,} loaded in "
                f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
            start = end + 1
        conn.execute("ANALYZE")
        conn.commit()


# One row per i: sex from i, birth date spread over 1930-2025, name parts
# picked by multiplicative hashing of i.  Personal ID: 002 (birth province)
# + century/sex digit + 2 year digits + 6 digits of i (unique).
BULK_SQL = """
WITH gen AS MATERIALIZED (
    SELECT i,
        nextval(pg_get_serial_sequence('party_party', 'id')) AS party_id,
        nextval(pg_get_serial_sequence('health_patient', 'id'))
            AS patient_id,
        (i %% 2 = 0) AS male,
        DATE '1930-01-01' + ((i::bigint * 7919) %% 34000)::int
            AS birth_date,
        1 + (i::bigint * 2654435761)
            %% cardinality(%(family)s::text[]) AS f,
        1 + (i::bigint * 40503) %% 11 AS m,
        1 + (i * 97) %% 30 AS g
    FROM generate_series(%(start)s::int, %(end)s::int) AS i),
named AS MATERIALIZED (
    SELECT gen.*,
        (%(family)s::text[])[f] || ' ' || CASE WHEN male
            THEN (%(male_middle)s::text[])[m] || ' '
                || (%(male_given)s::text[])[g]
            ELSE (%(female_middle)s::text[])[m] || ' '
                || (%(female_given)s::text[])[g] END AS name,
        (%(family_folded)s::text[])[f] || ' ' || CASE WHEN male
            THEN (%(male_middle_folded)s::text[])[m] || ' '
                || (%(male_given_folded)s::text[])[g]
            ELSE (%(female_middle_folded)s::text[])[m] || ' '
                || (%(female_given_folded)s::text[])[g] END AS name_folded,
        '002' || ((extract(year FROM birth_date)::int / 100 - 19) * 2
            + CASE WHEN male THEN 0 ELSE 1 END)::text
            || lpad((extract(year FROM birth_date)::int %% 100)::text,
                2, '0')
            || lpad((i %% 1000000)::text, 6, '0') AS personal_id
    FROM gen),
parties AS (
    INSERT INTO party_party (id, name, code, active, patient,
        create_uid, create_date)
    SELECT party_id, name, 'BX' || lpad(i::text, 7, '0'), true,
        patient_id, 0, now()
    FROM named
    RETURNING id),
patients AS (
    INSERT INTO health_patient (id, company, party, code, name,
        name_folded, birth_date, birth_date_precision, sex, personal_id,
        phone, active, create_uid, create_date)
    SELECT patient_id, %(company)s, party_id,
        'BX' || lpad(i::text, 7, '0'), name, name_folded, birth_date, 'day',
        CASE WHEN male THEN 'male' ELSE 'female' END, personal_id,
        '08' || lpad(i::text, 8, '0'), true, 0, now()
    FROM named
    RETURNING id, code)
INSERT INTO health_insurance_card (patient, number,
    social_insurance_number, valid_from, valid_to, registered_facility,
    create_uid, create_date)
SELECT patients.id, 'GD424' || '7' || lpad(substr(patients.code, 3), 9, '0'),
    '7' || lpad(substr(patients.code, 3), 9, '0'),
    DATE '2026-01-01', DATE '2026-12-31', '24999', 0, now()
FROM patients
WHERE right(patients.code, 1) <> '0'
"""


class Client:
    "Just enough JSON-RPC to talk to trytond as sao does"

    def __init__(self, port, database):
        self.conn = http.client.HTTPConnection('127.0.0.1', port)
        self.database = database
        self.auth = None
        self.context = {}
        self.id = 0

    def call(self, method, *params):
        self.id += 1
        headers = {'Content-Type': 'application/json'}
        if self.auth:
            headers['Authorization'] = self.auth
        self.conn.request('POST', f'/{self.database}/rpc/', json.dumps({
                    'id': self.id, 'method': method,
                    'params': list(params)}), headers)
        answer = json.loads(self.conn.getresponse().read())
        if answer.get('error'):
            raise RuntimeError(answer['error'])
        return answer['result']

    def login(self, login, password):
        user_id, session, *_ = self.call(
            'common.db.login', login, {'password': password}, 'vi')
        self.auth = 'Session ' + base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.context = self.call('model.res.user.get_preferences', True, {})

    def model(self, model, method, *args):
        return self.call(f'model.{model}.{method}', *args, self.context)

    def wizard(self, name, steps):
        """Run a wizard as sao does: steps maps a state name to the values
        typed in it; each time the default button is pressed"""
        session, state, _ = self.call(
            f'wizard.{name}.create', self.context)
        data = {}
        try:
            result = self.call(f'wizard.{name}.execute', session, data,
                state, self.context)
            while 'view' in result:
                view = result['view']
                # as sao: the "field." keys (names of linked records) are
                # for display only
                values = {k: v for k, v in (view.get('defaults') or {}
                        ).items() if not k.endswith('.')}
                values.update(steps.get(view['state'], {}))
                data[view['state']] = values
                button = next(b['state'] for b in view['buttons']
                    if b.get('default'))
                result = self.call(f'wizard.{name}.execute', session, data,
                    button, self.context)
            return result
        finally:
            self.call(f'wizard.{name}.delete', session, self.context)


def serve(uri, database):
    port_socket = socket.socket()
    port_socket.bind(('127.0.0.1', 0))
    port = port_socket.getsockname()[1]
    port_socket.close()
    env = trytond_env(uri)
    env['TRYTOND_WEB__LISTEN'] = f'127.0.0.1:{port}'
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([ROOT / '.venv' / 'bin' / 'trytond', '-c',
            ROOT / 'config' / 'opentyt.conf', '-d', database],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    log.seek(0)
    sys.exit("trytond did not start:\n" + log.read().decode()[-2000:])


def qr_text(row):
    name, birth_date, sex, personal_id = row
    return '|'.join([personal_id, '', name.upper(),
            birth_date.strftime('%d%m%Y'), 'Nam' if sex == 'male' else 'Nữ',
            'Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang',
            '15012026'])


def measure(db, uri, password, samples):
    with db.connect() as conn:
        patients, cards, size = conn.execute(
            "SELECT (SELECT count(*) FROM health_patient), "
            "(SELECT count(*) FROM health_insurance_card), "
            "pg_size_pretty(pg_database_size(current_database()))"
            ).fetchone()
        rows = conn.execute(
            "SELECT name, birth_date, sex, personal_id FROM health_patient "
            "WHERE code LIKE 'BX%%' ORDER BY random() LIMIT %s",
            (samples,)).fetchall()
    print(f"data: {patients:,} patients, {cards:,} insurance cards, "
        f"database {size}")
    process, port = serve(uri, db.name)
    try:
        client = Client(port, db.name)
        client.login('letan', password)
        fields = ['rec_name', 'code', 'name', 'birth_date_text', 'sex',
            'personal_id', 'phone']
        # warm-up: caches, prepared plans, the connection pool
        for row in rows[:5]:
            client.model('health.patient', 'search_read',
                [('rec_name', 'ilike', f'%{row[3]}%')], 0, 100, None,
                fields)
        timings = []
        for row in rows:
            t0 = time.perf_counter()
            found = client.model('health.patient', 'search_read',
                [('rec_name', 'ilike', f'%{row[3]}%')], 0, 100, None,
                fields)
            timings.append(time.perf_counter() - t0)
            assert [f['personal_id'] for f in found] == [row[3]], found
        report("lookup by personal ID", timings)

        from trytond.modules.health_emr.model import fold
        timings, hits = [], []
        for row in rows:
            typed = fold(row[0])
            t0 = time.perf_counter()
            found = client.model('health.patient', 'search_read',
                [('rec_name', 'ilike', f'%{typed}%')], 0, 100,
                [('name', 'ASC'), ('id', 'ASC')], fields)
            timings.append(time.perf_counter() - t0)
            hits.append(len(found))
            assert found and all(typed in fold(f['name']) for f in found)
        report("name search without diacritics (100 rows)", timings)
        print(f"{'':44} rows returned: median {statistics.median(hits):.0f}")

        timings = []
        for row in rows[:max(20, samples // 5)]:
            t0 = time.perf_counter()
            result = client.wizard('health.reception', {
                    'start': {'scan': qr_text(row),
                        'identity_method': 'cccd_qr'},
                    'visit': {'reason': "Ho, sốt"},
                    })
            timings.append(time.perf_counter() - t0)
            assert result.get('actions'), result
        report("reception to encounter (returning patient)", timings)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--postgresql', default=os.environ.get(
            'OPENTYT_BENCH_URI', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default='opentyt_bench')
    parser.add_argument('--patients', type=int, default=1_000_000)
    parser.add_argument('--samples', type=int, default=200)
    parser.add_argument('--reset', action='store_true',
        help="build the database again")
    args = parser.parse_args()
    # The bench users' password never leaves this process
    password = secrets.token_urlsafe(12)
    db = Database(args.postgresql, args.database)
    if args.reset or not db.exists():
        t0 = time.monotonic()
        build(db, args.postgresql, password)
        print(f"demo station built in {time.monotonic() - t0:.0f} s",
            file=sys.stderr)
    else:
        reset_passwords(args.postgresql, args.database, password)
    t0 = time.monotonic()
    bulk_load(db, args.patients)
    print(f"bulk load done in {time.monotonic() - t0:.0f} s",
        file=sys.stderr)
    measure(db, args.postgresql, password, args.samples)


def reset_passwords(uri, database, password):
    "Give the demo users this run's password (the old one is not kept)"
    env = trytond_env(uri)
    env['OPENTYT_BENCH_PASSWORD'] = password
    subprocess.run([ROOT / '.venv' / 'bin' / 'python', '-c', RESET_SCRIPT,
            database, str(ROOT / 'config' / 'opentyt.conf')],
        env=env, check=True)


RESET_SCRIPT = """
import os, sys
from proteus import Model, config
config.set_trytond(sys.argv[1], config_file=sys.argv[2])
User = Model.get('res.user')
users = User.find([('login', 'in', ['letan', 'bacsi', 'admin'])])
for user in users:
    user.password = os.environ['OPENTYT_BENCH_PASSWORD']
User.save(users)
"""


if __name__ == '__main__':
    main()
