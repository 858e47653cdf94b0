"""Find what building real dumps needs: QEMU, busybox, makedumpfile, cpio, the guest kernel.

scripts/install-dump-tools.sh installs the tools and unpacks the guest kernel package into the
kernel cache; this module only looks. `find_toolchain()` raises `ToolchainMissing`, whose message
says what is missing and how to get it, so callers can skip or fail with that reason.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "run scripts/install-dump-tools.sh"


class ToolchainMissing(RuntimeError):
    """Something needed to build real dumps is not installed (the message says what)."""


@dataclass(frozen=True)
class GuestKernel:
    """An unpacked Debian kernel image package (never installed on the host)."""

    package: str  # e.g. linux-image-6.1.0-56-cloud-amd64
    version: str  # the Debian package version, e.g. 6.1.192-2
    root: Path  # where `dpkg-deb -x` unpacked it
    release: str  # uname -r, e.g. 6.1.0-56-cloud-amd64

    @property
    def vmlinuz(self) -> Path:
        """The bootable kernel image."""
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules_dir(self) -> Path:
        """/lib/modules/<release> inside the unpacked package."""
        for lib in ("usr/lib", "lib"):
            candidate = self.root / lib / "modules" / self.release
            if candidate.is_dir():
                return candidate
        raise ToolchainMissing(f"no modules directory for {self.release} under {self.root}")

    @property
    def headers_dir(self) -> Path:
        """The matching kernel headers on the host (for building the crash module)."""
        return Path("/usr/src") / f"linux-headers-{self.release}"


@dataclass(frozen=True)
class Toolchain:
    """Paths of every program and input a dump build uses."""

    qemu: Path
    busybox: Path
    makedumpfile: Path
    cpio: Path
    make: Path
    kernel: GuestKernel


def kernel_cache_root() -> Path:
    """Where install-dump-tools.sh unpacks guest kernels ($PANICDX_KERNEL_CACHE overrides)."""
    override = os.environ.get("PANICDX_KERNEL_CACHE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "panicdx" / "kernel"


def find_guest_kernel(cache_root: Path | None = None) -> GuestKernel:
    """The newest unpacked guest kernel in the kernel cache; raises ToolchainMissing if none."""
    root = cache_root or kernel_cache_root()
    kernels: list[GuestKernel] = []
    for stamp in sorted(root.glob("*/.unpacked")):
        package, _, version = stamp.read_text().strip().partition(" ")
        boot = stamp.parent / "boot"
        images = sorted(boot.glob("vmlinuz-*"))
        if not images or not version:
            continue
        release = images[-1].name.removeprefix("vmlinuz-")
        kernels.append(GuestKernel(package, version, stamp.parent, release))
    if not kernels:
        raise ToolchainMissing(f"no unpacked guest kernel under {root}; {INSTALL_HINT}")
    # Debian's ABI number (6.1.0-<N>) grows with every upload; prefer the newest.
    return max(kernels, key=lambda kernel: _abi_key(kernel.release))


def _abi_key(release: str) -> tuple[int, ...]:
    numbers = [part for part in release.replace("-", ".").split(".") if part.isdigit()]
    return tuple(int(number) for number in numbers)


def _program(name: str, extra_dirs: tuple[str, ...] = ()) -> Path:
    found = shutil.which(name)
    if found is None:
        for directory in extra_dirs:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        raise ToolchainMissing(f"{name} is not installed; {INSTALL_HINT}")
    return Path(found)


def find_toolchain() -> Toolchain:
    """Everything a dump build needs, or ToolchainMissing naming the first missing piece."""
    kernel = find_guest_kernel()
    if not kernel.vmlinuz.is_file():
        raise ToolchainMissing(f"{kernel.vmlinuz} is missing; {INSTALL_HINT}")
    if not (kernel.headers_dir / "Makefile").is_file():
        raise ToolchainMissing(
            f"kernel headers {kernel.headers_dir} (for {kernel.release}) are missing; "
            f"{INSTALL_HINT}"
        )
    return Toolchain(
        qemu=_program("qemu-system-x86_64"),
        # busybox-static installs /bin/busybox; a dynamically linked one would not run in the
        # initramfs, which has no C library.
        busybox=_static_busybox(),
        makedumpfile=_program("makedumpfile", ("/usr/sbin", "/sbin")),
        cpio=_program("cpio"),
        make=_program("make"),
        kernel=kernel,
    )


def _static_busybox() -> Path:
    busybox = _program("busybox", ("/bin", "/usr/bin"))
    with busybox.open("rb") as handle:
        header = handle.read(4096)
    # A dynamically linked ELF names its interpreter (PT_INTERP): "/lib64/ld-linux...".
    if b"ld-linux" in header:
        raise ToolchainMissing(f"{busybox} is dynamically linked; install busybox-static")
    return busybox
