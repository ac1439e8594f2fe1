#!/usr/bin/env bash
# Installs released binaries of callout-conformance: downloads the archive for this machine and
# its SHA-256 checksum file from a release, verifies the checksum (and refuses to install on a
# mismatch), and puts the binaries in ROOT/bin. The reusable action (run.sh install) and the
# GitLab template (ci/action/gitlab-ci.yml) run it; every release carries a copy of it.
#
#   install.sh VERSION [PACKAGE...]
#
# VERSION is a release version, `0.2.0` or `v0.2.0`. PACKAGE is callout-conformance (the
# default) and/or callout-responder (which brings callout-mutant along).
#
# Environment:
#   CALLOUT_TOOL_ROOT          install root; binaries go to ROOT/bin (default ~/.callout-conformance)
#   CALLOUT_RELEASE_BASE_URL   where releases live: the archive is BASE/vVERSION/FILE (default
#                              https://github.com/OWNER/callout-conformance/releases/download).
#                              An absolute path or a file:// URL is read from the disk, which is how
#                              harness/tests/ci_recipes.rs tests this script against a local
#                              directory laid out like a release.
#   CALLOUT_RELEASE_TARGET     the target triple to download (default: this machine's, below)
#   CALLOUT_ACTION_DRY_RUN=1   print the URLs it would download and stop
#
# Archives (docs/ci.md, "Release archives", and ci/action/package.sh, which makes them):
#   PACKAGE-VERSION-TARGET.tar.gz          holding PACKAGE-VERSION-TARGET/BINARY...
#   PACKAGE-VERSION-TARGET.tar.gz.sha256   "HEX  PACKAGE-VERSION-TARGET.tar.gz" (sha256sum's format)
# with TARGET x86_64-unknown-linux-musl, aarch64-unknown-linux-musl (static, any distribution),
# x86_64-apple-darwin or aarch64-apple-darwin.
#
# Exits 0 when installed, 2 with a message naming the file and the fix otherwise.
set -euo pipefail

die() { echo "callout-conformance install: error: $*" >&2; exit 2; }
say() { echo "callout-conformance install: $*" >&2; }

DEFAULT_BASE=https://github.com/OWNER/callout-conformance/releases/download

# The binaries each package's archive must hold.
binaries() {
    case "$1" in
        callout-conformance) echo callout-conformance ;;
        callout-responder) echo callout-responder callout-mutant ;;
        *) die "unknown package '$1': callout-conformance or callout-responder" ;;
    esac
}

host_target() {
    local os arch
    os=$(uname -s)
    arch=$(uname -m)
    case "$arch" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) die "no release binary for the processor '$arch'; build from source instead (the action's install: source, or cargo install)" ;;
    esac
    case "$os" in
        Linux) echo "$arch-unknown-linux-musl" ;;
        Darwin) echo "$arch-apple-darwin" ;;
        *) die "no release binary for '$os'; build from source instead (the action's install: source, or cargo install)" ;;
    esac
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        die "neither sha256sum nor shasum is installed: cannot verify the download"
    fi
}

# fetch URL DEST: a URL (http, https or file://) with curl, an absolute path with cp.
fetch() {
    case "$1" in
        /*) cp -- "$1" "$2" 2>/dev/null ;;
        *)
            command -v curl >/dev/null 2>&1 || die "curl is not installed: cannot download $1"
            curl -fsSL --retry 3 --retry-delay 2 -o "$2" "$1"
            ;;
    esac
}

main() {
    [ $# -ge 1 ] && [ -n "$1" ] || die "usage: install.sh VERSION [callout-conformance] [callout-responder]"
    local version="${1#v}"
    shift
    [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
        die "'$version' is not a release version (like 0.2.0): a commit or a branch has no release binaries; build it from source (the action's install: source)"
    local packages=("$@")
    [ ${#packages[@]} -gt 0 ] || packages=(callout-conformance)
    local target="${CALLOUT_RELEASE_TARGET:-}"
    [ -n "$target" ] || target=$(host_target)
    local base="${CALLOUT_RELEASE_BASE_URL:-$DEFAULT_BASE}"
    base="${base%/}"
    local root="${CALLOUT_TOOL_ROOT:-$HOME/.callout-conformance}"
    local started=$SECONDS

    # global: the EXIT trap runs after main returns
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for pkg in "${packages[@]}"; do
        local bins
        bins=$(binaries "$pkg")
        local name="$pkg-$version-$target"
        local url="$base/v$version/$name.tar.gz"
        if [ "${CALLOUT_ACTION_DRY_RUN:-}" = 1 ]; then
            echo "$url"
            echo "$url.sha256"
            continue
        fi
        fetch "$url" "$tmp/$name.tar.gz" ||
            die "no release archive at $url: is $version released, with a $target build? (the action's install: source builds from source instead)"
        fetch "$url.sha256" "$tmp/$name.tar.gz.sha256" ||
            die "no checksum file at $url.sha256; refusing to install an archive that cannot be verified"
        local expected named actual
        read -r expected named <"$tmp/$name.tar.gz.sha256" || true
        expected="${expected,,}"
        [[ "$expected" =~ ^[0-9a-f]{64}$ ]] ||
            die "$url.sha256 holds no SHA-256 (expected 'HEX  $name.tar.gz'); refusing to install"
        named="${named#\*}"
        [ -z "$named" ] || [ "$named" = "$name.tar.gz" ] ||
            die "$url.sha256 is the checksum of '$named', not of $name.tar.gz; refusing to install"
        actual=$(sha256 "$tmp/$name.tar.gz")
        [ "$actual" = "$expected" ] ||
            die "SHA-256 mismatch for $name.tar.gz: the checksum file says $expected, the download is $actual; refusing to install it (a corrupted or tampered download: try again, or report it)"
        mkdir -p "$tmp/$name.x"
        tar -xzf "$tmp/$name.tar.gz" -C "$tmp/$name.x" || die "$name.tar.gz is not a gzipped tar archive"
        mkdir -p "$root/bin" || die "cannot create $root/bin (set CALLOUT_TOOL_ROOT)"
        for bin in $bins; do
            local from="$tmp/$name.x/$name/$bin"
            [ -f "$from" ] || die "$name.tar.gz has no $name/$bin"
            cp -- "$from" "$root/bin/$bin.new" && chmod 0755 "$root/bin/$bin.new" &&
                mv -f -- "$root/bin/$bin.new" "$root/bin/$bin" || die "cannot write $root/bin/$bin"
        done
        say "$name.tar.gz: SHA-256 $actual verified; installed $bins into $root/bin"
    done
    [ "${CALLOUT_ACTION_DRY_RUN:-}" = 1 ] || say "done in $((SECONDS - started)) s"
}

main "$@"
