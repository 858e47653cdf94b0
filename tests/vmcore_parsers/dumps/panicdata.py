"""The panic the dump reader tests put in their fake kernels, and the text it must read back as.

A module of its own (not conftest) so test modules can import it by a name no other test
directory uses: `from conftest import ...` picks whichever conftest pytest loaded last when
several test directories run together.
"""

from __future__ import annotations

# A panic as a kernel logs it: several records, one multi-line, one with bytes to escape.
PANIC_RECORDS: list[tuple[int, bytes]] = [
    (0, b"Linux version 6.1.0-99-cloud-amd64 (debian-kernel@lists.debian.org)"),
    (1_500_000, b"Command line: console=ttyS0 oops=panic"),
    (12_345_678_901, b"sysrq: Trigger a crash"),
    (12_345_700_000, b"Kernel panic - not syncing: sysrq triggered crash"),
    (12_345_800_000, b"CPU: 0 PID: 77 Comm: sh Not tainted 6.1.0-99-cloud-amd64 #1\nCall Trace:"),
    (12_345_900_000, b"odd bytes: \x01\x7f caf\xc3\xa9\ttab"),
]

EXPECTED_PANIC_TEXT = (
    "[    0.000000] Linux version 6.1.0-99-cloud-amd64 (debian-kernel@lists.debian.org)\n"
    "[    0.001500] Command line: console=ttyS0 oops=panic\n"
    "[   12.345678] sysrq: Trigger a crash\n"
    "[   12.345700] Kernel panic - not syncing: sysrq triggered crash\n"
    "[   12.345800] CPU: 0 PID: 77 Comm: sh Not tainted 6.1.0-99-cloud-amd64 #1\n"
    "               Call Trace:\n"
    "[   12.345900] odd bytes: \\x01\\x7f caf\\xffffffc3\\xffffffa9\ttab\n"
)
