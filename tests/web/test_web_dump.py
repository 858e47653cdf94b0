"""Uploading a real crash dump through the console: 202, live job state, then the result.

The dump comes from the cache the dump-fixtures builder writes (tests/dumps, see
`python -m tests.dumps.build_dumps`): a kdump-compressed `makedumpfile -c -d 31` vmcore of a
QEMU guest that panicked on a NULL pointer write. Without it the test skips with the reason;
PANICDX_REQUIRE_DUMPS=1 makes a missing dump a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from web_helpers import Console, Server, only_job

DUMP_KIND = "null-deref"
DUMP_FILE = "vmcore.makedumpfile-c-d31"
DUMP_TIMEOUT_S = 300.0  # extraction runs in a resource-limited subprocess on 2 shared cores


def _dump_cache_root() -> Path:
    # Same rule as tests/dumps/cache.py (kept here so this module needs no import path tricks).
    override = os.environ.get("PANICDX_DUMP_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "panicdx" / "dumps"


@pytest.fixture(scope="session")
def real_dump() -> tuple[Path, dict[str, str]]:
    """(the dump file, its meta.json) or a skip saying how to build it."""
    root = _dump_cache_root()
    found = sorted(root.glob(f"*/{DUMP_KIND}/{DUMP_FILE}"))
    if not found:
        reason = (
            f"no real crash dump at {root}/<release>/{DUMP_KIND}/{DUMP_FILE}; build it with "
            "scripts/install-dump-tools.sh && .venv/bin/python -m tests.dumps.build_dumps"
        )
        if os.environ.get("PANICDX_REQUIRE_DUMPS") == "1":
            pytest.fail(reason + " (PANICDX_REQUIRE_DUMPS=1)")
        pytest.skip(reason)
    dump = found[-1]
    meta = json.loads((dump.parent / "meta.json").read_text())
    return dump, meta


RECORD_STATES_JS = """(widget) => {
  // Record every job state and upload percentage the widget shows, as it shows them.
  const root = widget.shadowRoot;
  window.__states = [];
  window.__percents = [];
  new MutationObserver(() => {
    const state = root.querySelector(".job").dataset.state;
    if (state && window.__states[window.__states.length - 1] !== state) window.__states.push(state);
  }).observe(root.querySelector(".job"), { attributes: true, attributeFilter: ["data-state"] });
  new MutationObserver(() => {
    window.__percents.push(Number(root.querySelector("#upload-progress").dataset.percent));
  }).observe(root.querySelector("#upload-progress"), {
    attributes: true, attributeFilter: ["data-percent"],
  });
}"""


@pytest.mark.parametrize("transport", ["events", "polling"])
def test_dump_upload_follows_the_job_to_done(
    real_dump: tuple[Path, dict[str, str]],  # first: a missing dump skips before the server starts
    open_console: Callable[..., Console],
    server: Server,
    tenant_key: str,
    transport: str,
) -> None:
    dump, meta = real_dump
    console = open_console()
    requests: list[str] = []
    console.page.on(
        "request", lambda request: requests.append(f"{request.method} {urlsplit(request.url).path}")
    )
    if transport == "polling":
        # A proxy that breaks event streams: the widget must fall back to polling the job.
        console.page.route("**/v1/diagnoses/*/events", lambda route: route.abort())
    console.open()
    console.use_key(tenant_key)
    widget = console.widget()
    widget.evaluate(RECORD_STATES_JS)
    console.upload(dump)
    widget.locator(".job:not([hidden])").wait_for()
    console.shot(f"dump-job-running-{transport}")
    console.wait_result(timeout_s=DUMP_TIMEOUT_S)
    console.shot(f"dump-result-{transport}")

    states = console.page.evaluate("window.__states")
    percents = console.page.evaluate("window.__percents")
    # A dump is answered 202: the widget showed a running state first, then followed it to done.
    assert states[0] in {"queued", "extracting", "diagnosing"}, states
    assert states[-1] == "done", states
    assert percents and percents[-1] == 100, percents
    job = only_job(server, tenant_key)
    assert job["state"] == "done"
    events = f"GET /v1/diagnoses/{job['id']}/events"
    polls = requests.count(f"GET /v1/diagnoses/{job['id']}")
    assert events in requests
    if transport == "events":
        assert polls == 0, requests  # the stream alone carried the job to done
    else:
        assert polls >= 2, requests  # at least one poll saw it running, the last saw it done
    assert job["upload"]["size"] == dump.stat().st_size
    assert job["result"]["source"]["kind"] == "vmcore"
    # Whether the diagnosis is right for this dump is tests/vmcore's business; here the card
    # must show what the service answered.
    assert widget.locator("#category").inner_text() == job["result"]["category"]
    root_cause = job["result"]["root_cause"]
    if root_cause is not None:
        assert widget.locator("#rc-title").inner_text() == root_cause["title"]
    assert "vmcore" in widget.locator("#source").inner_text()
    assert meta["kernel_release"] in widget.locator("#details").inner_text()
    # The evidence lines are shown inside the log extracted from the dump.
    widget.locator('#evidence .log[data-context="true"]').wait_for()
    assert widget.locator("#evidence .ln.ev").count() == len(
        {e["line"] for e in job["result"]["evidence"]}
    )
