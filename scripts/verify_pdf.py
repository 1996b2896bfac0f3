#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Verify the digital signatures of a PDF without a Tryton server.

    scripts/verify_pdf FILE.pdf [--trust ROOT.pem ...] [--json]
                       [--revocation off|soft|require]

Uses health_sign.crypto.verify_pdf (pyHanko) against the given trust
anchors (PEM bundles or DER files) and prints one block per signature in
Vietnamese, or a JSON document with ``--json``.

Exit code: 0 every signature valid (intact, trusted, document not changed
after it), 1 at least one signature not valid or no signature at all,
2 the file cannot be read (missing, not a PDF, truncated) or a trust
anchor cannot be read.
"""
import argparse
import datetime as dt
import json
import sys
import zoneinfo

VIETNAM = zoneinfo.ZoneInfo('Asia/Ho_Chi_Minh')
EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def _local(value):
    if not value:
        return ''
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(VIETNAM).strftime('%d/%m/%Y %H:%M:%S')


def _verdict(status):
    "Vietnamese summary of one SignatureStatus (no database needed)"
    if status.ok:
        return "Hợp lệ"
    reasons = []
    if not status.intact:
        reasons.append("nội dung đã bị sửa sau khi ký")
    elif not status.valid:
        reasons.append("chữ ký không hợp lệ")
    if getattr(status, 'revoked', False):
        reasons.append("chứng thư số đã bị thu hồi")
    if not status.trusted:
        reasons.append("chứng thư số không thuộc chuỗi tin cậy")
    if status.modified:
        reasons.append("tài liệu bị thay đổi sau khi ký")
    if not reasons:
        reasons.append("không kiểm tra được")
    return "Không hợp lệ: " + "; ".join(reasons)


def _coverage(status):
    return {
        'entire_file': "toàn bộ tệp",
        'entire_revision': "phiên bản tại thời điểm ký (có ký tiếp sau)",
        }.get(status.coverage, "một phần tệp")


def _as_dict(status):
    return {
        'field': status.field,
        'signer': status.signer,
        'signer_subject': status.signer_subject,
        'signer_serial': status.signer_serial,
        'signing_time': (status.signing_time.isoformat()
            if status.signing_time else None),
        'timestamp': (status.timestamp.isoformat()
            if status.timestamp else None),
        'intact': status.intact,
        'valid': status.valid,
        'trusted': status.trusted,
        'revoked': getattr(status, 'revoked', False),
        'modified': status.modified,
        'coverage': status.coverage,
        'ok': status.ok,
        'message': _verdict(status),
        }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='verify_pdf',
        description="Kiểm tra chữ ký số trong tệp PDF "
        "(verify the digital signatures of a PDF)")
    parser.add_argument('file', help="tệp PDF")
    parser.add_argument(
        '--trust', action='append', default=[], metavar='ROOT.pem',
        help="chứng thư gốc tin cậy (PEM hoặc DER), lặp lại được")
    parser.add_argument('--json', action='store_true', help="kết quả JSON")
    parser.add_argument(
        '--revocation', choices=('off', 'soft', 'require'), default='off',
        help="kiểm tra thu hồi (OCSP/CRL), mặc định off")
    args = parser.parse_args(argv)

    from trytond.modules.health_sign import crypto
    from trytond.modules.health_sign.exceptions import SignError

    def unreadable(text, detail=''):
        if args.json:
            print(json.dumps({
                        'file': args.file, 'readable': False,
                        'error': text, 'detail': detail, 'signatures': [],
                        }, ensure_ascii=False, indent=2))
        else:
            print(f"{args.file}: {text}", file=sys.stderr)
        return EXIT_UNREADABLE

    trust_roots = []
    for path in args.trust:
        try:
            with open(path, 'rb') as file:
                trust_roots.extend(crypto.load_certificates(file.read()))
        except (OSError, SignError, ValueError) as exception:
            return unreadable(
                f"Không đọc được chứng thư gốc {path}", str(exception))
    try:
        with open(args.file, 'rb') as file:
            data = file.read()
    except OSError as exception:
        return unreadable("Không mở được tệp", str(exception))
    try:
        statuses = crypto.verify_pdf(
            data, trust_roots, revocation=args.revocation)
    except SignError as exception:
        return unreadable(
            "Tệp không phải PDF hợp lệ hoặc bị cắt cụt, không đọc được",
            str(exception))

    all_ok = bool(statuses) and all(s.ok for s in statuses)
    if args.json:
        print(json.dumps({
                    'file': args.file, 'readable': True,
                    'valid': all_ok,
                    'signatures': [_as_dict(s) for s in statuses],
                    }, ensure_ascii=False, indent=2))
    else:
        print(f"Tệp: {args.file}")
        if not statuses:
            print("Tệp không có chữ ký số nào.")
        for number, status in enumerate(statuses, 1):
            print(f"\nChữ ký {number} (trường {status.field}):")
            print(f"  Người ký: {status.signer or status.signer_subject}")
            if status.signer_serial:
                print(f"  Số hiệu chứng thư: {status.signer_serial}")
            if status.signing_time:
                print(f"  Thời gian ký: {_local(status.signing_time)}")
            if status.timestamp:
                print(f"  Dấu thời gian (TSA): {_local(status.timestamp)}")
            print(f"  Phạm vi: {_coverage(status)}")
            print(f"  Kết quả: {_verdict(status)}")
        print("\nKết luận: " + (
                "tất cả chữ ký hợp lệ." if all_ok
                else "có chữ ký không hợp lệ hoặc không có chữ ký."))
    return EXIT_VALID if all_ok else EXIT_INVALID


if __name__ == '__main__':
    sys.exit(main())
