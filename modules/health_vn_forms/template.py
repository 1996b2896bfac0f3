# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Station templates: the station administrator replaces the template of a
form with the station's own layout (ir.action.report.report_content_custom)
and goes back to the shipped one"""
import os
import zipfile
from io import BytesIO

from lxml import etree

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .exceptions import TemplateError

ODT_MIMETYPE = b'application/vnd.oasis.opendocument.text'
# What a station administrator may change on a form report
TEMPLATE_FIELDS = {'report_content', 'report_content_custom'}


def check_template(content):
    """Whether content is an OpenDocument text (zipped .odt or flat .fodt)
    relatorio can load"""
    import relatorio.reporting
    if not content:
        return True
    content = bytes(content)
    if content.startswith(b'PK'):
        try:
            with zipfile.ZipFile(BytesIO(content)) as odt:
                if odt.read('mimetype').strip() != ODT_MIMETYPE:
                    return False
                odt.getinfo('content.xml')
                odt.getinfo('styles.xml')
        except (zipfile.BadZipFile, KeyError):
            return False
    else:
        try:
            root = etree.fromstring(content)
        except etree.XMLSyntaxError:
            return False
        if root.get('{urn:oasis:names:tc:opendocument:xmlns:office:1.0}'
                'mimetype') != ODT_MIMETYPE.decode():
            return False
    loader = relatorio.reporting.MIMETemplateLoader()
    klass = loader.factories[loader.get_type(ODT_MIMETYPE.decode())]
    try:
        klass(BytesIO(content))
    except Exception:
        return False
    return True


class ActionReport(metaclass=PoolMeta):
    __name__ = 'ir.action.report'
    health_form = fields.Boolean(
        "Health Form", readonly=True,
        help="A form of the medical record printed to PDF with the "
        "conversion mark; its template can be replaced by the station.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'restore_template': {
                    'invisible': ~Eval('is_custom', False),
                    'depends': ['is_custom'],
                    },
                })

    @classmethod
    def default_health_form(cls):
        return False

    @fields.depends('name', 'template_extension', 'report',
        'report_content_custom')
    def on_change_with_report_content_name(self, name=None):
        name = super().on_change_with_report_content_name(name=name)
        # The shipped templates are flat ODT: download them as .fodt
        if (not self.report_content_custom and self.report
                and self.report.endswith('.fodt') and self.name):
            name = self.name + os.extsep + 'fodt'
        return name

    @classmethod
    def check_modification(cls, mode, reports, values=None, external=False):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        super().check_modification(
            mode, reports, values=values, external=external)
        if mode != 'write' or not values:
            return
        template_change = TEMPLATE_FIELDS & values.keys()
        if external:
            groups = set(User.get_groups())
            if ModelData.get_id('res', 'group_admin') not in groups:
                # Outside Tryton administrators, only the station
                # administrator writes reports, and only the templates of
                # health forms
                health_admin = ModelData.get_id(
                    'health_emr', 'group_health_admin') in groups
                for report in reports:
                    if (not health_admin or not report.health_form
                            or values.keys() - TEMPLATE_FIELDS):
                        raise TemplateError(gettext(
                                'health_vn_forms.msg_template_not_form',
                                report=report.rec_name))
        if template_change:
            content = (values.get('report_content_custom')
                or values.get('report_content'))
            for report in reports:
                if (report.health_form
                        and report.template_extension == 'odt'
                        and not check_template(content)):
                    raise TemplateError(gettext(
                            'health_vn_forms.msg_template_not_opendocument',
                            report=report.rec_name))

    @classmethod
    @ModelView.button
    def restore_template(cls, reports):
        "Go back to the template shipped with the module"
        cls.write(
            [r for r in reports if r.report_content_custom],
            {'report_content_custom': None})


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def domain_get(cls, model_name, mode='read'):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        domain = super().domain_get(model_name, mode=mode)
        # Form reports are given to the staff who print them; the station
        # administrator also sees every one of them to manage its template
        # (printing is still checked against the report's groups)
        if (domain and model_name == 'ir.action.report'
                and mode in {'read', 'write'}
                and ModelData.get_id('health_emr', 'group_health_admin')
                in User.get_groups()):
            domain = ['OR', domain, [('health_form', '=', True)]]
        return domain
