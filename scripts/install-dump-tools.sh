#!/usr/bin/env bash
# Install what the real-crash-dump fixtures need (idempotent; safe to run again).
#
#   scripts/install-dump-tools.sh            install the Debian packages and unpack the guest kernel
#   scripts/install-dump-tools.sh --print    print the unpacked guest kernel directory and exit
#
# Debian 12 packages: QEMU (TCG is enough, no KVM needed), a static busybox for the initramfs,
# makedumpfile (reference kernel logs and the `-c -d 31` dump form), cpio, and the kernel headers
# for the out-of-tree crash module (they pull in gcc and make).
#
# The guest kernel is NOT installed on the host: the versioned image package that
# linux-image-cloud-amd64 depends on is downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x` into the kernel cache, so /boot and the boot loader stay untouched. The headers
# installed are the ones of that very version, so the crash module matches the guest kernel.
#
# Kernel cache: $PANICDX_KERNEL_CACHE, default ~/.cache/panicdx/kernel/<package>_<version>/.
set -euo pipefail

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

# The versioned package a Debian metapackage depends on, e.g.
# linux-image-cloud-amd64 -> linux-image-6.1.0-56-cloud-amd64.
# (awk reads to the end instead of exiting early: an early exit would kill apt-cache with
# SIGPIPE, which pipefail turns into a silent failure of the whole script.)
versioned_dependency() {
    apt-cache depends "$1" \
        | awk -v prefix="$2" '!found && $1 == "Depends:" && index($2, prefix) == 1 { print $2; found = 1 }'
}

if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
    $sudo_cmd apt-get update -qq
fi

image_pkg="$(versioned_dependency linux-image-cloud-amd64 linux-image-)"
if [ -z "$image_pkg" ]; then
    echo "install-dump-tools: cannot resolve the package behind linux-image-cloud-amd64" >&2
    exit 1
fi
headers_pkg="${image_pkg/linux-image-/linux-headers-}"
image_version="$(apt-cache show --no-all-versions "$image_pkg" | awk '!found && $1 == "Version:" { print $2; found = 1 }')"

kernel_root="${PANICDX_KERNEL_CACHE:-$HOME/.cache/panicdx/kernel}"
kernel_dir="$kernel_root/${image_pkg}_${image_version}"

if [ "${1:-}" = "--print" ]; then
    echo "$kernel_dir"
    exit 0
fi

packages=(qemu-system-x86 busybox-static makedumpfile cpio gzip xz-utils zstd kmod make gcc "$headers_pkg")
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-dump-tools: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$kernel_dir/.unpacked" ]; then
    echo "install-dump-tools: unpacking $image_pkg $image_version into $kernel_dir" >&2
    download_dir="$(mktemp -d)"
    chmod 755 "$download_dir"  # apt-get download runs as _apt when it can
    trap 'rm -rf "$download_dir"' EXIT
    (cd "$download_dir" && apt-get download -qq "$image_pkg=$image_version")
    rm -rf "$kernel_dir"
    mkdir -p "$kernel_dir"
    dpkg-deb -x "$download_dir"/*.deb "$kernel_dir"
    # A stamp, so an interrupted unpack is redone instead of trusted.
    printf '%s %s\n' "$image_pkg" "$image_version" >"$kernel_dir/.unpacked"
fi
echo "$kernel_dir"
