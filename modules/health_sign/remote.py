# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Remote signing ("ký số từ xa", NĐ 23/2025 Điều 37 k4).

The signer's key stays in the provider's HSM; we send digests, the signer
confirms the transaction on their phone, we fetch the raw signatures.  The
flow follows the Vietnamese services (VNPT SmartCA, Viettel MySign…) and
the Cloud Signature Consortium API, in a small provider-neutral JSON form
(an adapter per provider maps its field names onto it):

Every request carries ``Authorization: Basic base64(client_id:client_secret)``
(the credentials of our system at the provider, from the trytond
configuration, never stored in the database).  Bodies and answers are
JSON, UTF-8.  Every answer has ``code`` (0 = success) and ``message``.

``POST {base}/credentials/info``  ``{"credential_id"}``
    → ``content``: ``{"credential_id", "status": "active",
    "key_algorithm": "RSA", "certificate": b64 DER,
    "chain": [b64 DER, …]}``
``POST {base}/signatures/sign``
    ``{"credential_id", "description", "hash_algorithm": "SHA256",
    "documents": [{"doc_id", "hash": b64 digest, "description"}]}``
    → ``content``: ``{"transaction_id", "status": "pending",
    "expires_in": seconds}``.  One request = one confirmation by the
    signer, however many documents it lists (batch signing).
``GET {base}/signatures/{transaction_id}``
    → ``content``: ``{"transaction_id", "status": "pending" | "confirmed"
    | "refused" | "expired", "signatures": [{"doc_id", "signature": b64
    PKCS#1 v1.5 signature of the digest}]}`` (signatures only when
    confirmed).

Errors: HTTP 4xx/5xx with ``{"code", "message"}``: 1001 wrong client
credentials (401), 1002 unknown credential id (404), 1003 credential
locked (403), 1004 bad request (400), 1005 unknown transaction (404),
1006 transaction expired (410), 1099 provider error (500).

``RemoteSigner`` is a crypto.KeyMaterial: crypto.sign_pdf uses its
pyHanko signer, xmldsig.sign_xml its ``sign_raw``.
"""
import asyncio
import base64
import contextlib
import contextvars
import hashlib
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from trytond.i18n import gettext

from .crypto import KeyMaterial
from .exceptions import (
    RemoteSigningAuthError, RemoteSigningError, RemoteSigningExpiredError,
    RemoteSigningRefusedError, RemoteSigningUnavailableError)

__all__ = ['RemoteSigner', 'remote_signer', 'sign_concurrently', 'ERRORS']

# Error codes of the API (see the module docstring)
ERRORS = {
    1001: 'unauthorized',
    1002: 'unknown_credential',
    1003: 'credential_locked',
    1004: 'bad_request',
    1005: 'unknown_transaction',
    1006: 'transaction_expired',
    1099: 'provider_error',
    }
DIGESTS = {'sha256': hashlib.sha256}

_FALLBACK = {
    'msg_remote_unavailable': (
        "Không kết nối được dịch vụ ký số từ xa (%(url)s): %(error)s"),
    'msg_remote_unauthorized': (
        "Dịch vụ ký số từ xa từ chối tài khoản tích hợp của trạm "
        "(sai mã hoặc mật khẩu ứng dụng)."),
    'msg_remote_unknown_credential': (
        "Dịch vụ ký số từ xa không biết chứng thư \"%(credential)s\" "
        "(mã chứng thư sai hoặc đã bị xóa)."),
    'msg_remote_credential_locked': (
        "Chứng thư \"%(credential)s\" trên dịch vụ ký số từ xa đang bị "
        "khóa hoặc tạm dừng."),
    'msg_remote_refused': (
        "Người ký đã từ chối giao dịch ký số \"%(description)s\" trên "
        "ứng dụng ký số từ xa."),
    'msg_remote_expired': (
        "Giao dịch ký số \"%(description)s\" đã hết hạn mà người ký chưa "
        "xác nhận trên ứng dụng."),
    'msg_remote_failed': (
        "Dịch vụ ký số từ xa báo lỗi: %(error)s"),
    }


def _message(msg_id, **variables):
    text = gettext('health_sign.' + msg_id, **variables)
    if text == 'health_sign.' + msg_id:
        text = _FALLBACK[msg_id] % variables
    return text


def _b64(data):
    return base64.b64encode(data).decode('ascii')


class RemoteSigner(KeyMaterial):
    """Key material of a remote signing service.

    ``base_url``: API root (health.sign.configuration remote_url);
    ``credential_id``: the signer's credential at the provider
    (certificate record); ``client_id`` / ``client_secret``: our system's
    account at the provider (trytond configuration).
    ``wait``: seconds to wait for the signer's confirmation;
    ``poll_interval``: seconds between status requests.
    ``description``: text shown to the signer on their phone (can be
    changed before each signature with ``with signer.describe(text)``).
    """

    def __init__(self, base_url, credential_id, client_id=None,
            client_secret=None, timeout=15, wait=180, poll_interval=1.0,
            description=None, certificate=None, chain=None):
        self.base_url = base_url.rstrip('/')
        self.credential_id = credential_id
        self._authorization = None
        if client_id is not None:
            token = f'{client_id}:{client_secret or ""}'.encode('utf-8')
            self._authorization = 'Basic ' + _b64(token)
        self.timeout = timeout
        self.wait = wait
        self.poll_interval = poll_interval
        self.description = description or 'OpenTYT'
        self._signer = None
        self._collector = None
        self._lock = threading.Lock()
        if certificate is None:
            certificate, chain = self.fetch_certificate()
        self.certificate = _asn1(certificate)
        self.chain = [_asn1(c) for c in (chain or [])]

    # -------------------------------------------------------------- HTTP
    def _request(self, method, path, body=None):
        url = self.base_url + path
        data = None
        headers = {'Accept': 'application/json'}
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            headers['Content-Type'] = 'application/json; charset=utf-8'
        if self._authorization:
            headers['Authorization'] = self._authorization
        request = urllib.request.Request(
            url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(
                    request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as error:
            answer = error.read()
            try:
                answer = json.loads(answer.decode('utf-8'))
            except ValueError:
                raise RemoteSigningError(_message(
                        'msg_remote_failed',
                        error=f'HTTP {error.code}')) from error
            self._raise(answer, status=error.code)
        except (urllib.error.URLError, socket.timeout, OSError) as error:
            reason = getattr(error, 'reason', error)
            raise RemoteSigningUnavailableError(_message(
                    'msg_remote_unavailable', url=self.base_url,
                    error=str(reason))) from error
        try:
            answer = json.loads(answer.decode('utf-8'))
        except ValueError as error:
            raise RemoteSigningError(_message(
                    'msg_remote_failed', error=str(error))) from error
        if answer.get('code') != 0:
            self._raise(answer)
        return answer.get('content') or {}

    def _raise(self, answer, status=None):
        code = answer.get('code')
        error = ERRORS.get(code)
        if error == 'unauthorized' or status == 401:
            raise RemoteSigningAuthError(_message('msg_remote_unauthorized'))
        if error == 'unknown_credential':
            raise RemoteSigningAuthError(_message(
                    'msg_remote_unknown_credential',
                    credential=self.credential_id))
        if error == 'credential_locked':
            raise RemoteSigningAuthError(_message(
                    'msg_remote_credential_locked',
                    credential=self.credential_id))
        if error == 'transaction_expired':
            raise RemoteSigningExpiredError(_message(
                    'msg_remote_expired', description=self.description))
        raise RemoteSigningError(_message(
                'msg_remote_failed',
                error=f"{code}: {answer.get('message', '')}"))

    # ------------------------------------------------------------ API
    def fetch_certificate(self):
        "(certificate DER, [chain DER…]) of the credential"
        content = self._request(
            'POST', '/credentials/info',
            {'credential_id': self.credential_id})
        try:
            certificate = base64.b64decode(content['certificate'])
            chain = [base64.b64decode(c) for c in content.get('chain', [])]
        except (KeyError, TypeError, ValueError) as error:
            raise RemoteSigningError(_message(
                    'msg_remote_failed', error=repr(error))) from error
        return certificate, chain

    def request_signatures(self, digests, description=None,
            descriptions=None):
        """Start one transaction for ``digests`` (SHA-256 digests, bytes);
        returns the transaction id."""
        description = description or self.description
        documents = [{
                'doc_id': str(i),
                'hash': _b64(digest),
                'description': (descriptions[i] if descriptions
                    else description),
                } for i, digest in enumerate(digests)]
        content = self._request('POST', '/signatures/sign', {
                'credential_id': self.credential_id,
                'description': description,
                'hash_algorithm': 'SHA256',
                'documents': documents,
                })
        return content['transaction_id']

    def transaction_status(self, transaction_id):
        return self._request(
            'GET', '/signatures/'
            + urllib.parse.quote(str(transaction_id), safe=''))

    def wait_signatures(self, transaction_id, count, description=None):
        "Poll until confirmed; return the raw signatures in request order"
        description = description or self.description
        deadline = time.monotonic() + self.wait
        while True:
            content = self.transaction_status(transaction_id)
            status = content.get('status')
            if status == 'confirmed':
                by_id = {s['doc_id']: base64.b64decode(s['signature'])
                    for s in content.get('signatures', [])}
                try:
                    return [by_id[str(i)] for i in range(count)]
                except KeyError as error:
                    raise RemoteSigningError(_message(
                            'msg_remote_failed',
                            error="missing signature %s" % error)) from error
            if status == 'refused':
                raise RemoteSigningRefusedError(_message(
                        'msg_remote_refused', description=description))
            if status == 'expired' or time.monotonic() > deadline:
                raise RemoteSigningExpiredError(_message(
                        'msg_remote_expired', description=description))
            if status != 'pending':
                raise RemoteSigningError(_message(
                        'msg_remote_failed', error=f"status {status!r}"))
            time.sleep(self.poll_interval)

    def sign_digests(self, digests, description=None, descriptions=None):
        """Sign several SHA-256 digests with ONE confirmation by the
        signer; returns the raw signatures (PKCS#1 v1.5)."""
        digests = list(digests)
        if not digests:
            return []
        transaction_id = self.request_signatures(
            digests, description, descriptions)
        return self.wait_signatures(
            transaction_id, len(digests), description)

    # ------------------------------------------------------- KeyMaterial
    def sign_raw(self, data, digest_algorithm='sha256'):
        digest_algorithm = digest_algorithm.lower().replace('-', '')
        if digest_algorithm not in DIGESTS:
            raise RemoteSigningError(_message(
                    'msg_remote_failed',
                    error=f"digest {digest_algorithm} not supported"))
        digest = DIGESTS[digest_algorithm](data).digest()
        collector = self._collector
        if collector is not None:
            return collector.submit(digest)
        signature, = self.sign_digests([digest])
        return signature

    def pyhanko_signer(self):
        if self._signer is None:
            registry = SimpleCertificateStore.from_certs(self.chain)
            self._signer = _PyHankoRemoteSigner(self, registry)
        return self._signer

    @contextlib.contextmanager
    def describe(self, description):
        "Text shown to the signer for the signatures made in the block"
        previous, self.description = self.description, description
        try:
            yield self
        finally:
            self.description = previous

    def close(self):
        self._signer = None


class _PyHankoRemoteSigner(Signer):
    "pyHanko signer whose raw signature comes from the remote service"

    def __init__(self, key_material, registry):
        self._key_material = key_material
        super().__init__(
            signing_cert=key_material.certificate, cert_registry=registry)

    async def async_sign_raw(self, data, digest_algorithm, dry_run=False):
        if dry_run:
            # A placeholder of the right size: it must not reach the
            # service (the signer would be asked to confirm twice)
            public_key = self._key_material.certificate.public_key
            size = public_key.bit_size // 8
            if public_key.algorithm == 'ec':
                size = 2 * size + 8  # DER ECDSA-Sig-Value
            return bytes(size)
        return await asyncio.to_thread(
            self._key_material.sign_raw, data, digest_algorithm)


def remote_signer(base_url, credential_id, certificate=None, chain=None,
        description=None):
    """A RemoteSigner for ``credential_id`` at ``base_url`` with our
    system's client account from the trytond configuration::

        [health_sign]
        remote_client_id = …
        remote_client_secret = …
        remote_wait = 180          # seconds for the signer to confirm
        remote_timeout = 15        # seconds per HTTP request
        remote_poll_interval = 1

    ``certificate``/``chain`` (DER/PEM/asn1crypto) as stored on the
    certificate record spare one request to the service."""
    from trytond import config
    section = 'health_sign'
    return RemoteSigner(
        base_url, credential_id,
        client_id=config.get(section, 'remote_client_id'),
        client_secret=config.get(section, 'remote_client_secret'),
        wait=config.getfloat(section, 'remote_wait', default=180),
        timeout=config.getfloat(section, 'remote_timeout', default=15),
        poll_interval=config.getfloat(
            section, 'remote_poll_interval', default=1),
        description=description, certificate=certificate, chain=chain)


def _asn1(certificate):
    if isinstance(certificate, asn1_x509.Certificate):
        return certificate
    if hasattr(certificate, 'public_bytes'):
        from cryptography.hazmat.primitives.serialization import Encoding
        certificate = certificate.public_bytes(Encoding.DER)
    if isinstance(certificate, str):
        certificate = certificate.encode('ascii')
    if certificate.lstrip().startswith(b'-----BEGIN'):
        from asn1crypto import pem
        _, _, certificate = pem.unarmor(certificate)
    return asn1_x509.Certificate.load(certificate)


_JOB_INDEX = contextvars.ContextVar('remote_sign_job')


class _Collector:
    """Gathers the digests of several concurrent signings into one
    transaction (one confirmation) — see sign_concurrently."""

    def __init__(self, signer, expected, description):
        self.signer = signer
        self.expected = expected
        self.description = description
        self.condition = threading.Condition()
        self.digests = []
        self.submitted = set()  # job indexes that sent a digest
        self.finished = set()   # job indexes that ended without one
        self.results = None
        self.error = None

    def submit(self, digest):
        with self.condition:
            if self.results is not None or self.error is not None:
                # A second signature in one job: its own transaction
                return self.signer.sign_digests([digest], self.description)[0]
            index = len(self.digests)
            self.digests.append(digest)
            self.submitted.add(_JOB_INDEX.get(None))
            self._maybe_flush()
            while self.results is None and self.error is None:
                self.condition.wait()
            if self.error is not None:
                raise self.error
            return self.results[index]

    def job_finished(self, index):
        with self.condition:
            if index not in self.submitted:
                self.finished.add(index)
                self._maybe_flush()

    def _maybe_flush(self):
        if (self.results is None and self.error is None and self.digests
                and len(self.submitted) + len(self.finished)
                >= self.expected):
            try:
                self.results = self.signer.sign_digests(
                    self.digests, self.description)
            except Exception as error:
                self.error = error
            self.condition.notify_all()


def sign_concurrently(signer, jobs, description=None):
    """Run ``jobs`` (callables, each signing one document with ``signer``,
    e.g. ``lambda: crypto.sign_pdf(pdf, signer, …)``) in threads so that
    all their signatures go to the remote service in ONE transaction: the
    signer confirms once for the whole batch.

    Any other key material runs the jobs one after the other.
    Returns a list of (result, exception) per job, in order.  A job
    failing before it signs (bad PDF…) does not hold the others back;
    when the signer refuses, every signing job gets the
    RemoteSigningRefusedError."""
    jobs = list(jobs)
    results = [(None, None)] * len(jobs)
    if not isinstance(signer, RemoteSigner):
        # Local keys need no confirmation: one after the other
        for index, job in enumerate(jobs):
            try:
                results[index] = (job(), None)
            except Exception as error:
                results[index] = (None, error)
        return results
    if not jobs:
        return results
    collector = _Collector(
        signer, len(jobs), description or signer.description)

    def run(index, job):
        # A context variable, not a thread attribute: pyHanko calls
        # sign_raw from a worker thread (asyncio.to_thread copies it)
        _JOB_INDEX.set(index)
        try:
            results[index] = (job(), None)
        except Exception as error:
            results[index] = (None, error)
        finally:
            collector.job_finished(index)

    with signer._lock:
        signer._collector = collector
        try:
            threads = []
            for index, job in enumerate(jobs):
                thread = threading.Thread(
                    target=run, args=(index, job), daemon=True)
                threads.append(thread)
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            signer._collector = None
    return results
