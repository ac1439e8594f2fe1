#!/usr/bin/env bash
# Packs release binaries into the archives ci/action/install.sh downloads: one archive per
# package and target, with its SHA-256 checksum file. The release workflow
# (.github/workflows/release.yml) runs it for every target; harness/tests/ci_recipes.rs runs it
# to lay out a local release for the install test.
#
#   package.sh VERSION TARGET BIN_DIR OUT_DIR [PACKAGE...]
#
# VERSION without a leading v (0.2.0); TARGET a target triple; BIN_DIR the cargo profile
# directory holding the binaries (target/TARGET/release); PACKAGE callout-conformance and/or
# callout-responder (default both). Writes, for each package:
#
#   OUT_DIR/PACKAGE-VERSION-TARGET.tar.gz          PACKAGE-VERSION-TARGET/{BINARY...,README.md}
#   OUT_DIR/PACKAGE-VERSION-TARGET.tar.gz.sha256   "HEX  PACKAGE-VERSION-TARGET.tar.gz"
set -euo pipefail

die() { echo "package.sh: error: $*" >&2; exit 2; }

[ $# -ge 4 ] || die "usage: package.sh VERSION TARGET BIN_DIR OUT_DIR [PACKAGE...]"
version="${1#v}" target=$2 bin_dir=$3 out=$4
shift 4
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(callout-conformance callout-responder)
here=$(cd "$(dirname "$0")/../.." && pwd)

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for pkg in "${packages[@]}"; do
    case "$pkg" in
        callout-conformance) bins=(callout-conformance) ;;
        callout-responder) bins=(callout-responder callout-mutant) ;;
        *) die "unknown package '$pkg'" ;;
    esac
    name="$pkg-$version-$target"
    mkdir -p "$stage/$name"
    for bin in "${bins[@]}"; do
        [ -f "$bin_dir/$bin" ] || die "$bin_dir/$bin is missing: build it first (cargo build --release --target $target -p $pkg --bins)"
        cp "$bin_dir/$bin" "$stage/$name/"
    done
    cp "$here/README.md" "$stage/$name/"
    for f in "$here"/LICENSE*; do
        [ -f "$f" ] && cp "$f" "$stage/$name/"
    done
    # COPYFILE_DISABLE: no AppleDouble ._ files from macOS's tar.
    (cd "$stage" && COPYFILE_DISABLE=1 tar -czf "$out/$name.tar.gz" "$name")
    echo "$(sha256 "$out/$name.tar.gz")  $name.tar.gz" >"$out/$name.tar.gz.sha256"
    echo "$out/$name.tar.gz"
done
