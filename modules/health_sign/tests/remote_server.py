# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A local remote-signing service ("ký số từ xa") for the tests and the
demo, implementing the API documented in health_sign/remote.py with keys
of the test PKI.

Signer behaviour per credential: ``auto`` (the signer confirms at once,
after ``pending_polls`` status requests), ``manual`` (wait for
``confirm()``/``refuse()`` or ``POST {base}/test/transactions/<id>/confirm``
| ``…/refuse``), ``refuse`` (the signer always refuses).  Not for
production use: keys are in memory, plain HTTP on 127.0.0.1.

    python -m trytond.modules.health_sign.tests.remote_server
starts one with a fresh test PKI and prints its URL and credentials.
"""
import base64
import binascii
import http.server
import json
import threading
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

__all__ = ['RemoteSigningServer']

API_PREFIX = '/api/v1'


class _Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RemoteSigningServer:
    """Serve the remote-signing API on 127.0.0.1 (free port, daemon
    thread).  Use as a context manager or call ``close()``."""

    def __init__(self, client_id='opentyt-test', client_secret='s3cret-test',
            ttl=120, pending_polls=1):
        self.client_id = client_id
        self.client_secret = client_secret
        self.ttl = ttl
        self.pending_polls = pending_polls
        self.credentials = {}
        self.transactions = {}
        self.requests = []      # (method, path) of every request
        self._lock = threading.Lock()
        server = self
        handler = type('Handler', (_Handler,), {'service': server})
        self._httpd = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def base_url(self):
        return f'http://127.0.0.1:{self.port}{API_PREFIX}'

    def add_credential(self, credential_id, identity=None, key=None,
            certificate=None, chain=(), mode='auto', locked=False):
        """Register a signer: a testpki Identity or key + certificate +
        chain (cryptography objects)."""
        if identity is not None:
            key = identity.key
            certificate = identity.certificate
            chain = identity.chain
        self.credentials[credential_id] = {
            'key': key, 'certificate': certificate, 'chain': list(chain),
            'mode': mode, 'locked': locked,
            }
        return credential_id

    # -------------------------------------------- signer on their phone
    def confirm(self, transaction_id):
        self._decide(transaction_id, 'confirmed')

    def refuse(self, transaction_id):
        self._decide(transaction_id, 'refused')

    def expire(self, transaction_id):
        with self._lock:
            self.transactions[transaction_id]['expires_at'] = 0

    def pending(self):
        "Ids of the transactions waiting for the signer"
        with self._lock:
            return [t for t, v in self.transactions.items()
                if v['status'] == 'pending']

    def _decide(self, transaction_id, status):
        with self._lock:
            transaction = self.transactions.get(transaction_id)
            if transaction is None:
                raise _Error(404, 1005, "Unknown transaction")
            self._refresh(transaction)
            if transaction['status'] != 'pending':
                raise _Error(
                    409, 1004, f"Transaction is {transaction['status']}")
            if status == 'confirmed':
                transaction['signatures'] = self._sign(transaction)
            transaction['status'] = status

    # ----------------------------------------------------------- API
    def _sign(self, transaction):
        credential = self.credentials[transaction['credential_id']]
        key = credential['key']
        signatures = []
        for document in transaction['documents']:
            digest = document['digest']
            if isinstance(key, ec.EllipticCurvePrivateKey):
                value = key.sign(
                    digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            else:
                value = key.sign(
                    digest, padding.PKCS1v15(),
                    utils.Prehashed(hashes.SHA256()))
            signatures.append({
                    'doc_id': document['doc_id'],
                    'signature': base64.b64encode(value).decode('ascii'),
                    })
        return signatures

    def _refresh(self, transaction):
        if (transaction['status'] == 'pending'
                and time.time() > transaction['expires_at']):
            transaction['status'] = 'expired'

    def _check_auth(self, header):
        expected = 'Basic ' + base64.b64encode(
            f'{self.client_id}:{self.client_secret}'.encode()).decode()
        if header != expected:
            raise _Error(401, 1001, "Unauthorized client")

    def _credential(self, credential_id):
        credential = self.credentials.get(credential_id)
        if credential is None:
            raise _Error(404, 1002, "Unknown credential")
        if credential['locked']:
            raise _Error(403, 1003, "Credential locked")
        return credential

    def handle(self, method, path, headers, body):
        self.requests.append((method, path))
        if path.startswith(API_PREFIX + '/test/transactions/'):
            # The signer's phone (test only, no client authentication)
            transaction_id, _, action = path[
                len(API_PREFIX + '/test/transactions/'):].partition('/')
            if method != 'POST' or action not in ('confirm', 'refuse'):
                raise _Error(404, 1004, "Not found")
            self._decide(transaction_id,
                'confirmed' if action == 'confirm' else 'refused')
            return {}
        self._check_auth(headers.get('Authorization'))
        if method == 'POST' and path == API_PREFIX + '/credentials/info':
            credential = self._credential(body.get('credential_id'))
            der = credential['certificate'].public_bytes(
                serialization.Encoding.DER)
            return {
                'credential_id': body['credential_id'],
                'status': 'active',
                'key_algorithm': (
                    'EC' if isinstance(
                        credential['key'], ec.EllipticCurvePrivateKey)
                    else 'RSA'),
                'certificate': base64.b64encode(der).decode(),
                'chain': [base64.b64encode(c.public_bytes(
                                serialization.Encoding.DER)).decode()
                    for c in credential['chain']],
                }
        if method == 'POST' and path == API_PREFIX + '/signatures/sign':
            credential_id = body.get('credential_id')
            credential = self._credential(credential_id)
            if body.get('hash_algorithm', 'SHA256').upper() != 'SHA256':
                raise _Error(400, 1004, "Only SHA256 is supported")
            documents = body.get('documents')
            if not documents or not isinstance(documents, list):
                raise _Error(400, 1004, "No document to sign")
            parsed = []
            for document in documents:
                try:
                    digest = base64.b64decode(document['hash'], validate=True)
                except (KeyError, TypeError, binascii.Error):
                    raise _Error(400, 1004, "Bad hash")
                if len(digest) != 32:
                    raise _Error(400, 1004, "Bad SHA256 hash length")
                parsed.append({
                        'doc_id': str(document.get('doc_id', len(parsed))),
                        'digest': digest,
                        'description': document.get('description', ''),
                        })
            transaction_id = uuid.uuid4().hex
            with self._lock:
                self.transactions[transaction_id] = {
                    'credential_id': credential_id,
                    'description': body.get('description', ''),
                    'documents': parsed,
                    'status': 'pending',
                    'polls': 0,
                    'expires_at': time.time() + self.ttl,
                    'signatures': [],
                    }
            if credential['mode'] == 'refuse':
                self.refuse(transaction_id)
            return {
                'transaction_id': transaction_id,
                'status': self.transactions[transaction_id]['status'],
                'expires_in': self.ttl,
                }
        prefix = API_PREFIX + '/signatures/'
        if method == 'GET' and path.startswith(prefix):
            transaction_id = path[len(prefix):]
            with self._lock:
                transaction = self.transactions.get(transaction_id)
                if transaction is None:
                    raise _Error(404, 1005, "Unknown transaction")
                self._refresh(transaction)
                transaction['polls'] += 1
                mode = self.credentials[transaction['credential_id']]['mode']
                auto = (mode == 'auto' and transaction['status'] == 'pending'
                    and transaction['polls'] > self.pending_polls)
            if auto:
                self.confirm(transaction_id)
            with self._lock:
                if transaction['status'] == 'expired':
                    raise _Error(410, 1006, "Transaction expired")
                content = {
                    'transaction_id': transaction_id,
                    'status': transaction['status'],
                    }
                if transaction['status'] == 'confirmed':
                    content['signatures'] = transaction['signatures']
                return content
        raise _Error(404, 1004, "Not found")

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    service = None

    def log_message(self, format, *args):
        pass

    def _answer(self, status, payload):
        data = json.dumps(payload).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method):
        try:
            length = int(self.headers.get('Content-Length') or 0)
            body = {}
            if length:
                try:
                    body = json.loads(self.rfile.read(length).decode('utf-8'))
                except ValueError:
                    raise _Error(400, 1004, "Body is not JSON")
                if not isinstance(body, dict):
                    raise _Error(400, 1004, "Body is not a JSON object")
            content = self.service.handle(
                method, self.path, self.headers, body)
            self._answer(200, {'code': 0, 'message': 'OK', 'content': content})
        except _Error as error:
            self._answer(error.status, {
                    'code': error.code, 'message': error.message})
        except Exception as error:  # pragma: no cover
            self._answer(500, {'code': 1099, 'message': repr(error)})

    def do_GET(self):
        self._dispatch('GET')

    def do_POST(self):
        self._dispatch('POST')


if __name__ == '__main__':  # pragma: no cover
    from trytond.modules.health_sign.testpki import TestPKI
    pki = TestPKI(serve=False)
    with RemoteSigningServer(ttl=600) as server:
        identity = pki.issue_signer('BS. Nguyễn Văn Thử')
        server.add_credential('doctor-1', identity, mode='manual')
        print(f"base URL: {server.base_url}\n"
            f"client: {server.client_id} / {server.client_secret}\n"
            f"credential: doctor-1 (manual: POST "
            f"{server.base_url}/test/transactions/<id>/confirm)")
        with open('remote-sign-root.pem', 'wb') as file:
            file.write(pki.root_pem)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
