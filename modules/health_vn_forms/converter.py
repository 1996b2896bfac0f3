# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""ODT → PDF through LibreOffice

A persistent LibreOffice behind unoserver (≈ 0.12 s a document) instead of
one `soffice` process per document (≈ 0.7 s).  The unoserver server needs
Debian's python3-uno, so it runs under the system Python (/usr/bin/python3)
while this process only speaks XML-RPC to it.  One server per trytond
process, started lazily with its own LibreOffice profile, stopped at exit
and started again if it died.

Configuration (trytond.conf)::

    [health_vn_forms]
    # unoserver (default when /usr/bin/python3 can import uno) or soffice
    converter = unoserver
    # use a server someone else runs instead of starting one
    unoserver = 127.0.0.1:2003
    # where the LibreOffice profiles go (default: the temporary directory)
    profile_dir = /var/lib/opentyt/lo
    system_python = /usr/bin/python3
    soffice = soffice
    timeout = 120
"""
import atexit
import http.client
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path

from trytond import config
from trytond.i18n import gettext

from .exceptions import ConversionError

__all__ = ['convert_to_pdf', 'converter_mode', 'stop_server']

logger = logging.getLogger(__name__)
SECTION = 'health_vn_forms'
PDF_MAGIC = b'%PDF-'
# LibreOffice import filters: without one a broken file may be imported
# as plain text and "converted" into a PDF of garbage
IMPORT_FILTERS = {
    'odt': 'writer8',
    'fodt': 'OpenDocument Text Flat XML',
    }
UNOSERVER_API = '3'
START_TIMEOUT = 60


def _config(option, default=None):
    return config.get(SECTION, option, default=default)


def _timeout():
    return config.getfloat(SECTION, 'timeout', default=120)


def _system_python():
    return _config('system_python', '/usr/bin/python3')


_uno_available = None


def _system_python_has_uno():
    global _uno_available
    if _uno_available is None:
        try:
            subprocess.run(
                [_system_python(), '-c', 'import uno'],
                check=True, timeout=30,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _uno_available = True
        except (OSError, subprocess.SubprocessError):
            _uno_available = False
    return _uno_available


def converter_mode():
    "'unoserver' or 'soffice'"
    mode = _config('converter')
    if mode:
        if mode not in {'unoserver', 'soffice'}:
            raise ValueError(
                "[%s] converter must be unoserver or soffice" % SECTION)
        return mode
    if _config('unoserver') or _system_python_has_uno():
        return 'unoserver'
    return 'soffice'


def _conversion_error(reason=None):
    if reason:
        logger.error("PDF conversion failed: %s", reason)
    try:
        message = gettext('health_vn_forms.msg_form_conversion_failed')
    except Exception:
        # No transaction (a script): still an error, in English
        message = "The document could not be converted to PDF."
    return ConversionError(message)


def _profile_base():
    base = _config('profile_dir')
    if base:
        os.makedirs(base, exist_ok=True)
    return base or None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


def _proxy(host, port, timeout):
    return xmlrpc.client.ServerProxy(
        'http://%s:%s' % (host, port), allow_none=True,
        transport=_TimeoutTransport(timeout))


class UnoServer:
    "A unoserver (and its LibreOffice) owned by this process"

    def __init__(self):
        self.process = None
        self.pid = None  # the process that started it (fork safety)
        self.directory = None
        self.port = None

    @property
    def running(self):
        return (self.process is not None
            and self.pid == os.getpid()
            and self.process.poll() is None)

    def start(self):
        self.stop()
        self.directory = tempfile.mkdtemp(
            prefix='opentyt-lo-%s-' % os.getpid(), dir=_profile_base())
        # Only unoserver from our venv on the system Python's path, not
        # the whole venv (compiled packages of another Python)
        path = Path(self.directory, 'python')
        path.mkdir()
        import unoserver
        package = Path(unoserver.__file__).parent
        for item in package.parent.iterdir():
            if (item == package
                    or (item.name.startswith('unoserver-')
                        and item.name.endswith('.dist-info'))):
                (path / item.name).symlink_to(item)
        profile = Path(self.directory, 'profile')
        self.port, uno_port = _free_port(), _free_port()
        while uno_port == self.port:
            uno_port = _free_port()
        env = dict(os.environ)
        env['PYTHONPATH'] = str(path)
        env.pop('PYTHONHOME', None)
        command = [_system_python(), '-c', _GUARD, str(os.getpid()),
            '--interface', '127.0.0.1', '--port', str(self.port),
            '--uno-interface', '127.0.0.1', '--uno-port', str(uno_port),
            '--user-installation', str(profile),
            '--conversion-timeout', str(int(_timeout())),
            '--quiet']
        soffice = _config('soffice')
        if soffice:
            command += ['--executable', shutil.which(soffice) or soffice]
        log = open(Path(self.directory, 'unoserver.log'), 'wb')
        started = time.monotonic()
        try:
            # Own session: stop() ends unoserver and its LibreOffice together
            self.process = subprocess.Popen(command, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, cwd=self.directory)
        finally:
            log.close()
        self.pid = os.getpid()
        proxy = _proxy('127.0.0.1', self.port, 5)
        while True:
            if self.process.poll() is not None:
                output = self.log()
                self.stop()
                raise _conversion_error(
                    "unoserver exited at start: %s" % output)
            try:
                info = proxy.info()
            except (OSError, http.client.HTTPException,
                    xmlrpc.client.Error):
                if time.monotonic() - started > START_TIMEOUT:
                    self.stop()
                    raise _conversion_error("unoserver did not start")
                time.sleep(0.1)
                continue
            if info.get('api') != UNOSERVER_API:
                self.stop()
                raise _conversion_error(
                    "unoserver API %s, expected %s"
                    % (info.get('api'), UNOSERVER_API))
            break
        logger.info("unoserver started on port %s in %.1f s (pid %s)",
            self.port, time.monotonic() - started, self.process.pid)

    def log(self):
        try:
            return Path(self.directory, 'unoserver.log').read_text(
                errors='replace')[-2000:]
        except (OSError, TypeError):
            return ''

    def stop(self):
        process, self.process = self.process, None
        if process is not None and self.pid == os.getpid():
            # unoserver does not stop its LibreOffice (oosplash ignores
            # SIGTERM) and a converter keeps nothing worth saving: end the
            # whole process group we created at once
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.directory and self.pid == os.getpid():
            shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

    def address(self):
        return '127.0.0.1', self.port


# Runs unoserver and ends the whole process group (unoserver and its
# LibreOffice) when the trytond process that started it is gone, even
# killed without running its atexit handlers.
_GUARD = """\
import os, signal, subprocess, sys, time
parent = int(sys.argv[1])
child = subprocess.Popen(
    [sys.executable, '-m', 'unoserver.server'] + sys.argv[2:])
while child.poll() is None:
    if os.getppid() != parent:
        os.killpg(0, signal.SIGKILL)
    time.sleep(0.5)
"""

_server = UnoServer()
_server_lock = threading.Lock()
_soffice_lock = threading.Lock()
_soffice_profile = {}


def stop_server():
    "Stop this process's LibreOffice (at exit, or in tests)"
    with _server_lock:
        _server.stop()
    with _soffice_lock:
        directory = _soffice_profile.pop(os.getpid(), None)
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


atexit.register(stop_server)


def _unoserver_address(restart=False):
    external = _config('unoserver')
    if external:
        host, _, port = external.rpartition(':')
        return host or '127.0.0.1', int(port)
    with _server_lock:
        if restart or not _server.running:
            if _server.process is not None:
                logger.warning("unoserver died, restarting: %s", _server.log())
            _server.start()
        return _server.address()


def _unoserver_convert(data, input_extension):
    infilter = IMPORT_FILTERS.get(input_extension)
    for attempt in range(2):
        host, port = _unoserver_address(restart=bool(attempt))
        proxy = _proxy(host, port, _timeout())
        try:
            result = proxy.convert(
                None, data, None, 'pdf', None, [], False, infilter, None)
        except xmlrpc.client.Fault as fault:
            # LibreOffice refused the document: no point retrying
            raise _conversion_error(fault.faultString[-500:])
        except (OSError, http.client.HTTPException,
                xmlrpc.client.ProtocolError) as exception:
            if attempt or _config('unoserver'):
                raise _conversion_error(repr(exception))
            logger.warning("unoserver unreachable (%r), restarting",
                exception)
            continue
        return result.data if result is not None else None


def _soffice_convert(data, input_extension):
    soffice = _config('soffice', 'soffice')
    with _soffice_lock:
        # One profile per process; soffice calls of a process take turns
        # (two soffice on one profile collide)
        profile = _soffice_profile.get(os.getpid())
        if not profile:
            profile = tempfile.mkdtemp(
                prefix='opentyt-soffice-%s-' % os.getpid(),
                dir=_profile_base())
            _soffice_profile[os.getpid()] = profile
        directory = tempfile.mkdtemp(prefix='opentyt-convert-',
            dir=_profile_base())
        try:
            input_path = Path(directory, 'document.' + input_extension)
            input_path.write_bytes(data)
            command = [soffice, '--headless', '--nolockcheck',
                '--nodefault', '--norestore', '--nologo',
                '-env:UserInstallation=%s' % Path(profile).as_uri()]
            if input_extension in IMPORT_FILTERS:
                command.append(
                    '--infilter=%s' % IMPORT_FILTERS[input_extension])
            command += ['--convert-to', 'pdf', '--outdir', directory,
                str(input_path)]
            try:
                subprocess.run(command, check=True, timeout=_timeout(),
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT)
            except subprocess.CalledProcessError as exception:
                raise _conversion_error(
                    exception.output.decode(errors='replace')[-500:])
            except (OSError, subprocess.SubprocessError) as exception:
                raise _conversion_error(repr(exception))
            output = input_path.with_suffix('.pdf')
            return output.read_bytes() if output.exists() else None
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def convert_to_pdf(data, input_extension='odt'):
    """The PDF of an OpenDocument, or ConversionError.

    Never returns anything but a PDF."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    if not data:
        raise _conversion_error("nothing to convert")
    if converter_mode() == 'unoserver':
        pdf = _unoserver_convert(data, input_extension)
    else:
        pdf = _soffice_convert(data, input_extension)
    if not pdf or not bytes(pdf[:len(PDF_MAGIC)]) == PDF_MAGIC:
        raise _conversion_error("no PDF came out")
    return bytes(pdf)
