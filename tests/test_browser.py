# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Browser test: the sao web client of a throw-away demo station.

Builds a demo database with ./scripts/demo in a temporary folder, serves it
with trytond and drives sao in headless Debian Chromium (Playwright).
Skipped when Chromium or Playwright is missing, except under CI.
"""
import os
import secrets
import signal
import socket
import string
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

try:
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
