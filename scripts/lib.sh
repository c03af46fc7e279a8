# Shared by scripts/dev and scripts/test: a project venv that installs itself.
# shellcheck shell=bash

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[1;33m!!! %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31mxxx %s\033[0m\n' "$*" >&2; exit 1; }

pick_python() {
    for py in "${LAURA_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$py" ] || continue
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    die "Laura needs Python 3.11 or newer (apt-get install python3 python3-venv)"
}

# ensure_venv EXTRA: create .venv and install Laura with that extra when pyproject.toml changed.
ensure_venv() {
    local extra=$1 stamp=.venv/.installed-$1 want
    want=$(sha256sum pyproject.toml | cut -c1-16)
    if [ ! -x .venv/bin/python ]; then
        say "Creating the virtual environment in .venv"
        "$(pick_python)" -m venv .venv || die "python3 -m venv failed (apt-get install python3-venv)"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "Installing Laura and its dependencies ($extra) from PyPI"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".[$extra]"
        echo "$want" >"$stamp"
    fi
}
