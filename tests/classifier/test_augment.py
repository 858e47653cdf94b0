"""Augmentation keeps the crash lines and changes the incidental ones, deterministically."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from classifier.augment import SHAPES, crash_span, make_variant
from classifier.features import mask
from vmcore_parsers.logformat import normalize

# Lines that augmentation may rewrite on purpose: the module list and the machine name.
_MODULES = re.compile(r"^\s*(?:Modules linked in|Hardware name):")
LOGS = Path(__file__).parent / "logs"
NAMES = sorted(p.stem for p in LOGS.glob("*.log"))


def read_log(name: str) -> str:
    return (LOGS / f"{name}.log").read_text(encoding="utf-8")


def _crash_lines(text: str) -> list[str]:
    """Masked kernel lines of the crash report (module list excluded: it may change)."""
    lines = normalize(text).lines
    start, end = crash_span(text, lines)
    return [mask(ln.text) for ln in lines[start:end] if ln.kernel and not _MODULES.match(ln.text)]


def _masked_kernel_lines(text: str) -> list[str]:
    return [
        mask(ln.text) for ln in normalize(text).lines if ln.kernel and not _MODULES.match(ln.text)
    ]


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(item == other for other in it) for item in needle)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_variant(name: str) -> None:
    text = read_log(name)
    first = make_variant(text, random.Random(3))[0]
    assert first == make_variant(text, random.Random(3))[0]
    assert first != make_variant(text, random.Random(4))[0]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_crash_lines_survive_in_every_shape(name: str, shape: str) -> None:
    text = read_log(name)
    original = _crash_lines(text)
    for seed in range(3):
        variant, info = make_variant(text, random.Random(seed), shape=shape)
        assert info.shape == shape
        kept = original[: len(original) - info.tail_cut] if info.tail_cut else original
        assert len(kept) >= 3
        assert _is_subsequence(kept, _masked_kernel_lines(variant)), (shape, seed, variant)


def test_incidental_values_change() -> None:
    text = read_log("nvidia-null")
    variants = [make_variant(text, random.Random(seed))[0] for seed in range(6)]
    assert all("ffff9a0c41c8e008" not in v for v in variants)  # a register value moved
    assert all("PID: 48213 " not in v for v in variants)
    assert len({re.search(r"5\.15\.0-\d+-generic", v).group(0) for v in variants}) > 1  # type: ignore[union-attr]
    # Evidence stays: the NULL-plus-offset address, the guilty symbol, the module in frames.
    for variant in variants:
        assert "address: 0000000000000020" in variant
        assert "_nv032165rm+0x2f/0x90 [nvidia]" in variant
        modules = next(ln for ln in variant.splitlines() if "Modules linked in:" in ln)
        assert "nvidia(POE)" in modules


def test_poison_values_are_kept() -> None:
    text = read_log("list-corruption")
    for seed in range(5):
        variant = make_variant(text, random.Random(seed))[0]
        assert "but was dead000000000122" in variant
        if "EFLAGS" in variant:  # unless the tail was cut before it
            assert "EFLAGS: 00010246" in variant


def test_shapes_are_detected_as_such() -> None:
    text = read_log("softlockup-vm")
    expected = {
        "journalctl-short": "journalctl-short",
        "journalctl-short-iso": "journalctl-short-iso",
        "syslog": "syslog",
        "serial-console": "serial-console",
        "pstore": "pstore",
        "plain": "plain",
        "dmesg": "dmesg",
    }
    for shape, fmt in expected.items():
        variant = make_variant(text, random.Random(1), shape=shape)[0]
        assert normalize(variant).format == fmt, shape
    serial = make_variant(text, random.Random(1), shape="serial-console")[0]
    assert "\r\n" in serial


def test_unknown_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown shape"):
        make_variant(read_log("oom-panic"), random.Random(0), shape="carrier-pigeon")


def test_hardware_changes_sometimes_and_stays_x86() -> None:
    text = read_log("nfs-hung")
    names = {
        ln.split("Hardware name: ")[1].strip()
        for seed in range(30)
        for ln in make_variant(text, random.Random(seed))[0].splitlines()
        if "Hardware name: " in ln  # unless the tail was cut before it
    }
    assert "Dell Inc. PowerEdge R740/0DY2X0, BIOS 2.12.2 07/09/2021" in names
    assert len(names) > 2
    assert not any("(DT)" in name for name in names)
