#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark of batch signing (issue 4): N documents rendered and signed.

Builds a fresh database (SQLite in memory by default) with health_sign and
the synthetic station of scripts/bench_forms.py (patients, done encounters,
issued prescriptions), the test PKI of health_sign, a doctor user with his
staff member and a PKCS#12 certificate (passphrase generated at run time,
never shown), the facility trusting the test root.  LibreOffice is started
and warmed up apart.  Then, as the doctor, the real batch path
signature.sign_documents() signs the N documents with one passphrase
entry: each is rendered to PDF (form, persistent LibreOffice), signed
(PAdES B-B, or B-T with --tsa) and stored.  Reports the total, per
document the mean and p95 of rendering, signing and both, the signed and
failed counts and checks one stored PDF with poppler's pdfsig.
Target: 100 documents in 20 s.

    ./scripts/bench_sign_batch [--documents N]
        [--model prescription|encounter|both] [--tsa]
        [--converter unoserver|soffice] [--postgresql URI]
"""
import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from functools import wraps
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'scripts'))
TARGET_100 = 20.0
MODELS = {
    'prescription': ['health.prescription'],
    'encounter': ['health.encounter'],
    'both': ['health.prescription', 'health.encounter'],
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--documents', type=int, default=100,
        help="documents signed in the batch (default 100)")
    parser.add_argument('--model', choices=sorted(MODELS),
        default='prescription',
        help="issued prescriptions, done encounters or both, alternately "
        "(default prescription)")
    parser.add_argument('--tsa', action='store_true',
        help="PAdES B-T: the facility uses the local test TSA (and the "
        "certificates carry the OCSP URL of the test PKI)")
    parser.add_argument('--converter', choices=['unoserver', 'soffice'],
        help="[health_vn_forms] converter (default: unoserver if possible)")
    parser.add_argument('--postgresql', metavar='URI',
        help="run on PostgreSQL (e.g. postgresql://postgres@127.0.0.1:5432/)"
        " instead of SQLite in memory; uses database "
        "opentyt_bench_sign_batch")
    args = parser.parse_args()
    if args.documents < 1:
        parser.error("--documents must be at least 1")
    return args


class Timer:
    "Durations of the calls of a function, recorded while patched"

    def __init__(self):
        self.durations = []

    def wrap(self, function):
        @wraps(function)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.durations.append(time.perf_counter() - start)
        return timed


def finish_encounters(encounters):
    "The encounters of the station finished through health_emr's workflow"
    from trytond.pool import Pool
    Encounter = Pool().get('health.encounter')
    Encounter.write(list(encounters), {'disposition': 'home_prescription'})
    Encounter.done(list(encounters))
    return Encounter.browse(encounters)


def documents_to_sign(records, args):
    "N documents, alternating between the models asked for"
    queues = [list(records[m]) for m in MODELS[args.model]]
    documents = []
    while len(documents) < args.documents:
        queue = queues[len(documents) % len(queues)]
        documents.append(queue.pop(0))
    return documents


def doctor_user(station):
    "A doctor's account (not the admin) with his staff member"
    from trytond.pool import Pool
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    user, = User.create([{
                'name': station.doctor.party.name,
                'login': 'bacsi.minh',
                'groups': [('add', [ModelData.get_id(
                                'health_emr', 'group_health_doctor')])],
                'companies': [('add', [station.company.id])],
                'company': station.company.id,
                'employees': [('add', [station.doctor.id])],
                'employee': station.doctor.id,
                }])
    return user


def trust_test_pki(company, pki, tsa):
    "The facility trusts the test root; B-T with the test TSA if asked"
    from trytond.pool import Pool
    pool = Pool()
    TrustAnchor = pool.get('health.sign.trust_anchor')
    Configuration = pool.get('health.sign.configuration')
    TrustAnchor.create([{
                'company': company.id, 'name': "OpenTYT Test Root CA",
                'certificate': pki.root_pem,
                }])
    Configuration.create([{
                'company': company.id, 'revocation': 'require',
                'tsa_url': pki.tsa_url if tsa else None,
                }])


def pdfsig_verdict(pdf):
    "The verdict lines of poppler's pdfsig on the PDF"
    if not shutil.which('pdfsig'):
        return False, ["pdfsig not installed"]
    with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
        file.write(pdf)
        file.flush()
        output = subprocess.run(['pdfsig', file.name],
            capture_output=True, text=True).stdout
    lines = [l.strip() for l in output.splitlines()
        if 'Validation:' in l or 'Timestamp' in l]
    return "Signature is Valid." in output, lines


def stats(values):
    from bench_forms import percentile
    return (f"mean {statistics.mean(values):6.3f} s  "
        f"p95 {percentile(values, 0.95):6.3f} s  max {max(values):6.3f} s")


def main():
    args = parse_args()
    from bench_forms import setup_environment
    setup_environment(args, 'opentyt_bench_sign_batch')
    import logging
    logging.basicConfig(level=logging.WARNING)
    from bench_forms import Station

    from trytond.tests.test_tryton import (
        DB_NAME, USER, activate_module, drop_db)
    from trytond.transaction import Transaction

    start = time.monotonic()
    drop_db()
    activate_module('health_sign')
    print(f"database with health_sign: {time.monotonic() - start:.1f} s")

    from trytond.modules.company.tests import set_company
    from trytond.modules.health_sign import crypto
    from trytond.modules.health_sign import signature as signature_module
    from trytond.modules.health_sign import testpki
    from trytond.modules.health_vn_forms import converter
    from trytond.pool import Pool
    print(f"converter: {converter.converter_mode()}; "
        f"{'PAdES B-T (test TSA)' if args.tsa else 'PAdES B-B'}; "
        f"{args.documents} documents ({args.model})")

    per_model = len(MODELS[args.model])
    patients = -(-args.documents // per_model)
    pki = testpki.TestPKI(serve=args.tsa)
    # Only in this process's memory: never printed, stored or logged
    passphrase = secrets.token_urlsafe(18)
    render, sign, document = Timer(), Timer(), Timer()
    try:
        with Transaction().start(DB_NAME, USER, context={}) as transaction:
            pool = Pool()
            Certificate = pool.get('health.sign.certificate')
            station = Station(patients)
            station.build()
            with set_company(station.company), \
                    Transaction().set_context(site=station.site.id):
                start = time.monotonic()
                records = station.records()
                if 'health.encounter' in MODELS[args.model]:
                    records['health.encounter'] = finish_encounters(
                        records['health.encounter'])
                documents = documents_to_sign(records, args)
                print(f"{patients} patients, done encounters, issued "
                    f"prescriptions: {time.monotonic() - start:.1f} s")

                user = doctor_user(station)
                trust_test_pki(station.company, pki, args.tsa)
                identity = pki.issue_signer("Lê Văn Minh")
                certificate = Certificate.create_from_pkcs12(
                    identity.pkcs12(passphrase), passphrase,
                    company=station.company.id, kind='personal',
                    owner=user.id, employee=station.doctor.id,
                    name=identity.name)

                # The first conversion starts LibreOffice: measured apart
                start = time.monotonic()
                converter.convert_to_pdf(
                    (ROOT / 'modules/health_vn_forms/tests/form_test.fodt')
                    .read_bytes(), 'fodt')
                lo_start = time.monotonic() - start
                print(f"LibreOffice start + first conversion: "
                    f"{lo_start:.1f} s (not counted)")

                with ExitStack() as stack:
                    stack.enter_context(Transaction().set_user(user.id))
                    for target, name, timer in [
                            (signature_module, '_render', render),
                            (signature_module, '_sign_one', document),
                            (crypto, 'sign_pdf', sign),
                            ]:
                        stack.enter_context(patch.object(
                                target, name,
                                timer.wrap(getattr(target, name))))
                    documents = [Pool().get(d.__name__)(d.id)
                        for d in documents]
                    load = os.getloadavg()[0]
                    start = time.monotonic()
                    batch = signature_module.sign_documents(
                        documents, 'certificate',
                        Certificate(certificate.id), passphrase)
                    total = time.monotonic() - start

                counts = (batch.total, batch.signed_count, batch.failed_count)
                failures = [(str(l.record), l.message)
                    for l in batch.lines if l.state == 'failed']
                Signature = pool.get('health.sign.signature')
                signatures = Signature.of_records(documents)
                sample = next(
                    (s for d in documents
                        for s in signatures[d.__name__, d.id] if s.pdf),
                    None)
                pdfsig_ok, verdict = (pdfsig_verdict(bytes(sample.pdf))
                    if sample else (False, ["no signed PDF stored"]))
                sample_name = (f'{sample.record.__name__} '
                    f'{sample.record.rec_name}' if sample else '')
                transaction.rollback()
    finally:
        del passphrase
        pki.close()
        converter.stop_server()
        drop_db()

    print()
    count, signed, failed = counts
    print(f"batch: {count} documents, {signed} signed, {failed} failed")
    for record, message in failures[:5]:
        print(f"  failed {record}: {message}")
    if render.durations:
        print(f"render (form + PDF):    {stats(render.durations)}")
    if sign.durations:
        print(f"sign (PAdES):           {stats(sign.durations)}")
    if document.durations:
        print(f"per document (both):    {stats(document.durations)}")
        print(f"first document:         {document.durations[0]:6.3f} s "
            "(first use: template, pyHanko imports, stamp)")
        print(f"storing + batch record: "
            f"{total - sum(document.durations):.2f} s in all")
    print(f"load average at the start of the batch: {load:.2f} "
        f"on {os.cpu_count()} cores (other work shares the machine)")
    print(f"LibreOffice start: {lo_start:.1f} s (apart); total batch: "
        f"{total:.1f} s ({total / count * 100:.1f} s per 100 "
        f"documents)")
    print(f"pdfsig on the stored PDF of {sample_name}:")
    for line in verdict:
        print(f"  {line}")
    all_signed = signed == count == args.documents and not failed
    fast = total / count * 100 <= TARGET_100
    ok = all_signed and fast and pdfsig_ok
    print(f"target 100 documents ≤ {TARGET_100:.0f} s: "
        f"{'met' if fast else 'MISSED'}; all signed: "
        f"{'yes' if all_signed else 'NO'}; pdfsig: "
        f"{'valid' if pdfsig_ok else 'NOT VALID'}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
