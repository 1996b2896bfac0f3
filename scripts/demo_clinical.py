# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Synthetic clinical demo data for Trạm Y tế Bảo Đài: about 500 patients
(written as the spreadsheet a station keeps, then imported with
scripts/import_patients.py), a small medicine list, and a month of
outpatient encounters with diagnoses and prescriptions.

Everything is generated from a fixed seed: names are common Vietnamese
names put together at random, personal IDs and card numbers have the
right shape but are random, so no record describes a real person."""
import csv
import datetime as dt
import random
from decimal import Decimal

FAMILY_NAMES = [
    ("Nguyễn", 30), ("Trần", 10), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5),
    ("Vũ", 5), ("Đặng", 4), ("Bùi", 4), ("Đỗ", 4), ("Ngô", 3),
    ("Dương", 3), ("Đào", 2), ("Lý", 2), ("Hà", 2), ("Phan", 2),
    ("Trịnh", 2), ("Đinh", 2), ("Lương", 1), ("Thân", 2), ("Giáp", 1),
    ]
MALE_MIDDLE = ["Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Xuân",
    "Đình", "Công", "Thanh", "Ngọc"]
FEMALE_MIDDLE = ["Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh",
    "Minh", "Kim", "Phương", "Hồng"]
MALE_GIVEN = ["An", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Giang", "Hải",
    "Hùng", "Huy", "Khánh", "Long", "Mạnh", "Nam", "Nghĩa", "Phong",
    "Quân", "Sơn", "Thắng", "Thành", "Tiến", "Toàn", "Trung", "Tuấn",
    "Việt", "Vinh", "Hiếu", "Kiên", "Lâm", "Tùng"]
FEMALE_GIVEN = ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng",
    "Hoa", "Hương", "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "Nga",
    "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Thu", "Thủy",
    "Trang", "Vân", "Yến", "Hiền", "Lụa", "Tâm"]
HAMLETS = ["Thôn Đông", "Thôn Tây", "Thôn Nam", "Thôn Trung tâm",
    "Thôn Chùa", "Thôn Mới", "Thôn Cầu", "Thôn Đình", "Thôn Hạ",
    "Thôn Thượng", "Thôn Giữa", "Thôn Bãi"]
# Synthetic facility code of the demo station (scripts/demo_data.py)
FACILITY_CODE = '24999'

# (INN, brand, strength, dosage form, route, unit, dose, times a day,
#  days, instructions, controlled)
MEDICINES = [
    ("Paracetamol", "Hapacol", "500 mg", "Viên nén", "Uống", "Viên",
        1, 3, 3, "Uống khi sốt trên 38,5 °C, cách nhau ít nhất 4 giờ"),
    ("Amoxicilin", None, "500 mg", "Viên nang", "Uống", "Viên",
        1, 3, 7, "Uống sau ăn"),
    ("Cefuroxim", None, "250 mg", "Viên nén bao phim", "Uống", "Viên",
        1, 2, 7, "Uống sau ăn"),
    ("Amlodipin", None, "5 mg", "Viên nén", "Uống", "Viên",
        1, 1, 30, "Uống buổi sáng"),
    ("Losartan", None, "50 mg", "Viên nén bao phim", "Uống", "Viên",
        1, 1, 30, "Uống buổi sáng"),
    ("Metformin", None, "500 mg", "Viên nén", "Uống", "Viên",
        1, 2, 30, "Uống trong hoặc sau bữa ăn"),
    ("Gliclazid", None, "30 mg", "Viên nén giải phóng có kiểm soát",
        "Uống", "Viên", 1, 1, 30, "Uống trước bữa sáng"),
    ("Omeprazol", None, "20 mg", "Viên nang", "Uống", "Viên",
        1, 2, 14, "Uống trước ăn 30 phút"),
    ("Loratadin", None, "10 mg", "Viên nén", "Uống", "Viên",
        1, 1, 7, "Uống buổi tối"),
    ("Salbutamol", None, "2 mg", "Viên nén", "Uống", "Viên",
        1, 3, 5, "Uống sau ăn"),
    ("Oresol", None, "4,1 g", "Thuốc bột pha dung dịch", "Uống", "Gói",
        1, 3, 3, "Pha 1 gói với 200 ml nước đun sôi để nguội"),
    ("Kẽm gluconat", None, "10 mg", "Siro", "Uống", "ml",
        5, 2, 10, "Uống sau ăn"),
    ("Ibuprofen", None, "400 mg", "Viên nén bao phim", "Uống", "Viên",
        1, 2, 5, "Uống sau ăn no"),
    ("Alverin citrat", None, "40 mg", "Viên nang", "Uống", "Viên",
        1, 3, 5, "Uống khi đau bụng"),
    ("Vitamin C", None, "500 mg", "Viên nén", "Uống", "Viên",
        1, 1, 10, "Uống sau ăn sáng"),
    ]
# Common diagnoses at a commune station: (ICD-10 code, medicines by INN,
# chronic?, who: 'child', 'adult' or 'all')
VISITS = [
    ("J06.9", ["Paracetamol", "Loratadin"], False, 'all'),
    ("J02.9", ["Amoxicilin", "Paracetamol"], False, 'all'),
    ("J20.9", ["Cefuroxim", "Salbutamol"], False, 'all'),
    ("A09", ["Oresol", "Kẽm gluconat"], False, 'child'),
    ("I10", ["Amlodipin"], True, 'adult'),
    ("I10", ["Losartan"], True, 'adult'),
    ("E11.9", ["Metformin", "Gliclazid"], True, 'adult'),
    ("K29.7", ["Omeprazol"], False, 'adult'),
    ("M54.5", ["Ibuprofen"], False, 'adult'),
    ("K58.9", ["Alverin citrat"], False, 'adult'),
    ("R50.9", ["Paracetamol"], False, 'child'),
    ("L30.9", ["Loratadin"], False, 'all'),
    ]
COMPLAINTS = {
    "J06.9": "Sổ mũi, ho, đau họng 2 ngày",
    "J02.9": "Đau họng, sốt nhẹ",
    "J20.9": "Ho có đờm 5 ngày",
    "A09": "Đi ngoài phân lỏng 4 lần/ngày",
    "I10": "Khám định kỳ tăng huyết áp",
    "E11.9": "Khám định kỳ đái tháo đường",
    "K29.7": "Đau thượng vị, ợ chua",
    "M54.5": "Đau thắt lưng sau lao động",
    "K58.9": "Đau bụng, rối loạn tiêu hóa",
    "R50.9": "Sốt 1 ngày",
    "L30.9": "Ngứa, nổi mẩn",
    }
HEADER = ["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Số điện thoại",
    "Mã thẻ BHYT", "Hạn thẻ từ", "Hạn thẻ đến", "Nơi ĐKKCB ban đầu",
    "Mã xã", "Thôn/xóm", "Dân tộc", "Người giám hộ"]


def _birth_province():
    # Bảo Đài belonged to Bắc Giang (old code 024) before 07/2025
    return random.choices(['024', '027', '001'], [90, 7, 3])[0]


def synthetic_patients(count=500, seed=2026, today=None):
    "Rows of a synthetic patient spreadsheet (HEADER order)"
    random.seed(seed)
    today = today or dt.date.today()
    rows, ids = [], set()
    families = [f for f, _ in FAMILY_NAMES]
    weights = [w for _, w in FAMILY_NAMES]
    while len(rows) < count:
        male = random.random() < 0.48
        age = random.choices(
            [random.randint(0, 5), random.randint(6, 17),
                random.randint(18, 59), random.randint(60, 95)],
            [12, 15, 45, 28])[0]
        birth = today - dt.timedelta(days=365 * age + random.randint(0, 364))
        family = random.choices(families, weights)[0]
        name = ' '.join([family,
            random.choice(MALE_MIDDLE if male else FEMALE_MIDDLE),
            random.choice(MALE_GIVEN if male else FEMALE_GIVEN)])
        century = (birth.year // 100 - 19) * 2 + (0 if male else 1)
        personal_id = '%s%d%02d%06d' % (_birth_province(), century,
            birth.year % 100, random.randint(0, 999999))
        if personal_id in ids:
            continue
        ids.add(personal_id)
        birth_text = birth.strftime('%d/%m/%Y')
        if age >= 80 and random.random() < 0.3:
            # elderly people often know only their year of birth
            birth_text = str(birth.year)
        card = card_from = card_to = ''
        if random.random() < 0.9:
            if age < 6:
                group = 'TE1'
            elif age < 18:
                group = 'HS4'
            elif age >= 60:
                group = random.choice(['HT3', 'CT2', 'GD4'])
            else:
                group = random.choice(['GD4', 'GD4', 'DN4', 'HC4', 'CN2',
                        'HN1', 'NO4'])
            card = '%s24%010d' % (group, random.randint(2400000000,
                    2499999999))
            card_from = dt.date(today.year, 1, 1).strftime('%d/%m/%Y')
            card_to = dt.date(today.year, 12, 31).strftime('%d/%m/%Y')
        guardian = ''
        if age < 6:
            guardian = ' '.join([family, random.choice(FEMALE_MIDDLE),
                    random.choice(FEMALE_GIVEN)])
        rows.append([name, birth_text, "Nam" if male else "Nữ",
                personal_id if age >= 14 or random.random() < 0.7 else '',
                '09%08d' % random.randint(0, 99999999) if age >= 16 else '',
                card, card_from, card_to, FACILITY_CODE if card else '',
                '07462', random.choice(HAMLETS),
                "01" if random.random() < 0.97 else "05", guardian])
    return rows


def write_csv(path, rows):
    with open(path, 'w', encoding='utf-8', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)


# Some chronic diseases of Phụ lục VII of TT 26/2025 (prescriptions up to
# 90 days); the station administrator ticks them in the ICD-10 catalogue.
CHRONIC_CODES = ['I10', 'E11.9', 'E78.5', 'J44.9', 'J45.9']


def mark_chronic_diseases():
    from proteus import Model
    Disease = Model.get('health.disease')
    diseases = Disease.find([('code', 'in', CHRONIC_CODES),
            ('chronic_prescription', '=', False)])
    for disease in diseases:
        disease.chronic_prescription = True
    Disease.save(diseases)


def load_medicines():
    "The demo drug cabinet; prices are made up (synthetic)"
    from proteus import Model
    Medicine = Model.get('health.medicine')
    medicines = {}
    for index, (inn, brand, strength, form, route, unit, *_) in enumerate(
            MEDICINES, 1):
        found = Medicine.find(
            [('name', '=', inn), ('strength', '=', strength)])
        medicine = found[0] if found else Medicine(
            name=inn, brand=brand, strength=strength, dosage_form=form,
            route=route, unit=unit,
            registration_number='DEMO-%03d' % index)
        if not found:
            price = medicine.prices.new()
            price.valid_from = dt.date(2026, 1, 1)
            price.price = Decimal(random.choice([500, 800, 1200, 2500]))
            medicine.save()
        medicines[inn] = medicine
    return medicines


def load_encounters(sites, practitioner, nurse, days=30, per_day=(8, 18),
        seed=2026):
    """A month of done encounters with vitals, diagnoses and, for most of
    them, an issued prescription.  Only the days without encounters yet
    are filled (running the demo again adds nothing)."""
    from proteus import Model
    random.seed(seed)
    Patient = Model.get('health.patient')
    Encounter = Model.get('health.encounter')
    Disease = Model.get('health.disease')
    Prescription = Model.get('health.prescription')
    Medicine = Model.get('health.medicine')
    medicines = {m.name: m for m in Medicine.find(
            [('name', 'in', [m[0] for m in MEDICINES])])}
    spec = {inn: rest for inn, *rest in MEDICINES}
    # the first patients are enough for the demo (also when a large
    # synthetic population was loaded, as scripts/bench_emr does)
    patients = Patient.find([], limit=2000)
    if not patients:
        return 0
    diseases = {}
    for code in {v[0] for v in VISITS}:
        found = Disease.find([('code', '=', code)], limit=1)
        if found:
            diseases[code] = found[0]
    today = dt.date.today()
    created = 0
    for offset in range(days, 0, -1):
        day = today - dt.timedelta(days=offset)
        if day.weekday() == 6:  # closed on Sunday
            continue
        start = dt.datetime.combine(day, dt.time(7, 0))
        if Encounter.find([('arrival_at', '>=', start),
                    ('arrival_at', '<', start + dt.timedelta(days=1))],
                limit=1):
            continue
        encounters, plans = [], []
        for index in range(random.randint(*per_day)):
            patient = random.choice(patients)
            child = (day - patient.birth_date).days < 72 * 30
            visits = [v for v in VISITS if v[3] == 'all'
                or v[3] == ('child' if child else 'adult')]
            code, drugs, chronic, _ = random.choice(visits)
            if code not in diseases:
                continue
            arrival = start + dt.timedelta(minutes=index * 20
                + random.randint(0, 15))
            encounter = Encounter(patient=patient,
                site=random.choice(sites), arrival_at=arrival,
                identity_method=random.choice(
                    ['cccd_qr', 'cccd_qr', 'vneid', 'insurance_card']),
                reason=COMPLAINTS[code])
            if patient.insurance_cards:
                encounter.insurance_card = patient.insurance_cards[0]
            encounter.pulse = random.randint(68, 96)
            encounter.temperature = Decimal(random.choice(
                    ['36.6', '36.8', '37.0', '37.2', '38.2']
                    if code in {'J06.9', 'J02.9', 'R50.9'}
                    else ['36.5', '36.7', '36.9']))
            encounter.respiratory_rate = random.randint(16, 22)
            encounter.spo2 = random.randint(96, 99)
            if child:
                years = max((day - patient.birth_date).days / 365, 0.2)
                encounter.weight = Decimal('%.1f' % (3.5 + 2.2 * years))
                encounter.height = Decimal(int(52 + 9 * years))
            else:
                encounter.systolic_pressure = random.choice(
                    [110, 120, 130, 145, 150] if code == 'I10'
                    else [105, 110, 120, 125])
                encounter.diastolic_pressure = random.choice([70, 80, 90])
                encounter.weight = Decimal(random.randint(42, 75))
                encounter.height = Decimal(random.randint(148, 172))
            encounter.vitals_taken_by = nurse
            encounters.append(encounter)
            plans.append((code, drugs, chronic, child))
        if not encounters:
            continue
        Encounter.save(encounters)
        Encounter.click(encounters, 'start')
        prescriptions = []
        for encounter, (code, drugs, chronic, child) in zip(
                encounters, plans):
            encounter.practitioner = practitioner
            diagnosis = encounter.diagnoses.new()
            diagnosis.kind = 'main'
            diagnosis.disease = diseases[code]
            diagnosis.chronic = chronic
            encounter.examination_general = (
                "Tỉnh, tiếp xúc tốt. Da niêm mạc hồng.")
            encounter.conclusion = diseases[code].name
            encounter.treatment_plan = "Điều trị ngoại trú, theo dõi tại nhà"
            if encounter.patient.guardian_name is None and (
                    day - encounter.patient.birth_date).days < 72 * 30:
                drugs = []
            if random.random() >= 0.85:
                drugs = []
            encounter.disposition = 'home_prescription' if drugs else 'home'
            if drugs:
                prescription = Prescription(encounter=encounter,
                    patient=encounter.patient, prescriber=practitioner,
                    chronic=chronic)
                for inn in drugs:
                    (_, _, _, _, unit, dose, times, days_, instructions
                        ) = spec[inn]
                    line = prescription.lines.new()
                    line.medicine = medicines[inn]
                    line.dose = Decimal(dose)
                    line.times_per_day = times
                    line.days = days_
                    line.instructions = instructions
                if child:
                    # the mother who brings the child (synthetic ID)
                    prescription.guardian_name = (
                        encounter.patient.guardian_name)
                    prescription.guardian_personal_id = (
                        '0241%02d%06d' % (random.randint(88, 99),
                            random.randint(0, 999999)))
                prescription.advice = "Tái khám khi có dấu hiệu bất thường"
                prescriptions.append(prescription)
        Encounter.save(encounters)
        if prescriptions:
            Prescription.save(prescriptions)
            Prescription.click(prescriptions, 'issue')
        Encounter.click(encounters, 'done')
        created += len(encounters)
    return created
