# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Prescriptions (đơn thuốc) per Thông tư 26/2025/TT-BYT"""
import datetime as dt
import unittest
from contextlib import contextmanager
from decimal import Decimal

from trytond.model.exceptions import AccessError, ValidationError
from trytond.model.modelview import AccessButtonError
from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.modules.health_emr.tests import load_vietnamese
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

CODE_BASIC = r'^24123[0-9a-z]{7}-c$'


class PrescriptionTestCase(unittest.TestCase):
    "Writing, issuing, cancelling and replacing prescriptions"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_emr')

    # -- fixtures (synthetic people only) ---------------------------------

    @contextmanager
    def station(self):
        """A station with a facility code, a main site and a doctor who is
        the current user's staff member"""
        pool = Pool()
        Site = pool.get('health.site')
        User = pool.get('res.user')
        Medicine = pool.get('health.medicine')
        ModelData = pool.get('ir.model.data')

        company = create_company(name="Trạm Y tế Bảo Đài")
        company.facility_code = '24123'
        company.save()
        site, = Site.create([{
                    'company': company.id, 'name': "Trụ sở chính",
                    'code': 'TS', 'kind': 'main'}])
        doctor = create_employee(company, name="Bác sĩ Lê Văn Minh")
        doctor.professional_title = 'doctor'
        doctor.save()
        user = User(Transaction().user)
        # The station's doctor presses the Issue, Cancel and Replace buttons
        User.write([user], {
                'groups': [('add', [ModelData.get_id(
                                'health_emr', 'group_health_doctor')])],
                'companies': [('add', [company.id])],
                'company': company.id,
                'employees': [('add', [doctor.id])],
                'employee': doctor.id,
                })
        self.company, self.site, self.doctor = company, site, doctor
        self.paracetamol, self.morphine, self.diazepam, self.syrup = (
            Medicine.create([{
                        'code': '40.17', 'name': "Paracetamol",
                        'strength': "500mg", 'dosage_form': "Viên nén",
                        'route': "Uống", 'unit': "viên",
                        'controlled': 'none',
                        }, {
                        'code': '40.40', 'name': "Morphin hydroclorid",
                        'strength': "10mg/ml", 'dosage_form': "Dung dịch tiêm",
                        'route': "Tiêm", 'unit': "ống",
                        'controlled': 'narcotic',
                        }, {
                        'code': '40.70', 'name': "Diazepam",
                        'strength': "5mg", 'dosage_form': "Viên nén",
                        'route': "Uống", 'unit': "viên",
                        'controlled': 'psychotropic',
                        }, {
                        'code': '40.18', 'name': "Paracetamol",
                        'strength': "120mg/5ml", 'dosage_form': "Siro",
                        'route': "Uống", 'unit': "chai",
                        'controlled': 'none',
                        }]))
        with set_company(company):
            yield

    def patient(self, name="Nguyễn Văn An", birth_date=dt.date(1980, 5, 1),
            sex='male', **values):
        Patient = Pool().get('health.patient')
        patient, = Patient.create([{
                    'company': self.company.id, 'name': name,
                    'birth_date': birth_date, 'sex': sex, **values}])
        return patient

    def encounter(self, patient, diagnoses=('J06.9',), **values):
        "An encounter in progress with these ICD-10 diagnoses, main first"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        Disease = pool.get('health.disease')
        encounter, = Encounter.create([{
                    'company': self.company.id, 'site': self.site.id,
                    'patient': patient.id,
                    'practitioner': self.doctor.id,
                    'arrival_at': dt.datetime.now(),
                    'identity_method': 'declared',
                    'diagnoses': [('create', [{
                                    'kind': 'main' if i == 0 else 'secondary',
                                    'sequence': i + 1,
                                    'disease': Disease.search([
                                            ('code', '=', code)])[0].id,
                                    } for i, code in enumerate(diagnoses)])],
                    **values}])
        # The encounter workflow is not under test here
        table = Encounter.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [table.state], ['in_progress'],
                where=table.id == encounter.id))
        return Encounter(encounter.id)

    def prescription(self, encounter, lines, **values):
        Prescription = Pool().get('health.prescription')
        prescription, = Prescription.create([{
                    'encounter': encounter.id,
                    'lines': [('create', lines)],
                    **values}])
        return prescription

    def line(self, medicine, dose=1, times_per_day=3, days=5, **values):
        return {'medicine': medicine.id, 'dose': Decimal(dose),
            'times_per_day': times_per_day, 'days': days, **values}

    # -- tests --------------------------------------------------------------

    @with_transaction()
    def test_issue_basic(self):
        "Issuing a basic prescription gives it a code, a time and a signer"
        Prescription = Pool().get('health.prescription')
        with self.station():
            patient = self.patient()
            encounter = self.encounter(patient, ['J06.9', 'R50.9'])
            prescription = self.prescription(encounter, [
                    self.line(self.paracetamol, instructions="Uống sau ăn")],
                advice="Uống nhiều nước")

            self.assertEqual(prescription.patient, patient)
            self.assertEqual(prescription.state, 'draft')
            self.assertIsNone(prescription.code)
            self.assertEqual(prescription.day_limit, 30)
            self.assertRegex(
                prescription.diagnosis, r'^J06\.9 - .+; R50\.9 - ')

            Prescription.issue([prescription])
            prescription = Prescription(prescription.id)
            self.assertEqual(prescription.state, 'issued')
            self.assertRegex(prescription.code, CODE_BASIC)
            self.assertEqual(len(prescription.code), 14)
            self.assertIsNotNone(prescription.issued_at)
            self.assertEqual(prescription.prescriber, self.doctor)
            self.assertEqual(prescription.rec_name, prescription.code)
            self.assertEqual(
                Prescription.search([('rec_name', '=', prescription.code)]),
                [prescription])

    @with_transaction()
    def test_codes_unique(self):
        "Codes are random, unique, and end with the type letter"
        Prescription = Pool().get('health.prescription')
        with self.station():
            encounter = self.encounter(self.patient())
            prescriptions = Prescription.create([{
                        'encounter': encounter.id, 'kind': kind,
                        'lines': [('create', [self.line(medicine, days=3)])],
                        } for kind, medicine in [
                        ('basic', self.paracetamol),
                        ('basic', self.paracetamol),
                        ('narcotic', self.morphine),
                        ('psychotropic', self.diazepam)]])
            Prescription.issue(prescriptions)
            codes = [p.code for p in Prescription.browse(prescriptions)]
            self.assertEqual(len(set(codes)), 4)
            self.assertEqual([c[-2:] for c in codes], ['-c', '-c', '-n', '-h'])
            for code in codes:
                self.assertRegex(code, r'^24123[0-9a-z]{7}-[cnh]$')

            # The database refuses a duplicate code too
            other = self.prescription(
                encounter, [self.line(self.paracetamol)])
            table = Prescription.__table__()
            with self.assertRaises(Exception):
                Transaction().connection.cursor().execute(*table.update(
                        [table.code], [codes[0]],
                        where=table.id == other.id))

    @with_transaction()
    def test_code_collision_regenerated(self):
        "A random code already taken is drawn again"
        from trytond.modules.health_emr import prescription as module
        Prescription = Pool().get('health.prescription')
        with self.station():
            encounter = self.encounter(self.patient())
            first = self.prescription(encounter, [self.line(self.paracetamol)])
            second = self.prescription(
                encounter, [self.line(self.paracetamol)])
            draws = iter('aaaaaaa' 'aaaaaaa' 'bbbbbbb')

            original = module.secrets.choice
            module.secrets.choice = lambda alphabet: next(draws)
            try:
                Prescription.issue([first])
                Prescription.issue([second])
            finally:
                module.secrets.choice = original
            self.assertEqual(Prescription(first.id).code, '24123aaaaaaa-c')
            self.assertEqual(Prescription(second.id).code, '24123bbbbbbb-c')

    @with_transaction()
    def test_day_limits(self):
        "30 days at most; 90 for a chronic disease of Phụ lục VII"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Line = pool.get('health.prescription.line')
        Disease = pool.get('health.disease')
        with self.station():
            patient = self.patient()
            acute = self.encounter(patient, ['J06.9'])
            with self.assertRaisesRegex(
                    ValidationError, '31 days.*more than the 30 days'):
                self.prescription(
                    acute, [self.line(self.paracetamol, days=31)])
            prescription = self.prescription(
                acute, [self.line(self.paracetamol, days=30)])
            Prescription.issue([prescription])

            # Chronic flag without a disease of the list: still 30 days
            with self.assertRaisesRegex(ValidationError, '30 days'):
                self.prescription(
                    acute, [self.line(self.paracetamol, days=90)],
                    chronic=True)
            flagged = self.prescription(
                acute, [self.line(self.paracetamol, days=30)], chronic=True)
            with self.assertRaisesRegex(ValidationError, 'chronic'):
                Prescription.issue([flagged])

            hypertension, = Disease.search([('code', '=', 'I10')])
            Disease.write([hypertension], {'chronic_prescription': True})
            chronic = self.encounter(patient, ['I10'])
            with self.assertRaisesRegex(ValidationError, '91 days'):
                self.prescription(
                    chronic, [self.line(self.paracetamol, days=91)],
                    chronic=True)
            # Not marked chronic: the ordinary limit applies
            with self.assertRaisesRegex(ValidationError, '30 days'):
                self.prescription(
                    chronic, [self.line(self.paracetamol, days=90)])
            prescription = self.prescription(
                chronic, [self.line(self.paracetamol, days=90)],
                chronic=True)
            self.assertEqual(prescription.day_limit, 90)
            Prescription.issue([prescription])
            self.assertEqual(Prescription(prescription.id).state, 'issued')
            self.assertEqual(Line.search([
                        ('prescription', '=', prescription.id)])[0].quantity,
                270)
            # Unticking chronic brings the limit back under the lines
            # (a refused write leaves the record as it was only once the
            # transaction rolls back: use a record of its own)
            other = self.prescription(
                chronic, [self.line(self.paracetamol, days=60)],
                chronic=True)
            with self.assertRaisesRegex(ValidationError, '60 days'):
                Prescription.write([other], {'chronic': False})

    @with_transaction()
    def test_posology_checks(self):
        "Dose > 0, 1 to 24 times a day, at least one day"
        with self.station():
            encounter = self.encounter(self.patient())
            for values, message in [
                    ({'dose': 0}, 'greater than zero'),
                    ({'dose': -1}, 'greater than zero'),
                    ({'times_per_day': 0}, 'between 1 and 24'),
                    ({'times_per_day': 25}, 'between 1 and 24'),
                    ({'days': 0}, 'at least 1 day'),
                    ]:
                with self.subTest(values=values):
                    with self.assertRaisesRegex(ValidationError, message):
                        self.prescription(encounter, [
                                self.line(self.paracetamol, **values)])

    @with_transaction()
    def test_controlled_medicines(self):
        "Narcotics: own prescription type, 7 days at most for acute pain"
        Prescription = Pool().get('health.prescription')
        with self.station():
            encounter = self.encounter(self.patient())
            with self.assertRaisesRegex(ValidationError, '8 days.*7 days'):
                self.prescription(encounter, [
                        self.line(self.morphine, days=8)], kind='narcotic')
            narcotic = self.prescription(encounter, [
                    self.line(self.morphine, days=7)], kind='narcotic')
            self.assertEqual(narcotic.day_limit, 7)

            # A basic prescription holds no controlled medicine
            with self.assertRaises(ValidationError):
                self.prescription(encounter, [self.line(self.morphine)])
            with self.assertRaises(ValidationError):
                self.prescription(encounter, [self.line(self.paracetamol)],
                    kind='narcotic')
            Prescription.issue([narcotic])
            self.assertRegex(Prescription(narcotic.id).code, r'-n$')

            # Changing the type checks the lines again
            draft = self.prescription(encounter, [
                    self.line(self.morphine, days=3)], kind='narcotic')
            with self.assertRaisesRegex(ValidationError,
                    'controlled medicine.*not on a basic one'):
                Prescription.write([draft], {'kind': 'basic'})
            # nor a narcotic prescription a psychotropic one
            draft = self.prescription(encounter, [
                    self.line(self.morphine, days=3)], kind='narcotic')
            with self.assertRaisesRegex(ValidationError,
                    'cannot be prescribed on a prescription of type'):
                Prescription.write([draft], {'kind': 'psychotropic'})

    @with_transaction()
    def test_child_under_72_months(self):
        "A child's prescription needs the weight and the guardian"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Date = pool.get('ir.date')
        load_vietnamese()
        with self.station():
            today = Date.today()
            birth = today.replace(year=today.year - 3)
            if today.day != birth.day:  # 29 February
                birth = birth - dt.timedelta(days=1)
            child = self.patient(
                name="Trần Gia Bảo", birth_date=birth, sex='male')
            encounter = self.encounter(child)
            prescription = self.prescription(
                encounter, [self.line(self.paracetamol, dose='0.5')])
            self.assertEqual(prescription.age_months, 36)
            self.assertTrue(prescription.is_child)

            with Transaction().set_context(language='vi'):
                with self.assertRaisesRegex(ValidationError,
                        'mới 36 tháng tuổi.*phải ghi "Cân nặng \\(kg\\)"'):
                    Prescription.issue([prescription])
            prescription.weight = Decimal('14.5')
            prescription.save()
            with Transaction().set_context(language='vi'):
                with self.assertRaisesRegex(
                        ValidationError, 'phải ghi "Người giám hộ"'):
                    Prescription.issue([prescription])
            with self.assertRaisesRegex(ValidationError, 'Guardian'):
                Prescription.issue([prescription])
            prescription.guardian_name = "Trần Thị Hương"
            prescription.save()
            with self.assertRaisesRegex(
                    ValidationError, 'Guardian Personal ID'):
                Prescription.issue([prescription])
            prescription.guardian_personal_id = '12345'
            with self.assertRaisesRegex(ValidationError, '12 digits'):
                prescription.save()
            prescription.guardian_personal_id = '024 190 123 456'
            prescription.on_change_guardian_personal_id()
            prescription.save()
            Prescription.issue([prescription])
            prescription = Prescription(prescription.id)
            self.assertEqual(prescription.state, 'issued')
            self.assertEqual(prescription.guardian_personal_id, '024190123456')

    @with_transaction()
    def test_child_defaults(self):
        "Weight comes from the encounter, the guardian from the patient"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Date = pool.get('ir.date')
        with self.station():
            today = Date.today()
            child = self.patient(
                name="Lê Minh Khôi",
                birth_date=today - dt.timedelta(days=400), sex='male',
                guardian_name="Lê Văn Tâm",
                guardian_personal_id='024088123456')
            encounter = self.encounter(child, weight=Decimal('9.8'))
            prescription = self.prescription(
                encounter, [self.line(self.paracetamol)])
            self.assertEqual(prescription.weight, Decimal('9.8'))
            self.assertEqual(prescription.guardian_name, "Lê Văn Tâm")
            self.assertEqual(
                prescription.guardian_personal_id, '024088123456')
            Prescription.issue([prescription])

            # The same through the form
            form = Prescription()
            form.encounter = encounter
            form.on_change_encounter()
            self.assertEqual(form.patient, child)
            self.assertEqual(form.weight, Decimal('9.8'))
            self.assertEqual(form.guardian_name, "Lê Văn Tâm")
            self.assertTrue(form.on_change_with_is_child())

            adult = self.patient()
            prescription = self.prescription(
                self.encounter(adult), [self.line(self.paracetamol)])
            self.assertFalse(prescription.is_child)
            Prescription.issue([prescription])

    @with_transaction()
    def test_quantity(self):
        "Quantity = ceil(dose × times a day × days), unless set"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Line = pool.get('health.prescription.line')
        load_vietnamese()
        with self.station():
            encounter = self.encounter(self.patient())
            prescription = self.prescription(encounter, [
                    self.line(self.paracetamol, dose='1.5', times_per_day=3,
                        days=5),
                    self.line(self.syrup, dose=5, times_per_day=3, days=5,
                        dose_unit="ml"),
                    ])
            tablets, syrup = prescription.lines
            self.assertEqual(tablets.quantity, 23)  # 22.5 → 23
            self.assertEqual(tablets.unit, "viên")
            self.assertEqual(tablets.route, "Uống")
            self.assertEqual(tablets.usage,
                "Take 3 times a day, 1.5 viên each time, for 5 days")
            with Transaction().set_context(language='vi'):
                self.assertEqual(Line(tablets.id).usage,
                    "Ngày uống 3 lần, mỗi lần 1,5 viên, trong 5 ngày")
            # ml of syrup are not bottles: the prescriber gives them
            self.assertIsNone(syrup.quantity)
            self.assertEqual(syrup.unit, "chai")
            with self.assertRaisesRegex(ValidationError, 'quantity'):
                Prescription.issue([prescription])

            Line.write([tablets], {'days': 4})
            self.assertEqual(tablets.quantity, 18)
            Line.write([tablets], {'quantity': 20})
            self.assertEqual(tablets.quantity, 20)
            Line.write([syrup], {'quantity': 1})
            Prescription.issue([prescription])

            # The form computes it as the prescriber types
            line = Line()
            line.medicine = self.paracetamol
            line.on_change_medicine()
            line.dose = Decimal(2)
            line.times_per_day = 2
            line.on_change_times_per_day()
            line.days = 7
            line.on_change_days()
            self.assertEqual(line.quantity, 28)
            self.assertEqual(line.dose_unit, "viên")

    @with_transaction()
    def test_issued_is_immutable(self):
        "An issued prescription refuses every write and delete, even admin"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Line = pool.get('health.prescription.line')
        with self.station():
            encounter = self.encounter(self.patient())
            prescription = self.prescription(
                encounter, [self.line(self.paracetamol)])
            # A draft is still free
            Prescription.write([prescription], {'advice': "Nghỉ ngơi"})
            Prescription.issue([prescription])
            line, = prescription.lines

            for context in [{}, {'_check_access': True}]:
                with Transaction().set_context(**context):
                    with self.assertRaisesRegex(AccessError, 'Issued'):
                        Prescription.write(
                            [prescription], {'advice': "Khác"})
                    with self.assertRaises(AccessError):
                        Prescription.delete([prescription])
                    with self.assertRaises(AccessError):
                        Line.write([line], {'days': 3})
                    with self.assertRaises(AccessError):
                        Line.delete([line])
                    with self.assertRaises(AccessError):
                        Line.create([{
                                    'prescription': prescription.id,
                                    **self.line(self.paracetamol)}])
            # As root too
            with Transaction().set_user(0):
                with self.assertRaises(AccessError):
                    Prescription.write([prescription], {'advice': "Khác"})
            # Not even cancelled without a reason
            with self.assertRaises(AccessError):
                Prescription.write([prescription], {'state': 'cancelled'})
            with self.assertRaisesRegex(ValidationError, 'reason'):
                Prescription.cancel_with_reason([prescription], ' ')
            # The client cannot set the workflow fields itself
            draft = self.prescription(encounter, [self.line(self.paracetamol)])
            with Transaction().set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Prescription.write([draft], {'state': 'issued'})
                with self.assertRaises(AccessError):
                    Prescription.write([draft], {'code': '24123abcdefg-c'})
            with self.assertRaises(AccessError):
                Prescription.create([{
                            'encounter': encounter.id, 'state': 'issued'}])
            Prescription.delete([draft])

            Prescription.cancel_with_reason(
                [prescription], "Kê nhầm người bệnh")
            prescription = Prescription(prescription.id)
            self.assertEqual(prescription.state, 'cancelled')
            self.assertEqual(prescription.cancel_reason, "Kê nhầm người bệnh")
            with self.assertRaises(AccessError):
                Prescription.write([prescription], {'cancel_reason': "x"})
            with self.assertRaises(AccessError):
                Prescription.delete([prescription])

    @with_transaction()
    def test_replace(self):
        "A change is a new prescription; issuing it cancels the old one"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        Line = pool.get('health.prescription.line')
        load_vietnamese()
        with self.station():
            encounter = self.encounter(self.patient())
            old = self.prescription(encounter, [
                    self.line(self.paracetamol, instructions="Uống sau ăn")],
                advice="Tái khám nếu sốt cao")
            with self.assertRaisesRegex(ValidationError, 'issued'):
                Prescription.create_replacements([old])
            Prescription.issue([old])

            new, = Prescription.create_replacements([old])
            self.assertEqual(new.state, 'draft')
            self.assertEqual(new.replaces, old)
            self.assertIsNone(new.code)
            self.assertEqual(new.advice, "Tái khám nếu sốt cao")
            self.assertEqual(
                [(li.medicine, li.instructions) for li in new.lines],
                [(self.paracetamol, "Uống sau ăn")])
            self.assertEqual(Prescription(old.id).replaced_by, (new,))
            self.assertEqual(Prescription(old.id).state, 'issued')
            with self.assertRaisesRegex(ValidationError, 'already'):
                Prescription.create_replacements([old])

            Line.write(list(new.lines), {'days': 3})
            with Transaction().set_context(language='vi'):
                Prescription.issue([new])
            new, old = Prescription.browse([new.id, old.id])
            self.assertEqual(new.state, 'issued')
            self.assertNotEqual(new.code, old.code)
            self.assertEqual(old.state, 'cancelled')
            self.assertEqual(
                old.cancel_reason, f"Thay thế bởi đơn {new.code}.")

    @with_transaction()
    def test_wizards(self):
        "The Cancel and Replace buttons run through their wizards"
        pool = Pool()
        Prescription = pool.get('health.prescription')
        CancelWizard = pool.get('health.prescription.cancel', type='wizard')
        ReplaceWizard = pool.get(
            'health.prescription.replace', type='wizard')
        with self.station():
            encounter = self.encounter(self.patient())
            first, second = [
                self.prescription(encounter, [self.line(self.paracetamol)])
                for _ in range(2)]
            Prescription.issue([first, second])

            context = {'active_model': 'health.prescription',
                'active_id': first.id, 'active_ids': [first.id]}
            with Transaction().set_context(**context):
                session_id, _, _ = ReplaceWizard.create()
                result = ReplaceWizard.execute(session_id, {}, 'start')
                new, = Prescription.search([('replaces', '=', first.id)])
                self.assertEqual(
                    result['actions'][0][1]['res_id'], [new.id])

            context = {'active_model': 'health.prescription',
                'active_id': second.id, 'active_ids': [second.id]}
            with Transaction().set_context(**context):
                session_id, _, _ = CancelWizard.create()
                CancelWizard.execute(session_id, {}, 'start')
                CancelWizard.execute(session_id, {
                        'start': {'reason': "Người bệnh không lấy thuốc"},
                        }, 'cancel_')
            second = Prescription(second.id)
            self.assertEqual(second.state, 'cancelled')
            self.assertEqual(
                second.cancel_reason, "Người bệnh không lấy thuốc")

    @with_transaction()
    def test_access(self):
        """Doctors prescribe and issue; pharmacists and nurses read;
        another facility sees nothing"""
        pool = Pool()
        Prescription = pool.get('health.prescription')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        with self.station():
            encounter = self.encounter(self.patient())
            prescription = self.prescription(
                encounter, [self.line(self.paracetamol)])

            def user(login, group, companies=(self.company,)):
                user, = User.create([{
                            'name': login, 'login': login,
                            'companies': [('add', [c.id for c in companies])],
                            'company': companies[0].id,
                            'groups': [('add', [ModelData.get_id(
                                            'health_emr', group)])],
                            }])
                return user

            @contextmanager
            def as_user(user):
                with Transaction().set_user(user.id), \
                        Transaction().set_context(
                            User.get_preferences(context_only=True),
                            _check_access=True):
                    yield

            pharmacist = user('pharmacist', 'group_health_pharmacist')
            nurse = user('nurse', 'group_health_nurse')
            doctor = user('doctor', 'group_health_doctor')
            for reader in [pharmacist, nurse]:
                with as_user(reader):
                    self.assertEqual(
                        Prescription.search([]), [prescription])
                    with self.assertRaises(AccessError):
                        Prescription.write(
                            [Prescription(prescription.id)],
                            {'advice': "x"})
                    with self.assertRaises(AccessButtonError):
                        Prescription.issue([Prescription(prescription.id)])
            # nor cancel through the wizard behind the button
            CancelWizard = pool.get(
                'health.prescription.cancel', type='wizard')
            Prescription.issue([prescription])
            with as_user(pharmacist), Transaction().set_context(
                    active_model='health.prescription',
                    active_id=prescription.id,
                    active_ids=[prescription.id]):
                with self.assertRaises((AccessError, AccessButtonError)):
                    session_id, _, _ = CancelWizard.create()
                    CancelWizard.execute(session_id, {
                            'start': {'reason': "x"}}, 'cancel_')
            self.assertEqual(Prescription(prescription.id).state, 'issued')
            prescription, = Prescription.create_replacements([prescription])

            with as_user(doctor):
                prescription = Prescription(prescription.id)
                Prescription.write([prescription], {'advice': "Ăn nhẹ"})
                # The doctor user has no staff record: the draft's
                # prescriber signs
                Prescription.issue([prescription])
                self.assertEqual(prescription.state, 'issued')
                self.assertEqual(prescription.prescriber, self.doctor)

            other = create_company(
                name="Trạm Y tế Khác", currency=self.company.currency)
            outsider = user('outsider', 'group_health_doctor', [other])
            with as_user(outsider):
                self.assertEqual(Prescription.search([]), [])
