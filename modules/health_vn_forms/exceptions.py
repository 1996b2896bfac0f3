# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class ConversionError(UserError):
    "LibreOffice gave no PDF: the user must never get the ODT instead"
    pass


class FormMissingDataError(UserError):
    pass


class PrintLogAccessError(AccessError):
    pass


class TemplateError(UserError):
    pass
