#!/usr/bin/env bash
# Headless Chromium for the HTML report's browser test (harness/tests/html_browser.rs), on
# Debian 12, as root.
#
#   ci/install-chromium.sh   Install Debian's `chromium` package with apt-get when
#                            /usr/bin/chromium is missing (apt-get update first, only then).
#                            Idempotent. Exits non-zero with a message on any failure.
#
# The test never installs anything and fails (it does not skip) without the browser, hence this
# script, which `cargo run -p ci -- test` runs before `cargo test`.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

die() { echo "install-chromium.sh: error: $*" >&2; exit 1; }
say() { echo "install-chromium.sh: $*" >&2; }

if [ -x "$CHROMIUM" ]; then
    say "chromium already installed"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "$CHROMIUM is missing; run as root to install it (apt-get install -y chromium)"
command -v apt-get >/dev/null 2>&1 || die "$CHROMIUM is missing and apt-get is not available: install Chromium by hand"
say "apt-get update"
apt-get update -qq >/dev/null || die "apt-get update failed"
say "apt-get install -y chromium"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install -y chromium failed"
[ -x "$CHROMIUM" ] || die "$CHROMIUM is still missing after installing chromium"
say "installed $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
