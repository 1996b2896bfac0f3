# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The base of every printed health form

A form is an ODT template rendered by relatorio and always converted to
PDF (converter.py).  Every paper copy carries the conversion mark of
Nghị định 137/2024 (R13): "Bản giấy chuyển đổi từ hồ sơ bệnh án điện tử",
system, owner, lookup code and QR, time of conversion, who printed it; and
each print is logged (health.form.print.log).  A copy rendered for signing
(purpose 'sign', health_sign) carries no mark and is not logged.

The QR code of a copy holds "OpenTYT:<facility code>:<lookup code>", or
the URL of `[health_vn_forms] lookup_url` (e.g.
``https://emr.example.vn/lookup/%(code)s``) when it is configured."""
import datetime as dt
import hashlib
import re
import secrets
from io import BytesIO

from trytond import config
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.report import Report
from trytond.rpc import RPC
from trytond.tools import timezone as tz
from trytond.transaction import Transaction, without_check_access

from .converter import convert_to_pdf
from .exceptions import FormMissingDataError

__all__ = ['FormReport', 'date_words', 'format_vn_date', 'qr_image',
    'new_lookup_code', 'count_pdf_pages']

CONVERSION_TEXT = "Bản giấy chuyển đổi từ hồ sơ bệnh án điện tử"
SYSTEM_NAME = 'OpenTYT'
# Crockford's base32: no I, L, O, U to misread on paper
LOOKUP_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
LOOKUP_LENGTH = 10
DEFAULT_TIMEZONE = 'Asia/Ho_Chi_Minh'


def new_lookup_code():
    "A short random code printed on the copy, e.g. 7K3M-Q9TX-2B"
    code = ''.join(
        secrets.choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))
    return '-'.join([code[:4], code[4:8], code[8:]])


def _as_date(value, timezone=None):
    if isinstance(value, dt.datetime):
        if timezone:
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            value = value.astimezone(timezone)
        return value.date()
    return value


def date_words(value, timezone=None):
    "'ngày 05 tháng 11 năm 2026'; blanks to fill by hand when no date"
    value = _as_date(value, timezone)
    if not value:
        return "ngày ..... tháng ..... năm .........."
    return "ngày %02d tháng %02d năm %04d" % (
        value.day, value.month, value.year)


def format_vn_date(value, timezone=None):
    "'05/11/2026' (and '08:30 05/11/2026' for a datetime)"
    if not value:
        return ''
    if isinstance(value, dt.datetime):
        if timezone:
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            value = value.astimezone(timezone)
        return value.strftime('%H:%M %d/%m/%Y')
    return value.strftime('%d/%m/%Y')


def qr_image(text, size_cm=2.5):
    """A QR code for a relatorio `image:` frame:
    (png bytes, 'image/png', width, height)"""
    import qrcode
    from qrcode.image.pil import PilImage

    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=8, border=1, image_factory=PilImage)
    qr.add_data(text)
    qr.make(fit=True)
    output = BytesIO()
    qr.make_image().save(output)
    size = '%scm' % size_cm
    return output.getvalue(), 'image/png', size, size


_PAGE = re.compile(rb'/Type\s*/Page(?![a-zA-Z])')


def count_pdf_pages(pdf):
    "Pages of a PDF written by LibreOffice (no object streams)"
    return len(_PAGE.findall(pdf))


class FormReport(Report):
    "A health form printed from an ODT template, always as PDF"

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Printing writes the print log: Report.execute is a read-only RPC
        # by default, and PostgreSQL refuses the INSERT
        cls.__rpc__ = cls.__rpc__.copy()
        cls.__rpc__['execute'] = RPC(readonly=False)

    # -- required data --------------------------------------------------------

    @classmethod
    def missing_data(cls, record):
        """The labels of the data this form needs and the record lacks
        (override per form)"""
        return []

    @classmethod
    def field_label(cls, record, name):
        "The label of a field of record, in the user's language"
        field = record.__class__._fields[name]
        return field.string

    @classmethod
    def _action_report(cls):
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        action_report, = ActionReport.search([
                ('report_name', '=', cls.__name__),
                ], limit=1)
        return action_report

    @classmethod
    def check_required(cls, records):
        "Refuse before rendering a record that lacks data the form needs"
        form = None
        for record in records:
            missing = cls.missing_data(record)
            if missing:
                if form is None:
                    form = cls._action_report().name
                raise FormMissingDataError(gettext(
                        'health_vn_forms.msg_form_missing_data',
                        form=form, record=record.rec_name,
                        fields=', '.join(missing)))

    # -- context --------------------------------------------------------------

    @classmethod
    def get_facility(cls, records):
        "The station the form is printed for: the record's company"
        pool = Pool()
        User = pool.get('res.user')
        Company = pool.get('company.company')
        for record in records:
            company = getattr(record, 'company', None)
            if company:
                return Company(int(company))
        company_id = Transaction().context.get('company')
        if company_id is not None and company_id >= 0:
            return Company(company_id)
        user = User(Transaction().user)
        return user.company

    @classmethod
    def lookup_url(cls, facility, lookup_code):
        "What the QR code of a copy holds"
        url = config.get('health_vn_forms', 'lookup_url')
        if url:
            return url % {'code': lookup_code}
        return '%s:%s:%s' % (
            SYSTEM_NAME, (facility.facility_code if facility else '') or '',
            lookup_code)

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        User = pool.get('res.user')
        context = super().get_context(records, header, data)
        facility = cls.get_facility(records)
        # Vietnam when the station has no time zone set
        timezone = tz.get_tzinfo(
            (facility.timezone if facility else None) or DEFAULT_TIMEZONE)
        context['facility'] = facility
        context['ministry_header'] = (
            facility.department_of_health_header if facility else '') or ''
        context['station_name'] = facility.rec_name if facility else ''
        context['date_words'] = (
            lambda value=None: date_words(value, timezone))
        context['format_vn_date'] = (
            lambda value=None: format_vn_date(value, timezone))
        context['qr_image'] = qr_image
        context['today'] = dt.datetime.now(timezone).date()

        purpose = (data or {}).get('purpose', 'print')
        if purpose == 'sign':
            context['conversion'] = None
            context['conversions'] = {}
            context['print_codes'] = {}
        else:
            user = User(Transaction().user)
            now = dt.datetime.now(dt.timezone.utc)
            converted_at = format_vn_date(now, timezone)
            owner = facility.rec_name if facility else ''
            conversions = {}
            for record in records:
                code = new_lookup_code()
                conversions[record.id] = {
                    'text': CONVERSION_TEXT,
                    'system': SYSTEM_NAME,
                    'owner': owner,
                    'lookup_code': code,
                    'qr': qr_image(cls.lookup_url(facility, code)),
                    'converted_at': converted_at,
                    'printed_by': user.name,
                    }
            context['conversions'] = conversions
            context['print_codes'] = {
                i: c['lookup_code'] for i, c in conversions.items()}
            context['conversion'] = (
                conversions[records[0].id] if records else None)
        # A record printed several times in one document gets its own mark
        context['conversion_of'] = (
            lambda record: context['conversions'].get(record.id))
        return context

    # -- rendering ------------------------------------------------------------

    @classmethod
    def convert(cls, report, data, timeout=None, retry=None):
        "Always a PDF, or ConversionError: never the ODT"
        return 'pdf', convert_to_pdf(
            data, input_extension=report.template_extension)

    @classmethod
    def execute(cls, ids, data):
        data = dict(data or {})
        # Only the server (health_sign) renders without the conversion mark
        if Transaction().check_access or data.get('purpose') != 'sign':
            data['purpose'] = 'print'
        return super().execute(ids, data)

    @classmethod
    def _execute(cls, records, header, data, action):
        cls.check_required(records)
        with Transaction().set_context(Transaction().context):
            report_context = cls.get_context(records, header, data)
            oext, content = cls.convert(
                action, cls.render(action, report_context))
        if data.get('purpose') != 'sign':
            cls.log_prints(records, action, report_context, content)
        return oext, content

    @classmethod
    def log_prints(cls, records, action, report_context, pdf):
        "One print log entry per record of the printed document"
        pool = Pool()
        PrintLog = pool.get('health.form.print.log')
        facility = report_context.get('facility')
        codes = report_context.get('print_codes') or {}
        sha256 = hashlib.sha256(pdf).hexdigest()
        pages = count_pdf_pages(pdf)
        now = dt.datetime.now()
        user = Transaction().user
        to_create = []
        for record in records:
            company = getattr(record, 'company', None) or facility
            to_create.append({
                    'company': int(company) if company else None,
                    'record': str(record),
                    'report': action.id,
                    'printed_by': user,
                    'printed_at': now,
                    'lookup_code': codes.get(record.id) or new_lookup_code(),
                    'sha256': sha256,
                    'pages': pages,
                    })
        with without_check_access():
            PrintLog.create(to_create)

    @classmethod
    def render_pdf(cls, records, purpose='print'):
        """The PDF of records in one document (health_sign signs it).

        purpose 'sign': no conversion mark and no print log."""
        action = cls._action_report()
        records = list(records)
        model = action.model or (records[0].__name__ if records else None)
        data = {
            'model': model,
            'id': records[0].id if records else None,
            'ids': [r.id for r in records],
            'action_id': action.id,
            'purpose': 'sign' if purpose == 'sign' else 'print',
            }
        oext, content = cls._execute(records, {}, data, action)
        return bytes(content)
