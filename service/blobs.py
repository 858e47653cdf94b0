"""Blob storage for uploads and extracted logs: a local directory, or S3-compatible storage.

Writes stream in chunks with a running sha256 (memory stays bounded whatever the size) and
become visible atomically: the local store writes a temporary file and renames it, S3 uses a
multipart upload that exists only once completed. A reader never sees half a blob. Large
durable local writes bypass the page cache (O_DIRECT) where the filesystem allows it.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import mmap
import os
import queue
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote, urlparse

from service.db.models import new_id
from service.settings import Settings

# S3 needs parts of at least 5 MiB (except the last); 8 MiB bounds the buffer per upload.
S3_PART_BYTES = 8 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024
# A local write starts the writeback of what it wrote every this many bytes (see _LocalWriter).
WRITEBACK_BYTES = 32 * 1024 * 1024
_FADVISE = hasattr(os, "posix_fadvise")
# A durable local write past this size is copied into a page-aligned stage of this size and
# written with direct I/O by a second thread while the caller hashes (see _LocalWriter).
DIRECT_STAGE_BYTES = 4 * 1024 * 1024
# Chunks waiting for that thread: with the upload's ~256 KiB chunks, about 4 MiB.
DIRECT_QUEUED_CHUNKS = 16
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
_KEY = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


class BlobError(Exception):
    """A blob store failure with a stable `code`."""

    code = "internal_error"


class BlobNotFoundError(BlobError, KeyError):
    """No blob under this key."""

    code = "not_found"


class BlobTooLargeError(BlobError):
    """A write went past its `max_bytes`; nothing was stored."""

    code = "payload_too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the upload is larger than the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


def check_key(key: str) -> str:
    """Return `key` if it is a safe relative key (letters, digits, `._-`, `/` separators, no
    `..`); `ValueError` otherwise. Keys are made by the service, never taken from users."""
    if not _KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid blob key {key!r}")
    return key


def raw_upload_key(tenant_id: str) -> str:
    """A fresh key for an upload's raw bytes."""
    return check_key(f"raw/{tenant_id}/{new_id('blob')}")


def extracted_log_key(tenant_id: str, job_id: str, attempt: int) -> str:
    """The key of a job's extracted kernel log, one per attempt: a worker that lost its lease
    can clean up its own blob without touching the one its successor wrote."""
    return check_key(f"logs/{tenant_id}/{job_id}-{attempt}.log")


class BlobWriter(Protocol):
    """An in-progress write: `write` chunks, then `commit` (visible) or `abort` (discarded)."""

    def write(self, chunk: bytes) -> None:
        """Append a chunk; raises `BlobTooLargeError` (and aborts) past the limit."""

    def commit(self) -> tuple[int, str]:
        """Make the blob visible; returns its size and sha256 hex."""

    def abort(self) -> None:
        """Discard what was written (safe to call twice or after a failure)."""


class BlobStore(Protocol):
    """Where upload bytes and extracted logs live. Keys come from `raw_upload_key` and
    `extracted_log_key`."""

    def writer(self, key: str, max_bytes: int | None = None) -> BlobWriter:
        """Start a streamed write to `key` (None: no size limit). The blob is on stable
        storage when `commit` returns."""

    def put_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        max_bytes: int | None = None,
        *,
        durable: bool = True,
    ) -> tuple[int, str]:
        """Store the chunks under `key`; returns size and sha256 hex. Nothing is stored when it
        fails (e.g. `BlobTooLargeError` past `max_bytes`).

        `durable=False` skips the local store's fsync: the blob is complete for every reader
        and survives the process dying, but an OS crash or power loss may leave it missing or
        short. Only for data that can be derived again (the extracted log)."""

    def put_file(self, key: str, path: Path) -> None:
        """Move a finished local file (written under `staging_dir()`) into the store under
        `key`; the file is gone afterwards. Atomic for readers."""

    def staging_dir(self) -> Path:
        """A local directory for files on their way into the store (for the local store, on
        the same filesystem, so `put_file` is a rename)."""

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """Read a blob as a binary file; `BlobNotFoundError` when missing."""

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A real file path holding the blob, valid inside the `with` block (for the
        sandboxed extractor); do not modify it. `BlobNotFoundError` when missing."""

    def delete(self, key: str) -> None:
        """Remove a blob; a missing blob is not an error."""

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""

    def stale_keys(self, prefix: str, older_than: datetime) -> Iterator[str]:
        """The keys under `prefix` (e.g. `raw/`) last written before `older_than`."""

    def sweep_unfinished(self, older_than: datetime) -> int:
        """Delete writes that never finished (a process killed mid-upload left a temporary
        file or an open multipart upload) last touched before `older_than`; how many."""


def _put_stream(writer: BlobWriter, chunks: Iterable[bytes]) -> tuple[int, str]:
    try:
        for chunk in chunks:
            writer.write(chunk)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


class _DirectStages:
    """Copies chunks into a page-aligned stage and writes each full stage with O_DIRECT, in
    its own thread, while the producer hashes the next chunks.

    Direct writes skip the page cache: no copy into it, no dirty pages to write back later,
    no eviction of what other readers cache (a 64 GiB dump passes through without touching
    it). Memory: one stage plus at most `DIRECT_QUEUED_CHUNKS` chunks waiting (the blob
    store's callers write chunks of a megabyte or less).
    """

    def __init__(self, fd: int, stage: mmap.mmap) -> None:
        self._fd = fd
        self._stage = stage  # full: written first
        self._filled = len(stage)
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=DIRECT_QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="panicdx-blob-io", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._write_stage()
            while (chunk := self._chunks.get()) is not None:
                self._copy(memoryview(chunk))
        except BaseException as exc:  # reported to the producer at its next call
            self._error = exc
            while self._chunks.get() is not None:  # never leave the producer blocked
                pass

    def _copy(self, data: memoryview) -> None:
        while data:
            count = min(len(data), len(self._stage) - self._filled)
            self._stage[self._filled : self._filled + count] = data[:count]
            self._filled += count
            data = data[count:]
            if self._filled == len(self._stage):
                self._write_stage()

    def _write_stage(self) -> None:
        with memoryview(self._stage) as view:
            _write_all(self._fd, view)
        self._filled = 0

    def put(self, chunk: bytes) -> None:
        """Queue a chunk (waits while `DIRECT_QUEUED_CHUNKS` are waiting)."""
        self._raise_if_failed()
        self._chunks.put(chunk)

    def finish(self) -> tuple[mmap.mmap, int]:
        """Wait until every full stage is written; the stage and how much of it holds the
        tail, still to be written. Raises the first write error."""
        self._chunks.put(None)
        self._thread.join()
        self._raise_if_failed()
        return self._stage, self._filled

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for `fd`; False when the filesystem refuses it (tmpfs, ...)."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | _O_DIRECT if on else flags & ~_O_DIRECT)
    except OSError:
        return False
    return True


class _LocalWriter:
    """Writes a temporary file, then fsyncs (when `durable`) and renames it into place.

    A durable write fills a page-aligned stage of `DIRECT_STAGE_BYTES` first (a smaller blob
    is then one write at commit); once it is full the file switches to direct I/O (O_DIRECT)
    and `_DirectStages` takes the following chunks in its own thread while this one hashes.
    The tail is written through the page cache at commit. Measured on this project's machine
    (ext4 on virtio), 2 GiB from one thread: direct 1250-1670 MiB/s for 0.2-0.3 s of CPU,
    against 390-600 MiB/s and 2.6-4.3 s of CPU through the page cache with the writeback
    started as it goes (benchmarks/README.md, Service).

    Where direct I/O is refused (tmpfs, some network filesystems) and for `durable=False`
    writes, the bytes go through the page cache, and large writes start the kernel's writeback
    of each finished `WRITEBACK_BYTES` window as they go (`posix_fadvise(DONTNEED)` starts
    asynchronous writeback of dirty pages on Linux and drops them once clean), so the fsync at
    commit only waits for the last window and a 64 GiB dump does not evict the page cache.
    """

    def __init__(
        self, final: Path, tmp_dir: Path, max_bytes: int | None, *, durable: bool = True
    ) -> None:
        self._final = final
        self._max = max_bytes
        self._durable = durable
        self._flushed_to = 0
        self._size = 0
        self._hash = hashlib.sha256()
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self._fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        self._tmp = Path(name)
        self._open = True
        # Staged for direct I/O until the filesystem refuses it.
        self._staged = durable and bool(_O_DIRECT)
        self._stage: mmap.mmap | None = None
        self._filled = 0
        self._direct: _DirectStages | None = None

    def write(self, chunk: bytes) -> None:
        if not self._open:
            raise BlobError("write after commit or abort")
        self._size += len(chunk)
        if self._max is not None and self._size > self._max:
            self.abort()
            raise BlobTooLargeError(self._max)
        self._hash.update(chunk)  # releases the GIL for large chunks
        if self._direct is not None:
            self._direct.put(chunk)
        elif self._staged:
            self._copy_to_stages(memoryview(chunk))
        else:
            self._write_through(memoryview(chunk))

    def _copy_to_stages(self, data: memoryview) -> None:
        """Fill the first stage; once full, direct I/O takes the rest (or the page cache)."""
        if self._stage is None:
            self._stage = mmap.mmap(-1, DIRECT_STAGE_BYTES)  # anonymous: page-aligned
            self._filled = 0
        count = min(len(data), DIRECT_STAGE_BYTES - self._filled)
        self._stage[self._filled : self._filled + count] = data[:count]
        self._filled += count
        if self._filled < DIRECT_STAGE_BYTES:
            return
        stage, self._stage = self._stage, None
        if _set_direct(self._fd, True):
            self._direct = _DirectStages(self._fd, stage)
            if len(data) > count:
                self._direct.put(bytes(data[count:]))
            return
        self._staged = False  # refused (tmpfs, ...): the page cache takes it all
        with memoryview(stage) as view:
            self._write_through(view)
        stage.close()
        self._write_through(data[count:])

    def _write_through(self, data: memoryview) -> None:
        if not data:
            return
        _write_all(self._fd, data)
        if self._size - self._flushed_to >= WRITEBACK_BYTES:
            self._start_writeback()

    def _start_writeback(self) -> None:
        # Everything but the last window, whose pages may still be written to.
        end = self._size - WRITEBACK_BYTES // 2
        if _FADVISE and end > self._flushed_to:
            os.posix_fadvise(
                self._fd, self._flushed_to, end - self._flushed_to, os.POSIX_FADV_DONTNEED
            )
            self._flushed_to = end

    def _finish_writes(self) -> None:
        """Wait for the direct writes, then write the partial last stage through the cache."""
        if self._direct is not None:
            direct, self._direct = self._direct, None
            self._stage, self._filled = direct.finish()
            _set_direct(self._fd, False)  # the tail need not be a multiple of the block size
        if self._stage is not None:
            stage, self._stage = self._stage, None
            with memoryview(stage) as view:
                _write_all(self._fd, view[: self._filled])
            stage.close()

    def commit(self) -> tuple[int, str]:
        if not self._open:
            raise BlobError("commit after commit or abort")
        try:
            self._finish_writes()
            if self._durable:
                # The database row that names this blob is committed after this returns: the
                # blob must be on disk first, or an OS crash could leave a row pointing at a
                # short file. (A process crash alone cannot: the kernel keeps the written
                # pages.) Direct writes need it too: for the device's cache and the metadata.
                os.fsync(self._fd)
        except BaseException:
            self.abort()
            raise
        self._open = False
        os.close(self._fd)
        self._final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, self._final)  # atomic within one filesystem
        return self._size, self._hash.hexdigest()

    def abort(self) -> None:
        if self._open:
            self._open = False
            if self._direct is not None:
                with suppress(BaseException):  # its error, if any, is not this caller's
                    self._stage, _ = self._direct.finish()
                self._direct = None
            if self._stage is not None:
                self._stage.close()
                self._stage = None
            os.close(self._fd)
        with suppress(FileNotFoundError):
            self._tmp.unlink()


class LocalBlobStore:
    """Blobs as files under a directory; temporary files live in `<root>/.tmp` (same
    filesystem, so the final rename is atomic)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def writer(self, key: str, max_bytes: int | None = None) -> BlobWriter:
        """Start a streamed write to `key` (None: no size limit); fsynced at commit."""
        return _LocalWriter(self._path(key), self.root / ".tmp", max_bytes)

    def put_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        max_bytes: int | None = None,
        *,
        durable: bool = True,
    ) -> tuple[int, str]:
        """Store the chunks under `key`; returns size and sha256 hex. `durable=False`: no
        fsync (see `BlobStore.put_stream`)."""
        writer = _LocalWriter(self._path(key), self.root / ".tmp", max_bytes, durable=durable)
        return _put_stream(writer, chunks)

    def put_file(self, key: str, path: Path) -> None:
        """Move `path` into the store (a rename on the same filesystem, else copy + delete)."""
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, final)

    def staging_dir(self) -> Path:
        """`<root>/.staging`, on the store's filesystem."""
        path = self.root / ".staging"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        """Read a blob as a binary file; `BlobNotFoundError` when missing."""
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(key) from None
        with handle:
            yield handle

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """The blob's own file (no copy)."""
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFoundError(key)
        yield path

    def delete(self, key: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        with suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        return self._path(key).is_file()

    def stale_keys(self, prefix: str, older_than: datetime) -> Iterator[str]:
        """The files under `<root>/<prefix>` modified before `older_than`, as keys."""
        base = self.root / check_key(prefix.strip("/"))
        if not base.is_dir():
            return
        cutoff = older_than.timestamp()
        for path in base.rglob("*"):
            with suppress(FileNotFoundError):  # deleted meanwhile
                if path.is_file() and path.stat().st_mtime < cutoff:
                    yield path.relative_to(self.root).as_posix()

    def sweep_unfinished(self, older_than: datetime) -> int:
        """Delete temporary files of writes that stopped (a live upload keeps its file's
        modification time current) before `older_than`."""
        cutoff = older_than.timestamp()
        removed = 0
        tmp = self.root / ".tmp"
        for path in tmp.glob("upload-*") if tmp.is_dir() else ():
            with suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed


class _S3Writer:
    def __init__(self, client: Any, bucket: str, key: str, max_bytes: int | None) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._max = max_bytes
        self._size = 0
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._done = False

    def write(self, chunk: bytes) -> None:
        if self._done:
            raise BlobError("write after commit or abort")
        self._size += len(chunk)
        if self._max is not None and self._size > self._max:
            self.abort()
            raise BlobTooLargeError(self._max)
        self._hash.update(chunk)
        self._buffer += chunk
        while len(self._buffer) >= S3_PART_BYTES:
            self._send_part(bytes(self._buffer[:S3_PART_BYTES]))
            del self._buffer[:S3_PART_BYTES]

    def _send_part(self, data: bytes) -> None:
        if self._upload_id is None:
            created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = str(created["UploadId"])
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> tuple[int, str]:
        if self._done:
            raise BlobError("commit after commit or abort")
        if self._upload_id is None:
            # Small blob: one PUT is just as atomic.
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
        else:
            if self._buffer:
                self._send_part(bytes(self._buffer))
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer.clear()
        self._done = True
        return self._size, self._hash.hexdigest()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer.clear()
        if self._upload_id is not None:
            with suppress(Exception):  # best effort: the bucket's lifecycle rule is the backstop
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )


class _BodyReader(io.RawIOBase):
    """A botocore StreamingBody as a raw binary stream (so it can be buffered)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class S3BlobStore:
    """Blobs as objects in an S3-compatible bucket under a key prefix.

    Configured by `blob_url = s3://bucket/prefix`, `s3_endpoint_url` (MinIO, Ceph RGW, ...)
    and `s3_region`; credentials come from boto3's usual sources.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        staging: Path | None = None,
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._staging = staging or Path(tempfile.gettempdir()) / "panicdx-staging"
        self._client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def writer(self, key: str, max_bytes: int | None = None) -> BlobWriter:
        """Start a streamed (multipart) write to `key` (None: no size limit)."""
        return _S3Writer(self._client, self.bucket, self._key(key), max_bytes)

    def put_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        max_bytes: int | None = None,
        *,
        durable: bool = True,
    ) -> tuple[int, str]:
        """Store the chunks under `key`; returns size and sha256 hex. An object is durable
        once stored, whatever `durable` says."""
        del durable  # S3 acknowledges a PUT only once it is stored
        return _put_stream(self.writer(key, max_bytes), chunks)

    def put_file(self, key: str, path: Path) -> None:
        """Upload `path` (multipart for big files, bounded memory), then delete it."""
        self._client.upload_file(str(path), self.bucket, self._key(key))
        path.unlink()

    def staging_dir(self) -> Path:
        """A local directory (`<data_dir>/tmp` by default) for files before upload."""
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        """Stream a blob from the bucket; `BlobNotFoundError` when missing."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._client.exceptions.NoSuchKey:
            raise BlobNotFoundError(key) from None
        with io.BufferedReader(_BodyReader(answer["Body"]), _COPY_CHUNK) as reader:
            yield reader

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """Download the blob to a temporary file under `staging_dir()` (dumps can be far
        larger than /tmp), removed after the block."""
        with tempfile.TemporaryDirectory(prefix="blob-", dir=self.staging_dir()) as scratch:
            path = Path(scratch) / "blob"
            with self.open(key) as source, path.open("wb") as target:
                shutil.copyfileobj(source, target, _COPY_CHUNK)
            yield path

    def delete(self, key: str) -> None:
        """Remove an object; S3 treats a missing object as deleted."""
        self._client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        """Whether the object exists (HEAD)."""
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def stale_keys(self, prefix: str, older_than: datetime) -> Iterator[str]:
        """The objects under `prefix` last modified before `older_than`, as keys."""
        own = f"{self.prefix}/" if self.prefix else ""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=own + check_key(prefix.strip("/")) + "/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                if item["LastModified"] < older_than:
                    yield str(item["Key"])[len(own) :]

    def sweep_unfinished(self, older_than: datetime) -> int:
        """Abort multipart uploads under the store's prefix started before `older_than` (their
        parts are stored, and billed, until aborted)."""
        removed = 0
        pages = self._client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < older_than:
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store for `settings.effective_blob_url` (`file://DIR` or `s3://bucket/prefix`);
    `ValueError` for another scheme."""
    url = settings.effective_blob_url
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"blob URL {url!r} names no bucket (s3://bucket/prefix)")
        return S3BlobStore(
            parsed.netloc,
            parsed.path,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            staging=settings.data_dir.resolve() / "tmp",
        )
    raise ValueError(f"unsupported blob URL {url!r}: use file:///path or s3://bucket/prefix")
