# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class CommuneCodeError(UserError):
    pass


class FacilityCodeError(ValidationError):
    pass


class PersonalIdError(ValidationError):
    pass


class SocialInsuranceNumberError(ValidationError):
    pass


class SiteError(ValidationError):
    pass


class ReceptionError(UserError):
    pass


class DiagnosisCodingError(ValidationError):
    "An ICD-10 code breaks a coding rule of the Ministry of Health"
    pass


class CatalogueImportError(UserError):
    "A catalogue file cannot be imported (nothing is imported)"
    pass


class EncounterError(ValidationError):
    "An encounter that breaks a rule of the outpatient record"
    pass


class VitalSignError(ValidationError):
    "A vital sign outside the range that can be measured"
    pass
