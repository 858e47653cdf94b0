"""The streaming upload sink on its own: limits by sniffed kind, commit, abort, writer failures."""

from __future__ import annotations

import hashlib

import anyio
import pytest

from service.api.upload import UploadLimits, UploadSink, UploadTooLarge
from vmcore_parsers.errors import EmptyInput

MIB = 1024 * 1024
ELF_HEAD = b"\x7fELF\x02\x01\x01\x00" + bytes(504)


class RecordingWriter:
    """A blob writer that keeps what it is given; can be told to fail on the n-th write."""

    def __init__(self, fail_on_write: int | None = None) -> None:
        self.data = bytearray()
        self.writes = 0
        self.committed = False
        self.aborted = False
        self.fail_on_write = fail_on_write

    def write(self, chunk: bytes) -> None:
        self.writes += 1
        if self.fail_on_write is not None and self.writes >= self.fail_on_write:
            raise OSError(28, "No space left on device")
        self.data += chunk

    def commit(self) -> tuple[int, str]:
        self.committed = True
        return len(self.data), hashlib.sha256(self.data).hexdigest()

    def abort(self) -> None:
        self.aborted = True


LIMITS = UploadLimits(max_log_bytes=2 * MIB, max_dump_bytes=8 * MIB)


async def _feed(sink: UploadSink, data: bytes, chunk: int = 64 * 1024) -> None:
    for start in range(0, len(data), chunk):
        await sink.write(data[start : start + chunk])


def test_a_small_log_is_committed_in_one_go() -> None:
    writer = RecordingWriter()
    sink = UploadSink(writer, LIMITS)
    data = b"[    0.000000] Linux version 6.1.0\nKernel panic - not syncing: test\n"

    async def run() -> None:
        await _feed(sink, data)
        stored = await sink.finish()
        assert stored.kind == "log"
        assert stored.size == len(data)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()

    anyio.run(run)
    assert writer.committed and bytes(writer.data) == data


def test_a_large_dump_goes_through_the_background_writer_intact() -> None:
    writer = RecordingWriter()
    sink = UploadSink(writer, LIMITS)
    data = ELF_HEAD + bytes(range(256)) * (6 * MIB // 256)

    async def run() -> None:
        await _feed(sink, data, chunk=100_000)
        stored = await sink.finish()
        assert (stored.kind, stored.format, stored.size) == ("vmcore", "elf", len(data))

    anyio.run(run)
    assert bytes(writer.data) == data


def test_the_log_limit_applies_to_text_and_the_dump_limit_to_dumps() -> None:
    async def run(data: bytes) -> None:
        await _feed(UploadSink(RecordingWriter(), LIMITS), data)

    with pytest.raises(UploadTooLarge) as too_big_log:
        anyio.run(run, b"log line\n" * (3 * MIB // 9))
    assert too_big_log.value.limit == 2 * MIB
    anyio.run(run, ELF_HEAD + bytes(3 * MIB))  # 3 MiB: fine for a dump
    with pytest.raises(UploadTooLarge) as too_big_dump:
        anyio.run(run, ELF_HEAD + bytes(9 * MIB))
    assert too_big_dump.value.what == "a dump"


def test_empty_upload_is_refused_and_nothing_committed() -> None:
    writer = RecordingWriter()

    async def run() -> None:
        await UploadSink(writer, LIMITS).finish()

    with pytest.raises(EmptyInput):
        anyio.run(run)
    assert not writer.committed


def test_a_failing_disk_surfaces_as_an_error_and_the_blob_is_aborted() -> None:
    writer = RecordingWriter(fail_on_write=3)
    sink = UploadSink(writer, LIMITS)

    async def run() -> None:
        with anyio.fail_after(30):  # a dead writer thread must never leave the upload hanging
            try:
                await _feed(sink, ELF_HEAD + bytes(7 * MIB), chunk=256 * 1024)
                await sink.finish()
            except BaseException:
                sink.abort()
                raise

    with pytest.raises(OSError, match="No space left"):
        anyio.run(run)
    assert writer.aborted
    assert not writer.committed


def test_abort_mid_stream_discards_without_blocking() -> None:
    writer = RecordingWriter()
    sink = UploadSink(writer, LIMITS)

    async def run() -> None:
        await _feed(sink, ELF_HEAD + bytes(5 * MIB))
        sink.abort()
        await anyio.sleep(0.5)  # the writer thread aborts after its current batch

    anyio.run(run)
    assert writer.aborted
    assert not writer.committed
