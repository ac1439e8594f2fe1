#!/usr/bin/env bash
# Podman for the harness's container backend (harness/world/src/container/), on Debian 12, as root.
#
#   ci/install-podman.sh [install]  Install podman and runc with apt-get when podman or runc is
#                                   missing (apt-get update first, only then), and make sure
#                                   /etc/containers/containers.conf selects runc and the default
#                                   ulimits that environment.md requires. Idempotent.
#   ci/install-podman.sh stop       Remove leftover harness containers (label
#                                   callout-conformance) and stop the Podman API service the
#                                   harness started (PID in /run/callout-podman/podman.pid).
#                                   Idempotent; call it at the end of a CI run (e.g. in a trap).
#
# The harness starts the API service itself (`podman system service --time=0
# unix:///run/callout-podman/podman.sock`) and points DOCKER_HOST at it; it never installs
# anything, hence this script. Exits non-zero with a message on any failure.
set -euo pipefail

CONF=${CONTAINERS_CONF_FILE:-/etc/containers/containers.conf}
PODMAN_DIR=/run/callout-podman
PID_FILE=$PODMAN_DIR/podman.pid
SOCKET=$PODMAN_DIR/podman.sock
LABEL=callout-conformance

die() { echo "install-podman.sh: error: $*" >&2; exit 1; }
say() { echo "install-podman.sh: $*" >&2; }

# Section-aware check: [engine] runtime = "runc" and [containers] default_ulimits with nofile= and
# nproc= entries. Exit status 0 when all are there.
conf_ok() {
    awk '
        function strip(s) { sub(/#.*/, "", s); gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        {
            line = strip($0)
            if (line ~ /^\[\[/) { sec = ""; next }
            if (line ~ /^\[.*\]$/) { sec = line; gsub(/[][ \t"]/, "", sec); next }
            if (sec == "engine" && line ~ /^runtime[ \t]*=/) {
                v = line; sub(/^runtime[ \t]*=[ \t]*/, "", v)
                if (v == "\"runc\"" || v == "'\''runc'\''") rt = 1
            }
            if (sec == "containers" && line ~ /^default_ulimits[ \t]*=/) inul = 1
            if (inul) {
                if (line ~ /nofile=/) nf = 1
                if (line ~ /nproc=/) np = 1
                if (line ~ /\]/) inul = 0
            }
        }
        END { exit !(rt && nf && np) }
    ' "$1"
}

# Sets the two keys in an existing file, keeping everything else: the old values of those keys
# (a multi-line array included) are dropped, missing sections are appended.
conf_fix() {
    awk '
        function strip(s) { sub(/#.*/, "", s); gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        function emit_c() { print "default_ulimits = [\"nofile=1024:1024\", \"nproc=1000:1000\"]"; done_c = 1 }
        function emit_e() { print "runtime = \"runc\""; done_e = 1 }
        {
            line = strip($0)
            if (skipping) { if (line ~ /\]/) skipping = 0; next }
            if (line ~ /^\[\[/) { sec = ""; print; next }
            if (line ~ /^\[.*\]$/) {
                sec = line; gsub(/[][ \t"]/, "", sec); print
                if (sec == "containers" && !done_c) emit_c()
                if (sec == "engine" && !done_e) emit_e()
                next
            }
            if (sec == "containers" && line ~ /^default_ulimits[ \t]*=/) { if (line !~ /\]/) skipping = 1; next }
            if (sec == "engine" && line ~ /^runtime[ \t]*=/) next
            print
        }
        END {
            if (!done_c) { print ""; print "[containers]"; emit_c() }
            if (!done_e) { print ""; print "[engine]"; emit_e() }
        }
    ' "$1"
}

configure() {
    mkdir -p "$(dirname "$CONF")" || die "cannot create $(dirname "$CONF")"
    if [ ! -e "$CONF" ]; then
        cat >"$CONF.tmp.$$" <<'EOF' || die "cannot write $CONF"
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]

[engine]
runtime = "runc"
EOF
        mv "$CONF.tmp.$$" "$CONF" || die "cannot write $CONF"
        say "wrote $CONF"
    elif conf_ok "$CONF"; then
        say "$CONF already selects runc and the default ulimits"
    else
        cp -p "$CONF" "$CONF.callout-bak" || die "cannot back up $CONF"
        conf_fix "$CONF" >"$CONF.tmp.$$" || die "cannot edit $CONF"
        conf_ok "$CONF.tmp.$$" || { rm -f "$CONF.tmp.$$"; die "could not add runtime/default_ulimits to $CONF; fix it by hand (see environment.md)"; }
        mv "$CONF.tmp.$$" "$CONF" || die "cannot write $CONF"
        say "set runtime = \"runc\" and default_ulimits in $CONF (old file: $CONF.callout-bak)"
    fi
}

install() {
    [ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and writes $CONF)"
    if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || die "podman/runc are missing and apt-get is not available: install podman and runc by hand"
        pkgs=(podman runc)
        # netavark publishes ports through iptables; minimal images may lack it.
        command -v iptables >/dev/null 2>&1 || pkgs+=(iptables)
        export DEBIAN_FRONTEND=noninteractive
        say "apt-get update"
        apt-get update -qq || die "apt-get update failed"
        say "apt-get install -y ${pkgs[*]}"
        apt-get install -y -qq "${pkgs[@]}" >/dev/null || die "apt-get install -y ${pkgs[*]} failed"
    else
        say "podman and runc already installed"
    fi
    command -v podman >/dev/null 2>&1 || die "podman is still not on PATH after installing it"
    command -v runc >/dev/null 2>&1 || die "runc is still not on PATH after installing it"
    configure
    local runtime
    runtime=$(podman info --format '{{.Host.OCIRuntime.Name}}' 2>&1) || die "podman info failed: $runtime"
    [ "$runtime" = runc ] || die "podman uses runtime '$runtime', not runc, despite $CONF (CONTAINERS_CONF set?)"
    say "ready: $(podman --version), runtime $runtime"
}

stop() {
    if command -v podman >/dev/null 2>&1; then
        local ids
        ids=$(podman ps -aq --filter "label=$LABEL" 2>/dev/null || true)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            podman rm -f $ids >/dev/null || die "could not remove leftover harness containers: $ids"
            say "removed leftover harness containers: $(echo $ids)"
        fi
    fi
    if [ -f "$PID_FILE" ]; then
        local pid
        pid=$(cat "$PID_FILE")
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "podman system service"; then
            kill "$pid"
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                kill -9 "$pid" 2>/dev/null || true
            fi
            say "stopped the podman API service (pid $pid)"
        fi
        rm -f "$PID_FILE"
    fi
    rm -f "$SOCKET"
}

case "${1:-install}" in
    install) install ;;
    stop) stop ;;
    *) die "usage: $0 [install|stop]" ;;
esac
