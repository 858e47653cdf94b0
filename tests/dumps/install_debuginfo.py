"""Fill the dump fixtures' debug info tree for scripts/install-debuginfo.sh (the step CI runs).

    python -m tests.dumps.install_debuginfo 6.1.0-56-cloud-amd64

When RELEASE is the dump fixtures' guest kernel (scripts/install-dump-tools.sh unpacked it),
the kernel's debug package is fetched into `<dump cache>/<release>/debuginfo` (vmlinux and the
guest modules' debug files, tests/dumps/debuginfo.py), with the crash module if a dump build
already compiled it; otherwise `ensure_dumps` adds it when it builds or reuses the dumps. The
last line printed is the tree's vmlinux, which the script links into the debuginfo store, so
the package is downloaded once for both.

Exit status: 0 done; NOT_THE_DUMP_KERNEL (3) when RELEASE is not the fixtures' kernel or the
dump tools are not installed (the script then fetches the vmlinux alone); 1 when the download
or unpacking failed.
"""

from __future__ import annotations

import sys

from tests.dumps import cache
from tests.dumps.build_dumps import refresh_crash_module_debuginfo
from tests.dumps.debuginfo import DebuginfoError, fetch_package_debuginfo, vmlinux_path
from tests.dumps.toolchain import ToolchainMissing, find_toolchain

NOT_THE_DUMP_KERNEL = 3
USAGE = "usage: python -m tests.dumps.install_debuginfo RELEASE"


def main(argv: list[str]) -> int:
    """Fetch the tree for the release in `argv` (see the module docstring); the exit status."""
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    (release,) = argv
    try:
        toolchain = find_toolchain()
    except ToolchainMissing as missing:
        print(f"dump fixtures' debug info not fetched: {missing}", file=sys.stderr)
        return NOT_THE_DUMP_KERNEL
    if toolchain.kernel.release != release:
        return NOT_THE_DUMP_KERNEL
    root = cache.cache_root()
    try:
        # The dump builders' lock: a test session waits for the tree instead of reading half.
        with cache.build_lock(root / release):
            tree = fetch_package_debuginfo(toolchain, root)
            refresh_crash_module_debuginfo(root, release)
    except (DebuginfoError, ToolchainMissing, OSError) as error:
        print(f"install_debuginfo: {error}", file=sys.stderr)
        return 1
    print(vmlinux_path(tree, release))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
