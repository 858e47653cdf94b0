#!/usr/bin/env bash
# Opt-in: put a kernel's vmlinux with debug info into panicdx's debuginfo store (idempotent).
#
#   scripts/install-debuginfo.sh                       the test dumps' kernel (6.1.0-56-cloud-amd64)
#   scripts/install-debuginfo.sh 6.1.0-28-amd64        another Debian kernel release
#   scripts/install-debuginfo.sh --with-crash [REL]    also install the `crash` utility
#   scripts/install-debuginfo.sh --print [REL]         print where the vmlinux goes, and exit
#
# Store: $PANICDX_DEBUGINFO_DIR, default ~/.cache/panicdx/debuginfo; the file lands at
# <store>/<release>/vmlinux, the layout vmcore_parsers.debuginfo looks for (point panicdx at it
# with PANICDX_DEBUGINFO_DIR=<store>). Debian's linux-image-<release>-dbg package is large
# (about 280 MB to download, 1.7 GB unpacked); only the vmlinux (about 590 MB) is kept: the
# package is fetched with `apt-get download` and streamed through `dpkg-deb --fsys-tarfile`, so
# nothing is installed on the host. When the dump fixtures already fetched that vmlinux
# (tests/dumps, `--debuginfo`), it is linked from there instead of downloaded again.
#
# For the dump fixtures' own kernel (the one scripts/install-dump-tools.sh unpacked), the same
# download first fills the fixtures' debug tree, <dump cache>/<release>/debuginfo/: vmlinux, the
# guest modules' debug files and the crash module, which the vmcore-debuginfo tests read (see
# tests/dumps/debuginfo.py); the store's vmlinux is then linked from it. This is the step CI
# runs (scripts/test.sh), so a fresh machine gets everything the tests need from it.
set -euo pipefail

with_crash=0
print_only=0
release=""
for argument in "$@"; do
    case "$argument" in
        --with-crash) with_crash=1 ;;
        --print) print_only=1 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        -*) echo "install-debuginfo.sh: unknown option $argument" >&2; exit 2 ;;
        *) release="$argument" ;;
    esac
done
release="${release:-6.1.0-56-cloud-amd64}"
case "$release" in
    *[!A-Za-z0-9.+_-]*|"") echo "install-debuginfo.sh: bad kernel release '$release'" >&2; exit 2 ;;
esac

store="${PANICDX_DEBUGINFO_DIR:-$HOME/.cache/panicdx/debuginfo}"
target="$store/$release/vmlinux"
if [ "$print_only" -eq 1 ]; then
    echo "$target"
    exit 0
fi

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

if [ "$with_crash" -eq 1 ] && ! command -v crash >/dev/null 2>&1; then
    $sudo_cmd apt-get install -y --no-install-recommends crash
fi

# The dump fixtures' tree (idempotent: a stamp names the package version unpacked). Exit status
# 3 means "not the fixtures' kernel, or no dump tools": only the store's vmlinux is wanted then.
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="$repo/.venv/bin/python"
if [ -x "$python" ] && [ -f "$repo/tests/dumps/install_debuginfo.py" ]; then
    status=0
    (cd "$repo" && "$python" -m tests.dumps.install_debuginfo "$release") || status=$?
    case "$status" in
        0) echo "dump fixtures' debuginfo for $release ready" ;;
        3) ;;
        *) echo "install-debuginfo.sh: fetching the dump fixtures' debuginfo failed" >&2; exit "$status" ;;
    esac
fi

if [ -s "$target" ]; then
    echo "debuginfo for $release already in $target"
    exit 0
fi
mkdir -p "$store/$release"

member="usr/lib/debug/boot/vmlinux-$release"
fixtures="${PANICDX_DUMP_CACHE:-$HOME/.cache/panicdx/dumps}/$release/debuginfo/$member"
if [ -s "$fixtures" ]; then
    # Same file system: a hard link costs no space; else a copy.
    ln "$fixtures" "$target.partial" 2>/dev/null || cp "$fixtures" "$target.partial"
    mv "$target.partial" "$target"
    echo "debuginfo for $release linked from the dump fixtures: $target"
    exit 0
fi

work="$(mktemp -d "$store/.download.XXXXXX")"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt-get download drops to the _apt user when it can
package="linux-image-$release-dbg"
if ! (cd "$work" && apt-get download -qq "$package"); then
    echo "install-debuginfo.sh: cannot download $package (run apt-get update? is the release a Debian one?)" >&2
    exit 1
fi
deb="$(find "$work" -maxdepth 1 -name '*.deb' -print -quit)"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "./$member"
mv "$work/$member" "$target"
echo "debuginfo for $release installed: $target"
