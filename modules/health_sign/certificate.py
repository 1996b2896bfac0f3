# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Signing certificates of the staff and of the facility, trust anchors
and the signing configuration of each facility.

Luật GDĐT 2023 Điều 22–23 and NĐ 23/2025: a digital signature (chữ ký số)
needs a certificate of a licensed CA; before signing, the software checks
the certificate status (NĐ 23/2025 Điều 15–16).  The private key never
leaves its container: a PKCS#12 file stored encrypted as uploaded (its
passphrase is asked at every signing and never stored), a PKCS#11 token,
or a remote signing service (ký số từ xa, NĐ 23/2025 Điều 37 k4).
"""
import datetime as dt

from trytond import config
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from . import crypto
from .exceptions import (
    CertificateAccessError, CertificateError, CertificateValidationError,
    KeyMaterialError)

KINDS = [
    ('personal', "Personal"),
    ('organisation', "Organisation"),
    ]
STORAGES = [
    ('pkcs12', "PKCS#12 File"),
    ('pkcs11', "Token (PKCS#11)"),
    ('remote', "Remote Signing"),
    ]
REVOCATION_MODES = [
    ('require', "Required"),
    ('soft', "When Reachable"),
    ('off', "Off"),
    ]
# Fields computed from the certificate itself
PARSED_FIELDS = [
    'subject', 'subject_cn', 'subject_o', 'issuer', 'serial',
    'not_before', 'not_after', 'key_usage', 'fingerprint', 'key_algorithm']
# Fields that identify the key: never changed after the upload
KEY_FIELDS = ['certificate', 'chain', 'pkcs12', 'storage'] + PARSED_FIELDS
SECTION = 'health_sign'


def _parsed_values(certificate):
    "Display values of a certificate (DER/PEM bytes or asn1crypto)"
    info = crypto.certificate_info(certificate)
    return {
        'certificate': info['der'],
        'subject': info['subject'],
        'subject_cn': info['subject_cn'],
        'subject_o': info['subject_o'],
        'issuer': info['issuer'],
        'serial': info['serial_hex'],
        'not_before': info['not_before'],
        'not_after': info['not_after'],
        'key_usage': ', '.join(info['key_usage']),
        'fingerprint': info['fingerprint_sha256'],
        'key_algorithm': info['key_algorithm'],
        }


def _company_id(company=None):
    if company is not None:
        return getattr(company, 'id', company)
    return Transaction().context.get('company')


class Configuration(ModelSQL, ModelView):
    "Digital signature settings of a facility"
    __name__ = 'health.sign.configuration'
    __string__ = "Signing Configuration"

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='CASCADE')
    tsa_url = fields.Char(
        "Timestamp Authority URL",
        help="RFC 3161 timestamp service (dịch vụ cấp dấu thời gian) used "
        "for every signature (PAdES B-T). Empty: signatures without a "
        "timestamp (PAdES B-B).")
    revocation = fields.Selection(
        REVOCATION_MODES, "Revocation Check", sort=False, required=True,
        help="Check the certificate status with the OCSP/CRL services of "
        "the certification authority before signing (NĐ 23/2025 Điều 15). "
        "Required: refuse to sign when the service does not answer. "
        "When reachable: check when the service answers.")
    remote_url = fields.Char(
        "Remote Signing URL",
        help="Base URL of the remote signing service (ký số từ xa) of the "
        "certification authority. The account of the station at the "
        "service is in the server configuration.")
    verify_daily = fields.Boolean(
        "Verify Daily",
        help="Verify every stored signature again each day.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('company_unique', Unique(table, table.company),
                'health_sign.msg_configuration_company_unique'),
            ]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_revocation():
        return 'require'

    @staticmethod
    def default_verify_daily():
        return True

    def get_rec_name(self, name):
        return self.company.rec_name if self.company else ''

    @classmethod
    def get_for_company(cls, company=None):
        """The configuration of the company (default: the context
        company), or an unsaved one with the default values"""
        company_id = _company_id(company)
        configurations = []
        if company_id:
            # the settings of the facility apply to every signer
            with without_check_access():
                configurations = cls.search(
                    [('company', '=', company_id)], limit=1)
        if configurations:
            return configurations[0]
        return cls(
            company=company_id, tsa_url=None, remote_url=None,
            revocation=cls.default_revocation(),
            verify_daily=cls.default_verify_daily())

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        if field_names & {'tsa_url', 'remote_url'}:
            for configuration in configurations:
                for url in (configuration.tsa_url, configuration.remote_url):
                    if url and not url.startswith(('http://', 'https://')):
                        raise CertificateValidationError(gettext(
                                'health_sign.msg_configuration_tsa_url',
                                url=url))


class TrustAnchor(DeactivableMixin, ModelSQL, ModelView):
    "A root certificate of a certification authority trusted by a facility"
    __name__ = 'health.sign.trust_anchor'
    __string__ = "Trust Anchor"

    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='CASCADE')
    name = fields.Char("Name", required=True)
    certificate = fields.Binary(
        "Certificate", required=True, filename='filename',
        help="The root certificate (PEM or DER), e.g. of the national root "
        "CA (NEAC) or of a licensed certification authority.")
    filename = fields.Char("File Name")
    subject = fields.Char("Subject", readonly=True)
    not_after = fields.DateTime("Valid Until", readonly=True)
    fingerprint = fields.Char("SHA-256 Fingerprint", readonly=True)

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def _normalise(cls, values):
        values = values.copy()
        if values.get('certificate'):
            info = crypto.certificate_info(values['certificate'])
            values['certificate'] = info['der']
            values['subject'] = info['subject']
            values['not_after'] = info['not_after']
            values['fingerprint'] = info['fingerprint_sha256']
            if not values.get('name'):
                values['name'] = info['subject_cn'] or info['subject']
        return values

    @classmethod
    def create(cls, vlist):
        return super().create([cls._normalise(v) for v in vlist])

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        args = []
        for records, values in zip(actions, actions):
            args.extend((records, cls._normalise(values)))
        super().write(*args)

    @classmethod
    def validate_fields(cls, anchors, field_names):
        super().validate_fields(anchors, field_names)
        if 'certificate' in field_names:
            for anchor in anchors:
                info = crypto.certificate_info(anchor.certificate)
                if not info['is_ca']:
                    raise CertificateValidationError(gettext(
                            'health_sign.msg_trust_anchor_not_ca',
                            anchor=anchor.name))

    @classmethod
    def get_trust_roots(cls, company=None):
        """The active trust anchors of the company (default: context
        company; all companies of the user when there is none) as
        asn1crypto certificates"""
        company_id = _company_id(company)
        domain = [('company', '=', company_id)] if company_id else []
        # Trust anchors are public certificates: every signer needs them
        with without_check_access():
            anchors = cls.search(domain)
        return [crypto.load_certificate(bytes(a.certificate))
            for a in anchors if a.certificate]


class Certificate(Workflow, ModelSQL, ModelView):
    "A signing certificate of a staff member or of the facility"
    __name__ = 'health.sign.certificate'
    __string__ = "Signing Certificate"

    name = fields.Char("Name", required=True)
    company = fields.Many2One(
        'company.company', "Facility", required=True, ondelete='RESTRICT')
    kind = fields.Selection(
        KINDS, "Kind", sort=False, required=True,
        help="Personal: the certificate of one staff member. "
        "Organisation: the certificate of the facility, for social-insurance "
        "files, referrals and re-examination slips.")
    kind_string = kind.translated('kind')
    owner = fields.Many2One(
        'res.user', "Owner",
        states={
            'required': Eval('kind') == 'personal',
            },
        help="The only user who can sign with this certificate "
        "(for an organisation certificate: the authorised person, or "
        "the station administrators when empty).")
    employee = fields.Many2One(
        'company.employee', "Staff Member",
        domain=[('company', '=', Eval('company', -1))])
    storage = fields.Selection(
        STORAGES, "Key Storage", sort=False, required=True, readonly=True)
    storage_string = storage.translated('storage')
    pkcs12 = fields.Binary(
        "PKCS#12 File", readonly=True,
        help="The file as uploaded, encrypted with its passphrase.")
    pkcs11_token = fields.Char(
        "Token Label",
        states={
            'invisible': Eval('storage') != 'pkcs11',
            },
        help="Label of the token (USB key or HSM); empty: the slot or token "
        "of the server configuration.")
    pkcs11_key_label = fields.Char(
        "Key Label",
        states={
            'invisible': Eval('storage') != 'pkcs11',
            'required': Eval('storage') == 'pkcs11',
            },
        help="Label of the key and of its certificate on the token.")
    remote_credential = fields.Char(
        "Remote Credential",
        states={
            'invisible': Eval('storage') != 'remote',
            'required': Eval('storage') == 'remote',
            },
        help="Identifier of the signer's account at the remote signing "
        "service.")
    certificate = fields.Binary("Certificate", readonly=True)
    chain = fields.Text(
        "Chain (PEM)", readonly=True,
        help="The certificates of the issuing certification authorities.")
    chain_summary = fields.Function(
        fields.Text("Chain"), 'get_chain_summary')
    subject = fields.Char("Subject", readonly=True)
    subject_cn = fields.Char("Common Name", readonly=True)
    subject_o = fields.Char("Organisation", readonly=True)
    issuer = fields.Char("Issuer", readonly=True)
    serial = fields.Char("Serial Number", readonly=True)
    not_before = fields.DateTime("Valid From", readonly=True)
    not_after = fields.DateTime("Valid Until", readonly=True)
    key_usage = fields.Char("Key Usage", readonly=True)
    key_algorithm = fields.Char("Key Algorithm", readonly=True)
    fingerprint = fields.Char("SHA-256 Fingerprint", readonly=True)
    validity = fields.Function(fields.Selection([
                ('valid', "Valid"),
                ('expired', "Expired"),
                ('not_yet_valid', "Not Yet Valid"),
                ], "Validity", sort=False), 'get_validity')
    state = fields.Selection([
            ('active', "Active"),
            ('disabled', "Disabled"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('not_after', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('active', 'disabled'),
            ('disabled', 'active'),
            }
        cls._buttons.update({
                'disable': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state'],
                    },
                'enable': {
                    'invisible': Eval('state') != 'disabled',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_kind():
        return 'personal'

    @staticmethod
    def default_storage():
        return 'pkcs12'

    @staticmethod
    def default_state():
        return 'active'

    @fields.depends('kind', 'owner')
    def on_change_kind(self):
        if self.kind == 'personal' and not self.owner:
            self.owner = Transaction().user or None

    def get_chain_summary(self, name):
        lines = []
        try:
            certificates = crypto.load_certificates(self.chain or '')
        except CertificateError:
            return None
        for certificate in certificates:
            info = crypto.certificate_info(certificate)
            lines.append('%s (%s, %s)' % (
                    info['subject_cn'] or info['subject'],
                    info['serial_hex'],
                    info['not_after'].strftime('%d/%m/%Y')))
        return '\n'.join(lines) or None

    def get_validity(self, name):
        now = dt.datetime.utcnow()
        if self.not_after and now > self.not_after:
            return 'expired'
        if self.not_before and now < self.not_before:
            return 'not_yet_valid'
        return 'valid'

    @classmethod
    def _normalise(cls, values):
        values = values.copy()
        if values.get('certificate'):
            values.update(_parsed_values(values['certificate']))
            if not values.get('name'):
                values['name'] = (
                    values['subject_cn'] or values['subject'])
        if values.get('chain') and not isinstance(values['chain'], str):
            values['chain'] = crypto.dump_certificates_pem(
                crypto.load_certificates(values['chain']))
        return values

    @classmethod
    def create(cls, vlist):
        return super().create([cls._normalise(v) for v in vlist])

    @classmethod
    def check_modification(
            cls, mode, certificates, values=None, external=False):
        super().check_modification(
            mode, certificates, values=values, external=external)
        if mode == 'write' and values and set(values) & set(KEY_FIELDS):
            for certificate in certificates:
                raise CertificateValidationError(gettext(
                        'health_sign.msg_certificate_modify',
                        certificate=certificate.rec_name))

    @classmethod
    def validate_fields(cls, certificates, field_names):
        super().validate_fields(certificates, field_names)
        if field_names & {'kind', 'owner'}:
            for certificate in certificates:
                if certificate.kind == 'personal' and not certificate.owner:
                    raise CertificateValidationError(gettext(
                            'health_sign.msg_certificate_owner_required'))

    @classmethod
    @ModelView.button
    @Workflow.transition('disabled')
    def disable(cls, certificates):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def enable(cls, certificates):
        pass

    # ---------------------------------------------------------- uploads
    @classmethod
    def create_from_pkcs12(cls, data, passphrase, **values):
        """Create a certificate from an uploaded PKCS#12 file after
        checking its passphrase (not stored).  ``values``: company, kind,
        owner, employee, name…  Raises NotPKCS12Error, WrongSecretError."""
        certificate, chain = crypto.read_pkcs12(data, passphrase)
        values.update({
                'storage': 'pkcs12',
                'pkcs12': bytes(data),
                'certificate': certificate.dump(),
                'chain': crypto.dump_certificates_pem(chain) or None,
                })
        record, = cls.create([values])
        return record

    @classmethod
    def create_from_certificate(cls, storage, certificate, chain=None,
            **values):
        """Create a certificate whose key is on a token (storage 'pkcs11',
        values pkcs11_key_label…) or at a remote signing service ('remote',
        values remote_credential) from its X.509 certificate (DER/PEM) and
        chain (PEM bundle or list)."""
        certificates = crypto.load_certificates(certificate)
        if not certificates:
            raise CertificateValidationError(gettext(
                    'health_sign.msg_certificate_format'))
        chain = crypto.load_certificates(chain or []) + certificates[1:]
        values.update({
                'storage': storage,
                'certificate': certificates[0].dump(),
                'chain': crypto.dump_certificates_pem(chain) or None,
                })
        record, = cls.create([values])
        return record

    # ---------------------------------------------------------- signing
    def check_owner(self):
        "Raise unless the current user may sign with this certificate"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user_id = Transaction().user
        if user_id == 0:
            return
        if self.owner and self.owner.id == user_id:
            return
        if self.kind == 'organisation' and not self.owner:
            admin_group = ModelData.get_id(
                'health_emr', 'group_health_admin')
            if admin_group in User.get_groups():
                return
        raise CertificateAccessError(gettext(
                'health_sign.msg_certificate_not_owner',
                certificate=self.rec_name))

    @property
    def trust_roots(self):
        TrustAnchor = Pool().get('health.sign.trust_anchor')
        return TrustAnchor.get_trust_roots(self.company)

    @property
    def configuration(self):
        Configuration = Pool().get('health.sign.configuration')
        return Configuration.get_for_company(self.company)

    def check_before_signing(self, at=None):
        """Check that the certificate may sign now (or at ``at``): active,
        valid, chained to a trust anchor of the facility, with a signing
        key usage and not revoked (OCSP/CRL per the configuration of the
        facility, NĐ 23/2025 Điều 15).  Raises CertificateError
        subclasses with a Vietnamese message."""
        if self.state != 'active':
            raise CertificateError(gettext(
                    'health_sign.msg_certificate_inactive',
                    certificate=self.rec_name, state=self.state_string))
        crypto.check_certificate(
            bytes(self.certificate), self.chain or [], self.trust_roots,
            at=at, revocation=self.configuration.revocation or 'require')

    def get_key_material(self, secret):
        """Open the key with the passphrase (PKCS#12) or PIN (token) given
        by the signer now, for the current user only.  Returns a
        crypto.KeyMaterial (close it after the batch).  For remote signing
        ``secret`` is not used: the signer confirms on their phone."""
        self.check_owner()
        if self.state != 'active':
            raise CertificateError(gettext(
                    'health_sign.msg_certificate_inactive',
                    certificate=self.rec_name, state=self.state_string))
        chain = self.chain or []
        if self.storage == 'pkcs12':
            # nobody reads the file through the client (field access)
            with without_check_access():
                pkcs12 = self.__class__(self.id).pkcs12
            if not pkcs12:
                raise KeyMaterialError(gettext(
                        'health_sign.msg_certificate_no_key_file',
                        certificate=self.rec_name))
            key_material = crypto.load_pkcs12(
                bytes(pkcs12), secret, chain=chain)
        elif self.storage == 'pkcs11':
            module, token = self.pkcs11_location()
            if not self.pkcs11_key_label:
                raise KeyMaterialError(gettext(
                        'health_sign.msg_certificate_pkcs11_key_label',
                        certificate=self.rec_name))
            key_material = crypto.open_pkcs11(
                module, token, self.pkcs11_key_label, secret,
                certificate=bytes(self.certificate), chain=chain)
        elif self.storage == 'remote':
            from . import remote
            base_url = self.configuration.remote_url
            if not base_url:
                raise KeyMaterialError(gettext(
                        'health_sign.msg_certificate_remote_not_configured',
                        company=self.company.rec_name))
            if not self.remote_credential:
                raise KeyMaterialError(gettext(
                        'health_sign.msg_certificate_remote_credential',
                        certificate=self.rec_name))
            key_material = remote.remote_signer(
                base_url, self.remote_credential,
                certificate=bytes(self.certificate), chain=chain)
        # The key must belong to this certificate (a token may hold several)
        if (key_material.certificate is not None
                and key_material.certificate.dump() != bytes(
                    self.certificate)):
            key_material.close()
            raise KeyMaterialError(gettext(
                    'health_sign.msg_certificate_mismatch',
                    certificate=self.rec_name))
        return key_material

    def pkcs11_location(self):
        "(module path, slot number or token label) of the server config"
        module = config.get(SECTION, 'pkcs11_module')
        if not module:
            raise KeyMaterialError(gettext(
                    'health_sign.msg_certificate_pkcs11_not_configured'))
        token = (self.pkcs11_token
            or config.get(SECTION, 'pkcs11_token')
            or config.get(SECTION, 'pkcs11_slot'))
        return module, token


class CertificateRule(metaclass=PoolMeta):
    "Give the user id to the rule 'own certificates'"
    __name__ = 'ir.rule'

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        if model_name == 'health.sign.certificate':
            context['user_id'] = Transaction().user
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        if 'health.sign.certificate' in model_names:
            key = (*key, Transaction().user)
        return key


class CertificateUploadStart(ModelView):
    "Upload a certificate"
    __name__ = 'health.sign.certificate.upload.start'
    __string__ = "Upload Certificate"

    company = fields.Many2One('company.company', "Facility", required=True)
    kind = fields.Selection(KINDS, "Kind", sort=False, required=True)
    owner = fields.Many2One(
        'res.user', "Owner",
        states={
            'required': Eval('kind') == 'personal',
            })
    employee = fields.Many2One(
        'company.employee', "Staff Member",
        domain=[('company', '=', Eval('company', -1))])
    name = fields.Char(
        "Name", help="Empty: the name in the certificate.")
    storage = fields.Selection(STORAGES, "Key Storage", required=True,
        sort=False)
    file = fields.Binary(
        "File", filename='filename',
        states={
            'required': Eval('storage') == 'pkcs12',
            },
        help="PKCS#12 file (.p12, .pfx) with the key, or for a token or "
        "remote signing the certificate (.cer, .crt, .pem).")
    filename = fields.Char("File Name")
    passphrase = fields.Char(
        "Passphrase / PIN",
        states={
            'invisible': Eval('storage') == 'remote',
            },
        help="Checked now and never stored: it is asked again at every "
        "signature. For a token without certificate file: the PIN to read "
        "the certificate from the token.")
    pkcs11_token = fields.Char(
        "Token Label",
        states={
            'invisible': Eval('storage') != 'pkcs11',
            })
    pkcs11_key_label = fields.Char(
        "Key Label",
        states={
            'invisible': Eval('storage') != 'pkcs11',
            'required': Eval('storage') == 'pkcs11',
            })
    remote_credential = fields.Char(
        "Remote Credential",
        states={
            'invisible': Eval('storage') != 'remote',
            'required': Eval('storage') == 'remote',
            })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_kind():
        return 'personal'

    @staticmethod
    def default_storage():
        return 'pkcs12'

    @staticmethod
    def default_owner():
        return Transaction().user or None


class CertificateUpload(Wizard):
    "Upload a certificate"
    __name__ = 'health.sign.certificate.upload'

    start = StateView(
        'health.sign.certificate.upload.start',
        'health_sign.certificate_upload_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Upload", 'upload', 'tryton-ok', default=True),
            ])
    upload = StateTransition()
    open_ = StateAction('health_sign.act_certificate_list')

    def transition_upload(self):
        start = self.start
        secret = start.passphrase
        # The passphrase is never kept in the wizard session (database)
        start.passphrase = None
        self.certificate = self._create(start, secret)
        del secret
        return 'open_'

    def _create(self, start, secret):
        pool = Pool()
        Certificate = pool.get('health.sign.certificate')
        values = {
            'company': start.company.id,
            'kind': start.kind,
            'owner': start.owner.id if start.owner else None,
            'employee': start.employee.id if start.employee else None,
            }
        if start.name:
            values['name'] = start.name
        data = bytes(start.file) if start.file else None
        if start.storage == 'pkcs12':
            if not data:
                raise CertificateValidationError(gettext(
                        'health_sign.msg_certificate_upload_file'))
            return Certificate.create_from_pkcs12(data, secret, **values)
        if start.storage == 'pkcs11':
            values['pkcs11_token'] = start.pkcs11_token
            values['pkcs11_key_label'] = start.pkcs11_key_label
            chain = None
            if not data:
                # read the certificate from the token (checks the PIN too)
                probe = Certificate(
                    storage='pkcs11', pkcs11_token=start.pkcs11_token)
                module, token = probe.pkcs11_location()
                with crypto.open_pkcs11(
                        module, token, start.pkcs11_key_label,
                        secret) as key_material:
                    data = key_material.certificate.dump()
                    chain = key_material.chain
        else:
            values['remote_credential'] = start.remote_credential
            chain = None
            if not data:
                Configuration = pool.get('health.sign.configuration')
                from . import remote
                base_url = Configuration.get_for_company(
                    start.company).remote_url
                if not base_url:
                    raise KeyMaterialError(gettext(
                            'health_sign'
                            '.msg_certificate_remote_not_configured',
                            company=start.company.rec_name))
                signer = remote.remote_signer(
                    base_url, start.remote_credential)
                data = signer.certificate.dump()
                chain = signer.chain
        return Certificate.create_from_certificate(
            start.storage, data, chain=chain, **values)

    def do_open_(self, action):
        action['views'].reverse()
        return action, {'res_id': [self.certificate.id]}

    @property
    def certificate(self):
        Certificate = Pool().get('health.sign.certificate')
        certificate_id = getattr(self, '_certificate_id', None)
        return Certificate(certificate_id) if certificate_id else None

    @certificate.setter
    def certificate(self, record):
        self._certificate_id = record.id if record else None
