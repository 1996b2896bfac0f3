#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark of PAdES signing alone (issue 4), excluding PDF rendering.

Builds the test PKI of health_sign (root, intermediate, signer, TSA on
127.0.0.1), opens each key once (as a batch does: one passphrase or PIN
entry) and signs N small PDFs with each, with the visible Vietnamese
stamp.  Reports per signature the mean and p95 wall time and the mean
CPU time of the process in ms (on a loaded machine the CPU time is the
cost of signing itself), and checks the
first and last signed PDF with the verifier.  Targets: 10 ms per
signature with a soft RSA-2048 key, 20 ms on the PKCS#11 token.

    ./scripts/bench_sign [--documents N] [--tsa] [--no-pkcs11] [--invisible]
"""
import argparse
import logging
import statistics
import sys
import time

from bench_emr import percentile

TARGETS = {'pkcs12': 10.0, 'pkcs11': 20.0}
PASSPHRASE = 'bench'
PIN = '123456'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--documents', type=int, default=100,
        help="documents signed with each key (default 100)")
    parser.add_argument('--tsa', action='store_true',
        help="PAdES B-T: a timestamp from the local test TSA each time")
    parser.add_argument('--no-pkcs11', action='store_true',
        help="skip the SoftHSM2 token")
    parser.add_argument('--invisible', action='store_true',
        help="no visible stamp")
    return parser.parse_args()


def run(name, key, documents, args, pki, crypto):
    lines = [] if args.invisible else crypto.stamp_lines(
        'Nguyễn Văn An', 'Bác sĩ')
    tsa_url = pki.tsa_url if args.tsa else None
    # warm up (font, first session use) outside the measure
    crypto.sign_pdf(documents[0], key, 'Signature1', lines, tsa_url=tsa_url)
    durations, signed = [], []
    cpu_start = time.process_time()
    for document in documents:
        start = time.perf_counter()
        signed.append(crypto.sign_pdf(
                document, key, 'Signature1', lines, tsa_url=tsa_url))
        durations.append((time.perf_counter() - start) * 1000)
    # CPU time of this process (the local TSA runs in a thread of it):
    # meaningful when other work shares the machine
    cpu = (time.process_time() - cpu_start) * 1000 / len(documents)
    for pdf in (signed[0], signed[-1]):
        status, = crypto.verify_pdf(pdf, pki.trust_roots)
        assert status.ok, status
    mean = statistics.mean(durations)
    p95 = percentile(durations, 0.95)
    kind = 'pkcs11' if name.startswith('pkcs11') else 'pkcs12'
    target = TARGETS[kind]
    verdict = ''
    if not args.tsa:
        verdict = 'OK' if mean <= target else 'SLOW (target %.0f ms)' % target
    print('%-16s %4d signatures  mean %6.1f ms  p95 %6.1f ms  cpu %5.1f ms'
        '  total %5.2f s  %s' % (name, len(durations), mean, p95, cpu,
            sum(durations) / 1000, verdict))
    return mean


def main():
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    from trytond.modules.health_sign import crypto, testpki
    pki = testpki.TestPKI()
    documents = [testpki.make_pdf(['Don thuoc so %s' % i])
        for i in range(args.documents)]
    mode = 'B-T (local TSA)' if args.tsa else 'B-B'
    print('PAdES %s, %s stamp, %d documents per key' % (
            mode, 'no' if args.invisible else 'visible', args.documents))
    results = {}
    signer = pki.issue_signer('Nguyễn Văn An')
    with crypto.load_pkcs12(
            signer.pkcs12(PASSPHRASE), PASSPHRASE) as key:
        results['pkcs12'] = run(
            'pkcs12 RSA-2048', key, documents, args, pki, crypto)
    if not args.no_pkcs11:
        if not testpki.SoftHSM.available():
            print('SoftHSM2 missing (apt install softhsm2 opensc): '
                'PKCS#11 skipped')
        else:
            ec_signer = pki.issue_signer('Trần Thị Bình', key_type='ec')
            hsm = testpki.SoftHSM()
            try:
                hsm.init_token('Bench', PIN)
                hsm.import_identity(signer, 'Bench', PIN, 'rsa')
                hsm.import_identity(ec_signer, 'Bench', PIN, 'ec')
                hsm.reinitialize()
                for label, name in [
                        ('rsa', 'pkcs11 RSA-2048'),
                        ('ec', 'pkcs11 EC P-256')]:
                    with crypto.open_pkcs11(
                            hsm.module, 'Bench', label, PIN,
                            chain=signer.chain_asn1) as key:
                        results[name] = run(
                            name, key, documents, args, pki, crypto)
            finally:
                hsm.cleanup()
    pki.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
