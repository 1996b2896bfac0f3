# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What the forms need on the encounter that health_emr does not keep:
the sick-leave certificate (giấy chứng nhận nghỉ việc hưởng BHXH,
TT 25/2025/TT-BYT Mẫu 07)."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval

# TT 25/2025/TT-BYT: at most 30 days per certificate for an outpatient
# (longer periods for tuberculosis or a miscarriage are not handled here).
SICK_LEAVE_MAX_DAYS = 30


class SickLeaveError(ValidationError):
    pass


class Encounter(metaclass=PoolMeta):
    __name__ = 'health.encounter'

    _sick_leave_states = {
        # The doctor fills the certificate while the encounter is open
        'readonly': Eval('state').in_(['done', 'cancelled']),
        }
    sick_leave_days = fields.Integer(
        "Sick Leave Days", states=_sick_leave_states,
        help="Số ngày nghỉ: at most 30 days per certificate, counted from "
        "the first to the last day included.")
    sick_leave_from = fields.Date(
        "Sick Leave From",
        states={
            'readonly': _sick_leave_states['readonly'],
            'required': Bool(Eval('sick_leave_days')),
            },
        help="The first day off: the day of the examination.")
    sick_leave_to = fields.Date(
        "Sick Leave To",
        states={
            'readonly': _sick_leave_states['readonly'],
            'required': Bool(Eval('sick_leave_days')),
            },
        help="The last day off (đến hết ngày).")
    sick_leave_employer = fields.Char(
        "Workplace", states=_sick_leave_states,
        help="Đơn vị làm việc: the employer printed on the sick-leave "
        "certificate.")
    sick_leave_parent = fields.Char(
        "Parent (Sick Child)", states=_sick_leave_states,
        help="For a sick child under 7 years: the name of the father or "
        "mother who stays at home to care for the child.")
    del _sick_leave_states

    @fields.depends('sick_leave_days', 'sick_leave_from', 'arrival_at',
        'company', methods=['on_change_with_date'])
    def on_change_sick_leave_days(self):
        if self.sick_leave_days and self.sick_leave_days > 0:
            if not self.sick_leave_from:
                self.sick_leave_from = self.on_change_with_date()
            if self.sick_leave_from:
                self.sick_leave_to = self.sick_leave_from + dt.timedelta(
                    days=self.sick_leave_days - 1)

    @fields.depends('sick_leave_from', 'sick_leave_to')
    def on_change_sick_leave_from(self):
        self._compute_sick_leave_days()

    @fields.depends('sick_leave_from', 'sick_leave_to')
    def on_change_sick_leave_to(self):
        self._compute_sick_leave_days()

    def _compute_sick_leave_days(self):
        if (self.sick_leave_from and self.sick_leave_to
                and self.sick_leave_to >= self.sick_leave_from):
            self.sick_leave_days = (
                self.sick_leave_to - self.sick_leave_from).days + 1

    @classmethod
    def validate_fields(cls, encounters, field_names):
        super().validate_fields(encounters, field_names)
        if field_names is None or {
                'sick_leave_days', 'sick_leave_from', 'sick_leave_to',
                'arrival_at'} & field_names:
            for encounter in encounters:
                encounter.check_sick_leave()

    def check_sick_leave(self):
        "The period is consistent: from ≤ to, days = to - from + 1 ≤ 30"
        Lang = Pool().get('ir.lang')
        lang = Lang.get()
        days, start, end = (
            self.sick_leave_days, self.sick_leave_from, self.sick_leave_to)
        if days is None and not start and not end:
            return
        if days is None or not start or not end:
            raise SickLeaveError(gettext(
                    'health_vn_forms.msg_sick_leave_incomplete',
                    encounter=self.rec_name))
        if end < start:
            raise SickLeaveError(gettext(
                    'health_vn_forms.msg_sick_leave_dates',
                    encounter=self.rec_name,
                    start=lang.strftime(start), end=lang.strftime(end)))
        if days != (end - start).days + 1:
            raise SickLeaveError(gettext(
                    'health_vn_forms.msg_sick_leave_days',
                    encounter=self.rec_name, days=days,
                    start=lang.strftime(start), end=lang.strftime(end),
                    count=(end - start).days + 1))
        if days > SICK_LEAVE_MAX_DAYS:
            raise SickLeaveError(gettext(
                    'health_vn_forms.msg_sick_leave_too_long',
                    encounter=self.rec_name, days=days,
                    maximum=SICK_LEAVE_MAX_DAYS))
        if self.date and start < self.date:
            raise SickLeaveError(gettext(
                    'health_vn_forms.msg_sick_leave_before_encounter',
                    encounter=self.rec_name, start=lang.strftime(start)))

    @classmethod
    def copy(cls, encounters, default=None):
        default = default.copy() if default is not None else {}
        for name in ['sick_leave_days', 'sick_leave_from', 'sick_leave_to']:
            default.setdefault(name, None)
        return super().copy(encounters, default=default)
