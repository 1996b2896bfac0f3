# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Browser test: the sao web client of a throw-away demo station.

Builds a demo database with ./scripts/demo in a temporary folder, serves it
with trytond and drives sao in headless Debian Chromium (Playwright).
Skipped when Chromium or Playwright is missing, except under CI.
"""
import base64
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-quic']
DB = 'opentyt_demo'
TIMEOUT = 30_000  # ms, for every wait on the page

_missing = [what for what, ok in [
    (CHROMIUM, os.path.exists(CHROMIUM)),
    ('playwright (Python)', sync_playwright is not None)] if not ok]
if _missing:
    reason = 'browser test needs ' + ', '.join(_missing)
    if os.environ.get('CI'):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)
expect.set_options(timeout=TIMEOUT)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "Demo station on a free port: yields (base URL, password)."
    data = tmp_path_factory.mktemp('opentyt_demo')
    port = _free_port()
    password = ''.join(
        secrets.choice(string.ascii_letters + string.digits)
        for _ in range(16))
    # Always SQLite: no database setting of the caller may leak in.
    env = {k: v for k, v in os.environ.items()
        if not k.startswith(('TRYTOND_', 'DB_'))}
    env.update(OPENTYT_DATA=str(data), OPENTYT_DEMO_PASSWORD=password,
        OPENTYT_LISTEN=f'127.0.0.1:{port}')
    demo = str(ROOT / 'scripts' / 'demo')
    prepared = subprocess.run([demo, '--no-serve'], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=600)
    assert prepared.returncode == 0, (
        f'scripts/demo --no-serve failed:\n{prepared.stderr[-3000:]}')

    log_path = data / 'server.log'
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen([demo], env=env, cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail('the demo server did not start:\n'
                    + log_path.read_text(errors='replace')[-3000:])
            time.sleep(0.5)
        yield url, password
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=15)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        proc.wait()
        stop_converters(proc.pid)


def stop_converters(pid):
    """Stop the LibreOffice of the server process pid: health_vn_forms
    runs it in its own session, stopped at a normal exit but not when the
    server is killed"""
    mark = f'opentyt-lo-{pid}-'.encode()
    for entry in Path('/proc').iterdir():
        try:
            cmdline = (entry / 'cmdline').read_bytes()
        except OSError:
            continue
        if b'unoserver' in cmdline and mark in cmdline:
            try:
                os.killpg(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for folder in Path(tempfile.gettempdir()).glob(f'opentyt-lo-{pid}-*'):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope='module')
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    # A fresh context per test: sao keeps its session in localStorage.
    # Wide enough for sao to show the menu next to the tabs.
    context = browser.new_context(
        viewport={'width': 1280, 'height': 800}, locale='vi-VN')
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    yield page
    if os.environ.get('OPENTYT_SCREENSHOTS'):
        folder = ROOT / 'tests' / 'screenshots'
        folder.mkdir(exist_ok=True)
        page.screenshot(path=str(folder / f'{request.node.name}.png'))
    context.close()


def start_login(page, url, login, password):
    "Fill sao's two-step login: database and user name, then the password."
    page.goto(url)
    # A text input when the server hides its database list ([database]
    # list = False), a select otherwise; shown once the list call answers.
    database = page.locator('.login-dialog #database:visible')
    database.wait_for()
    if database.evaluate('e => e.tagName') == 'SELECT':
        database.select_option(DB)
    elif database.is_editable():
        database.fill(DB)
    page.locator('.login-dialog #login').fill(login)
    page.locator('.login-dialog button[type=submit]').click()
    page.locator('.ask-dialog #ask-dialog-entry').fill(password)


def login(page, url, login, password):
    start_login(page, url, login, password)
    page.locator('.ask-dialog button.btn-primary').click()
    # Logged in once the menu tree is drawn.
    expect(page.locator('#menu .column-char').first).to_be_visible()


def menu_entry(page, label):
    return page.locator('#menu').locator(f'.column-char[title="{label}"]')


def open_menu(page, *path):
    """Expand the menu along path[:-1], then open the action path[-1].
    An entry may bear its folder's name (Quản trị › Mô-đun › Mô-đun): the
    one opened last is drawn below, so each step takes the last match."""
    for label, child in zip(path, path[1:]):
        shown = menu_entry(page, child).count()
        row = page.locator('#menu tr', has=page.locator(
            f'.column-char[title="{label}"]')).last
        row.locator('.expander').click()
        # Children are fetched from the server: wait until drawn.
        expect(menu_entry(page, child)).to_have_count(shown + 1)
    menu_entry(page, path[-1]).last.click()


def test_doctor_logs_in_and_sees_vietnamese_menu(server, page):
    url, password = server
    login(page, url, 'bacsi', password)
    expect(menu_entry(page, 'Y tế')).to_be_visible()
    expect(menu_entry(page, 'Health')).to_have_count(0)
    # The header names the user and the current site
    status = page.locator('a.dropdown-toggle[title^="Nguyễn Văn Hùng"]')
    expect(status).to_have_attribute(
        'title', 'Nguyễn Văn Hùng [VND] - Trạm Y tế Bảo Đài - Trụ sở chính')


def test_station_admin_opens_sites(server, page):
    url, password = server
    login(page, url, 'quantri', password)
    open_menu(page, 'Y tế', 'Cấu hình', 'Điểm trạm')
    rows = page.locator('#tabcontent .treeview tbody')
    for name in ['Trạm Y tế Bảo Đài - Trụ sở chính', 'Điểm trạm số 1',
            'Điểm trạm số 2', 'Điểm trạm số 3']:
        expect(rows.get_by_text(name, exact=True)).to_be_visible()
    # sao's own words are Vietnamese too (web/locale/vi.po)
    expect(page.locator('#tabcontent input[placeholder="Tìm kiếm"]')
        ).to_be_visible()


def test_wrong_password_is_refused(server, page):
    url, _ = server
    start_login(page, url, 'bacsi', 'not-the-password')
    refused = page.locator('.ask-dialog #ask-dialog-entry').element_handle()
    with page.expect_response(
            lambda r: r.url.endswith('/session/login')
            and 'not-the-password' in (r.request.post_data or '')
            ) as answer:
        page.locator('.ask-dialog button.btn-primary').click()
    # The server refuses (401) and sao asks for the password again in a new
    # dialog, empty, once the refused one has faded out.
    assert answer.value.status == 401
    refused.wait_for_element_state('hidden')
    entry = page.locator('.ask-dialog #ask-dialog-entry:visible')
    expect(entry).to_have_count(1)
    expect(entry).to_have_value('')
    expect(page.locator('#menu .column-char')).to_have_count(0)


def test_station_admin_sees_opentyt_modules(server, page):
    "Modules are activated or deactivated per database from the client"
    url, password = server
    login(page, url, 'quantri', password)
    open_menu(page, 'Quản trị', 'Mô-đun', 'Mô-đun')
    row = page.locator('#tabcontent .treeview tbody tr', has=page.get_by_text(
            'health_emr', exact=True))
    expect(row).to_be_visible()
    expect(row).to_contain_text('Đã kích hoạt')


# -- Reception, consultation and prescription in the web client ------------

# A synthetic CCCD QR code (7 fields); no demo patient has this number
QR_BINH = ('024090001234||NGUYỄN VĂN BÌNH|01021990|Nam|'
    'Thôn Đông, Xã Bảo Đài, Huyện Lục Nam, Tỉnh Bắc Giang|15042021')
# Counts the wizard steps sao is processing: a button pressed while sao
# still draws the previous step is silently ignored, and a value typed
# before the step's defaults arrive is overwritten.
TRACK_WIZARDS = """() => {
    if (window.opentytWizards !== undefined) return;
    window.opentytWizards = 0;
    const process = Sao.Wizard.prototype.process;
    Sao.Wizard.prototype.process = function(state) {
        window.opentytWizards += 1;
        return process.call(this, state).always(
            () => { window.opentytWizards -= 1; });
    };
}"""


@pytest.fixture
def other_page(browser, request):
    "Pages of other users (a context each), screenshot like page"
    pages = {}

    def new(user):
        context = browser.new_context(
            viewport={'width': 1280, 'height': 800}, locale='vi-VN')
        context.set_default_timeout(TIMEOUT)
        pages[user] = context.new_page()
        return pages[user]
    yield new
    for user, user_page in pages.items():
        if os.environ.get('OPENTYT_SCREENSHOTS'):
            folder = ROOT / 'tests' / 'screenshots'
            folder.mkdir(exist_ok=True)
            user_page.screenshot(
                path=str(folder / f'{request.node.name}-{user}.png'))
        user_page.context.close()


def login_tracking_wizards(page, url, user, password):
    login(page, url, user, password)
    page.evaluate(TRACK_WIZARDS)


def wizard_idle(page):
    page.wait_for_function('window.opentytWizards === 0')


def wizard(page):
    return page.locator('.modal-dialog', has=page.locator('.wizard'))


def wizard_button(page, label):
    "Press a wizard button once the step is drawn and filled"
    button = wizard(page).locator('.modal-footer button', has_text=label)
    expect(button).to_be_visible()
    wizard_idle(page)
    button.click()


def field(scope, name):
    "The visible widget of a field (numbers also have a hidden twin)"
    return scope.locator(f'[name="{name}"]:visible')


def type_in(scope, name, value, shown=None):
    """Type a value (empty: erase) and leave the field, as a user does.
    With shown, check the field then shows it: sao redraws the form when
    the server answers a save or an on_change, which may wipe a value
    typed meanwhile; type it again then."""
    widget = field(scope, name)
    for attempt in range(3 if shown is not None else 1):
        if value:
            widget.fill(value)
        else:
            widget.click()
            widget.page.keyboard.press('Control+a')
            widget.page.keyboard.press('Delete')
        widget.page.keyboard.press('Tab')
        if shown is None:
            return
        try:
            expect(widget).to_have_value(shown, timeout=5_000)
            return
        except AssertionError:
            continue
    expect(widget).to_have_value(shown)


def complete(scope, name, text, choice):
    "Type in a many2one and pick the suggestion starting with choice"
    widget = field(scope, name)
    suggestion = scope.locator(
        '.dropdown-completion li:visible', has_text=choice).first
    for attempt in range(3):
        # A redraw of the form (defaults, on_change) may wipe the text
        widget.fill(text)
        try:
            suggestion.wait_for(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            continue
    suggestion.click()
    expect(widget).to_have_value(re.compile('^' + re.escape(choice)))


def _saves(request):
    data = request.post_data or ''
    return '/rpc/' in request.url and re.search(
        r'"method": ?"model\.[a-z.]+\.(write|create)"', data)


def save(page):
    "Save with the button of the current tab and wait for the server"
    with page.expect_response(lambda r: _saves(r.request)) as answer:
        current_form(page).locator('button[title="Lưu"]'
            ).first.click()
    assert '"error"' not in answer.value.text(), answer.value.text()
    expect(page.locator('.alert-info:visible', has_text='Đã lưu bản ghi')
        ).not_to_have_count(0)


def press_button(page, label, confirm=False):
    "A button of the form of the current tab, confirmed when it asks"
    current_form(page).locator('.form button:visible',
        has_text=label).click()
    if confirm:
        page.locator('.modal-dialog:visible .modal-footer button',
            has_text='Đồng ý').click()


def expect_error(page, *texts):
    "sao shows the server's refusal in a dialog; read it and close it"
    dialog = page.locator('.modal-dialog:visible', has=page.locator(
            '.alert-warning, .alert-danger'))
    for text in texts:
        expect(dialog).to_contain_text(text)
    dialog.locator('.modal-footer button', has_text='Đồng ý').click()
    expect(dialog).to_have_count(0)


def active_tab(page):
    return page.locator('#tablist li.active a')


def current_form(page):
    return page.locator('#tabcontent > .tab-pane.active')


def open_row(page, text):
    "Open the record of the list row showing text (not on a link)"
    row = current_form(page).locator('.treeview tbody tr', has_text=text)
    expect(row).to_have_count(1)
    row.locator('td:not(.selection-state) .column-integer, '
        'td:not(.selection-state) .column-char').first.dblclick()


def receive(page, scan):
    """Run the reception wizard up to the patient step and return the
    dialog; the caller checks or fills the patient and calls register"""
    entry = menu_entry(page, 'Tiếp đón')
    if not entry.count():
        open_menu(page, 'Y tế', 'Tiếp đón')
    else:
        entry.click()
    dialog = wizard(page)
    field_scan = dialog.locator('input[name="scan"]')
    expect(field_scan).to_be_visible()
    wizard_idle(page)
    field_scan.fill(scan)
    # The scanner ends with Enter: it presses "Tìm"
    field_scan.press('Enter')
    expect(dialog.locator('.modal-footer button', has_text='Tiếp tục')
        ).to_be_visible()
    wizard_idle(page)
    return dialog


def register(page, dialog, reason):
    "From the patient step: the visit step, then open the encounter"
    wizard_button(page, 'Tiếp tục')
    expect(dialog.locator('.modal-footer button', has_text='Tiếp nhận')
        ).to_be_visible()
    wizard_idle(page)
    expect(field(dialog, 'site')).to_have_value(
        'Trạm Y tế Bảo Đài - Trụ sở chính')
    field(dialog, 'reason').fill(reason)
    wizard_button(page, 'Tiếp nhận')
    expect(dialog).to_have_count(0)
    title = re.compile(r'Số thứ tự: (\d+) - ')
    expect(active_tab(page)).to_contain_text(title)
    number = int(title.search(active_tab(page).inner_text()).group(1))
    form = current_form(page)
    expect(field(form, 'queue_number')).to_have_value(str(number))
    expect(field(form, 'state')).to_have_value('"registered"')
    return number


def test_reception_scans_cccd_qr_new_and_returning_patient(server, page):
    url, password = server
    login_tracking_wizards(page, url, 'letan', password)

    # A new patient: the step is filled from the card, address mapped
    dialog = receive(page, QR_BINH)
    expect(field(dialog, 'name')).to_have_value('Nguyễn Văn Bình')
    expect(field(dialog, 'personal_id')).to_have_value('024090001234')
    expect(field(dialog, 'birth_date')).to_have_value('01/02/1990')
    expect(field(dialog, 'sex')).to_have_value('"male"')
    expect(field(dialog, 'commune')).to_have_value(
        re.compile('^Xã Bảo Đài'))
    expect(field(dialog, 'street')).to_have_value('Thôn Đông')
    first = register(page, dialog, "Sốt, ho 2 ngày")
    expect(active_tab(page)).to_contain_text('Nguyễn Văn Bình (1990)')
    form = current_form(page)
    expect(field(form, 'identity_method')).to_have_value('"cccd_qr"')

    # The same card again: the patient is found, not created twice
    dialog = receive(page, QR_BINH)
    found = dialog.locator('.form-many2many tbody tr')
    expect(found).to_have_count(1)
    expect(found).to_contain_text('024090001234')
    expect(field(dialog, 'patient')).to_have_value(
        re.compile('Nguyễn Văn Bình'))
    expect(field(dialog, 'name')).to_have_count(0)  # no new patient form
    second = register(page, dialog, "Tái khám")
    assert second == first + 1

    menu_entry(page, 'Người bệnh').click()
    search = current_form(page).locator(
        'input[placeholder="Tìm kiếm"]:visible')
    search.fill('024090001234')
    search.press('Enter')
    rows = current_form(page).locator('.treeview tbody tr')
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text('Nguyễn Văn Bình')


def test_child_visit_vitals_diagnosis_prescription(server, page, other_page):
    """A 3-year-old: reception, the nurse's vitals, the doctor's
    diagnosis and prescription (months, weight and guardian enforced)
    and the end of the consultation"""
    url, password = server
    today = dt.date.today()
    birth = today.replace(year=today.year - 3, day=1) - dt.timedelta(
        days=40)
    # Boy born in the 2000s (digit 4 = 2), birth year in digits 5-6
    child_id = '0242%02d917001' % (birth.year % 100)
    name = 'Trần Minh Khôi'

    login_tracking_wizards(page, url, 'letan', password)
    dialog = receive(page, child_id)
    expect(field(dialog, 'personal_id')).to_have_value(child_id)
    type_in(dialog, 'name', name, shown=name)
    type_in(dialog, 'birth_date', birth.strftime('%d/%m/%Y'),
        shown=birth.strftime('%d/%m/%Y'))
    field(dialog, 'sex').select_option(label='Nam')
    type_in(dialog, 'street', 'Thôn Chùa', shown='Thôn Chùa')
    number = register(page, dialog, "Sốt, đi ngoài phân lỏng 4 lần/ngày")

    def new_page(user):
        user_page = other_page(user)
        login_tracking_wizards(user_page, url, user, password)
        open_menu(user_page, 'Y tế', 'Khám bệnh')
        expect(current_form(user_page).locator('.nav-tabs a',
                has_text='Chờ khám')).to_be_visible()
        return user_page

    # The nurse takes the vital signs
    nurse = new_page('dieuduong')
    open_row(nurse, name)
    form = current_form(nurse)
    expect(field(form, 'queue_number')).to_have_value(str(number))
    form.locator('.nav-tabs a', has_text='Sinh hiệu').click()
    # Typed as on a number pad; shown the Vietnamese way
    for name_, value, shown in [('pulse', '118', '118'),
            ('temperature', '38.5', '38,5'), ('respiratory_rate', '32', '32'),
            ('spo2', '97', '97'), ('weight', '14.5', '14,50'),
            ('height', '96', '96,0')]:
        type_in(form, name_, value, shown=shown)
    save(nurse)
    expect(field(form, 'temperature')).to_have_value('38,5')
    expect(field(form, 'bmi')).to_have_value('15,7')
    expect(form).to_contain_text('Sốt: Nhiệt độ 38,5 °C')
    expect(field(form, 'vitals_taken_by')).to_have_value('Lê Thị Hồng')

    # The doctor examines, codes the diagnosis and prescribes
    doctor = new_page('bacsi')
    open_row(doctor, name)
    form = current_form(doctor)
    expect(field(form, 'queue_number')).to_have_value(str(number))
    press_button(doctor, 'Bắt đầu khám')
    expect(field(form, 'state')).to_have_value('"in_progress"')
    form.locator('.nav-tabs a', has_text='Chẩn đoán').click()
    diagnoses = form.locator('.form-one2many:visible', has=doctor.locator(
            '.form-one2many-string', has_text='Chẩn đoán'))
    diagnoses.locator('button[title="Mới"]').click()
    row = diagnoses.locator('tbody tr').first
    field(row, 'kind').select_option(label='Chẩn đoán chính')
    complete(row, 'disease', 'A09', 'A09 - Viêm dạ dày - ruột')
    form.locator('.nav-tabs a', has_text='Kết luận và xử trí').click()
    expect(field(form, 'practitioner')).to_have_value('Nguyễn Văn Hùng')
    conclusion = 'Tiêu chảy cấp, sốt; chưa mất nước'
    type_in(form, 'conclusion', conclusion, shown=conclusion)
    field(form, 'disposition').select_option(label='Cho về + kê đơn')
    save(doctor)
    expect(field(form, 'conclusion')).to_have_value(conclusion)
    expect(field(form, 'disposition')).to_have_value('"home_prescription"')
    form.locator('.nav-tabs a', has_text='Chẩn đoán').click()
    expect(field(form, 'main_diagnosis')).to_have_value(
        re.compile('^A09 - '))

    # The prescription, in its own tab
    open_menu(doctor, 'Đơn thuốc')
    expect(active_tab(doctor)).to_contain_text('Đơn thuốc')
    prescription = current_form(doctor)
    expect(prescription.locator('.nav-tabs a', has_text='Nháp')
        ).to_be_visible()
    prescription.locator('button[title="Mới"]').first.click()
    expect(field(prescription, 'prescriber')).to_have_value(
        'Nguyễn Văn Hùng')
    complete(prescription, 'encounter', name, 'KB')
    expect(field(prescription, 'patient')).to_have_value(
        re.compile(name))
    expect(field(prescription, 'age_months')).to_have_value(
        re.compile(r'^(3[6-9]|4[0-9])$'))
    # The weight comes from the nurse's vital signs
    expect(field(prescription, 'weight')).to_have_value('14,50')
    lines = prescription.locator('.form-one2many:visible').first
    lines.locator('button[title="Mới"]').click()
    line = lines.locator('tbody tr').first
    complete(line, 'medicine', 'oresol', 'Oresol')
    quantity = field(line, 'quantity')
    type_in(line, 'dose', '1', shown='1,000')
    type_in(line, 'times_per_day', '3', shown='3')
    type_in(line, 'days', '3', shown='3')
    # Computed: 1 sachet × 3 times a day × 3 days (the cell has the
    # focus after the days: its number input shows 9.00)
    expect(quantity).to_have_value(re.compile(r'^9[,.]00$'))
    save(doctor)

    # Issued without the weight, then without the guardian: refused
    type_in(prescription, 'weight', '', shown='')
    save(doctor)
    press_button(doctor, 'Phát hành đơn', confirm=True)
    expect_error(doctor, 'tháng tuổi', 'dưới 72 tháng tuổi',
        '"Cân nặng (kg)"')
    type_in(prescription, 'weight', '14.5', shown='14,50')
    save(doctor)
    press_button(doctor, 'Phát hành đơn', confirm=True)
    expect_error(doctor, '"Người giám hộ"')
    expect(field(prescription, 'state')).to_have_value('"draft"')
    expect(field(prescription, 'code')).to_have_value('')

    type_in(prescription, 'guardian_name', 'Nguyễn Thị Lan',
        shown='Nguyễn Thị Lan')
    type_in(prescription, 'guardian_personal_id', '024195917002',
        shown='024195917002')
    save(doctor)
    press_button(doctor, 'Phát hành đơn', confirm=True)
    expect(field(prescription, 'state')).to_have_value('"issued"')
    # xxxxxyyyyyyy-z: facility 24999, 7 random characters, basic type
    expect(field(prescription, 'code')).to_have_value(
        re.compile(r'^24999[0-9a-z]{7}-c$'))

    # Back to the encounter: the consultation ends
    doctor.locator('#tablist li a', has_text='Khám bệnh').click()
    form = current_form(doctor)
    form.locator('.nav-tabs a', has_text='Kết luận và xử trí').click()
    press_button(doctor, 'Kết thúc khám')
    expect(field(form, 'state')).to_have_value('"done"')
    expect(form.locator('select[name="state"] option:checked')
        ).to_have_text('Đã khám')
    expect(form.locator('.form-one2many:visible').last).to_contain_text(
        '24999')


# -- Signing and printing (health_sign, health_vn_forms) --------------------

class Rpc:
    "JSON-RPC as a demo user, to find test records and check the outcome"

    def __init__(self, url, login, password):
        self.endpoint = f'{url}{DB}/rpc/'
        user_id, session = self._call('common.db.login',
            [login, {'password': password}, 'vi'])[:2]
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.headers = {'Authorization': f'Session {token}'}
        self.context = self._call(
            'model.res.user.get_preferences', [True, {}])

    def _call(self, method, params):
        request = urllib.request.Request(self.endpoint,
            data=json.dumps({'id': 1, 'method': method, 'params': params}
                ).encode(),
            headers={'Content-Type': 'application/json',
                **getattr(self, 'headers', {})})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert 'error' not in answer or not answer['error'], answer
        return answer['result']

    def search_read(self, model, domain, fields, limit=None, order=None):
        return self._call(f'model.{model}.search_read',
            [domain, 0, limit, order, fields, self.context])


# The last URL whose hashchange sao has handled.  sao puts the state of a
# tab in the URL and opens a new tab for a URL that no tab has: selecting
# a row of a search result sets the URL with the search, and opening the
# row at once switches the tab to the form before sao handles that URL, so
# a second tab opens with the search.
TRACK_URL = """() => {
    if (window.opentytHash !== undefined) return;
    window.opentytHash = window.location.hash;
    window.addEventListener('hashchange', () => {
        window.opentytHash = window.location.hash;
    });
}"""
URL_SETTLED = """(text) => window.opentytHash === window.location.hash
    && decodeURIComponent(window.location.hash).includes(text)"""


def open_record(page, tab, text):
    """In the list of the current tab: pick the list tab, search text
    (e.g. a record number, not shown in the list) and open the one row"""
    page.evaluate(TRACK_URL)
    form = current_form(page)
    form.locator('.nav-tabs a', has_text=tab).click()
    expect(form.locator('.nav-tabs li.active')).to_contain_text(tab)
    search = form.locator('input[placeholder="Tìm kiếm"]:visible')
    rows = form.locator('.treeview tbody tr')
    for attempt in range(3):
        # the list of the tab, still loading, may come back over the search
        search.fill(text)
        search.press('Enter')
        try:
            expect(rows).to_have_count(1, timeout=10_000)
            break
        except AssertionError:
            continue
    expect(rows).to_have_count(1)
    cell = rows.first.locator('td:not(.selection-state) .column-integer, '
        'td:not(.selection-state) .column-char').first
    # Selecting the row puts the search in the URL: let sao handle that
    # before the form view changes the URL again
    cell.click()
    page.wait_for_function(URL_SETTLED, arg=text)
    cell.dblclick()
    expect(form.locator('.form').first).to_be_visible()
    expect(page.locator('#tablist li')).to_have_count(1)


def exact(label):
    return re.compile(r'^\s*' + re.escape(label) + r'\s*$')


def test_doctor_signs_encounter_then_it_cannot_change(server, page):
    """The doctor signs a done encounter with the passphrase of his
    certificate (demo: the demo password); the signed encounter is
    locked: the server refuses a change, in Vietnamese"""
    url, password = server
    rpc = Rpc(url, 'bacsi', password)
    encounter, = rpc.search_read('health.encounter', [
            ('state', '=', 'done'), ('signed', '=', False),
            ('practitioner.party.name', '=', 'Nguyễn Văn Hùng'),
            ], ['number', 'conclusion'], limit=1,
        order=[('arrival_at', 'ASC'), ('id', 'ASC')])

    login_tracking_wizards(page, url, 'bacsi', password)
    open_menu(page, 'Y tế', 'Khám bệnh')
    open_record(page, 'Tất cả', encounter['number'])
    form = current_form(page)
    expect(field(form, 'state')).to_have_value('"done"')
    form.locator('.nav-tabs a', has_text='Chữ ký').click()
    expect(field(form, 'signature_state')).to_have_value('"unsigned"')

    # The sign button; his one certificate is chosen for him
    form.locator('.form button:visible', has_text=exact('Ký')).click()
    dialog = wizard(page)
    expect(field(dialog, 'secret')).to_be_visible()
    wizard_idle(page)
    expect(field(dialog, 'certificate')).to_have_value(
        re.compile('Nguyễn Văn Hùng'))
    field(dialog, 'secret').fill(password)
    wizard_button(page, 'Ký')
    # The first signature of the server process starts its LibreOffice
    expect(field(dialog, 'signed_count')).to_have_value('1',
        timeout=120_000)
    expect(field(dialog, 'failed_count')).to_have_value('0')
    wizard_button(page, 'Đóng')
    expect(dialog).to_have_count(0)

    # The form is reloaded: signed, by him, and the amendment is offered
    expect(field(form, 'signature_state')).to_have_value('"signed"')
    signatures = form.locator('.form-one2many:visible').first
    expect(signatures).to_contain_text('Nguyễn Văn Hùng')
    expect(form.locator('.form button:visible',
            has_text='Tạo bản sửa đổi')).to_have_count(1)

    # The form shows the fields read-only; a change sent anyway (as a
    # modified client would) is refused by the server
    form.locator('.nav-tabs a', has_text='Kết luận và xử trí').click()
    expect(field(form, 'conclusion')).not_to_be_editable()
    encounter_id = rpc.search_read('health.encounter',
        [('number', '=', encounter['number'])], ['id'])[0]['id']
    page.evaluate("""([id]) => {
        Sao.rpc({
            'method': 'model.health.encounter.write',
            'params': [[id], {'conclusion': 'Sửa sau khi ký'}, {}],
        }, Sao.Session.current_session);
    }""", [encounter_id])
    expect_error(page, 'đã được ký', 'không ai được sửa hay xóa nữa',
        'tạo bản sửa đổi')
    after, = rpc.search_read('health.encounter',
        [('id', '=', encounter_id)], ['conclusion', 'signed'])
    assert after['signed'] is True
    assert after['conclusion'] == encounter['conclusion']


def test_doctor_prints_prescription_pdf(server, page):
    """The doctor prints the prescription form from the print menu: a PDF
    is downloaded and the print is logged"""
    url, password = server
    rpc = Rpc(url, 'bacsi', password)
    prescription, = rpc.search_read('health.prescription', [
            ('state', '=', 'issued'), ('signed', '=', False),
            ], ['code'], limit=1, order=[('id', 'ASC')])
    printed = [log['id'] for log in rpc.search_read('health.form.print.log',
            [('record', '=', f"health.prescription,{prescription['id']}")],
            ['id'])]

    login(page, url, 'bacsi', password)
    open_menu(page, 'Y tế', 'Đơn thuốc')
    open_record(page, 'Đã phát hành', prescription['code'])
    form = current_form(page)
    expect(field(form, 'code')).to_have_value(prescription['code'])

    form.locator('button#print').click()
    entry = form.locator('.dropdown-menu:visible a[role="menuitem"]',
        has_text=exact('Đơn thuốc'))
    # The first conversion of the server process starts its LibreOffice
    with page.expect_download(timeout=120_000) as download:
        entry.click()
    assert download.value.suggested_filename.endswith('.pdf')
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b'%PDF-')
    if shutil.which('pdftotext'):
        text = subprocess.run(['pdftotext', '-', '-'], input=pdf,
            capture_output=True, check=True).stdout.decode()
        assert prescription['code'] in text
        assert 'Bản giấy chuyển đổi từ hồ sơ bệnh án điện tử' in text

    logs = rpc.search_read('health.form.print.log', [
            ('record', '=', f"health.prescription,{prescription['id']}"),
            ('id', 'not in', printed),
            ], ['sha256', 'printed_by.login'])
    assert [log['printed_by.']['login'] for log in logs] == ['bacsi']
    assert logs[0]['sha256'] == hashlib.sha256(pdf).hexdigest()
