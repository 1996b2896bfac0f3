#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Load the demo station, Trạm Y tế Bảo Đài, into a database through
proteus: the facility, its 4 sites, one user per role, about 500 patients
and a month of encounters and prescriptions (scripts/demo_clinical.py),
certificates of the clinical staff and some signed records
(scripts/demo_signing.py).

Every person, number and code here is synthetic.  Running it again
updates what exists (passwords included) and creates what is missing."""
import argparse
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import demo_signing

# login, full name, role group (health_emr.group_health_<role>),
# professional title, sites (codes; the first is the current one)
USERS = [
    ('letan', "Trần Thị Mai", 'reception', 'administrative',
        ['TS', 'DT1']),
    ('bacsi', "Nguyễn Văn Hùng", 'doctor', 'doctor',
        ['TS', 'DT1', 'DT2', 'DT3']),
    ('dieuduong', "Lê Thị Hồng", 'nurse', 'nurse', ['TS', 'DT2']),
    ('duocsi', "Phạm Thị Thu", 'pharmacist', 'pharmacist', ['TS']),
    ('xetnghiem', "Hoàng Văn Nam", 'lab', 'medical_technician', ['TS']),
    ('cdha', "Đỗ Minh Tuấn", 'imaging', 'doctor', ['TS']),
    ('quantri', "Vũ Thị Ngọc", 'admin', 'administrative',
        ['TS', 'DT1', 'DT2', 'DT3']),
    ('kiemtra', "Bùi Văn Đức", 'auditor', 'administrative', ['TS']),
    ]
ROLE_NAMES = {
    'reception': "Tiếp đón",
    'doctor': "Bác sĩ",
    'nurse': "Điều dưỡng / hộ sinh",
    'pharmacist': "Dược sĩ",
    'lab': "Kỹ thuật viên xét nghiệm",
    'imaging': "Chẩn đoán hình ảnh",
    'admin': "Quản trị trạm",
    'auditor': "Kiểm tra / thanh tra",
    }
SITES = [
    ('TS', "Trạm Y tế Bảo Đài - Trụ sở chính", 'main', "Thôn Trung tâm"),
    ('DT1', "Điểm trạm số 1", 'sub', "Thôn Đông"),
    ('DT2', "Điểm trạm số 2", 'sub', "Thôn Tây"),
    ('DT3', "Điểm trạm số 3", 'sub', "Thôn Nam"),
    ]
FACILITY = {
    'name': "Trạm Y tế Bảo Đài",
    # Synthetic facility code: 24 = Bắc Ninh, 999 = not a real facility.
    'facility_code': '24999',
    'commune': '07462',
    }


def list_users():
    for login, name, role, _, sites in [('admin', "Quản trị hệ thống",
                'system', None, [])] + USERS:
        print(f"    {login:<10} {name:<18} "
            f"{ROLE_NAMES.get(role, 'Quản trị hệ thống (Tryton)')}")


def find_or_new(Model, domain, **values):
    records = Model.find(domain)
    record = records[0] if records else Model()
    for name, value in values.items():
        setattr(record, name, value)
    return record


def load(password, database, config_file=None):
    from proteus import Model
    from proteus.config import get_config
    config = get_config()

    ModelData = Model.get('ir.model.data')
    Group = Model.get('res.group')
    Lang = Model.get('ir.lang')
    User = Model.get('res.user')
    Party = Model.get('party.party')
    Currency = Model.get('currency.currency')
    Company = Model.get('company.company')
    Employee = Model.get('company.employee')
    Commune = Model.get('health.commune')
    Site = Model.get('health.site')
    ConfigItem = Model.get('ir.module.config_wizard.item')

    def ref(module, fs_id):
        return ModelData.get_id(module, fs_id, {})

    vi, = Lang.find([('code', '=', 'vi')])

    vnd = find_or_new(Currency, [('code', '=', 'VND')],
        name="Đồng Việt Nam", code='VND', symbol='₫', numeric_code='704',
        rounding=Decimal('1'), digits=0)
    vnd.save()

    commune, = Commune.find([('code', '=', FACILITY['commune'])])
    company = find_or_new(Company,
        [('facility_code', '=', FACILITY['facility_code'])],
        # commune's on_change fills the line-ministry header
        currency=vnd, timezone='Asia/Ho_Chi_Minh',
        facility_code=FACILITY['facility_code'], commune=commune)
    fresh = company.id < 0  # a new proteus record has a negative id
    if fresh:
        party = Party(name=FACILITY['name'], lang=vi)
        party.save()
        company.party = party
    company.save()
    if fresh and demo_signing.activated('health_sign', 'health_vn_forms'):
        # LibreOffice starts while the patients are imported
        demo_signing.warm_up()

    # The admin works in the facility, so the company record rules let it
    # create the facility's records.
    admin, = User.find([('login', '=', 'admin')])
    if company not in admin.companies:
        admin.companies.append(Company(company.id))
    admin.company = company
    admin.save()
    config._context = User.get_preferences(True, {})

    sites = {}
    for code, name, kind, street in SITES:
        site = find_or_new(Site,
            [('company', '=', company.id), ('code', '=', code)],
            company=company, code=code, name=name, kind=kind,
            commune=commune, street=street)
        site.save()
        sites[code] = site

    def set_user(user, name, groups, employee, site_codes):
        user.name = name
        user.language = vi
        user.password = password
        if company not in user.companies:
            user.companies.append(Company(company.id))
        user.company = company
        if employee:
            if employee not in user.employees:
                user.employees.append(Employee(employee.id))
            user.employee = employee
        for code in site_codes:
            if sites[code] not in user.sites:
                user.sites.append(Site(sites[code].id))
        user.site = sites[site_codes[0]]
        for group_id in groups:
            if group_id not in [g.id for g in user.groups]:
                user.groups.append(Group(group_id))
        user.save()

    set_user(admin, admin.name, [], None, [code for code, *_ in SITES])

    for index, (login, name, role, title, site_codes) in enumerate(USERS):
        party = find_or_new(Party, [('name', '=', name)], name=name, lang=vi)
        party.save()
        sex_digit = 1 if ' Thị ' in f' {name} ' else 0
        employee = find_or_new(Employee,
            [('company', '=', company.id), ('party', '=', party.id)],
            company=company, party=party, professional_title=title,
            # Synthetic: birth province 024, born 1985, sequence = index
            personal_id=f'024{sex_digit}85{index + 1:06d}',
            social_insurance_number=f'24{index + 1:08d}',
            practising_certificate=(
                f'{index + 1:06d}/BN-CCHN' if title not in {
                    'administrative'} else None))
        employee.save()
        groups = [ref('health_emr', f'group_health_{role}')]
        if role == 'admin':
            # Station administrators also activate modules and manage users
            groups.append(ref('res', 'group_admin'))
        user = find_or_new(User, [('login', '=', login)], login=login)
        set_user(user, name, groups, employee, site_codes)

    # The demo is configured: do not open the module-configuration wizard
    for item in ConfigItem.find([('state', '!=', 'done')]):
        item.state = 'done'
        item.save()

    load_clinical(database, config_file)
    from trytond import config as trytond_config
    demo_signing.load(password,
        Path(trytond_config.get('database', 'path'), 'pki'),
        FACILITY['name'])


def load_clinical(database, config_file):
    "Patients through the import script, then a month of encounters"
    import demo_clinical
    from import_patients import Importer

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, 'danh-sach-nguoi-benh.csv')
        demo_clinical.write_csv(path, demo_clinical.synthetic_patients())
        with open(os.devnull, 'w') as devnull:
            stdout, sys.stdout = sys.stdout, devnull
            try:
                Importer(dry_run=False, accept_same_name=True).run(path)
            finally:
                sys.stdout = stdout
    demo_clinical.mark_chronic_diseases()
    demo_clinical.load_medicines()
    # The doctor of the demo sees the month's patients (as a station
    # does, the nurse's vitals are written into the same encounters)
    from proteus import Model
    demo_signing.as_user('bacsi')
    Employee = Model.get('company.employee')
    Site = Model.get('health.site')
    doctor, = Employee.find([('party.name', '=', "Nguyễn Văn Hùng")])
    nurse, = Employee.find([('party.name', '=', "Lê Thị Hồng")])
    count = demo_clinical.load_encounters(Site.find([]), doctor, nurse)
    print(f"{count} demo encounters created", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--config', help="trytond configuration file")
    parser.add_argument('--database', help="database name")
    parser.add_argument('--list-users', action='store_true',
        help="print the demo users and exit")
    args = parser.parse_args()
    if args.list_users:
        list_users()
        return
    if not args.database:
        parser.error("--database is required")
    password = os.environ.get('OPENTYT_DEMO_PASSWORD')
    if not password:
        sys.exit("OPENTYT_DEMO_PASSWORD is not set")

    from proteus import config
    config.set_trytond(args.database, config_file=args.config)
    load(password, args.database, args.config)
    print(f"demo data loaded into {args.database}", file=sys.stderr)


if __name__ == '__main__':
    main()
