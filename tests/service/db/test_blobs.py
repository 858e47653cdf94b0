"""The blob stores: the local directory for real, and the S3 client against moto's local S3
endpoint (an emulator running in this process over HTTP; no real S3 service is reachable here).
The S3 tests skip when moto is not installed, unless PANICDX_REQUIRE_S3_EMULATOR=1."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.blobs import (
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    LocalBlobStore,
    S3BlobStore,
    check_key,
    extracted_log_key,
    open_blob_store,
    raw_upload_key,
)
from service.settings import Settings

MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a loopback port, for the module."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        if os.environ.get("PANICDX_REQUIRE_S3_EMULATOR") == "1":
            pytest.fail("moto[server] is not installed (PANICDX_REQUIRE_S3_EMULATOR=1)")
        pytest.skip("moto[server] is not installed: no local S3 endpoint to test against")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3BlobStore:
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"panicdx-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    settings = Settings(
        data_dir=tmp_path, blob_url=f"s3://{bucket}/prefix/", s3_endpoint_url=s3_endpoint
    )
    store = open_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return open_blob_store(Settings(data_dir=tmp_path))
    result: BlobStore = request.getfixturevalue("s3_store")
    return result


def _chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    block = bytes(range(256)) * (size // 256)
    sent = 0
    while sent < total:
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


def test_put_stream_returns_size_and_sha256(store: BlobStore) -> None:
    data = b"".join(_chunks(20 * MIB + 123))  # several S3 parts plus a short last one
    size, sha256 = store.put_stream("raw/t/one", _chunks(20 * MIB + 123))
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert store.exists("raw/t/one")
    with store.open("raw/t/one") as handle:
        assert handle.read() == data
    with store.local_path("raw/t/one") as path:
        assert path.read_bytes() == data
    store.delete("raw/t/one")
    store.delete("raw/t/one")  # deleting twice is fine
    assert not store.exists("raw/t/one")


def test_missing_blobs_raise_not_found(store: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError), store.open("raw/t/nothing"):
        pass
    with pytest.raises(BlobNotFoundError), store.local_path("raw/t/nothing"):
        pass


def test_too_large_stores_nothing(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(BlobTooLargeError) as caught:
        store.put_stream("raw/t/big", _chunks(10 * MIB), max_bytes=9 * MIB)
    assert caught.value.code == "payload_too_large"
    assert not store.exists("raw/t/big")
    if isinstance(store, LocalBlobStore):
        assert list((store.root / ".tmp").iterdir()) == []  # the temporary file is gone


def test_a_failed_stream_leaves_no_blob(store: BlobStore) -> None:
    def broken() -> Iterator[bytes]:
        yield b"x" * MIB
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put_stream("raw/t/broken", broken())
    assert not store.exists("raw/t/broken")


def test_writer_commit_and_abort(store: BlobStore) -> None:
    writer = store.writer("raw/t/w")
    writer.write(b"hello ")
    writer.write(b"world")
    assert not store.exists("raw/t/w")  # invisible until committed
    assert writer.commit() == (11, hashlib.sha256(b"hello world").hexdigest())
    assert store.exists("raw/t/w")
    aborted = store.writer("raw/t/aborted")
    aborted.write(b"partial")
    aborted.abort()
    aborted.abort()
    assert not store.exists("raw/t/aborted")


def test_put_file_moves_a_staged_file(store: BlobStore) -> None:
    staged = store.staging_dir() / "upload.part"
    staged.write_bytes(b"staged bytes")
    store.put_file("raw/t/staged", staged)
    assert not staged.exists()
    with store.open("raw/t/staged") as handle:
        assert handle.read() == b"staged bytes"


_MEASURE = """
import sys, tracemalloc
from pathlib import Path
from service.blobs import LocalBlobStore
MIB = 1 << 20
block = bytes(range(256)) * (MIB // 256)
store = LocalBlobStore(Path(sys.argv[1]))
tracemalloc.start()
store.put_stream("raw/t/large", (block for _ in range(int(sys.argv[2]))))
print(tracemalloc.get_traced_memory()[1])
"""


def test_local_writes_use_bounded_memory(tmp_path: Path) -> None:
    # In a fresh interpreter, so no other test's threads allocate during the measurement.
    def peak(mib: int) -> int:
        answer = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(tmp_path), str(mib)],
            capture_output=True,
            check=True,
            text=True,
            timeout=60,
        )
        return int(answer.stdout)

    small, large = peak(4), peak(128)
    assert large < 4 * MIB  # one chunk at a time, not the whole 128 MiB
    assert large - small < MIB  # and it does not grow with the size


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/../b", "", "a b", "a/./b"])
def test_unsafe_keys_are_refused(key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        LocalBlobStore(tmp_path).put_stream(key, [b"x"])


def test_key_helpers_make_valid_distinct_keys() -> None:
    assert raw_upload_key("tn_1") != raw_upload_key("tn_1")
    assert check_key(raw_upload_key("tn_1")).startswith("raw/tn_1/")
    assert extracted_log_key("tn_1", "dx_2", 3) == "logs/tn_1/dx_2-3.log"


def test_open_blob_store_by_url(tmp_path: Path) -> None:
    local = open_blob_store(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalBlobStore) and local.root == (tmp_path / "blobs").resolve()
    explicit = open_blob_store(Settings(blob_url=(tmp_path / "elsewhere").as_uri()))
    assert isinstance(explicit, LocalBlobStore) and explicit.root == tmp_path / "elsewhere"
    bad: dict[str, Any] = {"blob_url": "ftp://host/x"}
    with pytest.raises(ValueError, match="unsupported blob URL"):
        open_blob_store(Settings(**bad))
    with pytest.raises(ValueError, match="no bucket"):
        open_blob_store(Settings(blob_url="s3:///prefix"))


def test_stale_keys_lists_old_blobs_under_a_prefix(store: BlobStore) -> None:
    store.put_stream("raw/tn_a/blob-1", [b"raw bytes"])
    store.put_stream("logs/tn_a/job-1.log", [b"extracted"])
    now = datetime.now(UTC)
    assert list(store.stale_keys("raw/", now + timedelta(hours=1))) == ["raw/tn_a/blob-1"]
    assert list(store.stale_keys("raw/", now - timedelta(hours=1))) == []
    assert list(store.stale_keys("nothing-here/", now + timedelta(hours=1))) == []


def test_local_unfinished_writes_are_swept_once_stale(tmp_path: Path) -> None:
    """A process killed mid-upload leaves its temporary file, customer bytes included."""
    store = LocalBlobStore(tmp_path / "blobs")
    live = store.writer("raw/tn_a/blob-live")
    live.write(b"still arriving")
    dead = store.writer("raw/tn_a/blob-dead")
    dead.write(b"never finished")
    temporary = sorted((tmp_path / "blobs" / ".tmp").glob("upload-*"))
    assert len(temporary) == 2
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    stale = (an_hour_ago - timedelta(minutes=5)).timestamp()
    os.utime(dead._tmp, (stale, stale))  # type: ignore[attr-defined]
    assert store.sweep_unfinished(an_hour_ago) == 1
    assert [p.exists() for p in temporary] == [p != dead._tmp for p in temporary]  # type: ignore[attr-defined]
    live.commit()
    dead.abort()  # the swept file is already gone: still safe
    assert store.exists("raw/tn_a/blob-live")


def test_s3_unfinished_multipart_uploads_are_aborted(s3_store: S3BlobStore) -> None:
    writer = s3_store.writer("raw/tn_a/blob-big")
    writer.write(bytes(9 * MIB))  # past the first 8 MiB part: a multipart upload is open
    later = datetime.now(UTC) + timedelta(hours=1)
    assert s3_store.sweep_unfinished(later) == 1
    assert s3_store.sweep_unfinished(later) == 0
