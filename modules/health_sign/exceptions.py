# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Errors of health_sign.

Every class carries a translated ir.message text (raised with
``gettext('health_sign.msg_…')``).  Other helpers add their classes below
their own anchor comment.
"""
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError

# <!-- certificate / crypto errors -->


class SignError(UserError):
    "Base of every signing / verification error"


class KeyMaterialError(SignError):
    "The key cannot be opened (file, token, remote service)"


class WrongSecretError(KeyMaterialError):
    "Wrong PKCS#12 passphrase or token PIN"


class NotPKCS12Error(KeyMaterialError):
    "The uploaded data is not a PKCS#12 (.p12/.pfx) file"


class TokenError(KeyMaterialError):
    "PKCS#11 module, slot, token or key not found / not usable"


class CertificateError(SignError):
    "The certificate may not be used to sign now"


class CertificateFormatError(CertificateError):
    "Data is not an X.509 certificate"


class CertificateExpiredError(CertificateError):
    pass


class CertificateNotYetValidError(CertificateError):
    pass


class CertificateRevokedError(CertificateError):
    pass


class CertificateUntrustedError(CertificateError):
    pass


class CertificateKeyUsageError(CertificateError):
    pass


class RevocationUnknownError(CertificateError):
    "The revocation status could not be obtained (revocation='require')"


class TimestampError(SignError):
    "The timestamp authority (TSA) is unreachable or answered badly"


class PDFError(SignError):
    "The data is not a readable PDF (garbage, truncated, encrypted)"


class SigningError(SignError):
    "Any other failure while producing a signature"


class CertificateAccessError(AccessError):
    "A user tries to use a certificate that is not theirs"


class CertificateValidationError(ValidationError):
    "Bad data on a certificate record"

# <!-- signature errors -->


class SignatureError(SignError):
    "A document cannot be signed (reported per document in a batch)"


class SignedRecordError(AccessError):
    "A signed record (or a child shown on it) refuses to change"


class SignatureAccessError(AccessError):
    "Signature records are kept as they were made"


class AmendmentError(ValidationError):
    "A signed record cannot be amended"

# <!-- xml and remote signing errors -->


class XMLSignatureError(SignError):
    "Malformed XML, no CHUKYDONVI element, unusable key for XMLDSig"


class RemoteSigningError(KeyMaterialError):
    "The remote signing service (ký số từ xa) failed"


class RemoteSigningUnavailableError(RemoteSigningError):
    "The remote signing service cannot be reached"


class RemoteSigningAuthError(RemoteSigningError):
    "The service refused our client credentials or the credential id"


class RemoteSigningRefusedError(RemoteSigningError):
    "The signer refused the transaction on their phone"


class RemoteSigningExpiredError(RemoteSigningError):
    "The signer did not confirm in time"
