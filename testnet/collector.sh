#!/usr/bin/env bash
# A local IHE ATNA collector for the auditor observer: Debian's rsyslog listening with TLS
# (RFC 5425, mutual TLS), writing every message it receives, raw, one per line, to
# DIR/received.log. Certificates (a throw-away CA, a server certificate for
# localhost/127.0.0.1 and a client certificate for the node) are made with openssl the
# first time.
#
# Usage: testnet/collector.sh start DIR PORT | stop DIR
# testnet/setup-integrations.sh installs rsyslog, rsyslog-gnutls and openssl.
set -euo pipefail

command="${1:-}"
dir="${2:-}"
if [ -z "$command" ] || [ -z "$dir" ]; then
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
fi
mkdir -p "$dir/work"
dir="$(cd "$dir" && pwd)"

certificates() {
    [ -f "$dir/client.pem" ] && return
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    (
        cd "$dir"
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 365 -subj "/CN=Panacea local ATNA CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        for pair in "server:serverAuth:subjectAltName=DNS:localhost,IP:127.0.0.1" "client:clientAuth:"; do
            IFS=: read -r name usage san <<<"$pair"
            openssl req "${ec[@]}" -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
            printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' \
                "$usage" "$san" >"$name.ext"
            openssl x509 -req -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -in "$name.csr" -out "$name.pem" \
                -extfile "$name.ext" 2>/dev/null
        done
        chmod 600 ./*.key
    )
}

case "$command" in
start)
    port="${3:?usage: $0 start DIR PORT}"
    for tool in rsyslogd openssl; do
        command -v "$tool" >/dev/null || { echo "error: $tool is missing: run testnet/setup-integrations.sh" >&2; exit 1; }
    done
    ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1 ||
        { echo "error: rsyslog's TLS driver is missing: run testnet/setup-integrations.sh (rsyslog-gnutls)" >&2; exit 1; }
    certificates
    cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/work" maxMessageSize="64k"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile="$dir/ca.pem"
  DefaultNetstreamDriverCertFile="$dir/server.pem"
  DefaultNetstreamDriverKeyFile="$dir/server.key")
main_queue(queue.type="Direct")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" port="$port" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\n")
action(type="omfile" file="$dir/received.log" template="raw")
CONF
    if [ -f "$dir/rsyslogd.pid" ] && kill -0 "$(cat "$dir/rsyslogd.pid")" 2>/dev/null; then
        echo "==> the collector in $dir is running already"
        exit 0
    fi
    rsyslogd -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" 2>>"$dir/rsyslogd.out"
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "==> ATNA collector (rsyslog, TLS) on 127.0.0.1:$port, writing $dir/received.log"
            exit 0
        fi
        sleep 0.1
    done
    echo "error: rsyslogd does not listen on $port: $(cat "$dir/rsyslogd.out")" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/rsyslogd.pid" ]; then
        kill "$(cat "$dir/rsyslogd.pid")" 2>/dev/null || true
        rm -f "$dir/rsyslogd.pid"
    fi
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
