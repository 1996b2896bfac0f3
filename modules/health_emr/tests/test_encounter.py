# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The outpatient encounter: queue, vitals, diagnoses and workflow"""
import datetime as dt
import threading
import time
import unittest
from contextlib import contextmanager
from decimal import Decimal

from trytond import backend
from trytond.model.exceptions import (
    AccessButtonError, AccessError, DomainValidationError,
    RequiredValidationError)
from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.modules.health_emr.exceptions import (
    DiagnosisCodingError, EncounterError, VitalSignError)
from trytond.modules.health_emr.tests import load_vietnamese
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, USER, activate_module, with_transaction)
from trytond.transaction import Transaction, TransactionError


class EncounterTestCase(unittest.TestCase):
    "Outpatient encounters"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('health_emr')

    # -- fixtures (synthetic people only) ---------------------------------

    @contextmanager
    def station(self):
        """A station with two sites and a doctor who is the current
        user's staff member"""
        pool = Pool()
        Site = pool.get('health.site')
        User = pool.get('res.user')

        company = create_company(name="Trạm Y tế Bảo Đài")
        company.facility_code = '24123'
        company.timezone = 'Asia/Ho_Chi_Minh'
        company.save()
        main, sub = Site.create([{
                    'company': company.id, 'name': "Trụ sở chính",
                    'code': 'TS', 'kind': 'main'}, {
                    'company': company.id, 'name': "Điểm trạm Đông",
                    'code': 'DT', 'kind': 'sub'}])
        doctor = create_employee(company, name="Bác sĩ Lê Văn Minh")
        user = User(Transaction().user)
        User.write([user], {
                'companies': [('add', [company.id])],
                'company': company.id,
                'employees': [('add', [doctor.id])],
                'employee': doctor.id,
                })
        self.company, self.site, self.sub_site = company, main, sub
        self.doctor = doctor
        with set_company(company), \
                Transaction().set_context(site=main.id):
            yield

    _patient_count = 0

    def patient(self, name=None, birth_date=None, sex='male', **values):
        "A patient; each unnamed one a different synthetic person"
        Patient = Pool().get('health.patient')
        if name is None:
            EncounterTestCase._patient_count += 1
            count = EncounterTestCase._patient_count
            name = "Nguyễn Văn An %s" % count
            birth_date = birth_date or dt.date(1950 + count % 50, 5, 1)
        birth_date = birth_date or dt.date(1980, 5, 1)
        patient, = Patient.create([{
                    'company': self.company.id, 'name': name,
                    'birth_date': birth_date, 'sex': sex, **values}])
        return patient

    def encounter(self, patient=None, **values):
        Encounter = Pool().get('health.encounter')
        if patient is None:
            patient = self.patient()
        encounter, = Encounter.create([{
                    'patient': patient.id,
                    **values}])
        return encounter

    def disease(self, code):
        Disease = Pool().get('health.disease')
        disease, = Disease.search([('code', '=', code)])
        return disease

    def diagnose(self, encounter, *codes):
        "Code the diagnoses, the first one main"
        Diagnosis = Pool().get('health.encounter.diagnosis')
        return Diagnosis.create([{
                    'encounter': encounter.id,
                    'kind': 'main' if i == 0 else 'secondary',
                    'sequence': i + 1,
                    'disease': self.disease(code).id,
                    } for i, code in enumerate(codes)])

    def finish(self, encounter, *codes):
        Encounter = Pool().get('health.encounter')
        Encounter.start([encounter])
        self.diagnose(encounter, *codes or ['J06.9'])
        encounter.conclusion = "Viêm đường hô hấp trên cấp"
        encounter.disposition = 'home'
        encounter.save()
        Encounter.done([encounter])
        return encounter

    # -- queue and numbers --------------------------------------------------

    @with_transaction()
    def test_queue_numbers_per_site_and_day(self):
        "Queue numbers start at 1 per site and per day of arrival"
        Encounter = Pool().get('health.encounter')
        with self.station():
            # 08:00 in Viet Nam is 01:00 UTC
            day1 = dt.datetime(2026, 3, 9, 1, 0)
            day2 = dt.datetime(2026, 3, 10, 1, 0)
            a1 = self.encounter(arrival_at=day1)
            a2 = self.encounter(arrival_at=day1 + dt.timedelta(hours=1))
            b1 = self.encounter(arrival_at=day1, site=self.sub_site.id)
            a3, a4 = Encounter.create([
                    {'patient': self.patient("Trần Thị Bình").id,
                        'arrival_at': day1},
                    {'patient': self.patient("Lê Văn Cường").id,
                        'arrival_at': day1}])
            next_day = self.encounter(arrival_at=day2)
            # 23:30 on 9 March in Viet Nam is still 9 March there
            late = self.encounter(arrival_at=dt.datetime(2026, 3, 9, 16, 30))

            self.assertEqual(
                [e.queue_number for e in [a1, a2, a3, a4, late]],
                [1, 2, 3, 4, 5])
            self.assertEqual(b1.queue_number, 1)
            self.assertEqual(next_day.queue_number, 1)
            self.assertEqual(late.date, dt.date(2026, 3, 9))
            self.assertEqual(next_day.date, dt.date(2026, 3, 10))

            # A number per facility, from its own sequence
            numbers = [e.number for e in [a1, a2, b1, a3, a4, next_day]]
            self.assertEqual(len(set(numbers)), 6)
            year = str(dt.date.today().year)
            self.assertTrue(all(n.startswith('KB' + year) for n in numbers))
            self.assertEqual(a1.site, self.site)  # the user's current site

            other = create_company(name="Trạm Y tế khác")
            Site = Pool().get('health.site')
            other_site, = Site.create([{
                        'company': other.id, 'name': "Trạm", 'code': 'T'}])
            with Transaction().set_context(company=other.id, site=None):
                Patient = Pool().get('health.patient')
                patient, = Patient.create([{
                            'company': other.id, 'name': "Phạm Văn Dũng",
                            'birth_date': dt.date(1990, 1, 1),
                            'sex': 'male'}])
                elsewhere, = Encounter.create([{
                            'company': other.id, 'site': other_site.id,
                            'patient': patient.id, 'arrival_at': day1}])
            self.assertEqual(elsewhere.queue_number, 1)
            self.assertEqual(elsewhere.number, a1.number)  # own sequence

    @with_transaction()
    def test_date_search(self):
        "The encounter date is searchable in the facility's time zone"
        Encounter = Pool().get('health.encounter')
        with self.station():
            early = self.encounter(
                arrival_at=dt.datetime(2026, 3, 8, 17, 30))  # 00:30 on 9th
            late = self.encounter(
                arrival_at=dt.datetime(2026, 3, 9, 16, 30))  # 23:30 on 9th
            other = self.encounter(
                arrival_at=dt.datetime(2026, 3, 9, 17, 30))  # 00:30 on 10th
            day = dt.date(2026, 3, 9)
            self.assertEqual(
                set(Encounter.search([('date', '=', day)])), {early, late})
            self.assertEqual(
                Encounter.search([('date', '>', day)]), [other])
            self.assertEqual(
                set(Encounter.search([('date', '<=', day)])), {early, late})
            self.assertEqual(
                Encounter.search([('date', '!=', day)]), [other])
            self.assertEqual(
                set(Encounter.search([
                            ('date', 'in', [day, day + dt.timedelta(1)])])),
                {early, late, other})

    @unittest.skipIf(backend.name != 'postgresql',
        "SQLite serializes writing transactions")
    def test_queue_numbers_concurrent(self):
        "Receptionists registering at the same time get distinct numbers"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, USER) as transaction:
            pool.init()
            Site = pool.get('health.site')
            company = create_company(name="Trạm Y tế đồng thời")
            site, = Site.create([{
                        'company': company.id, 'name': "Trạm",
                        'code': 'CC'}])
            site_id = site.id
            transaction.commit()

        date = dt.date(2000, 1, 1)
        numbers, errors = [], []
        barrier = threading.Barrier(4)

        def register():
            # As the RPC dispatcher: retry when Tryton asks to take a lock
            # first or when the database reports a conflict
            barrier.wait()
            extras = {}
            for attempt in range(20):
                try:
                    with Transaction().start(
                            DB_NAME, USER, **extras) as transaction:
                        Queue = pool.get('health.encounter.queue')
                        try:
                            taken = Queue.take(site_id, date, 2)
                            time.sleep(0.05)  # hold the lock a moment
                        except TransactionError as e:
                            transaction.rollback()
                            e.fix(extras)
                            continue
                        transaction.commit()
                        numbers.extend(taken)
                        return
                except backend.DatabaseOperationalError:
                    time.sleep(0.05)
            errors.append("gave up")

        threads = [threading.Thread(target=register) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            self.assertFalse(errors)
            self.assertEqual(sorted(numbers), list(range(1, 9)))
        finally:
            with Transaction().start(DB_NAME, USER) as transaction:
                Queue = pool.get('health.encounter.queue')
                Site = pool.get('health.site')
                Queue.delete(Queue.search([('site', '=', site_id)]))
                Site.delete([Site(site_id)])
                transaction.commit()

    # -- vitals -------------------------------------------------------------

    @with_transaction()
    def test_vitals_impossible_refused(self):
        "Impossible vital signs are refused, naming the accepted range"
        with self.station():
            encounter = self.encounter()
            for field, value, range_ in [
                    ('temperature', Decimal('375'), '25 to 45 °C'),
                    ('temperature', Decimal('24.9'), '25 to 45 °C'),
                    ('pulse', 19, '20 to 300 /min'),
                    ('pulse', 301, '20 to 300 /min'),
                    ('systolic_pressure', 350, '40 to 300 mmHg'),
                    ('diastolic_pressure', 10, '20 to 200 mmHg'),
                    ('respiratory_rate', 90, '4 to 80 /min'),
                    ('spo2', 101, '50 to 100 %'),
                    ('spo2', 45, '50 to 100 %'),
                    ('weight', Decimal('0.2'), '0.3 to 300 kg'),
                    ('weight', Decimal('650'), '0.3 to 300 kg'),
                    ('height', Decimal('270'), '20 to 250 cm'),
                    ]:
                with self.subTest(field=field, value=value):
                    encounter = type(encounter)(encounter.id)
                    setattr(encounter, field, value)
                    with self.assertRaisesRegex(VitalSignError, range_):
                        encounter.save()

            encounter = type(encounter)(encounter.id)
            encounter.systolic_pressure = 80
            encounter.diastolic_pressure = 90
            with self.assertRaisesRegex(VitalSignError, 'lower than'):
                encounter.save()

            # Limits themselves are accepted
            encounter = type(encounter)(encounter.id)
            encounter.temperature = Decimal('45.0')
            encounter.pulse = 20
            encounter.spo2 = 100
            encounter.weight = Decimal('0.3')
            encounter.save()

    @with_transaction()
    def test_vitals_refused_in_vietnamese(self):
        "The refusal of an impossible value is in Vietnamese"
        load_vietnamese()
        with self.station(), Transaction().set_context(language='vi'):
            encounter = self.encounter()
            encounter.temperature = Decimal('375')
            with self.assertRaisesRegex(
                    VitalSignError, r'Nhiệt độ.*375.*25 đến 45 °C'):
                encounter.save()

    @with_transaction()
    def test_vitals_flagged(self):
        "Unusual vital signs are flagged for the patient's age"
        with self.station():
            adult = self.encounter(
                temperature=Decimal('38.5'), pulse=112, spo2=92,
                systolic_pressure=150, diastolic_pressure=95,
                respiratory_rate=18)
            warnings = adult.vitals_warnings.splitlines()
            # systolic and diastolic pressure are high: one finding
            self.assertEqual(len(warnings), 4, warnings)
            self.assertIn('Fever', warnings[0])
            self.assertIn('38.5', warnings[0])
            self.assertIn('≥ 38 °C', warnings[0])
            self.assertIn('Fast heart rate', warnings[1])
            self.assertIn('High blood pressure', warnings[2])
            self.assertIn('Low oxygen saturation', warnings[3])
            self.assertIn('<b><font color=', adult.vitals_warnings_display)

            normal = self.encounter(
                temperature=Decimal('36.8'), pulse=80, spo2=98,
                systolic_pressure=120, diastolic_pressure=80)
            self.assertIsNone(normal.vitals_warnings)
            self.assertIsNone(normal.vitals_warnings_display)

            # 120/min is normal at 2 years; 55 breaths/min is fast at
            # 3 months (IMCI)
            today = dt.date.today()
            toddler = self.encounter(
                self.patient("Bé Nguyễn Minh Khang",
                    birth_date=today - dt.timedelta(days=2 * 365)),
                pulse=120, respiratory_rate=35)
            self.assertIsNone(toddler.vitals_warnings)
            infant = self.encounter(
                self.patient("Bé Trần Gia Hân", sex='female',
                    birth_date=today - dt.timedelta(days=90)),
                pulse=150, respiratory_rate=55)
            self.assertIn('Fast breathing', infant.vitals_warnings)
            self.assertNotIn('heart', infant.vitals_warnings)

    @with_transaction()
    def test_bmi_and_author(self):
        "BMI is computed; vitals keep who took them and when"
        with self.station():
            encounter = self.encounter()
            self.assertIsNone(encounter.bmi)
            self.assertIsNone(encounter.vitals_taken_by)
            encounter.weight = Decimal('60')
            encounter.height = Decimal('165')
            encounter.save()
            self.assertEqual(encounter.bmi, Decimal('22.0'))
            self.assertEqual(encounter.vitals_taken_by, self.doctor)
            self.assertTrue(encounter.vitals_taken_at)
            encounter.weight = Decimal('72.5')
            encounter.height = Decimal('158.0')
            self.assertEqual(encounter.on_change_with_bmi(), Decimal('29.0'))

    # -- workflow -----------------------------------------------------------

    @with_transaction()
    def test_workflow(self):
        "Registered → in progress → done, with who and when"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        with self.station():
            encounter = self.encounter()
            self.assertEqual(encounter.state, 'registered')
            self.assertIsNone(encounter.practitioner)

            Encounter.start([encounter])
            self.assertEqual(encounter.state, 'in_progress')
            self.assertEqual(encounter.practitioner, self.doctor)
            self.assertTrue(encounter.started_at)

            with self.assertRaisesRegex(EncounterError, 'main diagnosis'):
                encounter.conclusion = "Khỏe"
                encounter.disposition = 'home'
                encounter.save()
                Encounter.done([encounter])
            encounter = Encounter(encounter.id)
            encounter.conclusion = None
            encounter.save()
            self.diagnose(encounter, 'J06.9', 'I10')
            with self.assertRaisesRegex(EncounterError, 'Conclusion'):
                Encounter.done([encounter])
            encounter.conclusion = "Viêm đường hô hấp trên cấp"
            encounter.disposition = 'home_prescription'
            encounter.save()
            with self.assertRaisesRegex(EncounterError, 'no prescription'):
                Encounter.done([encounter])
            encounter.disposition = 'reexamination'
            with self.assertRaises(RequiredValidationError):
                encounter.save()
            encounter.reexamination_date = encounter.date
            with self.assertRaisesRegex(EncounterError, 'after the day'):
                encounter.save()
            encounter.reexamination_date = (
                encounter.date + dt.timedelta(days=7))
            encounter.save()

            Encounter.done([encounter])
            self.assertEqual(encounter.state, 'done')
            self.assertTrue(encounter.done_at)
            self.assertEqual(encounter.main_diagnosis, self.disease('J06.9'))
            self.assertEqual(encounter.secondary_codes, 'I10')

            # done is final: a cancel is not a transition from done
            Encounter.cancel_with_reason([encounter], "Nhầm")
            self.assertEqual(encounter.state, 'done')

    @with_transaction()
    def test_referral_requires_facility_and_reason(self):
        "A referral names the facility and the reason"
        with self.station():
            encounter = self.encounter()
            encounter.disposition = 'referral'
            with self.assertRaises(RequiredValidationError):
                encounter.save()
            encounter.referral_facility_name = "Trung tâm Y tế khu vực"
            encounter.referral_kind = 'professional'
            encounter.referral_reason = "Nghi viêm ruột thừa"
            encounter.referral_facility = '2412'
            with self.assertRaisesRegex(EncounterError, '5 digits'):
                encounter.save()
            encounter.referral_facility = '24001'
            encounter.save()

    @with_transaction()
    def test_cancel_requires_reason(self):
        "Cancelling keeps a mandatory reason, through the wizard"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        CancelWizard = pool.get('health.encounter.cancel', type='wizard')
        with self.station():
            encounter = self.encounter()
            with self.assertRaisesRegex(EncounterError, 'reason'):
                Encounter.cancel_with_reason([encounter], "  ")
            self.assertEqual(encounter.state, 'registered')

            session_id, _, _ = CancelWizard.create()
            wizard = CancelWizard(session_id)
            wizard.start.reason = "Đăng ký trùng"
            with Transaction().set_context(
                    active_model='health.encounter',
                    active_id=encounter.id, active_ids=[encounter.id]):
                wizard.transition_cancel_()
            encounter = Encounter(encounter.id)
            self.assertEqual(encounter.state, 'cancelled')
            self.assertEqual(encounter.cancel_reason, "Đăng ký trùng")
            self.assertEqual(encounter.cancelled_by, self.doctor)
            self.assertTrue(encounter.cancelled_at)
            with self.assertRaises(AccessError):
                encounter.reason = "Khác"
                encounter.save()

    # -- diagnoses ----------------------------------------------------------

    @with_transaction()
    def test_diagnoses_rules(self):
        "One main, no duplicate, at most 12 secondary, Ministry's rules"
        pool = Pool()
        Diagnosis = pool.get('health.encounter.diagnosis')
        with self.station():
            encounter = self.encounter()
            main, = self.diagnose(encounter, 'J06.9')
            self.assertEqual(main.recorded_by, self.doctor)
            self.assertTrue(main.recorded_at)
            self.assertEqual(main.patient, encounter.patient)
            codes = ['I10', 'E11.9', 'K29.7', 'R50.9', 'A01.0', 'J02.9',
                'J03.9', 'J20.9', 'K30', 'M54.5', 'R51', 'L30.9']
            Diagnosis.create([{
                        'encounter': encounter.id, 'kind': 'secondary',
                        'disease': self.disease(c).id} for c in codes])
            self.assertEqual(
                encounter.secondary_codes,
                'I10;E119;K297;R509;A010;J029;J039;J209;K30;M545;R51;L309')
            # (a refused creation is rolled back by the server; each
            # refusal below is tried on an encounter of its own)
            with self.assertRaisesRegex(EncounterError, 'at most 12'):
                Diagnosis.create([{
                            'encounter': encounter.id, 'kind': 'secondary',
                            'disease': self.disease('N39.0').id}])

            encounter = self.encounter()
            with self.assertRaisesRegex(EncounterError, 'only one main'):
                self.diagnose(encounter, 'J06.9')
                self.diagnose(encounter, 'I10')
            encounter = self.encounter()
            with self.assertRaisesRegex(EncounterError, 'twice'):
                self.diagnose(encounter, 'J06.9', 'J06.9')

    @with_transaction()
    def test_diagnoses_coding_rules_from_catalogue(self):
        "The catalogue's coding rules refuse a code the Ministry refuses"
        with self.station():
            # B95.0 may not be the main diagnosis (QĐ 4469 Phụ lục A2)
            with self.assertRaisesRegex(DiagnosisCodingError, 'B95.0'):
                self.diagnose(self.encounter(), 'B95.0')
            # but it may be a secondary one
            self.diagnose(self.encounter(), 'J06.9', 'B95.0')
            # A34 (obstetrical tetanus) is for women only
            with self.assertRaisesRegex(DiagnosisCodingError, 'A34'):
                self.diagnose(self.encounter(), 'J06.9', 'A34')
            woman = self.encounter(self.patient("Trần Thị Bình",
                    sex='female', birth_date=dt.date(1995, 2, 3)))
            self.diagnose(woman, 'J06.9', 'A34')

    @with_transaction()
    def test_diagnosis_valid_on_encounter_date(self):
        "Only codes valid on the encounter date can be chosen"
        pool = Pool()
        Disease = pool.get('health.disease')
        with self.station():
            encounter = self.encounter(
                arrival_at=dt.datetime(2026, 3, 9, 2, 0))
            old = self.disease('J06.9')
            Disease.write([old], {'valid_to': dt.date(2026, 1, 31)})
            with self.assertRaises((DomainValidationError,
                        DiagnosisCodingError)):
                self.diagnose(encounter, 'J06.9')

    @with_transaction()
    def test_search_by_diagnosis(self):
        "Encounters are found by main and secondary diagnosis codes"
        Encounter = Pool().get('health.encounter')
        with self.station():
            first = self.encounter()
            self.diagnose(first, 'J06.9', 'I10')
            second = self.encounter(self.patient("Trần Thị Bình"))
            self.diagnose(second, 'I10')
            self.assertEqual(
                Encounter.search([('main_diagnosis.code', '=', 'J06.9')]),
                [first])
            self.assertEqual(
                Encounter.search([('main_diagnosis', 'ilike', 'I10%')]),
                [second])
            self.assertEqual(
                Encounter.search([('secondary_codes', '=', 'I10')]),
                [first])

    # -- immutability and access --------------------------------------------

    @with_transaction()
    def test_done_is_read_only(self):
        "A done encounter and its diagnoses cannot be changed or deleted"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        Diagnosis = pool.get('health.encounter.diagnosis')
        with self.station():
            encounter = self.finish(self.encounter(), 'J06.9')
            for field, value in [
                    ('conclusion', "Khác"), ('temperature', Decimal('37')),
                    ('practitioner', None)]:
                with self.subTest(field=field):
                    with self.assertRaisesRegex(AccessError, 'Done'):
                        Encounter.write([encounter], {field: value})
            diagnosis, = encounter.diagnoses
            with self.assertRaises(AccessError):
                Diagnosis.write([diagnosis], {'note': "Sửa"})
            with self.assertRaises(AccessError):
                Diagnosis.delete([diagnosis])
            with self.assertRaises(AccessError):
                Diagnosis.create([{
                            'encounter': encounter.id, 'kind': 'secondary',
                            'disease': self.disease('I10').id}])
            with self.assertRaises(AccessError):
                Encounter.delete([encounter])

            # Only a registered encounter may be deleted
            started = self.encounter()
            Encounter.start([started])
            with self.assertRaisesRegex(AccessError, 'cancel it'):
                Encounter.delete([started])
            Encounter.delete([self.encounter()])

    @with_transaction()
    def test_record_rule_and_buttons(self):
        "Users see their facility's encounters; buttons follow roles"
        pool = Pool()
        Encounter = pool.get('health.encounter')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Site = pool.get('health.site')
        Patient = pool.get('health.patient')
        with self.station():
            mine = self.encounter()
        other = create_company(name="Trạm Y tế khác")
        other_site, = Site.create([{
                    'company': other.id, 'name': "Trạm", 'code': 'T'}])
        with Transaction().set_context(company=other.id, site=None):
            patient, = Patient.create([{
                        'company': other.id, 'name': "Phạm Văn Dũng",
                        'birth_date': dt.date(1990, 1, 1), 'sex': 'male'}])
            theirs, = Encounter.create([{
                        'company': other.id, 'site': other_site.id,
                        'patient': patient.id}])

        def group(name):
            return ModelData.get_id('health_emr', f'group_health_{name}')
        receptionist, = User.create([{
                    'name': "Lễ tân", 'login': 'reception_a',
                    'companies': [('add', [self.company.id])],
                    'company': self.company.id,
                    'groups': [('add', [group('reception')])],
                    }])
        with Transaction().set_user(receptionist.id), \
                Transaction().set_context(
                    User.get_preferences(context_only=True),
                    _check_access=True):
            self.assertEqual(Encounter.search([]), [mine])
            with self.assertRaises(AccessError):
                Encounter.read([theirs.id], ['number'])
            # Reception may cancel but not start a consultation
            with self.assertRaises(AccessButtonError):
                Encounter.start([Encounter(mine.id)])
            Encounter.cancel([Encounter(mine.id)])
            with self.assertRaises(AccessError):
                Encounter.delete([Encounter(mine.id)])

        auditor, = User.create([{
                    'name': "Kiểm tra", 'login': 'auditor_a',
                    'companies': [('add', [self.company.id])],
                    'company': self.company.id,
                    'groups': [('add', [group('auditor')])],
                    }])
        with Transaction().set_user(auditor.id), \
                Transaction().set_context(
                    User.get_preferences(context_only=True),
                    _check_access=True):
            self.assertEqual(Encounter.search([]), [mine])
            with self.assertRaises(AccessError):
                Encounter.write([Encounter(mine.id)], {'reason': "Ho"})
