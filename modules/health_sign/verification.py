# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Verify the signatures of a PDF brought from outside (a paper's
electronic original sent by another facility, a file a patient shows)."""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.health_emr.model import company_timezone
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .signature import _trust_roots, sha256


class VerifyPdfStart(ModelView):
    "The PDF file to verify"
    __name__ = 'health.sign.verify_pdf.start'

    pdf = fields.Binary("PDF File", filename='filename', required=True)
    filename = fields.Char("File Name")


class VerifyPdfResult(ModelView):
    "The signatures found in the PDF and their status"
    __name__ = 'health.sign.verify_pdf.result'

    filename = fields.Char("File Name", readonly=True)
    sha256 = fields.Char("SHA-256", readonly=True)
    count = fields.Integer("Signatures", readonly=True)
    valid = fields.Boolean("All Valid", readonly=True)
    report = fields.Text("Result", readonly=True)
    signature = fields.Many2One(
        'health.sign.signature', "Stored Signature", readonly=True,
        help="The signature record of this station whose signed PDF is "
        "exactly this file, if any.")


class VerifyPdf(Wizard):
    "Check the signatures of a PDF file"
    __name__ = 'health.sign.verify_pdf'

    start = StateView('health.sign.verify_pdf.start',
        'health_sign.verify_pdf_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Verify", 'verify', 'tryton-ok', default=True),
            ])
    verify = StateTransition()
    result = StateView('health.sign.verify_pdf.result',
        'health_sign.verify_pdf_result_view_form', [
            Button("Verify Another", 'start', 'tryton-back'),
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_verify(self):
        pool = Pool()
        Signature = pool.get('health.sign.signature')
        Company = pool.get('company.company')
        Lang = pool.get('ir.lang')
        from . import crypto
        data = bytes(self.start.pdf or b'')
        digest = sha256(data)
        lines = []
        try:
            statuses = crypto.verify_pdf(data, _trust_roots())
        except UserError as exception:
            statuses = None
            lines.append(exception.message)
        if statuses is not None and not statuses:
            lines.append(gettext('health_sign.msg_verify_pdf_unsigned'))
        lang = Lang.get()
        company = Transaction().context.get('company')
        zone = company_timezone(Company(company) if company else None)
        for index, status in enumerate(statuses or [], 1):
            when = status.timestamp or status.signing_time
            if when and when.tzinfo:
                when = when.astimezone(zone)
            lines.append(gettext(
                    'health_sign.msg_verify_pdf_line',
                    number=index,
                    field=status.field or '',
                    signer=status.signer or status.signer_subject or '?',
                    time=(lang.strftime(when, '%d/%m/%Y %H:%M:%S')
                        if when else '?'),
                    state=gettext(
                        'health_sign.msg_verify_pdf_valid' if status.ok
                        else 'health_sign.msg_verify_pdf_invalid'),
                    message=status.message or ''))
        with without_check_access():
            stored = Signature.search([('sha256', '=', digest)], limit=1)
        self.result.filename = self.start.filename
        self.result.sha256 = digest
        self.result.count = len(statuses or [])
        self.result.valid = bool(statuses) and all(s.ok for s in statuses)
        self.result.report = '\n'.join(lines)
        self.result.signature = stored[0] if stored else None
        # The file is not kept in the wizard session
        self.start.pdf = None
        return 'result'

    def default_result(self, fields):
        return {
            'filename': self.result.filename,
            'sha256': self.result.sha256,
            'count': self.result.count,
            'valid': self.result.valid,
            'report': self.result.report,
            'signature': (
                self.result.signature.id if self.result.signature else None),
            }
