# Sourced by ./scripts/demo and ./scripts/test: installs what is missing
# into the repository (Python virtualenv, the sao web client) and nothing
# outside it, except Debian packages when they are absent.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
SAO_ROOT="$ROOT/web/node_modules/tryton-sao"

say() { printf '[opentyt] %s\n' "$*" >&2; }

ensure_python_env() {
    # $1: pip extras, e.g. "[test]"
    local extras="${1:-}"
    local stamp="$VENV/.opentyt-installed${extras}"
    if [ ! -x "$PY" ]; then
        say "creating the Python virtualenv in .venv"
        python3 -m venv "$VENV"
    fi
    # Reinstall when the packaging or the module list changed.
    local want
    want=$(cat "$ROOT/setup.cfg" "$ROOT/setup.py"; ls "$ROOT"/modules/*/tryton.cfg)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing OpenTYT and its Python dependencies${extras:+ $extras}"
        "$PY" -m pip install --quiet --disable-pip-version-check \
            -e "$ROOT$extras" 2>&1 | grep -v '^WARNING: Location' >&2 || true
        "$PY" -c 'import trytond.modules.health_emr' \
            || { say "pip install failed"; return 1; }
        printf '%s' "$want" > "$stamp"
    fi
}

ensure_sao() {
    if [ ! -f "$SAO_ROOT/dist/tryton-sao.js" ] \
            || [ "$ROOT/web/package-lock.json" -nt "$SAO_ROOT/dist/tryton-sao.js" ]; then
        command -v npm >/dev/null || apt_install npm
        say "installing the sao web client (npm)"
        (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error >&2)
        touch "$SAO_ROOT/dist/tryton-sao.js"
    fi
    # sao's index.html loads its libraries from its own node_modules;
    # npm hoists them one level up.
    if [ ! -e "$SAO_ROOT/node_modules" ]; then
        ln -s .. "$SAO_ROOT/node_modules"
    fi
    # sao ships no Vietnamese: our web/locale/<lang>.po become the
    # locale/<lang>.json it fetches for the user's language (npm ci
    # removes them; polib comes with trytond, see ensure_python_env).
    local po json
    for po in "$ROOT"/web/locale/*.po; do
        [ -f "$po" ] || continue
        json="$SAO_ROOT/locale/$(basename "$po" .po).json"
        if [ ! -f "$json" ] || [ "$po" -nt "$json" ] \
                || [ "$ROOT/scripts/sao_locale.py" -nt "$json" ]; then
            say "building the sao translation $(basename "$json")"
            "$PY" "$ROOT/scripts/sao_locale.py" "$SAO_ROOT/locale" "$po"
        fi
    done
}

apt_install() {
    # Debian packages for the given commands, when they are missing.
    say "installing Debian packages: $*"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq "$@" >&2
    else
        sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq "$@" >&2
    fi
}

ensure_document_tools() {
    # Debian packages the print forms and the signatures need: LibreOffice
    # (ODT to PDF, kept running through unoserver, which needs the system
    # Python's uno), fonts with every Vietnamese diacritic, poppler
    # (pdftotext, pdftoppm, pdfsig: the independent PDF-signature check),
    # xmlsec1 (independent XML-signature check), SoftHSM2 and OpenSC (a
    # PKCS#11 token for tests and the demo).
    local missing=()
    command -v soffice >/dev/null || missing+=(libreoffice-writer-nogui)
    /usr/bin/python3 -c 'import uno' 2>/dev/null || missing+=(python3-uno)
    command -v pdfsig >/dev/null || missing+=(poppler-utils)
    command -v xmlsec1 >/dev/null || missing+=(xmlsec1)
    command -v softhsm2-util >/dev/null || missing+=(softhsm2)
    command -v pkcs11-tool >/dev/null || missing+=(opensc)
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] \
        || missing+=(fonts-dejavu-core)
    [ -d /usr/share/fonts/truetype/liberation ] \
        || missing+=(fonts-liberation)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

ensure_postgresql() {
    # $1: URI of the server (postgresql://user@host:port/).  Starts the
    # local Debian cluster when it is down.
    local uri="$1"
    if ! pg_isready -q -d "${uri%/}/postgres" 2>/dev/null; then
        if ls /etc/postgresql/*/main >/dev/null 2>&1; then
            say "starting the local PostgreSQL server"
            pg_ctlcluster --skip-systemctl-redirect \
                "$(ls /etc/postgresql | sort -V | tail -n 1)" main start >&2 || true
            for _ in $(seq 30); do
                pg_isready -q -d "${uri%/}/postgres" && break
                sleep 1
            done
        fi
    fi
    pg_isready -q -d "${uri%/}/postgres" \
        || { say "PostgreSQL does not answer at $uri"; return 1; }
}
