"""Kernel release parsing, version ordering and applicability verdicts."""

from __future__ import annotations

from typing import Any

import pytest
from kb_helpers import entry_dict

from knowledge_base.schema import Entry
from knowledge_base.versions import (
    assess,
    compare_versions,
    known_stream,
    normalize_stream,
    parse_release,
)

RELEASES = [
    ("5.15.0-91-generic", "ubuntu", "ubuntu-22.04", "5.15.0-91", "5.15.0"),
    ("6.8.0-1015-aws", "ubuntu", "ubuntu-24.04", "6.8.0-1015", "6.8.0"),
    ("5.10.0-1057-oem", "ubuntu", "ubuntu-20.04", "5.10.0-1057", "5.10.0"),
    ("5.14.0-362.8.1.el9_3.x86_64", "rhel9", "rhel9", "5.14.0-362.8.1", "5.14.0"),
    ("4.18.0-477.10.1.el8_8.x86_64", "rhel8", "rhel8.8", "4.18.0-477.10.1", "4.18.0"),
    ("3.10.0-1160.el7.x86_64", "rhel7", "rhel7", "3.10.0-1160", "3.10.0"),
    ("6.1.0-13-amd64", "debian", "debian-12", "6.1.0-13", "6.1.0"),
    ("5.10.0-26-cloud-amd64", "debian", "debian-11", "5.10.0-26", "5.10.0"),
    (
        "6.1.66-91.160.amzn2023.x86_64",
        "amazon-linux",
        "amazon-linux-2023",
        "6.1.66-91.160",
        "6.1.66",
    ),
    (
        "5.10.205-195.807.amzn2.x86_64",
        "amazon-linux",
        "amazon-linux-2",
        "5.10.205-195.807",
        "5.10.205",
    ),
    ("5.15.153.1-microsoft-standard-WSL2", "wsl2", "mainline", "5.15.153.1", "5.15.153"),
    ("6.6.12-1.el9.elrepo.x86_64", "elrepo", "mainline", "6.6.12", "6.6.12"),
    ("6.1.55", "mainline", "mainline", "6.1.55", "6.1.55"),
    ("6.1", "mainline", "mainline", "6.1.0", "6.1.0"),
    ("6.7.0-rc3", "mainline", "mainline", "6.7.0-rc3", "6.7.0"),
    ("5.14.21-150500.55.39-default", "suse", "sles-15-sp5", "5.14.21-150500.55.39", "5.14.21"),
    ("6.5.6-300.fc39.x86_64", "fedora", "fedora-39", "6.5.6", "6.5.6"),
    ("5.15.0-200.131.27.el9uek.x86_64", "uek", "uek", "5.15.0-200.131.27", "5.15.0"),
]


@pytest.mark.parametrize(("raw", "stream", "alias", "version", "upstream"), RELEASES)
def test_parse_release(raw: str, stream: str, alias: str, version: str, upstream: str) -> None:
    parsed = parse_release(raw)
    assert parsed is not None
    assert parsed.stream == stream
    assert alias in parsed.streams
    assert parsed.version == version
    assert parsed.upstream == upstream


def test_debian_package_version_from_oops_header() -> None:
    parsed = parse_release("6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1")
    assert parsed is not None
    assert parsed.version == "6.1.55-1"


@pytest.mark.parametrize("raw", ["", "garbage", "linux", "v6"])
def test_unparseable(raw: str) -> None:
    assert parse_release(raw) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("5.15.0-91", "5.15.0-101", -1),
        ("5.15.0", "5.15.0-1", -1),
        ("6.1", "6.1.0", -1),
        ("6.1-rc7", "6.1", -1),
        ("6.1.0-rc7", "6.1.0", -1),
        ("5.14.0-362.8.1", "5.14.0-362.13.1", -1),
        ("5.14.0-362.13.1", "5.14.0-362.13.1", 0),
        ("4.18.0-513", "4.18.0-477.10.1", 1),
        ("6.10", "6.9", 1),
        ("6.1.66-91.160", "6.1.66-91.159", 1),
    ],
)
def test_compare_versions(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == -expected


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("el9", "rhel9"),
        ("RHEL-8.8", "rhel8.8"),
        ("jammy", "ubuntu-22.04"),
        ("ubuntu22.04", "ubuntu-22.04"),
        ("bookworm", "debian-12"),
        ("al2023", "amazon-linux-2023"),
        ("upstream", "mainline"),
        ("sle15-sp5", "sles-15-sp5"),
        ("linux-4.14.y", "mainline"),
    ],
)
def test_normalize_stream(name: str, canonical: str) -> None:
    assert normalize_stream(name) == canonical
    assert known_stream(name)


def test_unknown_stream_is_reported() -> None:
    assert not known_stream("solaris-11")


def _entry(applicability: dict[str, Any]) -> Entry:
    return Entry.model_validate(entry_dict("v-entry", applicability=applicability))


APP = {
    "affected": [
        {"stream": "ubuntu-22.04", "introduced": "5.15.0-70", "fixed": "5.15.0-101"},
        {"stream": "mainline", "introduced": "5.10", "fixed": "6.2"},
        {"stream": "rhel9", "fixed": "5.14.0-362.13.1.el9_3"},
    ],
    "fixed_in": [
        {"stream": "ubuntu-22.04", "version": "5.15.0-101.111"},
        {"stream": "mainline", "version": "6.2"},
        {"stream": "mainline", "version": "6.1.8"},
        {"stream": "rhel9", "version": "5.14.0-362.13.1.el9_3"},
        {"stream": "debian-12", "version": "6.1.64-1"},
    ],
}


@pytest.mark.parametrize(
    ("release", "status"),
    [
        ("5.15.0-91-generic", "affected"),
        ("5.15.0-101-generic", "fixed"),
        ("5.15.0-60-generic", "affected"),
        ("5.14.0-362.8.1.el9_3.x86_64", "affected"),
        ("5.14.0-427.13.1.el9_4.x86_64", "fixed"),
        ("6.1.5", "affected"),
        ("6.1.55", "fixed"),
        ("6.2.1", "fixed"),
        ("5.15.100", "affected"),
        ("5.4.0", "not-affected"),
        ("5.15.153.1-microsoft-standard-WSL2", "affected"),
        ("6.6.12-1.el9.elrepo.x86_64", "fixed"),
        ("4.18.0-477.10.1.el8_8.x86_64", "unknown"),
        ("6.8.0-1015-aws", "fixed"),
        ("6.1.66-91.160.amzn2023.x86_64", "fixed"),
        ("6.1.0-13-amd64", "unknown"),
        ("6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.69-1", "fixed"),
        ("6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1", "affected"),
        (None, "unknown"),
        ("not a release", "unknown"),
    ],
)
def test_assess(release: str | None, status: str) -> None:
    verdict = assess(_entry(APP), release)
    assert verdict.status == status, verdict.sentence
    assert verdict.sentence


def test_assess_sentence_and_relevant_fixes() -> None:
    verdict = assess(_entry(APP), "5.15.0-91-generic")
    assert verdict.sentence == (
        "5.15.0-91-generic is in the affected range 5.15.0-70 .. 5.15.0-101 of ubuntu-22.04; "
        "fixed in 5.15.0-101.111 (ubuntu-22.04)."
    )
    assert [f.version for f in verdict.fixed_in] == ["5.15.0-101.111"]
    unknown = assess(_entry(APP), None)
    assert len(unknown.fixed_in) == len(APP["fixed_in"])


def test_assess_without_version_data() -> None:
    verdict = assess(_entry({}), "6.1.55")
    assert verdict.status == "unknown"
    assert verdict.fixed_in == []
