# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Enveloped XMLDSig (RSA-SHA256) for the social-insurance claim files.

The BHYT claim file (``GIAMDINHHS``, QĐ 4750/3176, REGULATIONS.md §3.3) and
the check-in file carry the facility's signature in an empty
``<CHUKYDONVI/>`` element.  Vendors sign them like .NET ``SignedXml`` does:
one ``Reference URI=""`` over the whole document with the
enveloped-signature and inclusive C14N 1.0 transforms, RSA-SHA256, the
certificate chain in ``KeyInfo/X509Data``, the ``Signature`` element in
the default XMLDSig namespace.  ``xmlsec1 --verify`` accepts what we write.

No Tryton model here: ``sign_xml`` takes key material (a loaded PKCS#12,
a PKCS#11 key or a remote signer from crypto.py / remote.py, or a plain
``(private_key, [certificate, chain…])`` pair) and ``verify_xml`` takes
the trust anchors.
"""
import asyncio
import base64
import concurrent.futures
import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from trytond.i18n import gettext

from .exceptions import XMLSignatureError

__all__ = ['sign_xml', 'verify_xml', 'XMLSignatureStatus', 'DS_NS']

DS_NS = 'http://www.w3.org/2000/09/xmldsig#'
C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
C14N_11 = 'http://www.w3.org/2006/12/xml-c14n11'
C14N_EXCLUSIVE = 'http://www.w3.org/2001/10/xml-exc-c14n#'
C14N_ALGORITHMS = {C14N_10, C14N_11, C14N_EXCLUSIVE}
ENVELOPED = DS_NS + 'enveloped-signature'
RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256'
DEFAULT_ELEMENT = 'CHUKYDONVI'

# Vietnamese texts used when no Tryton database is at hand (command line,
# pure-library use); inside trytond the ir.message translation wins.
_FALLBACK = {
    'msg_xml_malformed': (
        "Tệp XML không đọc được (sai cú pháp): %(error)s"),
    'msg_xml_element_missing': (
        "Tệp XML không có phần tử <%(element)s> để đặt chữ ký số."),
    'msg_xml_element_ambiguous': (
        "Tệp XML có %(count)s phần tử <%(element)s>; "
        "cần đúng một phần tử để đặt chữ ký số."),
    'msg_xml_already_signed': (
        "Phần tử <%(element)s> đã có chữ ký số; không ký đè."),
    'msg_xml_key_unusable': (
        "Khóa ký không dùng được để ký XML (cần khóa RSA và chứng thư "
        "số): %(error)s"),
    'msg_xml_signing_failed': (
        "Không ký được tệp XML: %(error)s"),
    'msg_xml_not_organisation': (
        "Chứng thư \"%(certificate)s\" không phải chứng thư số của tổ "
        "chức (đơn vị): hồ sơ gửi BHXH phải ký bằng chứng thư số của cơ "
        "sở."),
    }


def _message(msg_id, **variables):
    "Translated message, or its Vietnamese text outside trytond"
    text = gettext('health_sign.' + msg_id, **variables)
    if text == 'health_sign.' + msg_id:
        text = _FALLBACK[msg_id] % variables
    return text


def _error(msg_id, **variables):
    return XMLSignatureError(_message(msg_id, **variables))


def _parse(xml_bytes):
    if isinstance(xml_bytes, str):
        xml_bytes = xml_bytes.encode('utf-8')
    # No network, no entity expansion: the file comes from outside
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_blank_text=False,
        huge_tree=True)
    try:
        return etree.fromstring(xml_bytes, parser).getroottree()
    except (etree.XMLSyntaxError, ValueError) as exception:
        raise _error('msg_xml_malformed', error=str(exception)) from exception


def _load_certificate(value):
    if isinstance(value, x509.Certificate):
        return value
    # asn1crypto / pyHanko certificates
    dump = getattr(value, 'dump', None)
    if callable(dump):
        return x509.load_der_x509_certificate(dump())
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value)
        if value.lstrip().startswith(b'-----BEGIN'):
            return x509.load_pem_x509_certificate(value)
        return x509.load_der_x509_certificate(value)
    if isinstance(value, str):
        return x509.load_pem_x509_certificate(value.encode('ascii'))
    raise TypeError(f"not a certificate: {type(value).__name__}")


def _certificate_list(values):
    if values is None:
        return []
    if isinstance(values, (bytes, str)) and (
            (values.encode() if isinstance(values, str) else values)
            .count(b'-----BEGIN CERTIFICATE-----') > 1):
        return x509.load_pem_x509_certificates(
            values.encode() if isinstance(values, str) else values)
    if isinstance(values, (x509.Certificate, bytes, bytearray, str)) or (
            callable(getattr(values, 'dump', None))):
        return [_load_certificate(values)]
    return [_load_certificate(v) for v in values]


class _RawSignerKey:
    """Makes a KeyMaterial (PKCS#11 token, remote service…) or a pyHanko
    ``Signer`` look like a cryptography RSA private key to signxml: only
    ``sign`` and ``key_size`` are used."""

    def __init__(self, key_material, certificate):
        self._key_material = key_material
        self.key_size = certificate.public_key().key_size

    def sign(self, data, padding=None, algorithm=None):
        if algorithm is not None and algorithm.name != 'sha256':
            raise ValueError(f"unsupported digest {algorithm.name}")
        if hasattr(self._key_material, 'sign_raw'):
            return self._key_material.sign_raw(data, 'sha256')
        coroutine = self._key_material.async_sign_raw(data, 'sha256')
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        # Called from async code: run it in a private loop of its own
        # thread (signxml itself is synchronous)
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            return executor.submit(asyncio.run, coroutine).result()


def _resolve_key_material(key_material):
    """(signing key usable by signxml, [leaf certificate, chain…])

    Accepts ``(private_key, certificate_or_chain)``, a crypto.KeyMaterial
    (``certificate``, ``chain``, ``sign_raw``) or a pyHanko ``Signer``."""
    raw_signer = private_key = None
    if isinstance(key_material, (tuple, list)):
        private_key, certificates = key_material
        certificates = _certificate_list(certificates)
    else:
        if hasattr(key_material, 'sign_raw') or hasattr(
                key_material, 'async_sign_raw'):
            raw_signer = key_material
        leaf = (getattr(key_material, 'certificate', None)
            or getattr(key_material, 'signing_cert', None))
        chain = getattr(key_material, 'chain', None)
        if chain is None:
            registry = getattr(key_material, 'cert_registry', None)
            chain = list(registry) if registry is not None else []
        certificates = _certificate_list(leaf) + _certificate_list(chain)
    if not certificates:
        raise ValueError("no certificate")
    leaf = certificates[0]
    # Leaf first, each certificate once, no self-signed root (the
    # receiver has its own)
    seen, ordered = set(), []
    for certificate in certificates:
        fingerprint = certificate.fingerprint(hashes.SHA256())
        if fingerprint in seen or (
                certificate is not leaf
                and certificate.subject == certificate.issuer):
            continue
        seen.add(fingerprint)
        ordered.append(certificate)
    if not isinstance(leaf.public_key(), rsa.RSAPublicKey):
        raise ValueError("the certificate key is not RSA")
    if isinstance(private_key, (bytes, str)):
        private_key = serialization.load_pem_private_key(
            private_key.encode() if isinstance(private_key, str)
            else private_key, password=None)
    if isinstance(private_key, rsa.RSAPrivateKey):
        if (private_key.public_key().public_numbers()
                != leaf.public_key().public_numbers()):
            raise ValueError("the private key does not match the certificate")
        return private_key, ordered
    if raw_signer is not None:
        return _RawSignerKey(raw_signer, leaf), ordered
    raise ValueError("no RSA private key or signer")


def _find_target(tree, element):
    matches = tree.getroot().xpath(
        '//*[local-name() = $name]', name=element)
    if not matches:
        raise _error('msg_xml_element_missing', element=element)
    if len(matches) > 1:
        raise _error(
            'msg_xml_element_ambiguous', element=element, count=len(matches))
    target, = matches
    if target.find('{%s}Signature' % DS_NS) is not None:
        raise _error('msg_xml_already_signed', element=element)
    return target


def sign_xml(xml_bytes, key_material, element=DEFAULT_ELEMENT):
    """Sign ``xml_bytes`` with an enveloped XMLDSig (RSA-SHA256, C14N 1.0,
    Reference URI="") placed inside the single ``<element>`` (default
    CHUKYDONVI), and return the signed document (UTF-8, with the XML
    declaration).

    ``key_material``: ``(private_key, certificate or [certificate,
    intermediates…])``, a crypto.py KeyMaterial or a pyHanko Signer
    (PKCS#11, remote).  Raises XMLSignatureError (Vietnamese message) for
    malformed XML, a missing/ambiguous/already-filled element, or an
    unusable key."""
    from signxml import (
        CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner)
    tree = _parse(xml_bytes)
    target = _find_target(tree, element)
    try:
        key, certificates = _resolve_key_material(key_material)
    except (ValueError, TypeError) as exception:
        raise _error('msg_xml_key_unusable', error=str(exception)) \
            from exception

    # The placeholder tells signxml where the Signature goes; it is left
    # out of the digest (enveloped-signature transform)
    target.text = None
    etree.SubElement(
        target, '{%s}Signature' % DS_NS, Id='placeholder', nsmap={None: DS_NS})

    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0)
    # <Signature xmlns="…xmldsig#"> like the .NET signers the insurance
    # portal is used to
    signer.namespaces = {None: DS_NS}
    try:
        root = signer.sign(
            tree.getroot(), key=key, cert=certificates)
    except Exception as exception:
        raise _error('msg_xml_signing_failed', error=str(exception)) \
            from exception
    return etree.tostring(
        root.getroottree(), xml_declaration=True, encoding='utf-8')


@dataclass
class XMLSignatureStatus:
    "Result of verify_xml (one signature per claim file)"
    intact: bool = False        # digest and signature value match
    trusted: bool = False       # chain up to a configured trust anchor
    valid: bool = False         # intact and trusted and in validity
    signer: str = ''            # subject of the signing certificate
    serial: str = ''
    element: str = ''           # parent element of the signature
    certificate: x509.Certificate | None = None
    chain: list = field(default_factory=list)
    message: str = ''           # Vietnamese summary


def _subject(certificate):
    try:
        return certificate.subject.rfc4514_string()
    except Exception:
        return ''


def _leaf(certificates):
    "The certificate that issued none of the others"
    issuers = {c.issuer for c in certificates}
    for certificate in certificates:
        if certificate.subject not in issuers or (
                certificate.subject == certificate.issuer
                and len(certificates) == 1):
            return certificate
    return certificates[0]


def _check_chain(leaf, chain, trust_roots, at):
    """Builds leaf → … → trust anchor by subject/issuer and signature.
    Returns '' when trusted, else the reason in Vietnamese."""
    roots = _certificate_list(trust_roots) if trust_roots else []
    if not roots:
        return "Chưa cấu hình chứng thư gốc tin cậy"
    pool = chain + roots
    current, seen = leaf, set()
    for _ in range(10):
        if not (current.not_valid_before_utc <= at
                <= current.not_valid_after_utc):
            return ("Chứng thư số %s hết hạn hoặc chưa có hiệu lực"
                % _subject(current))
        if any(current == root for root in roots):
            return ''
        issuers = [c for c in pool
            if c.subject == current.issuer and c not in seen]
        for issuer in issuers:
            try:
                current.verify_directly_issued_by(issuer)
            except Exception:
                continue
            seen.add(current)
            current = issuer
            break
        else:
            return ("Chứng thư số không dẫn tới chứng thư gốc tin cậy "
                "(%s)" % _subject(current))
    return "Chuỗi chứng thư quá dài"


class _Invalid(Exception):
    pass


def _c14n(node, algorithm):
    """Canonical form of node.  A subtree is first detached: libxml2's
    subtree C14N writes a wrong ``xmlns=""`` under an inherited default
    namespace; inclusive C14N keeps every in-scope declaration on the
    apex, exclusive C14N only the visibly used ones."""
    if algorithm not in C14N_ALGORITHMS:
        raise _Invalid(f"canonicalisation {algorithm} không hỗ trợ")
    exclusive = algorithm == C14N_EXCLUSIVE
    if node.getparent() is not None:
        if exclusive:
            node = copy.deepcopy(node)
        else:
            apex = etree.Element(node.tag, dict(node.attrib), nsmap=node.nsmap)
            apex.text = node.text
            for child in node:
                apex.append(copy.deepcopy(child))
            node = apex
    return etree.tostring(
        node, method='c14n', exclusive=exclusive, with_comments=False)


def _verify_signature(tree, signature, certificate):
    """Checks the one Reference (URI="", enveloped) and SignatureValue of
    the profile sign_xml writes (what the .NET signers of the vendors
    write too).  signxml's verifier rejects Signature elements in the
    default namespace, hence this small strict verifier."""
    ns = {'ds': DS_NS}
    signed_info = signature.find('ds:SignedInfo', ns)
    if signed_info is None:
        raise _Invalid("thiếu SignedInfo")
    c14n_method = signed_info.find('ds:CanonicalizationMethod', ns)
    method = signed_info.find('ds:SignatureMethod', ns)
    reference, = signed_info.findall('ds:Reference', ns)
    if method is None or method.get('Algorithm') != RSA_SHA256:
        raise _Invalid("thuật toán ký phải là RSA-SHA256")
    digest_method = reference.find('ds:DigestMethod', ns)
    if digest_method is None or digest_method.get('Algorithm') != SHA256:
        raise _Invalid("thuật toán băm phải là SHA-256")
    transforms = [t.get('Algorithm')
        for t in reference.findall('ds:Transforms/ds:Transform', ns)]
    if (not transforms or transforms[0] != ENVELOPED
            or any(t not in C14N_ALGORITHMS for t in transforms[1:])):
        raise _Invalid("biến đổi (Transform) không hỗ trợ: %s"
            % ', '.join(map(str, transforms)))
    # Enveloped-signature transform: the document without this Signature
    document = copy.deepcopy(tree.getroot())
    copy_signature, = document.xpath(
        '//ds:Signature', namespaces=ns)
    parent = copy_signature.getparent()
    tail = copy_signature.tail
    previous = copy_signature.getprevious()
    parent.remove(copy_signature)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or '') + tail
        else:
            parent.text = (parent.text or '') + tail
    algorithm = transforms[1] if len(transforms) > 1 else C14N_10
    digest = hashlib.sha256(_c14n(document, algorithm)).digest()
    expected = base64.b64decode(
        ''.join((reference.findtext('ds:DigestValue', '', ns)).split()))
    if digest != expected:
        raise _Invalid("nội dung không khớp giá trị băm (DigestValue)")
    value = base64.b64decode(''.join(
            (signature.findtext('ds:SignatureValue', '', ns)).split()))
    try:
        certificate.public_key().verify(
            value, _c14n(signed_info, c14n_method.get('Algorithm')
                if c14n_method is not None else None),
            asym_padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exception:
        raise _Invalid("giá trị chữ ký (SignatureValue) sai") from exception


def verify_xml(xml_bytes, trust_roots, at=None, element=DEFAULT_ELEMENT):
    """Verify the enveloped XMLDSig of a claim file.

    Returns an XMLSignatureStatus: ``intact`` (the whole document is
    covered by the reference and unchanged), ``trusted`` (chain to one of
    ``trust_roots``: certificates, PEM or DER bytes), ``valid`` (both).
    Raises XMLSignatureError for malformed XML or when no signature sits
    in ``element``.  Revocation (OCSP/CRL) is checked by the caller with
    crypto.check_certificate when needed."""
    tree = _parse(xml_bytes)
    at = at or dt.datetime.now(dt.timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    status = XMLSignatureStatus(element=element)
    signatures = tree.getroot().xpath(
        '//ds:Signature', namespaces={'ds': DS_NS})
    in_element = [s for s in signatures
        if etree.QName(s.getparent()).localname == element]
    if not in_element:
        raise _error('msg_xml_element_missing', element=element)
    if len(signatures) != 1:
        status.message = (
            "Tệp có %s chữ ký XML; chỉ chấp nhận một chữ ký trong <%s>"
            % (len(signatures), element))
        return status
    signature, = in_element
    # The reference must cover the whole document (URI=""), nothing less
    uris = [r.get('URI') for r in signature.iterfind(
            '{%(ns)s}SignedInfo/{%(ns)s}Reference' % {'ns': DS_NS})]
    if uris != ['']:
        status.message = (
            "Chữ ký không bao trùm toàn bộ tệp (Reference URI=%s)"
            % ', '.join(repr(u) for u in uris))
        return status
    certificates = []
    for node in signature.iterfind('.//{%s}X509Certificate' % DS_NS):
        try:
            certificates.append(x509.load_der_x509_certificate(
                    base64.b64decode(''.join((node.text or '').split()))))
        except ValueError:
            pass
    if not certificates:
        status.message = "Chữ ký không kèm chứng thư số (X509Certificate)"
        return status
    leaf = _leaf(certificates)
    status.certificate = leaf
    status.chain = [c for c in certificates if c != leaf]
    status.signer = _subject(leaf)
    status.serial = format(leaf.serial_number, 'X')
    try:
        _verify_signature(tree, signature, leaf)
        status.intact = True
    except _Invalid as exception:
        status.message = (
            "Chữ ký XML không hợp lệ: tệp đã bị sửa sau khi ký "
            "hoặc chữ ký hỏng (%s)" % exception)
        return status
    reason = _check_chain(leaf, status.chain, trust_roots, at)
    status.trusted = not reason
    status.valid = status.intact and status.trusted
    status.message = (
        "Chữ ký hợp lệ, người ký: %s" % status.signer if status.valid
        else "Tệp nguyên vẹn nhưng chứng thư không tin cậy: %s" % reason)
    return status


def sign_with_certificate(
        xml_bytes, certificate, secret=None, element=DEFAULT_ELEMENT):
    """Sign a claim file with a ``health.sign.certificate`` record of kind
    'organisation' (the facility's certificate, REGULATIONS.md §3.3).

    ``secret``: PKCS#12 passphrase or token PIN, asked from the user at
    the moment of signing and never stored; None for a remote
    credential.  The certificate is checked first (validity, chain,
    revocation per the configuration)."""
    if getattr(certificate, 'kind', None) != 'organisation':
        raise _error(
            'msg_xml_not_organisation',
            certificate=getattr(certificate, 'rec_name', certificate))
    certificate.check_before_signing()
    key_material = certificate.get_key_material(secret)
    try:
        return sign_xml(xml_bytes, key_material, element=element)
    finally:
        key_material.close()
