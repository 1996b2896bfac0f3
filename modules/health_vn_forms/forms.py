# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The forms a commune station prints from an outpatient encounter.

One FormReport subclass per form: the template (<name>.fodt in the module
directory, registered by an ir.action.report in forms.xml), the form code
and title, and what the record must have before it can be printed.  A new
form (lab, imaging…) is a template, a report record and a class like these.
"""

from trytond.modules.health_emr.model import format_number
from trytond.pool import Pool
from trytond.transaction import Transaction

from .report import FormReport

# The forms are Vietnamese legal documents: selection labels, ages and
# field names on them are Vietnamese whatever the user's language
FORM_LANGUAGE = 'vi'

# Prescription type → title printed on the prescription (TT 26/2025/TT-BYT:
# narcotic and psychotropic/precursor medicines on their own forms, the
# classic "N" and "H" prescriptions; the letter mapping is not verified
# against the text of the circular, see REGULATIONS.md §5.1)
PRESCRIPTION_TITLES = {
    'basic': "ĐƠN THUỐC",
    'narcotic': "ĐƠN THUỐC \"N\"",
    'psychotropic': "ĐƠN THUỐC \"H\"",
    }
PRESCRIPTION_NOTES = {
    'basic': None,
    'narcotic': "Thuốc gây nghiện",
    'psychotropic': "Thuốc hướng thần, tiền chất",
    }


def _lines(text):
    "The lines of a multi-line text (templates have no line breaks)"
    if not text:
        return []
    return [line for line in str(text).splitlines()] or []


def _label(record, name):
    "The translated label of a field of the record's model"
    return record.__names__(name)['field']


def _selection(record, name):
    "The label of a selection value, in the user's language"
    if not record or getattr(record, name, None) is None:
        return ''
    return record.__names__(name, record)['value'] or ''


def _diagnoses(encounter):
    "The diagnoses of the encounter, main first then in their order"
    if not encounter:
        return []
    return sorted(
        (d for d in encounter.diagnoses or [] if d.disease),
        key=lambda d: (d.kind != 'main', d.sequence is None,
            d.sequence or 0, d.id or 0))


def _main_diagnosis(encounter):
    for diagnosis in _diagnoses(encounter):
        if diagnosis.kind == 'main':
            return diagnosis


def _secondary_diagnoses(encounter):
    return [d for d in _diagnoses(encounter) if d.kind != 'main']


def _diagnosis_text(diagnosis):
    if not diagnosis:
        return ''
    return f'{diagnosis.disease.name} ({diagnosis.disease.code})'


def _address(patient):
    "Hamlet/street, commune, province as written on forms"
    if not patient:
        return ''
    parts = [patient.street]
    if patient.commune:
        parts.append(patient.commune.name)
        if patient.commune.province:
            parts.append(patient.commune.province.name)
    address = ', '.join(p for p in parts if p)
    return address or (patient.address_original or '')


def _sex(patient):
    if not patient or not patient.sex:
        return ''
    return patient.sex_string


def _insurance_card(encounter_or_patient):
    "The card used for the visit, else the patient's current card"
    card = getattr(encounter_or_patient, 'insurance_card', None)
    if card is None and hasattr(encounter_or_patient, 'patient'):
        card = encounter_or_patient.patient.insurance_card
    return card


def _employee_title(employee):
    if not employee:
        return ''
    return employee.professional_title_string or ''


def _medicine_text(line):
    "INN (brand) strength, dosage form — TT 26/2025 naming of a medicine"
    medicine = line.medicine
    text = medicine.name
    if medicine.brand and medicine.brand != medicine.name:
        text += f' ({medicine.brand})'
    if medicine.strength:
        text += f' {medicine.strength}'
    if medicine.dosage_form:
        text += f', {medicine.dosage_form}'
    return text


class VnFormMixin:
    "Form code, title, date and helpers every OpenTYT form template uses"
    form_code = ''
    form_title = ''
    signer_title = "BÁC SĨ KHÁM BỆNH"

    @classmethod
    def _execute(cls, records, header, data, action):
        with Transaction().set_context(language=FORM_LANGUAGE):
            records = [cls._in_form_language(r) for r in records]
            return super()._execute(records, header, data, action)

    @staticmethod
    def _in_form_language(record):
        if hasattr(record, 'set_lang'):
            # The report's wrapper of a record (Report._get_records)
            record.set_lang(FORM_LANGUAGE)
            return record
        return record.__class__(record.id)

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        record = context.get('record')
        context['form_code'] = cls.form_code
        context['form_title'] = cls.get_form_title(record)
        context['signer_title'] = cls.signer_title
        context['form_date'] = cls.get_form_date(record) if record else None
        context['lines'] = _lines
        context['diagnoses'] = _diagnoses
        context['main_diagnosis'] = _main_diagnosis
        context['secondary_diagnoses'] = _secondary_diagnoses
        context['diagnosis_text'] = _diagnosis_text
        context['address'] = _address
        context['sex'] = _sex
        context['insurance_card'] = _insurance_card
        context['employee_title'] = _employee_title
        context['medicine_text'] = _medicine_text
        context['number'] = format_number
        context['selection'] = _selection

        date_words = context.get('date_words')
        facility = context.get('facility')

        def place_date(date):
            "'Xã A, ngày 05 tháng 11 năm 2026' (the commune of the station)"
            if not date:
                return ''
            words = date_words(date) if date_words else str(date)
            commune = getattr(facility, 'commune', None) if facility else None
            if commune:
                return f'{commune.name}, {words}'
            return words[:1].upper() + words[1:]
        context['place_date'] = place_date
        return context

    @classmethod
    def get_form_title(cls, record):
        return cls.form_title

    @classmethod
    def get_form_date(cls, record):
        "The date the form is dated (the day of the encounter by default)"
        return getattr(record, 'date', None)

    @classmethod
    def missing_data(cls, record):
        return []


class EncounterFormMixin(VnFormMixin):

    @classmethod
    def missing_data(cls, record):
        missing = super().missing_data(record)
        if not record.practitioner:
            missing.append(_label(record, 'practitioner'))
        return missing

    @classmethod
    def _missing_diagnosis(cls, record):
        if not _main_diagnosis(record):
            return [_label(record, 'main_diagnosis')]
        return []


class EncounterRecord(EncounterFormMixin, FormReport):
    "Phiếu khám bệnh ngoại trú (TT 32/2023/TT-BYT Phụ lục XXIX)"
    __name__ = 'health.vn_forms.encounter_record'
    # TT 32/2023 does not number this sheet in what we could read
    # (REGULATIONS.md §6.2): name the appendix instead of a guessed code
    form_code = "MS: PL XXIX - TT 32/2023/TT-BYT"
    form_title = "PHIẾU KHÁM BỆNH NGOẠI TRÚ"

    @classmethod
    def missing_data(cls, record):
        return super().missing_data(record) + cls._missing_diagnosis(record)


class Reexamination(EncounterFormMixin, FormReport):
    "Giấy hẹn khám lại (TT 01/2025/TT-BYT Phụ lục V)"
    __name__ = 'health.vn_forms.reexamination'
    form_code = "MS: Phụ lục V - TT 01/2025/TT-BYT"
    form_title = "GIẤY HẸN KHÁM LẠI"
    signer_title = "Y, BÁC SĨ KHÁM BỆNH"

    @classmethod
    def missing_data(cls, record):
        missing = super().missing_data(record)
        if not record.reexamination_date:
            missing.append(_label(record, 'reexamination_date'))
        return missing + cls._missing_diagnosis(record)


class Referral(EncounterFormMixin, FormReport):
    "Phiếu chuyển cơ sở khám bệnh, chữa bệnh (TT 01/2025/TT-BYT Phụ lục VI)"
    __name__ = 'health.vn_forms.referral'
    form_code = "MS: Phụ lục VI - TT 01/2025/TT-BYT"
    form_title = "PHIẾU CHUYỂN CƠ SỞ KHÁM BỆNH, CHỮA BỆNH"
    signer_title = "Y, BÁC SĨ ĐIỀU TRỊ"

    @classmethod
    def missing_data(cls, record):
        missing = super().missing_data(record)
        if not _diagnoses(record):
            missing.append(_label(record, 'diagnoses'))
        if not record.referral_facility_name:
            missing.append(_label(record, 'referral_facility_name'))
        return missing


class SickLeave(EncounterFormMixin, FormReport):
    "Giấy chứng nhận nghỉ việc hưởng BHXH (TT 25/2025/TT-BYT Mẫu 07)"
    __name__ = 'health.vn_forms.sick_leave'
    form_code = "Mẫu số 07 - TT 25/2025/TT-BYT"
    form_title = "GIẤY CHỨNG NHẬN NGHỈ VIỆC HƯỞNG BẢO HIỂM XÃ HỘI"
    signer_title = "Y, BÁC SĨ KHÁM, CHỮA BỆNH"

    @classmethod
    def missing_data(cls, record):
        missing = super().missing_data(record)
        for name in ['sick_leave_days', 'sick_leave_from', 'sick_leave_to']:
            if not getattr(record, name):
                missing.append(_label(record, name))
        if not _diagnoses(record):
            missing.append(_label(record, 'diagnoses'))
        return missing


class Prescription(VnFormMixin, FormReport):
    "Đơn thuốc (TT 26/2025/TT-BYT), with the \"N\" and \"H\" types"
    __name__ = 'health.vn_forms.prescription'
    form_code = "MS: TT 26/2025/TT-BYT"
    form_title = PRESCRIPTION_TITLES['basic']
    signer_title = "Y, BÁC SĨ KÊ ĐƠN"

    @classmethod
    def get_form_title(cls, record):
        if record and record.kind:
            return PRESCRIPTION_TITLES.get(record.kind, cls.form_title)
        return cls.form_title

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        record = context.get('record')
        context['prescription_note'] = (
            PRESCRIPTION_NOTES.get(record.kind) if record else None)
        return context

    @classmethod
    def missing_data(cls, record):
        missing = super().missing_data(record)
        # A draft has no code: only an issued prescription is printed
        if not record.code:
            missing.append(_label(record, 'code'))
        if not record.prescriber:
            missing.append(_label(record, 'prescriber'))
        if not _main_diagnosis(record.encounter):
            missing.append(_label(record, 'diagnosis'))
        if not record.lines:
            missing.append(_label(record, 'lines'))
        if record.is_child:
            # TT 26/2025: age in months, weight and the parent or guardian
            # (with the personal ID) of a child under 72 months
            for name in ['weight', 'guardian_name', 'guardian_personal_id']:
                if not getattr(record, name):
                    missing.append(_label(record, name))
        return missing


class PatientSummary(VnFormMixin, FormReport):
    "Tóm tắt hồ sơ sức khỏe: encounters, diagnoses and prescriptions"
    __name__ = 'health.vn_forms.patient_summary'
    # Not TT 25/2025 Mẫu 03 (the summary of an inpatient record for BHXH):
    # a station's own summary of a person's outpatient history
    form_code = "MS: OpenTYT/TTHS"
    form_title = "TÓM TẮT HỒ SƠ SỨC KHỎE"
    signer_title = "NGƯỜI LẬP"

    @classmethod
    def get_form_date(cls, record):
        return Pool().get('ir.date').today()

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        record = context.get('record')
        encounters, prescriptions = [], []
        if record:
            encounters = [e for e in record.encounters
                if e.state != 'cancelled']
            prescriptions = [p for p in record.prescriptions
                if p.state == 'issued']
        context['encounters'] = encounters
        context['prescriptions'] = prescriptions
        context['problems'] = list(record.problems) if record else []
        return context

    @classmethod
    def missing_data(cls, record):
        return super().missing_data(record)
