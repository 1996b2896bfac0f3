# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A small test PKI for the tests, the benchmark and the demo.

Root CA -> intermediate CA -> end-entity certificates (personal signers,
organisation, revoked, expired, without signing key usage), an OCSP
responder and an RFC 3161 timestamp authority served over HTTP on
127.0.0.1 (free port, daemon thread), and a SoftHSM2 helper.

Nothing here is secret: keys are generated at run time and never
committed.  Not for production use.
"""
import datetime as dt
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import uuid

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ['TestPKI', 'Identity', 'SoftHSM', 'SOFTHSM_MODULE', 'make_pdf']

# Every certificate issued in this process, by serial (for OCSP answers)
_ISSUED = {}

UTC = dt.timezone.utc
SOFTHSM_MODULE = next(
    (p for p in (
            '/usr/lib/softhsm/libsofthsm2.so',
            '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
            '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so')
        if os.path.exists(p)), None)


def _to_asn1(certificate):
    return asn1_x509.Certificate.load(
        certificate.public_bytes(serialization.Encoding.DER))


def _new_key(key_type):
    if key_type == 'ec':
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name, organisation=None, email=None):
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, 'VN')]
    if organisation:
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attributes)


class Identity:
    "A key with its certificate and issuing chain"

    def __init__(self, name, key, certificate, chain):
        self.name = name
        self.key = key                  # cryptography private key
        self.certificate = certificate  # cryptography certificate
        self.chain = chain              # [intermediate, root] (cryptography)

    @property
    def cert_asn1(self):
        return _to_asn1(self.certificate)

    @property
    def chain_asn1(self):
        return [_to_asn1(c) for c in self.chain]

    @property
    def cert_der(self):
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def cert_pem(self):
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def chain_pem(self):
        return b''.join(
            c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    @property
    def key_pkcs8_der(self):
        return self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())

    def pkcs12(self, passphrase):
        "Return a PKCS#12 file protected by passphrase (str)"
        if passphrase:
            encryption = serialization.BestAvailableEncryption(
                passphrase.encode('utf-8'))
        else:
            encryption = serialization.NoEncryption()
        return pkcs12.serialize_key_and_certificates(
            self.name.encode('utf-8'), self.key, self.certificate,
            self.chain, encryption)


class _CA:
    def __init__(self, identity, ocsp_url=None):
        self.identity = identity
        self.ocsp_url = ocsp_url
        self.revoked = {}  # serial -> revocation datetime


class TestPKI:
    """Root + intermediate CA with OCSP responder and TSA.

    ``serve=True`` starts the HTTP services before issuing, so that the
    certificates carry an OCSP URL (AIA).  Without it (the demo), the
    certificates carry no AIA and revocation checking accepts them.
    Use as a context manager or call ``close()``.
    """

    def __init__(self, serve=True, key_type='rsa',
            organisation='Trạm Y tế xã Thử nghiệm'):
        self.key_type = key_type
        self.organisation = organisation
        self.now = dt.datetime.now(UTC).replace(microsecond=0)
        self._server = None
        self.base_url = None
        if serve:
            self._start_server()
        root = self._issue(
            'OpenTYT Test Root CA', None, ca=True,
            not_before=self.now - dt.timedelta(days=3650),
            not_after=self.now + dt.timedelta(days=3650))
        self.root = _CA(root)
        intermediate = self._issue(
            'OpenTYT Test Intermediate CA', self.root, ca=True,
            not_before=self.now - dt.timedelta(days=1000),
            not_after=self.now + dt.timedelta(days=2000))
        self.intermediate = _CA(intermediate)
        if self.base_url:
            self.root.ocsp_url = self.base_url + '/ocsp'
            self.intermediate.ocsp_url = self.base_url + '/ocsp'
        tsa = self._issue(
            'OpenTYT Test TSA', self.intermediate,
            extended_key_usage=[ExtendedKeyUsageOID.TIME_STAMPING],
            key_usage='timestamp')
        self.tsa = tsa
        self._timestamper = None

    # ---------------------------------------------------------- issuing
    def _issue(self, common_name, issuer, ca=False, organisation=None,
            email=None, not_before=None, not_after=None,
            key_usage='sign', extended_key_usage=None, key_type=None):
        key = _new_key(key_type or self.key_type)
        subject = _name(common_name, organisation, email)
        not_before = not_before or self.now - dt.timedelta(days=30)
        not_after = not_after or self.now + dt.timedelta(days=730)
        if issuer is None:
            issuer_name, issuer_key, chain = subject, key, []
        else:
            issuer_identity = issuer.identity
            issuer_name = issuer_identity.certificate.subject
            issuer_key = issuer_identity.key
            chain = [issuer_identity.certificate] + issuer_identity.chain
        builder = (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.BasicConstraints(ca=ca, path_length=None),
                critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                critical=False))
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer_key.public_key()), critical=False)
        usages = dict(
            digital_signature=False, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False)
        if ca:
            usages.update(key_cert_sign=True, crl_sign=True,
                digital_signature=True)
        elif key_usage == 'sign':
            usages.update(digital_signature=True, content_commitment=True)
        elif key_usage == 'timestamp':
            usages.update(digital_signature=True)
        elif key_usage == 'encipher':
            usages.update(key_encipherment=True)
        builder = builder.add_extension(
            x509.KeyUsage(**usages), critical=True)
        if extended_key_usage:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(extended_key_usage), critical=True)
        if issuer is not None and issuer.ocsp_url:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess([
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(
                                issuer.ocsp_url))]),
                critical=False)
        certificate = builder.sign(issuer_key, hashes.SHA256())
        _ISSUED[certificate.serial_number] = certificate
        return Identity(common_name, key, certificate, chain)

    def issue_signer(self, name, email=None, organisation=None,
            revoked=False, expired=False, not_yet_valid=False,
            key_usage='sign', key_type=None, issuer=None):
        """Issue an end-entity signing certificate (personal by default,
        organisation when ``organisation`` is given and ``name`` is the
        organisation name).  ``key_usage``: 'sign' (digitalSignature +
        nonRepudiation) or 'encipher' (keyEncipherment only)."""
        not_before = not_after = None
        if expired:
            not_before = self.now - dt.timedelta(days=400)
            not_after = self.now - dt.timedelta(days=30)
        elif not_yet_valid:
            not_before = self.now + dt.timedelta(days=30)
            not_after = self.now + dt.timedelta(days=400)
        identity = self._issue(
            name, issuer or self.intermediate, organisation=organisation,
            email=email, not_before=not_before, not_after=not_after,
            key_usage=key_usage, key_type=key_type)
        if revoked:
            self.revoke(identity)
        return identity

    def issue_organisation(self, name=None):
        "Issue the organisation certificate of the station"
        name = name or self.organisation
        return self.issue_signer(name, organisation=name)

    def revoke(self, identity, at=None):
        ca = self.intermediate
        root_subject = self.root.identity.certificate.subject
        if identity.certificate.issuer == root_subject:
            ca = self.root
        ca.revoked[identity.certificate.serial_number] = (
            at or self.now - dt.timedelta(days=1))

    def other_pki_signer(self, name):
        "A signer issued by a different (untrusted) root"
        other = TestPKI(serve=False, key_type=self.key_type)
        return other.issue_signer(name)

    @property
    def root_asn1(self):
        return _to_asn1(self.root.identity.certificate)

    @property
    def root_pem(self):
        return self.root.identity.certificate.public_bytes(
            serialization.Encoding.PEM)

    @property
    def trust_roots(self):
        return [self.root_asn1]

    @property
    def tsa_url(self):
        return self.base_url + '/tsa' if self.base_url else None

    # ---------------------------------------------------------- services
    def _start_server(self):
        pki = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # headers and body are separate small writes: without this
            # Nagle + delayed ACK add ≈ 40 ms to every answer
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                try:
                    if self.path.startswith('/ocsp'):
                        content_type = 'application/ocsp-response'
                        answer = pki._ocsp_answer(body)
                    elif self.path.startswith('/tsa'):
                        content_type = 'application/timestamp-reply'
                        answer = pki._tsa_answer(body)
                    else:
                        self.send_error(404)
                        return
                except Exception:
                    self.send_error(400)
                    return
                self.send_response(200)
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.base_url = 'http://127.0.0.1:%s' % port
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _ocsp_answer(self, body):
        request = ocsp.load_der_ocsp_request(body)
        for ca in (self.intermediate, self.root):
            ca_cert = ca.identity.certificate
            key_hash = x509.SubjectKeyIdentifier.from_public_key(
                ca_cert.public_key()).digest
            if request.issuer_key_hash == key_hash:
                break
        else:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
                serialization.Encoding.DER)
        serial = request.serial_number
        certificate = _ISSUED[serial]
        now = dt.datetime.now(UTC)
        builder = ocsp.OCSPResponseBuilder()
        if serial in ca.revoked:
            status = ocsp.OCSPCertStatus.REVOKED
            revocation_time = ca.revoked[serial]
            reason = x509.ReasonFlags.key_compromise
        else:
            status = ocsp.OCSPCertStatus.GOOD
            revocation_time = reason = None
        builder = builder.add_response(
            cert=certificate, issuer=ca_cert, algorithm=hashes.SHA1(),
            cert_status=status, this_update=now - dt.timedelta(minutes=5),
            next_update=now + dt.timedelta(hours=1),
            revocation_time=revocation_time, revocation_reason=reason)
        builder = builder.responder_id(
            ocsp.OCSPResponderEncoding.HASH, ca_cert)
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, False)
        response = builder.sign(ca.identity.key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

    def _tsa_answer(self, body):
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
        if self._timestamper is None:
            tsa = self.tsa
            self._timestamper = DummyTimeStamper(
                tsa_cert=tsa.cert_asn1,
                tsa_key=asn1_keys.PrivateKeyInfo.load(tsa.key_pkcs8_der),
                certs_to_embed=tsa.chain_asn1)
        request = tsp.TimeStampReq.load(body)
        return self._timestamper.request_tsa_response(request).dump()

    def close(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SoftHSM:
    """A SoftHSM2 token store in a temporary directory.

    SoftHSM reads SOFTHSM2_CONF when the PKCS#11 library is initialised,
    so the environment variable is set for the whole process by
    ``activate()``; create all tokens before the first use of the module
    (or call ``reinitialize()``).
    """

    def __init__(self, directory=None):
        if not SOFTHSM_MODULE or not shutil.which('softhsm2-util'):
            raise RuntimeError('softhsm2 is not installed')
        self.module = SOFTHSM_MODULE
        self._own_directory = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix='softhsm-')
        tokens = os.path.join(self.directory, 'tokens')
        os.makedirs(tokens, exist_ok=True)
        self.conf = os.path.join(self.directory, 'softhsm2.conf')
        with open(self.conf, 'w') as file:
            file.write(
                'directories.tokendir = %s\n'
                'objectstore.backend = file\n'
                'log.level = ERROR\n' % tokens)

    @classmethod
    def available(cls):
        return bool(SOFTHSM_MODULE and shutil.which('softhsm2-util')
            and shutil.which('pkcs11-tool'))

    def _env(self):
        env = dict(os.environ)
        env['SOFTHSM2_CONF'] = self.conf
        return env

    def activate(self):
        "Point this process's SoftHSM library at this store"
        os.environ['SOFTHSM2_CONF'] = self.conf

    def reinitialize(self):
        "Make an already loaded library see tokens created afterwards"
        import pkcs11
        self.activate()
        library = pkcs11.lib(self.module)
        library.reinitialize()

    def init_token(self, label, pin, so_pin='12345678'):
        subprocess.run(
            ['softhsm2-util', '--init-token', '--free', '--label', label,
                '--pin', pin, '--so-pin', so_pin],
            env=self._env(), check=True, capture_output=True)

    def import_identity(self, identity, token_label, pin, key_label=None):
        """Import the key and certificate of ``identity`` in the token
        with label ``key_label`` (default identity name) and a random
        CKA_ID."""
        key_label = key_label or identity.name
        object_id = uuid.uuid4().hex[:16]
        with tempfile.TemporaryDirectory() as tmp:
            key_file = os.path.join(tmp, 'key.pem')
            cert_file = os.path.join(tmp, 'cert.der')
            with open(key_file, 'wb') as file:
                file.write(identity.key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()))
            with open(cert_file, 'wb') as file:
                file.write(identity.cert_der)
            subprocess.run(
                ['softhsm2-util', '--import', key_file,
                    '--token', token_label, '--label', key_label,
                    '--id', object_id, '--pin', pin],
                env=self._env(), check=True, capture_output=True)
            subprocess.run(
                ['pkcs11-tool', '--module', self.module,
                    '--token-label', token_label, '--login', '--pin', pin,
                    '--write-object', cert_file, '--type', 'cert',
                    '--label', key_label, '--id', object_id],
                env=self._env(), check=True, capture_output=True)
        return key_label

    def cleanup(self):
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def make_pdf(lines=('OpenTYT test document',), pages=1):
    """A small valid PDF (A4, Helvetica, ASCII text) written by hand, for
    tests and benchmarks that need no LibreOffice"""
    objects = []
    page_ids = []
    font_id = 3
    objects.append(b'<< /Type /Catalog /Pages 2 0 R >>')
    objects.append(None)  # pages, filled below
    objects.append(
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>')
    for number in range(pages):
        text = [b'BT /F1 14 Tf 72 770 Td 18 TL']
        for line in list(lines) + ['Page %s' % (number + 1)]:
            escaped = line.encode('latin-1', 'replace').replace(
                b'\\', b'\\\\').replace(b'(', b'\\(').replace(b')', b'\\)')
            text.append(b'(' + escaped + b') Tj T*')
        text.append(b'ET')
        stream = b'\n'.join(text)
        objects.append(b'<< /Length %d >>\nstream\n' % len(stream)
            + stream + b'\nendstream')
        content_id = len(objects)
        objects.append(
            b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] '
            b'/Resources << /Font << /F1 %d 0 R >> >> '
            b'/Contents %d 0 R >>' % (font_id, content_id))
        page_ids.append(len(objects))
    objects[1] = (b'<< /Type /Pages /Kids [%s] /Count %d >>' % (
            b' '.join(b'%d 0 R' % i for i in page_ids), len(page_ids)))
    output = bytearray(b'%PDF-1.7\n%\xe2\xe3\xcf\xd3\n')
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(output))
        output += b'%d 0 obj\n' % number + body + b'\nendobj\n'
    xref = len(output)
    output += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objects) + 1)
    for offset in offsets:
        output += b'%010d 00000 n \n' % offset
    output += (b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n'
        % (len(objects) + 1, xref))
    return bytes(output)
