# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Cryptography of health_sign: keys, certificate checks, PAdES signing.

Pure functions on bytes and objects; no Tryton model access.  Every error
is an exception of ``exceptions`` with a translated ir.message text.

Certificates are ``asn1crypto.x509.Certificate`` objects everywhere (use
``load_certificate`` / ``load_certificates`` to parse DER or PEM bytes).

Secrets (passphrase, PIN) are only passed to ``load_pkcs12`` /
``open_pkcs11`` and never kept by the returned ``KeyMaterial`` beyond what
the key object itself needs (the decrypted key stays in memory for the
batch; call ``close()`` at the end).
"""
import asyncio
import dataclasses
import datetime as dt
import hashlib
import io
import logging
import threading
import unicodedata
import zlib
from functools import lru_cache

from asn1crypto import pem
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from trytond.i18n import gettext

from .exceptions import (
    CertificateExpiredError, CertificateFormatError, CertificateKeyUsageError,
    CertificateNotYetValidError, CertificateRevokedError,
    CertificateUntrustedError, NotPKCS12Error, PDFError,
    RevocationUnknownError, SignError, SigningError, TimestampError,
    TokenError, WrongSecretError)

logger = logging.getLogger(__name__)

__all__ = [
    'KeyMaterial', 'PKCS12KeyMaterial', 'PKCS11KeyMaterial',
    'load_certificate', 'load_certificates', 'certificate_info',
    'read_pkcs12', 'load_pkcs12', 'open_pkcs11',
    'check_certificate', 'stamp_lines', 'sign_pdf',
    'SignatureStatus', 'verify_pdf', 'sha256_hex',
    ]

REVOCATION_MODES = ('require', 'soft', 'off')
BYTES_RESERVED = 16384
FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'
STAMP_WIDTH, STAMP_HEIGHT, STAMP_MARGIN = 180, 52, 36
SIGNING_USAGES = {'digital_signature', 'non_repudiation'}
UTC = dt.timezone.utc


def _local_timezone():
    from zoneinfo import ZoneInfo
    return ZoneInfo('Asia/Ho_Chi_Minh')


def _utc(value):
    "Aware UTC datetime from a naive UTC or aware datetime"
    if value is None:
        return dt.datetime.now(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _format_date(value):
    return _utc(value).astimezone(_local_timezone()).strftime(
        '%d/%m/%Y %H:%M')


def _subject_name(certificate):
    "Short display name of a certificate (CN, else the whole subject)"
    if certificate is None:
        return ''
    native = certificate.subject.native
    return native.get('common_name') or certificate.subject.human_friendly


# ---------------------------------------------------------------- keys
class KeyMaterial:
    """A private key able to sign, with its certificate and chain.

    Attributes:
      certificate: asn1crypto.x509.Certificate of the signer
      chain: list of intermediate certificates (may include the root)

    Subclasses implement ``pyhanko_signer()`` (a cached
    ``pyhanko.sign.signers.Signer``) and ``sign_raw()``.  The remote signer
    ("ký số từ xa", helper S1b) subclasses this too: its pyhanko signer's
    ``async_sign_raw(data, digest_algorithm, dry_run=False)`` sends the
    digest of the signed attributes to the service and returns the raw
    signature.
    """
    certificate = None
    chain = ()

    def pyhanko_signer(self):
        "Return the (cached) pyhanko Signer for this key"
        raise NotImplementedError

    def sign_raw(self, data, digest_algorithm='sha256'):
        """Return the raw signature of ``data`` (bytes).

        RSA: PKCS#1 v1.5; EC: DER ECDSA-Sig-Value.  Used for XMLDSig
        (SignedInfo) and for tests."""
        signer = self.pyhanko_signer()
        return _run(signer.async_sign_raw(data, digest_algorithm))

    @property
    def key_algorithm(self):
        "'rsa' or 'ec'"
        return self.certificate.public_key.algorithm

    def close(self):
        "Release the key (logout token session, drop key object)"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _run(coroutine):
    "Run a coroutine from synchronous code (Tryton requests are sync)"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from inside an event loop: run in a helper thread
    result = {}

    def target():
        try:
            result['value'] = asyncio.run(coroutine)
        except BaseException as exception:
            result['error'] = exception
    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if 'error' in result:
        raise result['error']
    return result['value']


def _static_attributes_mixin():
    """Signer mixin: the signed attributes that never change for a key
    (signing-certificate-v2, CMS algorithm protection) are built and
    DER-encoded once; asn1crypto otherwise rebuilds and re-encodes the
    issuer name and certificate hash at every signature."""
    from asn1crypto import cms
    from pyhanko.sign.attributes import (
        CMSAlgorithmProtectionProvider, CMSAttributeProvider,
        SigningCertificateV2Provider)

    class CachedAttributeProvider(CMSAttributeProvider):
        def __init__(self, provider, cache, key):
            self.provider = provider
            self.attribute_type = provider.attribute_type
            self.cache = cache
            self.key = key

        async def get_attribute(self, dry_run=False):
            if dry_run:
                return await self.provider.get_attribute(dry_run=True)
            der = self.cache.get(self.key)
            if der is None:
                attribute = await self.provider.get_attribute()
                der = attribute.dump() if attribute is not None else b''
                self.cache[self.key] = der
            return cms.CMSAttribute.load(der) if der else None

    class StaticAttributesMixin:
        def _signed_attr_providers(self, *args, **kwargs):
            cache = self.__dict__.setdefault('_static_attributes', {})
            for provider in super()._signed_attr_providers(*args, **kwargs):
                if isinstance(provider, SigningCertificateV2Provider):
                    key = ('signing_certificate_v2',
                        provider.signing_cert.sha256)
                elif isinstance(provider, CMSAlgorithmProtectionProvider):
                    key = ('cms_algorithm_protection', provider.digest_algo,
                        provider.signature_algo.dump())
                else:
                    yield provider
                    continue
                yield CachedAttributeProvider(provider, cache, key)
    return StaticAttributesMixin


def _cached_key_signer_class():
    from pyhanko.sign.signers import SimpleSigner

    class CachedKeySigner(_static_attributes_mixin(), SimpleSigner):
        """SimpleSigner keeping the parsed key object: stock SimpleSigner
        re-parses the DER key for every signature (≈ 27 ms for RSA-2048
        under OpenSSL 3)."""

        def __init__(self, *args, pyca_key, **kwargs):
            super().__init__(*args, **kwargs)
            self.pyca_key = pyca_key

        def sign_raw(self, data, digest_algorithm):
            from pyhanko_certvalidator.util import get_pyca_cryptography_hash
            mechanism = self.get_signature_mechanism_for_digest(
                digest_algorithm)
            try:
                name = mechanism.signature_algo
            except ValueError:
                name = mechanism['algorithm'].native
            hash_algo = get_pyca_cryptography_hash(digest_algorithm)
            if name == 'rsassa_pkcs1v15' and isinstance(
                    self.pyca_key, rsa.RSAPrivateKey):
                return self.pyca_key.sign(data, padding.PKCS1v15(), hash_algo)
            elif name == 'ecdsa' and isinstance(
                    self.pyca_key, ec.EllipticCurvePrivateKey):
                return self.pyca_key.sign(data, ec.ECDSA(hash_algo))
            return super().sign_raw(data, digest_algorithm)
    return CachedKeySigner


class PKCS12KeyMaterial(KeyMaterial):
    "Key decrypted from an uploaded PKCS#12 file (soft key)"

    def __init__(self, private_key, certificate, chain=()):
        self._private_key = private_key
        self.certificate = certificate
        self.chain = list(chain)
        self._signer = None

    def pyhanko_signer(self):
        if self._private_key is None:
            raise SigningError(gettext('health_sign.msg_key_closed'))
        if self._signer is None:
            from pyhanko.keys.internal import (
                translate_pyca_cryptography_key_to_asn1)
            from pyhanko_certvalidator.registry import SimpleCertificateStore
            store = SimpleCertificateStore()
            store.register_multiple(self.chain)
            self._signer = _cached_key_signer_class()(
                signing_cert=self.certificate,
                signing_key=translate_pyca_cryptography_key_to_asn1(
                    self._private_key),
                cert_registry=store,
                pyca_key=self._private_key)
        return self._signer

    def sign_raw(self, data, digest_algorithm='sha256'):
        return self.pyhanko_signer().sign_raw(data, digest_algorithm)

    @property
    def private_key(self):
        "The cryptography private key object (for XMLDSig)"
        return self._private_key

    def close(self):
        self._private_key = None
        self._signer = None


class PKCS11KeyMaterial(KeyMaterial):
    "Key on a PKCS#11 token / HSM (an open, logged-in session)"

    def __init__(self, session, signer, certificate, chain=()):
        self._session = session
        self._signer = signer
        self.certificate = certificate
        self.chain = list(chain)

    def pyhanko_signer(self):
        if self._signer is None:
            raise SigningError(gettext('health_sign.msg_key_closed'))
        return self._signer

    def sign_raw(self, data, digest_algorithm='sha256'):
        try:
            return super().sign_raw(data, digest_algorithm)
        except Exception as exception:
            _raise_pkcs11(exception)

    def close(self):
        session, self._session, self._signer = self._session, None, None
        if session is not None:
            try:
                session.close()
            except Exception:
                logger.debug('closing PKCS#11 session failed', exc_info=True)


# ----------------------------------------------------------- certificates
def load_certificate(data):
    """Parse one X.509 certificate from DER or PEM bytes (or return an
    asn1crypto certificate unchanged).
    Raises CertificateFormatError."""
    if isinstance(data, asn1_x509.Certificate):
        return data
    certificates = load_certificates(data)
    if not certificates:
        raise CertificateFormatError(
            gettext('health_sign.msg_certificate_format'))
    return certificates[0]


def load_certificates(data):
    """Parse a PEM bundle (or one DER certificate) into a list of
    asn1crypto certificates; ``b''``/None -> [].
    Raises CertificateFormatError."""
    if not data:
        return []
    if isinstance(data, (list, tuple)):
        return [load_certificate(d) for d in data]
    if isinstance(data, str):
        data = data.encode('ascii', 'ignore')
    data = bytes(data)
    try:
        if pem.detect(data):
            result = []
            for type_name, _, der in pem.unarmor(data, multiple=True):
                if type_name in {'CERTIFICATE', 'X509 CERTIFICATE'}:
                    result.append(_parse_der(der))
            return result
        return [_parse_der(data)]
    except CertificateFormatError:
        raise
    except Exception as exception:
        raise CertificateFormatError(
            gettext('health_sign.msg_certificate_format')) from exception


def _parse_der(der):
    try:
        certificate = asn1_x509.Certificate.load(der, strict=True)
        # force parsing of the main parts
        certificate.subject.native
        certificate.public_key.algorithm
        certificate['tbs_certificate']['validity'].native
    except Exception as exception:
        raise CertificateFormatError(
            gettext('health_sign.msg_certificate_format')) from exception
    return certificate


def dump_certificates_pem(certificates):
    "Return the PEM text (str) of a list of certificates"
    return ''.join(
        pem.armor('CERTIFICATE', c.dump()).decode('ascii')
        for c in certificates)


def _key_usage(certificate):
    value = certificate.key_usage_value
    return sorted(value.native) if value is not None else []


def certificate_info(certificate):
    """Return a dict of display fields of a certificate:
    subject (str), subject_cn, subject_o, issuer (str), issuer_cn,
    serial_hex ('3A:F0:…'), not_before, not_after (naive UTC datetimes),
    key_usage (list of asn1crypto names, e.g. ['digital_signature',
    'non_repudiation']), can_sign (bool), fingerprint_sha256 (hex), der,
    key_algorithm ('rsa'|'ec'), is_ca (bool)."""
    certificate = load_certificate(certificate)
    subject = certificate.subject.native
    issuer = certificate.issuer.native
    validity = certificate['tbs_certificate']['validity']
    serial = '%X' % certificate.serial_number
    if len(serial) % 2:
        serial = '0' + serial
    key_usage = _key_usage(certificate)
    der = certificate.dump()
    return {
        'subject': certificate.subject.human_friendly,
        'subject_cn': subject.get('common_name') or '',
        'subject_o': subject.get('organization_name') or '',
        'subject_email': subject.get('email_address') or '',
        'issuer': certificate.issuer.human_friendly,
        'issuer_cn': issuer.get('common_name') or '',
        'serial_hex': ':'.join(
            serial[i:i + 2] for i in range(0, len(serial), 2)),
        'not_before': _utc(validity['not_before'].native).replace(
            tzinfo=None),
        'not_after': _utc(validity['not_after'].native).replace(
            tzinfo=None),
        'key_usage': key_usage,
        'can_sign': (not key_usage) or bool(SIGNING_USAGES & set(key_usage)),
        'fingerprint_sha256': hashlib.sha256(der).hexdigest(),
        'der': der,
        'key_algorithm': certificate.public_key.algorithm,
        'is_ca': bool(certificate.ca),
        }


def _passphrases(passphrase):
    if isinstance(passphrase, str):
        passphrase = passphrase.encode('utf-8')
    if not passphrase:
        return [None, b'']
    return [passphrase]


def _open_pkcs12(data, passphrase):
    data = bytes(data or b'')
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        pfx['auth_safe']['content_type'].native
        pfx['version'].native
    except Exception as exception:
        raise NotPKCS12Error(
            gettext('health_sign.msg_not_pkcs12')) from exception
    error = None
    for candidate in _passphrases(passphrase):
        try:
            key, certificate, others = pkcs12.load_key_and_certificates(
                data, candidate)
            break
        except (ValueError, TypeError) as exception:
            error = exception
    else:
        raise WrongSecretError(
            gettext('health_sign.msg_wrong_passphrase')) from error
    if key is None or certificate is None:
        raise NotPKCS12Error(gettext('health_sign.msg_pkcs12_no_key'))
    der = certificate.public_bytes(serialization.Encoding.DER)
    chain = [asn1_x509.Certificate.load(
            c.public_bytes(serialization.Encoding.DER)) for c in others]
    return key, asn1_x509.Certificate.load(der), chain


def read_pkcs12(data, passphrase):
    """Open a PKCS#12 file at upload time to check the passphrase and
    extract the certificate and chain, without keeping the key.
    Returns (certificate, chain).
    Raises NotPKCS12Error, WrongSecretError."""
    _, certificate, chain = _open_pkcs12(data, passphrase)
    return certificate, chain


def load_pkcs12(data, passphrase, chain=None):
    """Decrypt a PKCS#12 file for signing; returns PKCS12KeyMaterial.
    ``passphrase`` str or bytes (None/'' for an unencrypted file).
    ``chain``: extra certificates to embed (e.g. the chain stored on the
    certificate record) besides those in the file.
    Raises NotPKCS12Error, WrongSecretError."""
    key, certificate, file_chain = _open_pkcs12(data, passphrase)
    return PKCS12KeyMaterial(
        key, certificate, _merge_chain(file_chain, chain))


def _merge_chain(*chains):
    result, seen = [], set()
    for chain in chains:
        for certificate in load_certificates(chain or []):
            digest = certificate.sha256
            if digest not in seen:
                seen.add(digest)
                result.append(certificate)
    return result


def _raise_pkcs11(exception, token=None, key=None):
    import pkcs11.exceptions as p11
    if isinstance(exception, (TokenError, WrongSecretError)):
        raise exception
    if isinstance(exception, (p11.PinIncorrect, p11.PinInvalid,
                p11.PinLenRange)):
        raise WrongSecretError(
            gettext('health_sign.msg_wrong_pin')) from exception
    if isinstance(exception, (p11.PinLocked, p11.PinExpired)):
        raise WrongSecretError(
            gettext('health_sign.msg_pin_locked')) from exception
    if type(exception) is p11.PKCS11Error and token is not None:
        # pyHanko's own "no token found" / "slot index too large"
        raise TokenError(gettext('health_sign.msg_token_not_found',
                token=token)) from exception
    raise TokenError(gettext('health_sign.msg_token_error',
            error=str(exception) or exception.__class__.__name__)
        ) from exception


def _pkcs11_signer_class():
    from pyhanko.sign.pkcs11 import PKCS11Signer

    class DirectPKCS11Signer(_static_attributes_mixin(), PKCS11Signer):
        """Sign in the calling thread: stock PKCS11Signer hands every
        signature to the event loop's default executor, and each
        asyncio.run() creates and joins a new thread pool (≈ 20 ms)."""

        async def async_sign_raw(self, data, digest_algorithm,
                dry_run=False):
            if dry_run:
                return await super().async_sign_raw(
                    data, digest_algorithm, dry_run=True)
            await self.ensure_objects_loaded()
            spec = self._select_pkcs11_signing_params(
                digest_algorithm, sign_kwargs=self.sign_kwargs(data))
            if spec.pre_sign_transform is not None:
                data = spec.pre_sign_transform(data)
            signature = self._key_handle.sign(data, **spec.sign_kwargs)
            if spec.post_sign_transform is not None:
                signature = spec.post_sign_transform(signature)
            return signature
    return DirectPKCS11Signer


def open_pkcs11(module_path, slot_or_token_label, key_label, pin,
        certificate=None, chain=None):
    """Log into a PKCS#11 token and return PKCS11KeyMaterial.

    ``slot_or_token_label``: int slot number (or digits) or str token
    label.  ``key_label``: CKA_LABEL of the private key (the certificate on
    the token with the same label is used unless ``certificate`` (DER/PEM
    bytes or asn1crypto cert) is given).  ``chain``: certificates to embed.
    RSA and EC keys; EC keys are signed with raw CKM_ECDSA
    (use_raw_mechanism).
    Raises TokenError (module/slot/token/key not found), WrongSecretError
    (bad PIN, locked PIN)."""
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pyhanko.sign.pkcs11 import TokenCriteria, open_pkcs11_session

    token_text = str(slot_or_token_label)
    slot_no, criteria = None, None
    if isinstance(slot_or_token_label, int) or (
            isinstance(slot_or_token_label, str)
            and slot_or_token_label.isdigit()):
        slot_no = int(slot_or_token_label)
    elif slot_or_token_label:
        criteria = TokenCriteria(label=slot_or_token_label)
    try:
        library = pkcs11.lib(module_path)
    except Exception as exception:
        raise TokenError(gettext('health_sign.msg_pkcs11_module',
                module=module_path)) from exception
    try:
        library.get_slots()
    except Exception:
        # a forked / finalised library: initialise again
        library.reinitialize()
    try:
        session = open_pkcs11_session(
            module_path, slot_no=slot_no, token_criteria=criteria,
            user_pin=pin if pin is not None else '')
    except Exception as exception:
        _raise_pkcs11(exception, token=token_text)
    try:
        keys_found = list(session.get_objects({
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                    Attribute.LABEL: key_label}))
        if len(keys_found) != 1:
            raise TokenError(gettext('health_sign.msg_token_key_not_found',
                    key=key_label, token=token_text))
        is_ec = keys_found[0][Attribute.KEY_TYPE] == KeyType.EC
        if certificate is not None:
            certificate = load_certificate(certificate)
        else:
            objects = list(session.get_objects({
                        Attribute.CLASS: ObjectClass.CERTIFICATE,
                        Attribute.LABEL: key_label}))
            if not objects:
                raise TokenError(gettext(
                        'health_sign.msg_token_key_not_found',
                        key=key_label, token=token_text))
            certificate = asn1_x509.Certificate.load(
                objects[0][Attribute.VALUE])
        chain = _merge_chain(chain)
        signer = _pkcs11_signer_class()(
            session, key_label=key_label, signing_cert=certificate,
            ca_chain=chain, other_certs_to_pull=(),
            use_raw_mechanism=is_ec)
        # load the key handle now (not at the first signature)
        _run(signer.ensure_objects_loaded())
    except Exception as exception:
        try:
            session.close()
        except Exception:
            pass
        _raise_pkcs11(exception)
    return PKCS11KeyMaterial(session, signer, certificate, chain)


def check_certificate(certificate, chain, trust_roots, at=None,
        revocation='require', key_usage=True):
    """Check that ``certificate`` may sign at ``at`` (aware or naive UTC
    datetime; default now).

    ``chain``: intermediate certificates (list, may be empty);
    ``trust_roots``: list of trust anchor certificates;
    ``revocation``: 'require' (OCSP/CRL must answer when the certificate
    publishes an AIA OCSP URL or CRL distribution point; a certificate
    publishing none is accepted), 'soft' (use them when reachable), 'off'.
    ``key_usage``: require digital_signature or non_repudiation.

    Returns None.  Raises CertificateExpiredError,
    CertificateNotYetValidError, CertificateRevokedError,
    CertificateUntrustedError, CertificateKeyUsageError,
    RevocationUnknownError."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator import errors as cv_errors

    assert revocation in REVOCATION_MODES, revocation
    certificate = load_certificate(certificate)
    chain = load_certificates(chain or [])
    trust_roots = load_certificates(trust_roots or [])
    at = _utc(at)
    subject = _subject_name(certificate)
    info = certificate_info(certificate)
    not_before = info['not_before'].replace(tzinfo=UTC)
    not_after = info['not_after'].replace(tzinfo=UTC)
    if at > not_after:
        raise CertificateExpiredError(gettext(
                'health_sign.msg_certificate_expired',
                subject=subject, date=_format_date(not_after)))
    if at < not_before:
        raise CertificateNotYetValidError(gettext(
                'health_sign.msg_certificate_not_yet_valid',
                subject=subject, date=_format_date(not_before)))
    if key_usage and not (SIGNING_USAGES & set(info['key_usage'])):
        # X.509 without a KeyUsage extension allows every usage, but a
        # signing certificate from a licensed CA always has one.
        raise CertificateKeyUsageError(gettext(
                'health_sign.msg_certificate_key_usage', subject=subject,
                usage=', '.join(info['key_usage']) or '-'))
    context = ValidationContext(
        trust_roots=trust_roots, other_certs=chain, moment=at,
        allow_fetching=revocation != 'off',
        revocation_mode='hard-fail' if revocation == 'require'
        else 'soft-fail')
    validator = CertificateValidator(
        certificate, intermediate_certs=chain, validation_context=context)
    try:
        _run(_validate_certificate(validator, context))
    except cv_errors.RevokedError as exception:
        date = ''
        details = getattr(exception, 'revocation_dt', None)
        if details:
            date = _format_date(details)
        raise CertificateRevokedError(gettext(
                'health_sign.msg_certificate_revoked',
                subject=subject, date=date)) from exception
    except cv_errors.ExpiredError as exception:
        raise CertificateExpiredError(gettext(
                'health_sign.msg_certificate_chain_expired',
                subject=subject)) from exception
    except cv_errors.NotYetValidError as exception:
        raise CertificateNotYetValidError(gettext(
                'health_sign.msg_certificate_chain_expired',
                subject=subject)) from exception
    except cv_errors.InsufficientRevinfoError as exception:
        raise RevocationUnknownError(gettext(
                'health_sign.msg_revocation_unknown',
                subject=subject)) from exception
    except (cv_errors.PathBuildingError, cv_errors.PathValidationError,
            cv_errors.InvalidCertificateError) as exception:
        logger.debug('certificate %s untrusted: %s', subject, exception)
        raise CertificateUntrustedError(gettext(
                'health_sign.msg_certificate_untrusted',
                subject=subject,
                issuer=_issuer_name(certificate))) from exception


async def _validate_certificate(validator, context):
    try:
        return await validator.async_validate_usage(set())
    finally:
        await context.aclose()


def _issuer_name(certificate):
    native = certificate.issuer.native
    return native.get('common_name') or certificate.issuer.human_friendly


# ------------------------------------------------------------------ PDF
def stamp_lines(name, title=None, at=None, tz=None):
    """Return the Vietnamese stamp lines:
    ['Ký bởi: <name>', 'Chức danh: <title>', 'Thời gian: dd/mm/yyyy HH:MM']
    (no title line when title is empty).  ``at`` datetime (default now;
    naive = UTC); shown in ``tz`` (a tzinfo, default Asia/Ho_Chi_Minh)."""
    local = _utc(at).astimezone(tz or _local_timezone())
    lines = ['Ký bởi: %s' % name]
    if title:
        lines.append('Chức danh: %s' % title)
    lines.append('Thời gian: %s' % local.strftime('%d/%m/%Y %H:%M'))
    return lines


# Characters of Vietnamese text (precomposed, NFC) and common punctuation
STAMP_CHARACTERS = (
    set(range(0x20, 0x7f)) | set(range(0xa0, 0x180))
    | set(range(0x1a0, 0x1b1)) | set(range(0x300, 0x324))
    | set(range(0x1ea0, 0x1efa))
    | {0x2013, 0x2014, 0x2018, 0x2019, 0x201c, 0x201d, 0x2026, 0x20ab})


@lru_cache(maxsize=None)
def _stamp_font_bytes(font_file):
    """The stamp font reduced once per process to the Vietnamese
    characters, without hinting and OpenType layout tables (NFC
    Vietnamese needs no shaping), scaled to 1000 units per em.  Embedding
    this small font whole avoids fontTools subsetting the full font at
    every signature (≈ 100 ms)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ['*']
    options.notdef_outline = True
    options.drop_tables += ['GSUB', 'GPOS', 'GDEF', 'kern', 'FFTM']
    font = TTFont(font_file)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=STAMP_CHARACTERS)
    logging.getLogger('fontTools.subset').setLevel(logging.ERROR)
    subsetter.subset(font)
    # pyHanko writes glyph widths and TJ offsets in font units, while PDF
    # expects 1/1000 em: right only for a 1000 units/em font (DejaVu: 2048)
    if font['head'].unitsPerEm != 1000:
        from fontTools.ttLib.scaleUpem import scale_upem
        scale_upem(font, 1000)
    output = io.BytesIO()
    font.save(output)
    return output.getvalue()


@lru_cache(maxsize=None)
def _stamp_font_compressed(font_file):
    return zlib.compress(_stamp_font_bytes(font_file))


@lru_cache(maxsize=None)
def _stamp_font_objects(font_file):
    "Parsed stamp font shared by all signatures of the process"
    import uharfbuzz
    from fontTools.ttLib import TTFont
    from pyhanko.pdf_utils.font.opentype import _read_ps_name
    data = _stamp_font_bytes(font_file)
    tt = TTFont(io.BytesIO(data))
    glyph_set = tt.getGlyphSet(preferCFF=True)
    tt.getGlyphOrder()
    for table in ('head', 'hhea', 'OS/2', 'cmap', 'hmtx', 'name', 'post'):
        tt[table]
    # read everything pyHanko uses now: the objects are then only read,
    # also by concurrent requests
    for name in tt.getGlyphOrder():
        glyph_set[name].width
    hb_font = uharfbuzz.Font(uharfbuzz.Face(data))
    return tt, hb_font, glyph_set, _read_ps_name(tt)


@lru_cache(maxsize=None)
def _font_factory(font_file, font_size):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.font.api import FontEngine
    from pyhanko.pdf_utils.font.opentype import (
        CIDFontType2, GlyphAccumulator, GlyphAccumulatorFactory)

    class WholeFontAccumulator(GlyphAccumulator):
        """Embed the (already small) font as is, without subsetting, and
        share the parsed font between signatures (read only here)."""

        def __init__(self, writer, font_size, obj_stream=None):
            # GlyphAccumulator.__init__ without re-parsing the font
            tt, hb_font, glyph_set, ps_name = _stamp_font_objects(font_file)
            self.hb_font, self.tt = hb_font, tt
            FontEngine.__init__(
                self, writer, ps_name, embedded_subset=True,
                obj_stream=obj_stream, font_size=font_size)
            self._font_ref = writer.allocate_placeholder()
            self.cff_charset = None
            self.use_raw_gids = True
            self.cidfont_obj = cidfont = CIDFontType2(
                tt, ps_name, self.subset_prefix)
            self.features = None
            self.units_per_em = tt['head'].unitsPerEm
            self._glyphs = {}
            self._glyph_set = glyph_set
            self._cid_to_unicode = {}
            self._GlyphAccumulator__reverse_cmap = None
            self.ot_language_tag = self.ot_script_tag = None
            self.writing_direction = self.bcp47_lang_code = None
            self._subset_created = self._write_prepared = False

            def set_font_file(writer):
                # the cached compressed font program, not tt.save()
                stream = generic.StreamObject(
                    {'/Filter': generic.NameObject('/FlateDecode')},
                    encoded_data=_stamp_font_compressed(font_file))
                reference = writer.add_object(stream)
                cidfont._font_descriptor['/FontFile2'] = reference
                return reference
            cidfont.set_font_file = set_font_file

        def _extract_subset(self, options=None):
            pass

    class Factory(GlyphAccumulatorFactory):
        def create_font_engine(self, writer, obj_stream=None):
            if (obj_stream is None and writer.stream_xrefs
                    and self.create_objstream_if_needed):
                obj_stream = writer.prepare_object_stream()
            return WholeFontAccumulator(
                writer, self.font_size, obj_stream=obj_stream)
    return Factory(font_file, font_size=font_size)


def _stamp_style(font_size=8):
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle
    return TextStampStyle(
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(left=6, right=4)),
        stamp_text='%(lines)s',
        text_box_style=TextBoxStyle(
            font=_font_factory(FONT_FILE, font_size), font_size=font_size,
            leading=font_size + 3),
        border_width=1, background=None)


def _open_incremental(pdf):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    if not isinstance(pdf, (bytes, bytearray, memoryview)) or not pdf:
        raise PDFError(gettext('health_sign.msg_pdf_invalid'))
    data = bytes(pdf)
    if not data.lstrip()[:5] == b'%PDF-' or b'%%EOF' not in data[-1024:]:
        raise PDFError(gettext('health_sign.msg_pdf_invalid'))
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        if writer.prev.encrypted:
            raise PDFError(gettext('health_sign.msg_pdf_encrypted'))
        writer.root['/Pages']
        writer.prev.root
    except PDFError:
        raise
    except Exception as exception:
        raise PDFError(
            gettext('health_sign.msg_pdf_invalid')) from exception
    return writer


def _free_box(writer, page):
    "Next free stamp box along the bottom of page (left to right, upward)"
    from pyhanko.sign.fields import enumerate_sig_fields
    count = sum(1 for _ in enumerate_sig_fields(writer.prev))
    page_obj = writer.prev.find_page_for_modification(page)[0].get_object()
    media_box = (page_obj.get('/MediaBox')
        or writer.prev.root['/Pages'].get('/MediaBox')
        or [0, 0, 595, 842])
    media_box = [float(v) for v in media_box]
    width = media_box[2] - media_box[0]
    per_row = max(1, int((width - 2 * STAMP_MARGIN + 10) // (
                STAMP_WIDTH + 10)))
    row, column = divmod(count, per_row)
    x1 = media_box[0] + STAMP_MARGIN + column * (STAMP_WIDTH + 10)
    y1 = media_box[1] + 24 + row * (STAMP_HEIGHT + 8)
    return (x1, y1, x1 + STAMP_WIDTH, y1 + STAMP_HEIGHT)


def sign_pdf(pdf, key_material, field_name, stamp_lines, tsa_url=None,
        reason=None, location=None, box=None, page=-1, contact=None):
    """Sign ``pdf`` (bytes) and return the signed PDF (bytes).

    PAdES B-B, or B-T when ``tsa_url`` is given (RFC 3161).  Always an
    incremental update, so earlier signatures stay valid.  A new visible
    signature field ``field_name`` (must not exist yet) is added on
    ``page`` (default last page) at ``box`` (x1, y1, x2, y2 in pt; default:
    next free slot along the bottom of the page, one per existing
    signature) showing ``stamp_lines`` (list of str, DejaVu Sans; empty
    list: invisible signature).

    Raises PDFError (not a PDF / truncated / field exists), TimestampError
    (TSA unreachable), WrongSecretError/TokenError (token session lost),
    SigningError."""
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    writer = _open_incremental(pdf)
    existing = {name for name, _, _ in fields.enumerate_sig_fields(
            writer.prev)}
    if field_name in existing:
        raise PDFError(gettext('health_sign.msg_pdf_field_exists',
                field=field_name))
    if stamp_lines:
        try:
            box = box or _free_box(writer, page)
        except Exception as exception:
            raise PDFError(
                gettext('health_sign.msg_pdf_invalid')) from exception
        if page < 0:
            page = int(writer.prev.root['/Pages']['/Count']) + page
    else:
        box, page = None, 0
    field_spec = fields.SigFieldSpec(
        sig_field_name=field_name, on_page=page, box=box)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm='sha256',
        subfilter=SigSeedSubFilter.PADES, reason=reason, location=location,
        contact_info=contact, name=_subject_name(key_material.certificate))
    output = io.BytesIO()

    async def sign():
        session = timestamper = None
        if tsa_url:
            import aiohttp
            from pyhanko.sign.timestamps import HTTPTimeStamper
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=_ssl_context(tsa_url)))
            timestamper = HTTPTimeStamper(
                tsa_url, timeout=10, session=session)
        try:
            pdf_signer = signers.PdfSigner(
                metadata, key_material.pyhanko_signer(),
                timestamper=timestamper,
                stamp_style=_stamp_style() if stamp_lines else None,
                new_field_spec=field_spec)
            await pdf_signer.async_sign_pdf(
                writer, bytes_reserved=BYTES_RESERVED, output=output,
                appearance_text_params={
                    'lines': unicodedata.normalize(
                        'NFC', '\n'.join(stamp_lines or []))})
        finally:
            if session is not None:
                await session.close()
    try:
        _run(sign())
    except SignError:
        # Already explained in Vietnamese (e.g. a remote signer refused)
        raise
    except (TimestampRequestError, OSError) as exception:
        raise TimestampError(gettext('health_sign.msg_timestamp_error',
                url=tsa_url or '')) from exception
    except Exception as exception:
        import pkcs11.exceptions as p11
        if isinstance(exception, p11.PKCS11Error):
            _raise_pkcs11(exception)
        if _is_timestamp_failure(exception) and tsa_url:
            raise TimestampError(gettext('health_sign.msg_timestamp_error',
                    url=tsa_url)) from exception
        logger.exception('signing failed')
        raise SigningError(gettext('health_sign.msg_signing_error',
                error=str(exception) or exception.__class__.__name__)
            ) from exception
    return output.getvalue()


def _ssl_context(url):
    """No TLS for an http:// TSA; one shared default context for https
    (aiohttp would load the system CA store, ≈ 35 ms, for every session)"""
    if not url.startswith('https:'):
        return False
    return _default_ssl_context()


@lru_cache(maxsize=None)
def _default_ssl_context():
    import ssl
    return ssl.create_default_context()


def _is_timestamp_failure(exception):
    "aiohttp errors (connection refused, timeout) while asking the TSA"
    seen = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        module = type(exception).__module__ or ''
        if module.startswith('aiohttp') or 'timestamp' in module:
            return True
        if isinstance(exception, (asyncio.TimeoutError, OSError)):
            return True
        exception = exception.__cause__ or exception.__context__
    return False


@dataclasses.dataclass
class SignatureStatus:
    "Result of the verification of one signature in a PDF"
    field: str
    signer: str = ''             # subject CN (or full subject)
    signer_subject: str = ''
    signer_serial: str = ''      # hex
    signing_time: dt.datetime = None   # claimed signing time (aware UTC)
    timestamp: dt.datetime = None      # RFC 3161 time or None
    intact: bool = False         # document digest matches
    valid: bool = False          # cryptographic signature valid
    trusted: bool = False        # chain to the trust roots
    revoked: bool = False
    # 'entire_file' | 'entire_revision' | 'partial'
    coverage: str = ''
    whole_document: bool = False  # covers the whole current file
    modified: bool = False       # content changed after this signature
    # (incremental updates only adding later signatures do not count)
    message: str = ''            # Vietnamese summary for the user
    # intact and valid and trusted and not modified
    ok: bool = False

    @property
    def timestamp_text(self):
        return _format_date(self.timestamp) if self.timestamp else ''


def verify_pdf(pdf, trust_roots, revocation='off'):
    """Verify every signature of ``pdf`` (bytes) against ``trust_roots``.
    Returns a list of SignatureStatus in signing order ([] when the PDF has
    no signature).  Raises PDFError on garbage / truncated data."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    data = pdf
    _open_incremental(data)
    try:
        reader = PdfFileReader(io.BytesIO(bytes(data)), strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception as exception:
        raise PDFError(
            gettext('health_sign.msg_pdf_invalid')) from exception
    trust_roots = load_certificates(trust_roots or [])

    def context():
        return ValidationContext(
            trust_roots=trust_roots, allow_fetching=revocation != 'off',
            revocation_mode='hard-fail' if revocation == 'require'
            else 'soft-fail')
    usage = KeyUsageConstraints(
        key_usage=SIGNING_USAGES, match_all_key_usages=False)
    coverage_names = {
        SignatureCoverageLevel.ENTIRE_FILE: 'entire_file',
        SignatureCoverageLevel.ENTIRE_REVISION: 'entire_revision',
        }
    result = []
    for embedded in signatures:
        status = SignatureStatus(field=embedded.field_name or '')
        try:
            certificate = embedded.signer_cert
            status.signer = _subject_name(certificate)
            status.signer_subject = certificate.subject.human_friendly
            status.signer_serial = '%X' % certificate.serial_number
        except Exception:
            pass
        try:
            checked = _run(_validate_signature(
                    embedded, context(), context(), usage))
        except Exception as exception:
            logger.debug('signature %s unreadable', status.field,
                exc_info=True)
            status.message = gettext('health_sign.msg_signature_broken',
                signer=status.signer or status.field)
            del exception
            result.append(status)
            continue
        status.intact = bool(checked.intact)
        status.valid = bool(checked.valid)
        status.trusted = bool(checked.trusted)
        status.revoked = bool(checked.revoked)
        if checked.signer_reported_dt:
            status.signing_time = _utc(checked.signer_reported_dt)
        if checked.timestamp_validity is not None:
            status.timestamp = _utc(checked.timestamp_validity.timestamp)
        status.coverage = coverage_names.get(checked.coverage, 'partial')
        status.whole_document = (
            checked.coverage == SignatureCoverageLevel.ENTIRE_FILE)
        level = checked.modification_level
        status.modified = (
            level is None or level > ModificationLevel.FORM_FILLING
            or checked.docmdp_ok is False)
        status.ok = (status.intact and status.valid and status.trusted
            and not status.modified)
        status.message = _status_message(status)
        result.append(status)
    return result


async def _validate_signature(embedded, signer_context, ts_context, usage):
    from pyhanko.sign.validation import async_validate_pdf_signature
    try:
        return await async_validate_pdf_signature(
            embedded, signer_validation_context=signer_context,
            ts_validation_context=ts_context, key_usage_settings=usage)
    finally:
        await signer_context.aclose()
        await ts_context.aclose()


def _status_message(status):
    signer = status.signer or status.field
    time = ''
    if status.timestamp or status.signing_time:
        time = _format_date(status.timestamp or status.signing_time)
    if not status.intact:
        return gettext('health_sign.msg_signature_tampered', signer=signer)
    if not status.valid:
        return gettext('health_sign.msg_signature_invalid', signer=signer)
    if status.modified:
        return gettext('health_sign.msg_signature_modified', signer=signer)
    if status.revoked:
        return gettext('health_sign.msg_signature_revoked', signer=signer)
    if not status.trusted:
        return gettext('health_sign.msg_signature_untrusted', signer=signer,
            time=time)
    if status.timestamp:
        return gettext('health_sign.msg_signature_valid_timestamp',
            signer=signer, time=time)
    return gettext('health_sign.msg_signature_valid', signer=signer,
        time=time)


def sha256_hex(data):
    "Hex SHA-256 of bytes"
    return hashlib.sha256(bytes(data)).hexdigest()
