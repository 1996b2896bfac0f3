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
