# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Digital signatures of the demo station (health_sign), made the way a
station makes them, through the client's own wizards:

- a demo certification authority (health_sign.testpki, generated at demo
  time, not a real CA) whose root the station administrator trusts;
- a PKCS#12 file for each clinical user, uploaded by that user with the
  "Nạp chứng thư số" wizard (passphrase = the demo password), and one for
  the facility (organisation certificate);
- the doctor signs ten done encounters and ten issued prescriptions (one
  batch each, one passphrase entry) and verifies the signatures.

The PKCS#12 files and the root certificate are written to <data>/pki/
(var/demo/pki by default), never into the repository.  Running it again
issues only the missing certificates and tops the signatures up to ten."""
import os
import sys
import threading
import time
from pathlib import Path

# Users who get a personal certificate (scripts/demo_data.py USERS)
SIGNERS = ['bacsi', 'dieuduong', 'duocsi', 'xetnghiem', 'cdha']
# The station administrator trusts the CA and uploads the facility's
# certificate
STATION_ADMIN = 'quantri'
DOCTOR = 'bacsi'
SIGN_COUNT = 10
ANCHOR_NAME = "OpenTYT Demo CA (mô phỏng, không phải CA thật)"
# A flat ODT of one line: converted once to start LibreOffice early
_WARM_UP_DOCUMENT = b'''<?xml version="1.0" encoding="UTF-8"?>
<office:document
  xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  office:version="1.3"
  office:mimetype="application/vnd.oasis.opendocument.text">
 <office:body><office:text><text:p>OpenTYT</text:p></office:text></office:body>
</office:document>
'''


def activated(*names):
    "Whether the modules are activated in the database"
    from proteus import Model
    Module = Model.get('ir.module')
    return len(Module.find([('name', 'in', list(names)),
                ('state', '=', 'activated')])) == len(names)


def warm_up():
    """Start this process's LibreOffice in the background while the
    patients are imported (≈ 6 s saved on the first signature)"""
    def convert():
        from trytond.modules.health_vn_forms import converter
        try:
            converter.convert_to_pdf(_WARM_UP_DOCUMENT, 'fodt')
        except Exception as exception:
            # the signing step reports a real failure
            print(f"LibreOffice warm-up failed: {exception}",
                file=sys.stderr)
    thread = threading.Thread(target=convert, daemon=True)
    thread.start()
    return thread


def as_user(login):
    """Work as login from now on, with the user's preferences as context.
    The same proteus configuration: set_trytond would load the pool again
    (≈ 1.3 s each time)."""
    from proteus import Model
    from proteus.config import get_config
    config = get_config()
    User = Model.get('res.user')
    config.user = 0  # root finds any user
    config._context = {}
    user, = User.find([('login', '=', login)])
    config.user = user.id
    config._context = User.get_preferences(True, {})
    return config


def _write(path, data):
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            'wb') as file:
        file.write(data)


def _upload(pkcs12, filename, password, kind='personal', employee=None):
    "Upload a PKCS#12 file as the current user with the client's wizard"
    from proteus import Wizard
    upload = Wizard('health.sign.certificate.upload')
    upload.form.kind = kind
    upload.form.storage = 'pkcs12'
    if kind != 'personal':
        upload.form.owner = None
    upload.form.employee = employee
    upload.form.file = pkcs12
    upload.form.filename = filename
    upload.form.passphrase = password
    upload.execute('upload')


def load_certificates(password, folder, facility):
    """The demo CA, its trust anchor and the missing certificates;
    returns the number of certificates uploaded"""
    from proteus import Model
    as_user(STATION_ADMIN)
    Certificate = Model.get('health.sign.certificate')
    TrustAnchor = Model.get('health.sign.trust_anchor')
    Configuration = Model.get('health.sign.configuration')
    active = Certificate.find([('state', '=', 'active')])
    owners = {c.owner.login for c in active if c.owner}
    missing = [login for login in SIGNERS if login not in owners]
    organisation = not any(c.kind == 'organisation' for c in active)
    if not Configuration.find([]):
        # No timestamp authority for the demo: PAdES B-B signatures
        Configuration().save()
    if not missing and not organisation:
        return 0

    from trytond.modules.health_sign.testpki import TestPKI
    pki = TestPKI(serve=False, organisation=facility)
    folder = Path(folder)
    _write(folder / 'opentyt-demo-root-ca.pem', pki.root_pem)
    anchor = TrustAnchor(name=ANCHOR_NAME)
    anchor.certificate = pki.root_pem
    anchor.filename = 'opentyt-demo-root-ca.pem'
    anchor.save()
    uploaded = 0
    if organisation:
        pkcs12 = pki.issue_organisation().pkcs12(password)
        _write(folder / 'co-so.p12', pkcs12)
        _upload(pkcs12, 'co-so.p12', password, kind='organisation')
        uploaded += 1
    for login in missing:
        config = as_user(login)
        user = Model.get('res.user')(config.user)
        identity = pki.issue_signer(user.name,
            email=f'{login}@baodai.example.invalid', organisation=facility)
        pkcs12 = identity.pkcs12(password)
        _write(folder / f'{login}.p12', pkcs12)
        _upload(pkcs12, f'{login}.p12', password, employee=user.employee)
        uploaded += 1
    return uploaded


def _sign(records, certificate, password):
    "Sign records with one batch of the sign wizard"
    from proteus import Wizard
    if not records:
        return
    sign = Wizard('health.sign.sign', records)
    sign.form.method = 'certificate'
    sign.form.certificate = certificate
    sign.form.secret = password
    sign.execute('sign_')
    if sign.form.failed_count:
        raise RuntimeError("demo signing failed:\n%s" % sign.form.failures)
    sign.execute('end')


def sign_records(password):
    """As the doctor: sign the latest done encounters with a prescription
    and their prescriptions, up to SIGN_COUNT of each, then verify every
    signature.  Returns the numbers of encounters and prescriptions
    signed now and of signed records verified."""
    from proteus import Model
    config = as_user(DOCTOR)
    Certificate = Model.get('health.sign.certificate')
    Encounter = Model.get('health.encounter')
    Prescription = Model.get('health.prescription')
    certificate, = Certificate.find([
            ('owner', '=', config.user), ('state', '=', 'active')],
        limit=1)

    signed = Encounter.find([('signed', '=', True)])
    encounters = Encounter.find([
            ('state', '=', 'done'), ('signed', '=', False),
            ('practitioner', '!=', None),
            ('disposition', '=', 'home_prescription'),
            ], order=[('arrival_at', 'DESC'), ('id', 'DESC')],
        limit=max(SIGN_COUNT - len(signed), 0))
    _sign(encounters, certificate, password)

    signed_prescriptions = Prescription.find([('signed', '=', True)])
    need = max(SIGN_COUNT - len(signed_prescriptions), 0)
    prescriptions = []
    if need:
        # those of the encounters signed now first: the newcomer sees an
        # encounter and its prescription signed together
        domain = [('state', '=', 'issued'), ('signed', '=', False)]
        prescriptions = Prescription.find(domain + [
                ('encounter', 'in', [e.id for e in encounters])],
            limit=need)
        if len(prescriptions) < need:
            prescriptions += Prescription.find(domain + [
                    ('id', 'not in', [p.id for p in prescriptions])],
                order=[('id', 'DESC')], limit=need - len(prescriptions))
    _sign(prescriptions, certificate, password)

    # Verify every stored signature again, as the daily job does
    states = []
    for Model_ in (Encounter, Prescription):
        records = Model_.find([('signed', '=', True)])
        if records:
            Model_.click(records, 'verify_signatures')
            states += [r.signature_state for r in Model_.find(
                    [('id', 'in', [r.id for r in records])])]
    if any(state != 'signed' for state in states):
        raise RuntimeError("demo signatures do not verify: %s" % states)
    return len(encounters), len(prescriptions), len(states)


def load(password, folder, facility):
    "Certificates and signatures of the demo; nothing without health_sign"
    if not activated('health_sign', 'health_vn_forms'):
        return
    start = time.monotonic()
    uploaded = load_certificates(password, folder, facility)
    encounters, prescriptions, verified = sign_records(password)
    print(f"{uploaded} demo certificates uploaded; {encounters} encounters "
        f"and {prescriptions} prescriptions signed; {verified} signed "
        f"records verified ({time.monotonic() - start:.1f} s)",
        file=sys.stderr)
