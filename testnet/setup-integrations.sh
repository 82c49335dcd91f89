#!/usr/bin/env bash
# Installs what the integration tests and the auditor observer need beside the Rust
# toolchain, on a fresh Debian machine; safe to run repeatedly, quick when all is there.
#   - Debian: PostgreSQL (the analytics sink), rsyslog with TLS (the ATNA collector),
#     Chromium (the dashboard's browser tests), openssl (test certificates).
#   - Python: a virtual environment at $PANACEA_VENV (default ~/.cache/panacea-venv) with
#     testnet/integrations/requirements.txt (fhirclient, fhir.resources, Playwright).
# Prints the virtual environment's python on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${PANACEA_VENV:-$HOME/.cache/panacea-venv}"

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v rsyslogd >/dev/null 2>&1 || missing+=(rsyslog)
ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1 || missing+=(rsyslog-gnutls)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing ${missing[*]} (Debian packages of the integration tests)" >&2
    $sudo_cmd apt-get update -qq
    # The packages' own services are not wanted: the tests start their own instances.
    echo exit 101 | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    $sudo_cmd rm -f /usr/sbin/policy-rc.d
fi

requirements="$here/integrations/requirements.txt"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
    echo "==> preparing the Python environment in $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$stamp"
fi
echo "$venv/bin/python"
