# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""National code sets: ethnic groups, occupations, visit categories,
ICD-10 diagnoses, medicines and medical services."""
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields

from .model import CodeNameSearchMixin, FoldedNameMixin


class Ethnicity(CodeNameSearchMixin, ModelSQL, ModelView):
    "Ethnic group (dân tộc, QĐ 121-TCTK/PPCĐ): MA_DANTOC"
    __name__ = 'health.ethnicity'
    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True)


class Occupation(CodeNameSearchMixin, ModelSQL, ModelView):
    "Occupation, level 2 of QĐ 34/2020/QĐ-TTg: MA_NGHE_NGHIEP"
    __name__ = 'health.occupation'
    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True)


class VisitCategory(CodeNameSearchMixin, ModelSQL, ModelView):
    "Visit category (đối tượng đến KBCB, QĐ 3276/QĐ-BYT): MA_DOITUONG_KCB"
    __name__ = 'health.visit.category'
    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True)


class Disease(FoldedNameMixin, CodeNameSearchMixin, ModelSQL, ModelView):
    "A code of the Vietnamese ICD-10 list in force over a period"
    __name__ = 'health.disease'
    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True)
    valid_from = fields.Date("Valid From")
    valid_to = fields.Date("Valid To")


class Medicine(DeactivableMixin, FoldedNameMixin, CodeNameSearchMixin,
        ModelSQL, ModelView):
    "A medicine the facility may prescribe"
    __name__ = 'health.medicine'
    code = fields.Char("Active Ingredient Code")
    name = fields.Char("Active Ingredient (INN)", required=True)


class MedicalService(DeactivableMixin, FoldedNameMixin, CodeNameSearchMixin,
        ModelSQL, ModelView):
    "A medical service (dịch vụ kỹ thuật, khám bệnh) the facility provides"
    __name__ = 'health.service'
    code = fields.Char("National Service Code", required=True)
    name = fields.Char("Name", required=True)
