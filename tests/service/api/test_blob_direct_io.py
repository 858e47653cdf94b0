"""The local blob store's durable writes past one stage go around the page cache (O_DIRECT):
full aligned stages written by a second thread, the tail through the cache, one fsync, the
same bytes and sha256; a filesystem that refuses direct I/O falls back to the page cache; a
failing disk or an abort leaves nothing behind and no thread running."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import queue
import threading
import time
from pathlib import Path

import pytest

import service.blobs
from service.blobs import DIRECT_QUEUED_CHUNKS, DIRECT_STAGE_BYTES, LocalBlobStore

MIB = 1024 * 1024
IO_THREAD = "panicdx-blob-io"


def _supports_direct_io(directory: Path) -> bool:
    try:
        fd = os.open(directory / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    except OSError:
        return False
    os.close(fd)
    (directory / "probe").unlink()
    return True


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    if not hasattr(os, "O_DIRECT") or not _supports_direct_io(tmp_path):
        pytest.skip("the test directory's filesystem has no direct I/O")
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Every os.write of the blob store: (length, whether the file was in O_DIRECT mode)."""
    calls: list[tuple[int, bool]] = []
    real = os.write

    def recording(fd: int, data: bytes | memoryview) -> int:
        direct = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)
        calls.append((len(data), direct))
        return real(fd, data)

    monkeypatch.setattr(service.blobs.os, "write", recording)
    return calls


def _chunks(total: int, size: int = 777_777) -> list[bytes]:
    data = os.urandom(total)
    return [data[start : start + size] for start in range(0, total, size)]


def _io_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == IO_THREAD]


def test_full_stages_are_written_direct_and_the_tail_through_the_cache(
    store: LocalBlobStore, writes: list[tuple[int, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(service.blobs.os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    chunks = _chunks(3 * DIRECT_STAGE_BYTES + 12_345)
    data = b"".join(chunks)

    size, sha256 = store.put_stream("raw/t/dump", chunks)

    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with store.open("raw/t/dump") as handle:
        assert handle.read() == data
    assert writes == [(DIRECT_STAGE_BYTES, True)] * 3 + [(12_345, False)]
    assert len(fsyncs) == 1  # direct writes still need it: device cache and metadata
    assert not _io_threads()


def test_a_small_durable_write_is_one_write_through_the_cache(
    store: LocalBlobStore, writes: list[tuple[int, bool]]
) -> None:
    size, sha256 = store.put_stream("raw/t/log", [b"Kernel panic", b" - not syncing\n"])
    assert (size, sha256) == (27, hashlib.sha256(b"Kernel panic - not syncing\n").hexdigest())
    assert writes == [(27, False)]
    assert not _io_threads()


def test_a_derived_write_never_goes_direct(
    store: LocalBlobStore, writes: list[tuple[int, bool]]
) -> None:
    chunks = _chunks(2 * DIRECT_STAGE_BYTES)
    store.put_stream("logs/t/j-1.log", chunks, durable=False)
    assert writes and not any(direct for _, direct in writes)


def test_memory_is_one_stage_and_a_bounded_queue_of_chunks(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[int] = []
    real_mmap = service.blobs.mmap.mmap

    def counting(fileno: int, length: int) -> object:
        created.append(length)
        return real_mmap(fileno, length)

    real_write_all = service.blobs._write_all

    def slow_disk(fd: int, data: memoryview) -> None:
        time.sleep(0.01)
        real_write_all(fd, data)

    waiting: list[int] = []
    real_put = queue.Queue.put

    def recording_put(self: queue.Queue[object], item: object, *args: object) -> None:
        real_put(self, item, *args)
        waiting.append(self.qsize())

    monkeypatch.setattr(service.blobs.mmap, "mmap", counting)
    monkeypatch.setattr(service.blobs, "_write_all", slow_disk)
    monkeypatch.setattr(queue.Queue, "put", recording_put)
    chunks = _chunks(10 * DIRECT_STAGE_BYTES + 1, size=256 * 1024)
    _, sha256 = store.put_stream("raw/t/dump", chunks)
    assert sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert created == [DIRECT_STAGE_BYTES]  # one stage per write, reused
    # The writer waited for the slow disk instead of queueing the whole upload.
    assert DIRECT_QUEUED_CHUNKS // 2 <= max(waiting) <= DIRECT_QUEUED_CHUNKS


def test_a_filesystem_without_direct_io_gets_the_page_cache(
    store: LocalBlobStore, writes: list[tuple[int, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fcntl.fcntl

    def refusing(fd: int, command: int, arg: int = 0) -> int:
        if command == fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, command, arg)

    monkeypatch.setattr(service.blobs.fcntl, "fcntl", refusing)
    chunks = _chunks(2 * DIRECT_STAGE_BYTES + 5)
    _, sha256 = store.put_stream("raw/t/dump", chunks)
    data = b"".join(chunks)
    assert sha256 == hashlib.sha256(data).hexdigest()
    with store.open("raw/t/dump") as handle:
        assert handle.read() == data
    assert not any(direct for _, direct in writes)
    assert writes[0] == (DIRECT_STAGE_BYTES, False)  # the first stage, then chunks as they come


def test_a_failing_direct_write_raises_and_leaves_nothing(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.write

    def full_disk(fd: int, data: bytes | memoryview) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(service.blobs.os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        store.put_stream("raw/t/dump", _chunks(6 * DIRECT_STAGE_BYTES, size=MIB))
    assert not store.exists("raw/t/dump")
    assert not list((store.root / ".tmp").iterdir())
    assert not _io_threads()


def test_an_abort_with_stages_in_flight_leaves_nothing(store: LocalBlobStore) -> None:
    writer = store.writer("raw/t/dump")
    for chunk in _chunks(3 * DIRECT_STAGE_BYTES + 100, size=MIB):
        writer.write(chunk)
    assert _io_threads()  # direct writes are under way
    writer.abort()
    assert not store.exists("raw/t/dump")
    assert not list((store.root / ".tmp").iterdir())
    assert not _io_threads()
