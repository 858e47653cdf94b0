"""Stream an upload into the blob store with a size limit chosen by sniffing its first bytes.

Request bodies are never held in memory: chunks are gathered into batches of about a megabyte
and handed, through a small bounded queue, to a thread that feeds the blob store's streaming
writer (which hashes them), so the event loop stays free, receiving overlaps with hashing and
writing, and memory stays flat whatever the upload's size. The first bytes decide
the limit: a text log gets the log limit; a crash dump, archive or compressed file the dump
limit. Past it the write is aborted and `UploadTooLarge` raised, so nothing is left behind.

Multipart bodies are parsed as they stream (python-multipart's push parser): the part named
`file` goes to the blob writer, the small metadata fields are kept in memory with a cap.
"""

from __future__ import annotations

import queue
import re
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from vmcore_parsers.dumps.detect import SNIFF_BYTES, Kind, compression_of, dump_format, sniff_kind
from vmcore_parsers.errors import EmptyInput

if TYPE_CHECKING:
    from service.blobs import BlobWriter

# Chunks are written in batches of this size: few thread hops, small memory.
WRITE_BATCH_BYTES = 1024 * 1024
# Batches waiting for the writer thread: bounds an upload's memory to about 5 MiB.
QUEUED_BATCHES = 4
# The start of the upload kept in memory to look inside a compressed file once it is stored.
PEEK_BYTES = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16
FILE_FIELD = "file"
_DUMP_KINDS: frozenset[Kind] = frozenset({"vmcore", "archive", "compressed"})


class UploadTooLarge(Exception):
    """The upload passed the limit for its kind; `what` is "a log" or "a dump"."""

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(f"over the {limit}-byte limit for {what}")
        self.limit = limit
        self.what = what


class MalformedUpload(Exception):
    """The body cannot be read as the upload its content type announces."""


@dataclass(frozen=True)
class UploadLimits:
    """Largest accepted upload for a text log and for a dump (archives and compressed files)."""

    max_log_bytes: int
    max_dump_bytes: int


@dataclass(frozen=True)
class StoredUpload:
    """A fully received upload, committed to the blob store.

    `kind` is what the bytes hold ("log", "vmcore", "archive", or "unknown"), looking inside a
    compression wrapper when its first bytes can be read; `format` names the dump format or the
    wrapper; `compressed` is True when a wrapper was seen.
    """

    size: int
    sha256: str
    kind: Kind
    format: str | None


class LazyBlobWriter:
    """A blob writer opened on its first `write` or `commit`, in whichever thread that runs.

    Lets the event loop start an upload without a thread hop just to create the temporary
    file: the sink's writes already happen in worker threads. An abort before anything was
    written has nothing to discard.
    """

    def __init__(self, open_writer: Callable[[], BlobWriter]) -> None:
        self._open = open_writer
        self._writer: BlobWriter | None = None
        self._aborted = False

    def _get(self) -> BlobWriter:
        if self._aborted:
            raise RuntimeError("the upload was aborted")
        if self._writer is None:
            self._writer = self._open()
        return self._writer

    def write(self, chunk: bytes) -> None:
        """Append a chunk (opening the blob first)."""
        self._get().write(chunk)

    def commit(self) -> tuple[int, str]:
        """Make the blob visible; its size and sha256 hex."""
        return self._get().commit()

    def abort(self) -> None:
        """Discard what was written, if anything was."""
        self._aborted = True
        if self._writer is not None:
            self._writer.abort()


class _BackgroundWriter:
    """Owns a blob writer in its own thread, fed batches through a small bounded queue.

    Receiving the next bytes (event loop) then overlaps with hashing and writing the previous
    ones (this thread), and memory stays bounded by the queue. Only this thread touches the
    writer, so an abort can never race a write.
    """

    _COMMIT = object()
    _ABORT = object()

    def __init__(self, writer: BlobWriter) -> None:
        self._writer = writer
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUED_BATCHES)
        self._error: BaseException | None = None
        self._result: tuple[int, str] | None = None
        self._aborting = False
        self._thread = threading.Thread(target=self._run, name="panicdx-upload", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is self._ABORT or self._aborting:
                    self._writer.abort()
                    return
                if item is self._COMMIT:
                    self._result = self._writer.commit()
                    return
                for data in item:  # type: ignore[attr-defined]
                    self._writer.write(data)
        except BaseException as exc:
            self._error = exc
            with suppress(Exception):
                self._writer.abort()
            self._drain()

    def _drain(self) -> None:
        """After a failure: empty the queue until the producer's last message (so it never
        blocks on a full queue), or until it aborted and nothing is left."""
        while True:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._aborting:
                    return
                continue
            if item is self._COMMIT or item is self._ABORT:
                return

    async def send(self, batch: list[bytes]) -> None:
        """Queue a batch; waits (in a thread) only when the queue is full."""
        self._raise_if_failed()
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            await anyio.to_thread.run_sync(self._queue.put, batch)

    async def commit(self) -> tuple[int, str]:
        """Wait for every batch to be written, then commit the blob."""
        await anyio.to_thread.run_sync(self._queue.put, self._COMMIT)
        await anyio.to_thread.run_sync(self._thread.join)
        self._raise_if_failed()
        assert self._result is not None
        return self._result

    def abort(self) -> None:
        """Discard the blob; returns at once (the thread aborts after its current batch)."""
        self._aborting = True
        with suppress(queue.Full):  # a full queue means the thread is busy and sees the flag
            self._queue.put_nowait(self._ABORT)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class UploadSink:
    """Feeds one upload to a blob writer: batching, limits by kind, commit or abort.

    Small uploads (a log) are written and committed in one thread hop at the end; past the
    first megabyte a background writer thread takes over (see `_BackgroundWriter`).
    """

    def __init__(self, writer: BlobWriter, limits: UploadLimits) -> None:
        self._writer = writer
        self._background: _BackgroundWriter | None = None
        self._limits = limits
        self._size = 0
        self._head = b""
        self._limit: int | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._done = False

    @property
    def size(self) -> int:
        """Bytes received so far."""
        return self._size

    async def write(self, data: bytes) -> None:
        """Accept the next chunk; raises `UploadTooLarge` past the limit for the kind."""
        if not data:
            return
        self._size += len(data)
        if len(self._head) < PEEK_BYTES:
            self._head += data[: PEEK_BYTES - len(self._head)]
        if self._limit is None and len(self._head) >= SNIFF_BYTES:
            self._limit = self._limit_for(sniff_kind(self._head[:SNIFF_BYTES]))
        self._check_limit()
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= WRITE_BATCH_BYTES:
            if self._background is None:
                self._background = _BackgroundWriter(self._writer)
            await self._background.send(self._take_pending())

    async def finish(self) -> StoredUpload:
        """Write what is left and commit the blob; describe what was stored.

        Raises `EmptyInput` for an upload without a single byte (nothing is stored).
        """
        if self._size == 0:
            raise EmptyInput("the upload is empty: send a kernel log or a crash dump")
        kind = sniff_kind(self._head[:SNIFF_BYTES])
        if self._limit is None:
            self._limit = self._limit_for(kind)
            self._check_limit()
        if self._background is not None:
            if self._pending:
                await self._background.send(self._take_pending())
            size, sha256 = await self._background.commit()
        else:
            size, sha256 = await anyio.to_thread.run_sync(self._write_and_commit)
        self._done = True
        if kind == "compressed":
            kind = await anyio.to_thread.run_sync(_kind_inside, self._head)
        return StoredUpload(
            size=size,
            sha256=sha256,
            kind=kind,
            format=dump_format(self._head) or compression_of(self._head),
        )

    def abort(self) -> None:
        """Discard the partial blob (after an error); nothing is left in the store."""
        if self._done:
            return
        self._done = True
        if self._background is not None:
            self._background.abort()
        else:
            self._writer.abort()

    def _take_pending(self) -> list[bytes]:
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        return batch

    def _write_and_commit(self) -> tuple[int, str]:
        for data in self._take_pending():
            self._writer.write(data)
        return self._writer.commit()

    def _limit_for(self, kind: Kind) -> int:
        return self._limits.max_dump_bytes if kind in _DUMP_KINDS else self._limits.max_log_bytes

    def _check_limit(self) -> None:
        if self._limit is not None and self._size > self._limit:
            what = "a log" if self._limit == self._limits.max_log_bytes else "a dump"
            raise UploadTooLarge(self._limit, what)


def _kind_inside(head: bytes) -> Kind:
    """What a compressed upload holds, from its first (compressed) bytes; "unknown" if unsure."""
    from vmcore_parsers.dumps.wrappers import peek_decompressed

    compression = compression_of(head)
    if compression is None:
        return "unknown"
    with tempfile.NamedTemporaryFile(prefix="panicdx-peek-") as handle:
        handle.write(head)
        handle.flush()
        inner = peek_decompressed(Path(handle.name), compression, SNIFF_BYTES)
    if not inner:
        return "unknown"
    kind = sniff_kind(inner)
    return "unknown" if kind == "compressed" else kind


async def store_raw_body(chunks: AsyncIterator[bytes], sink: UploadSink) -> StoredUpload:
    """Stream a raw request body into `sink` (aborted, leaving nothing, on any error)."""
    try:
        async for chunk in chunks:
            await sink.write(chunk)
        return await sink.finish()
    except BaseException:
        sink.abort()
        raise


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    is_file: bool = False


@dataclass(frozen=True)
class MultipartUpload:
    """A parsed multipart upload: the stored file, its client-side name, the other fields."""

    stored: StoredUpload
    filename: str | None
    fields: dict[str, str]


class _MultipartReader:
    """Callbacks for python-multipart's push parser; file bytes wait in `pending` for a write."""

    def __init__(self) -> None:
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_parts = 0
        self.pending: list[bytes] = []
        self.problem: str | None = None
        self.ended = False

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }

    def fail(self, message: str) -> None:
        # Callbacks cannot raise through the parser cleanly; remember the first problem.
        if self.problem is None:
            self.problem = message

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_end(self) -> None:
        self.ended = True

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.header_name.lower()] = self.header_value
        self.header_name = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        raw_name = options.get(b"name")
        if raw_name is None:
            self.fail("a multipart part has no name")
            return
        self.part.name = raw_name.decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        if raw_filename is not None:
            self.part.filename = raw_filename.decode("utf-8", "replace")
        if self.part.name == FILE_FIELD:
            self.part.is_file = True
            self.file_parts += 1
            if self.file_parts > 1:
                self.fail(f"send one file per request (field {FILE_FIELD!r})")
            self.filename = self.part.filename
        elif self.part.filename is not None:
            self.fail(f"the file must be sent in the field {FILE_FIELD!r}, not {self.part.name!r}")
        elif len(self.fields) >= MAX_FIELDS:
            self.fail(f"too many form fields (at most {MAX_FIELDS})")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.problem is not None:
            return
        if self.part.is_file:
            self.pending.append(data[start:end])
            return
        self.part.data += data[start:end]
        if len(self.part.data) > MAX_FIELD_BYTES:
            self.fail(f"form field {self.part.name!r} is over {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if self.problem is None and not self.part.is_file and self.part.name is not None:
            self.fields[self.part.name] = self.part.data.decode("utf-8", "replace")


async def store_multipart_body(
    chunks: AsyncIterator[bytes], content_type: str, sink: UploadSink
) -> MultipartUpload:
    """Stream a multipart/form-data body: the `file` part into `sink`, fields in memory.

    Raises `MalformedUpload` for a body that is not valid multipart or has no `file` part, and
    `UploadTooLarge` past the limit; the sink is aborted (nothing stored) on any error.
    """
    try:
        _, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if not boundary:
            raise MalformedUpload("the multipart Content-Type has no boundary")
        reader = _MultipartReader()
        parser = MultipartParser(boundary, reader.callbacks())
        async for chunk in chunks:
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise MalformedUpload(f"the multipart body is malformed: {exc}") from None
            if reader.problem is not None:
                raise MalformedUpload(reader.problem)
            for piece in reader.pending:
                await sink.write(piece)
            reader.pending.clear()
        try:
            parser.finalize()
        except FormParserError as exc:
            raise MalformedUpload(f"the multipart body is malformed: {exc}") from None
        if reader.problem is not None:
            raise MalformedUpload(reader.problem)
        if not reader.ended:
            raise MalformedUpload("the multipart body ends before its closing boundary")
        if reader.file_parts == 0:
            raise MalformedUpload(f"the multipart body has no {FILE_FIELD!r} field")
        stored = await sink.finish()
    except BaseException:
        sink.abort()
        raise
    return MultipartUpload(stored=stored, filename=reader.filename, fields=reader.fields)


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(name: str | None) -> str | None:
    """The client's file name reduced to a safe display name (no directories, no controls)."""
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = _UNSAFE_NAME.sub("", base).strip()[:255]
    return base or None
