"""When the local blob store syncs to disk: a durable write (uploads) is fsynced before it
becomes visible, a derived one (`durable=False`, extracted logs) is not, and large writes
start their writeback as they go so the final fsync has little left to do."""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

import pytest

import service.blobs
from service.blobs import LocalBlobStore

MIB = 1024 * 1024


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(service.blobs.os, "fsync", counting)
    return calls


def test_a_durable_write_is_fsynced_once(tmp_path: Path, fsyncs: list[int]) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_stream("raw/t/one", [b"panic\n"])
    assert len(fsyncs) == 1
    with store.open("raw/t/one") as handle:
        assert handle.read() == b"panic\n"


def test_a_derived_write_is_not_fsynced_but_complete(tmp_path: Path, fsyncs: list[int]) -> None:
    store = LocalBlobStore(tmp_path)
    size, sha256 = store.put_stream("logs/t/j-1.log", [b"a", b"b" * MIB], durable=False)
    assert fsyncs == []
    with store.open("logs/t/j-1.log") as handle:
        data = handle.read()
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert data == b"a" + b"b" * MIB
    assert not list((tmp_path / ".tmp").iterdir())  # nothing half-written left behind


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise on this OS")
def test_large_writes_start_writeback_as_they_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service.blobs, "WRITEBACK_BYTES", 2 * MIB)
    monkeypatch.setattr(service.blobs, "_O_DIRECT", 0)  # the page-cache path
    advised: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def recording(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        advised.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(service.blobs.os, "posix_fadvise", recording)
    store = LocalBlobStore(tmp_path)
    chunks = [bytes([i]) * MIB for i in range(9)]
    size, sha256 = store.put_stream("raw/t/big", chunks)
    # Contiguous windows from the start, each behind the write position.
    assert advised and advised[0][0] == 0
    for (offset, length), (next_offset, _) in itertools.pairwise(advised):
        assert next_offset == offset + length
    assert advised[-1][0] + advised[-1][1] < size
    with store.open("raw/t/big") as handle:
        data = handle.read()
    assert data == b"".join(chunks) and hashlib.sha256(data).hexdigest() == sha256
