#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the analytics sink's tests and for trying it out.
#
#   testnet/postgres.sh start DIR PORT   create the cluster in DIR (once) and start it
#                                        (PORT may be left out once the cluster exists)
#   testnet/postgres.sh stop DIR         stop it (fast shutdown)
#   testnet/postgres.sh restart DIR      stop and start it again, same port
#   testnet/postgres.sh url DIR          print the connection string the node takes
#
# The cluster listens on 127.0.0.1 only and on a unix socket in DIR; it trusts every local
# connection (socket and loopback) and refuses any other, so it is for tests and trials on
# one machine, never for real data. Its superuser and database are both `panacea`.
#
# PostgreSQL refuses to run as root: run as root, the script creates (once) the system user
# `panacea-pg`, gives it DIR and runs the server as that user. DIR's parent folders must
# let that user through (a folder directly under /tmp does). Debian's binaries are used
# (install them with testnet/setup-integrations.sh).
set -euo pipefail

usage() {
    echo "usage: $0 start DIR PORT | stop DIR | restart DIR | url DIR" >&2
    exit 2
}

pg_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
        echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run testnet/setup-integrations.sh" >&2
        exit 1
    fi
    echo "$found"
}

# Runs a command as the cluster's owner: panacea-pg when we are root, ourselves otherwise.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u panacea-pg -- "$@"
    else
        "$@"
    fi
}

ensure_user() {
    if [ "$(id -u)" -eq 0 ] && ! id panacea-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin panacea-pg
    fi
}

[ $# -ge 2 ] || usage
command="$1"
dir="$(mkdir -p "$2" && cd "$2" && pwd)"
bin="$(pg_bin)"
data="$dir/data"
log="$dir/postgres.log"

case "$command" in
start)
    if [ $# -eq 3 ]; then
        port="$3"
    elif [ $# -eq 2 ] && [ -f "$data/PG_VERSION" ]; then
        port=""
    else
        usage
    fi
    ensure_user
    if [ "$(id -u)" -eq 0 ]; then
        chown panacea-pg "$dir"
    fi
    chmod 0755 "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$bin/initdb" --pgdata="$data" --username=panacea --auth-local=trust --auth-host=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
        # initdb's pg_hba.conf names only the socket and loopback addresses, so "trust"
        # there trusts local connections and nothing else.
        as_owner sh -c "cat >> '$data/postgresql.conf'" <<EOF
# testnet/postgres.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
EOF
    fi
    as_owner "$bin/pg_ctl" --pgdata="$data" --log="$log" --wait --timeout=60 start >/dev/null
    # The database the node writes to (created once).
    port="$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$data/postgresql.conf" | tail -n 1)"
    if ! as_owner "$bin/psql" -h "$dir" -p "$port" -U panacea -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'panacea'" | grep -q 1; then
        as_owner "$bin/createdb" -h "$dir" -p "$port" -U panacea panacea
    fi
    echo "host=$dir port=$port user=panacea dbname=panacea"
    ;;
stop)
    if [ -f "$data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" --pgdata="$data" --mode=fast --wait --timeout=60 stop >/dev/null
    fi
    ;;
restart)
    as_owner "$bin/pg_ctl" --pgdata="$data" --log="$log" --mode=fast --wait --timeout=60 restart >/dev/null
    ;;
url)
    port="$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$data/postgresql.conf" | tail -n 1)"
    echo "host=$dir port=$port user=panacea dbname=panacea"
    ;;
*)
    usage
    ;;
esac
