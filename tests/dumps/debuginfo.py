"""Opt-in: fetch the guest kernel's debug info for the "vmcore-debuginfo" tier tests.

Debian publishes it as linux-image-<release>-dbg (about 280 MB to download, 1.7 GB unpacked,
590 MB of it vmlinux). Only what the fixture dumps need is kept: vmlinux, the debug files of the
modules the guest loads, and the crash module as built (Kbuild keeps its DWARF). The layout
mirrors a distribution's, so a debugger can be pointed at `<root>` as a sysroot:

    <dump cache>/<release>/debuginfo/usr/lib/debug/boot/vmlinux-<release>
    <dump cache>/<release>/debuginfo/usr/lib/debug/lib/modules/<release>/kernel/.../*.ko
    <dump cache>/<release>/debuginfo/usr/lib/debug/lib/modules/<release>/extra/panicdx_crash.ko

The package is downloaded with `apt-get download` and read with `dpkg-deb --fsys-tarfile`;
nothing is installed on the host. `<root>/.complete` names the package version unpacked. The
crash module is not in the package: every dump build rebuilds it, and `ensure_dumps` copies the
new build here (when the tree exists) so its debug file stays the one the dumps loaded.

Who fills the tree: scripts/install-debuginfo.sh (the step CI runs before the tests, through
`python -m tests.dumps.install_debuginfo`) or `python -m tests.dumps.build_dumps --debuginfo`.
The tests read it and never download.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tests.dumps.initramfs import CRASH_MODULE_NAME, GUEST_MODULES, modules_in_load_order
from tests.dumps.toolchain import Toolchain, ToolchainMissing

DOWNLOAD_TIMEOUT_S = 1800
COMPLETE_STAMP = ".complete"


class DebuginfoError(RuntimeError):
    """The debug package could not be downloaded or unpacked (the message says why)."""


def debuginfo_root(cache_root: Path, release: str) -> Path:
    """The sysroot-like directory holding one release's debug files."""
    return cache_root / release / "debuginfo"


def vmlinux_path(root: Path, release: str) -> Path:
    """Where vmlinux with debug info lands under `root`."""
    return root / "usr/lib/debug/boot" / f"vmlinux-{release}"


def _wanted(toolchain: Toolchain) -> set[str]:
    """Archive member names to keep: vmlinux and the guest modules (with dependencies)."""
    release = toolchain.kernel.release
    modules_dir = toolchain.kernel.modules_dir
    module_names = {name for name, _ in modules_in_load_order(modules_dir, GUEST_MODULES)}
    wanted = {f"usr/lib/debug/boot/vmlinux-{release}"}
    for path in modules_dir.rglob("*.ko*"):
        stem = path.name.split(".ko")[0].replace("-", "_")
        if stem in module_names:
            relative = path.relative_to(modules_dir).as_posix()
            # Debian's debug package holds uncompressed .ko files even if the image's are not.
            relative = relative.removesuffix(".xz").removesuffix(".zst")
            wanted.add(f"usr/lib/debug/lib/modules/{release}/{relative}")
    return wanted


def _download(toolchain: Toolchain, directory: Path) -> Path:
    package = f"{toolchain.kernel.package}-dbg={toolchain.kernel.version}"
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise ToolchainMissing("apt-get is not available: cannot download the debug package")
    directory.chmod(0o755)  # apt-get download drops to the _apt user when it can
    completed = subprocess.run(
        [apt_get, "download", "-qq", package],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DOWNLOAD_TIMEOUT_S,
        check=False,
    )
    debs = sorted(directory.glob("*.deb"))
    if completed.returncode != 0 or not debs:
        raise DebuginfoError(f"apt-get download {package} failed: {completed.stderr.strip()}")
    return debs[0]


def _extract(deb: Path, wanted: set[str], root: Path) -> set[str]:
    """Stream the package's data archive and write the `wanted` members; returns those found."""
    found: set[str] = set()
    with subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", str(deb)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as unpack:
        assert unpack.stdout is not None
        # "r|": a forward-only stream; members are read in archive order, never seeked.
        with tarfile.open(fileobj=unpack.stdout, mode="r|") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if name not in wanted or not member.isfile():
                    continue
                source = archive.extractfile(member)
                if source is None:
                    continue
                # The destination is built from our own list of names, never the archive's.
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                found.add(name)
                if found == wanted:
                    break
        unpack.kill()  # stop decompressing the rest once everything wanted is out
    return found


def crash_module_path(root: Path, release: str) -> Path:
    """Where the crash module as built (with its DWARF) lands under `root`."""
    return root / "usr/lib/debug/lib/modules" / release / "extra" / f"{CRASH_MODULE_NAME}.ko"


def is_complete(root: Path, release: str) -> bool:
    """True when `root` holds the package's files (stamp) and the crash module's debug file."""
    return (root / COMPLETE_STAMP).is_file() and crash_module_path(root, release).is_file()


def fetch_package_debuginfo(toolchain: Toolchain, cache_root: Path) -> Path:
    """Download and unpack vmlinux and the guest modules' debug files (once); returns the root.

    The stamp names the package version unpacked, so a new guest kernel fetches again.
    Raises DebuginfoError when the package is unavailable or lacks vmlinux.
    """
    release = toolchain.kernel.release
    root = debuginfo_root(cache_root, release)
    stamp = root / COMPLETE_STAMP
    if stamp.is_file() and stamp.read_text().strip() == toolchain.kernel.version:
        return root
    stamp.unlink(missing_ok=True)
    wanted = _wanted(toolchain)
    with tempfile.TemporaryDirectory(prefix="panicdx-dbg-") as download_dir:
        deb = _download(toolchain, Path(download_dir))
        found = _extract(deb, wanted, root)
    if vmlinux_path(root, release).relative_to(root).as_posix() not in found:
        raise DebuginfoError(f"{deb.name} holds no vmlinux for {release}")
    stamp.write_text(toolchain.kernel.version + "\n")
    return root


def install_crash_module(root: Path, release: str, crash_module: Path) -> bool:
    """Put the crash module as built into `root` unless those bytes are there; True if copied.

    The module is rebuilt with the dumps, so its debug file must be the one the dumps loaded:
    drgn matches it by build id and leaves the module's frames unresolved otherwise. The copy
    is renamed into place, so a reader never sees half a file.
    """
    target = crash_module_path(root, release)
    data = crash_module.read_bytes()
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return True


def fetch_debuginfo(toolchain: Toolchain, cache_root: Path, crash_module: Path) -> Path:
    """The package's debug files (fetched once) plus the crash module as built; returns the root.

    Raises DebuginfoError when the package is unavailable or lacks vmlinux.
    """
    root = fetch_package_debuginfo(toolchain, cache_root)
    install_crash_module(root, toolchain.kernel.release, crash_module)
    return root
