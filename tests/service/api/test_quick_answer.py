"""The quick answer is built from the job the request's own run finished (no re-read): it
must be exactly what a later GET of the same job returns. And an upload's blob is opened
lazily (by the first write, in a worker thread), so an aborted empty one leaves nothing. The
objects loaded at start-up are frozen out of the garbage collector's full passes (their pauses
were the tail of the request latency)."""

from __future__ import annotations

from pathlib import Path

from api_helpers import NFS_LOG, Service, TenantKeys, raw_headers

from service.api.upload import LazyBlobWriter
from service.blobs import LocalBlobStore


def test_the_quick_answer_is_what_get_returns(service: Service, tenant: TenantKeys) -> None:
    body = NFS_LOG.read_bytes() + b"\nquick-answer test line\n"
    answer = service.client.post(
        "/v1/diagnoses?host=db1&tags=a,b", content=body, headers=raw_headers(tenant.submitter)
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["state"] == "done" and job["result"] is not None
    again = service.client.get(f"/v1/diagnoses/{job['id']}", headers=tenant.reader)
    assert again.status_code == 200
    assert again.json() == job


def test_a_lazy_writer_opens_the_blob_on_first_write(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    opened: list[str] = []

    def open_writer() -> object:
        opened.append("raw/t/lazy")
        return store.writer("raw/t/lazy")

    writer = LazyBlobWriter(open_writer)  # type: ignore[arg-type]
    assert opened == []
    writer.write(b"panic\n")
    assert opened == ["raw/t/lazy"]
    assert writer.commit()[0] == 6
    assert store.exists("raw/t/lazy")

    untouched = LazyBlobWriter(lambda: store.writer("raw/t/never"))
    untouched.abort()
    assert not store.exists("raw/t/never")
    assert not list((tmp_path / ".tmp").iterdir())


def test_start_up_objects_are_out_of_the_collectors_full_passes(service: Service) -> None:
    import gc

    ctx = service.client.app.state.ctx  # type: ignore[attr-defined]
    entries = ctx.diagnoser.kb.entries  # loaded at start-up, alive as long as the app
    assert gc.is_tracked(entries)
    # Frozen objects sit in the permanent generation: no collection walks them.
    assert not any(o is entries for generation in (0, 1, 2) for o in gc.get_objects(generation))
    assert gc.get_freeze_count() > 0


def test_freezing_moves_what_is_alive_into_the_permanent_generation() -> None:
    import gc

    from service.api.main import freeze_long_lived_objects

    loaded = {"model": [object()], "kb": {"entry": [1, 2]}}
    assert any(o is loaded for generation in (0, 1, 2) for o in gc.get_objects(generation))
    freeze_long_lived_objects()
    assert not any(o is loaded for generation in (0, 1, 2) for o in gc.get_objects(generation))
