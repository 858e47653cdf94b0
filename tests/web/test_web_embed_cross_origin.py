"""The widget embedded by a page of another origin, in a real Chromium, against real servers.

A fictional "ops console" is served by a plain `http.server` on another port of 127.0.0.1 (so
another origin) and embeds `<panic-diagnosis>` as service/web/README.md shows: the module is
loaded from `panicdx serve`, `api-base` points there, and the page sets the key property.

- With that origin in PANICDX_CORS_ORIGINS, a log chosen in the widget's file input is
  diagnosed, the result card shows what `GET /v1/diagnoses/{id}` stored, and a confirmation
  sent from the card is recorded by the API.
- With the origin not allowed (no PANICDX_CORS_ORIGINS, or only another origin), the browser
  blocks the calls, and the widget must say so in its alert rather than hang or show an empty
  card. Checked twice: with the module served by the ops console itself (a vendored copy, so
  only the API calls are cross-origin), and with the very same page as above, whose module
  comes from panicdx.

Each panicdx server here is started by this module with its own data dir and settings (the
session server of conftest.py starts too, as the `browser` fixture needs it). Server logs go to
tests/web/artifacts/server-embed-*.log, screenshots beside them.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from web_helpers import REPO, Console, Server, example, format_percent, only_job

from tests.serving import ServeProcess, serve_env

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

WIDGET_SOURCE = REPO / "service" / "web" / "panic-diagnosis.js"
NFS_LOG = "nfs-hung-task.log"
NFS_ROOT_CAUSE = "hung-task-nfs-server-not-responding"
START_TIMEOUT = 180.0  # as conftest.py: a first start migrates the database and loads the model
# The widget's words for an API it could not reach (PLAIN_ERRORS.network in the module).
NETWORK_ERROR = "Could not reach the panicdx service"

# The embedding page, as another product would write it. `data-widget` on <html> records
# whether the widget module loaded, so a test can tell "never loaded" from "loaded, then failed".
OPS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Acme Ops: incident INC-4711</title>
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #f4f5f7; color: #1b1f24; }}
  header {{ background: #22303c; color: #fff; padding: .75rem 1.25rem; }}
  main {{ max-width: 70rem; margin: 1rem auto; padding: 0 1rem; }}
  panic-diagnosis {{ display: block; --pdx-accent: #0b5cad; }}
</style>
<script type="module" src="{module_src}"
  onload="document.documentElement.dataset.widget = 'loaded'"
  onerror="document.documentElement.dataset.widget = 'failed'"></script>
</head>
<body>
<header><strong>Acme Ops</strong> &middot; INC-4711: web-17 rebooted at 03:12</header>
<main>
  <h1>Why did web-17 go down?</h1>
  <panic-diagnosis id="diagnose" api-base="{api_base}" view="diagnose"></panic-diagnosis>
</main>
<script type="module">
  document.getElementById("diagnose").key = {key_json};
</script>
</body>
</html>
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of the ops console, without an access log on stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        """Drop the line: the test output is no place for an access log."""


@dataclass
class OpsConsole:
    """The second origin: a temporary directory served by http.server on its own port."""

    root: Path
    origin: str

    def write_page(self, name: str, *, module_src: str, api_base: str, key: str) -> str:
        """Write the embedding page `name`.html and return its URL."""
        page = OPS_PAGE.format(
            module_src=html.escape(module_src),
            api_base=html.escape(api_base),
            key_json=json.dumps(key),
        )
        (self.root / f"{name}.html").write_text(page)
        return f"{self.origin}/{name}.html"

    def vendor_widget(self) -> str:
        """Copy the widget module into the ops console; return its path relative to a page."""
        target = self.root / "vendor" / "panic-diagnosis.js"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(WIDGET_SOURCE, target)
        return "vendor/panic-diagnosis.js"


@dataclass
class EmbeddedView:
    """One browser page on the ops console, and what the browser said while it ran."""

    console: Console
    console_errors: list[str] = field(default_factory=list)

    @property
    def page(self) -> Page:
        """The Playwright page."""
        return self.console.page

    def open(self, url: str) -> str:
        """Load the ops console page; return "loaded" or "failed" for the widget module."""
        self.page.goto(url)
        marker = self.page.locator("html[data-widget]")
        marker.wait_for(state="attached")
        state = marker.get_attribute("data-widget")
        assert state is not None
        return state


@pytest.fixture(scope="module")
def ops_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsConsole]:
    """The ops console's web server on http://127.0.0.1:<free port> (a thread of this process)."""
    root = tmp_path_factory.mktemp("ops-console")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="ops-console", daemon=True)
    thread.start()
    try:
        yield OpsConsole(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _serve(
    name: str, cors_origins: list[str] | None, data_dir: Path, artifacts: Path
) -> Iterator[Server]:
    """Run `panicdx serve` with PANICDX_CORS_ORIGINS = `cors_origins` (None: unset) until the
    generator is closed."""
    extra = {} if cors_origins is None else {"PANICDX_CORS_ORIGINS": json.dumps(cors_origins)}
    log_path = artifacts / f"server-embed-{name}.log"
    with ServeProcess(["--data-dir", str(data_dir)], serve_env(extra), log_path) as serve:
        serve.wait_ready(START_TIMEOUT, need_key=True)
        assert serve.key is not None
        yield Server(serve.base_url, serve.key, data_dir, log_path)


@pytest.fixture(scope="module")
def allowing_server(
    browser: Browser,
    ops_console: OpsConsole,
    tmp_path_factory: pytest.TempPathFactory,
    artifacts: Path,
) -> Iterator[Server]:
    """panicdx with the ops console's origin in PANICDX_CORS_ORIGINS.

    `browser` comes first so a missing Chromium skips (or fails) before any server starts.
    """
    data_dir = tmp_path_factory.mktemp("panicdx-embed-allowed")
    yield from _serve("allowed", [ops_console.origin], data_dir, artifacts)


@pytest.fixture(scope="module", params=["cors-unset", "other-origin-only"])
def refusing_server(
    request: pytest.FixtureRequest,
    browser: Browser,
    tmp_path_factory: pytest.TempPathFactory,
    artifacts: Path,
) -> Iterator[Server]:
    """panicdx that does not allow the ops console's origin: PANICDX_CORS_ORIGINS unset (the
    default), or set to another origin only (the CORS middleware runs and refuses it).

    `browser` comes first, as for `allowing_server`.
    """
    origins = None if request.param == "cors-unset" else ["https://ops.example.com"]
    data_dir = tmp_path_factory.mktemp(f"panicdx-embed-{request.param}")
    yield from _serve(request.param, origins, data_dir, artifacts)


@pytest.fixture
def open_embedded(
    browser: Browser, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[Server], EmbeddedView]]:
    """Factory: a new browser context + page for the ops console embedding `server`'s widget.

    At the end of the test no page may have had an uncaught script error or a 5xx answer.
    """
    made: list[EmbeddedView] = []

    def make(server: Server) -> EmbeddedView:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        view = EmbeddedView(Console(page=page, server=server, name=name, artifacts=artifacts))
        page.on("pageerror", lambda error: view.console.page_errors.append(str(error)))

        def note_console(message: ConsoleMessage) -> None:
            # Chromium explains blocked cross-origin calls here, and only here.
            if message.type == "error":
                view.console_errors.append(message.text)

        def note_server_error(response: Response) -> None:
            # A 5xx answer is a server bug whatever the page shows.
            if response.status >= 500:
                view.console.page_errors.append(f"HTTP {response.status} from {response.url}")

        page.on("console", note_console)
        page.on("response", note_server_error)
        made.append(view)
        return view

    yield make
    errors = [e for view in made for e in view.console.page_errors]
    for view in made:
        view.page.context.close()
    assert not errors, f"uncaught errors in the page or 5xx answers: {errors}"


def _tenant_key(server: Server, request: pytest.FixtureRequest) -> str:
    """A submitter key of a tenant of this test's own: what an embedding console would hold."""
    tenant = f"ops-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
    return server.create_key(tenant, role="submitter")


def _is_api_call(server: Server, method: str, path: str) -> Callable[[Response], bool]:
    """Predicate: `response` answers `method` on `server`'s `path` (query string ignored)."""
    url = f"{server.base_url}{path}"

    def matches(response: Response) -> bool:
        return response.request.method == method and response.url.split("?")[0] == url

    return matches


def test_widget_embedded_by_another_origin_diagnoses_and_records_feedback(
    open_embedded: Callable[[Server], EmbeddedView],
    allowing_server: Server,
    ops_console: OpsConsole,
    request: pytest.FixtureRequest,
) -> None:
    server = allowing_server
    key = _tenant_key(server, request)
    module_url = f"{server.base_url}/widget/panic-diagnosis.js"
    url = ops_console.write_page(
        "embed-allowed", module_src=module_url, api_base=server.base_url, key=key
    )
    view = open_embedded(server)
    with view.page.expect_response(module_url) as module_answer:
        state = view.open(url)
    assert state == "loaded", view.console_errors
    # Module scripts are fetched in CORS mode: the allowed origin got the module.
    assert module_answer.value.headers.get("access-control-allow-origin") == ops_console.origin
    page_origin = view.page.evaluate("location.origin")
    assert page_origin == ops_console.origin != server.base_url
    view.console.shot("embedded-empty")

    log = example(NFS_LOG)
    with view.page.expect_response(_is_api_call(server, "POST", "/v1/diagnoses")) as upload:
        view.console.upload(log)
    card = view.console.wait_result()
    widget = view.console.widget()
    assert upload.value.status == 200, upload.value.text()
    assert upload.value.request.all_headers().get("origin") == ops_console.origin
    assert upload.value.headers.get("access-control-allow-origin") == ops_console.origin

    # The card shows what the API stored for this tenant's only diagnosis.
    job = only_job(server, key)
    result = job["result"]
    assert result["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert card.get_attribute("data-root-cause") == result["root_cause"]["id"]
    assert widget.locator("#rc-id").inner_text() == result["root_cause"]["id"]
    assert widget.locator("#rc-title").inner_text() == result["root_cause"]["title"]
    assert widget.locator("#category").inner_text() == result["category"] == "hung-task"
    assert format_percent(result["confidence"]) in widget.locator("#confidence").inner_text()
    assert widget.locator("#decided-by").inner_text() == result["decided_by"]
    # The evidence context comes from a streamed cross-origin GET of /log.
    widget.locator('#evidence .log[data-context="true"]').wait_for()
    for item in result["evidence"]:
        row = widget.locator(f'#evidence .ln.ev[data-line="{item["line"]}"]')
        assert item["text"] in row.inner_text()
    view.console.shot("embedded-result")

    feedback_path = f"/v1/diagnoses/{job['id']}/feedback"
    with view.page.expect_response(_is_api_call(server, "POST", feedback_path)) as sent:
        widget.locator("#fb-confirm").click()
    widget.locator("#fb-status", has_text="confirmation was recorded").wait_for()
    assert sent.value.status in (200, 201), sent.value.text()
    assert sent.value.headers.get("access-control-allow-origin") == ops_console.origin
    stored = only_job(server, key)["feedback"]
    assert [f["verdict"] for f in stored] == ["confirm"]
    assert widget.locator("#fb-history li").count() == 1
    view.console.shot("embedded-confirmed")

    blocked = [m for m in view.console_errors if "CORS" in m]
    assert not blocked, blocked


def _assert_refusal_explained(view: EmbeddedView, server: Server, key: str) -> None:
    """Upload the example log; the widget must explain the blocked call in its alert, and
    nothing may have reached the server."""
    widget = view.console.widget()

    def cors_refusal(message: ConsoleMessage) -> bool:
        return message.type == "error" and "blocked by CORS policy" in message.text

    # Chromium's console message proves it was the CORS check, not a dead server.
    with view.page.expect_console_message(cors_refusal):
        view.console.upload(example(NFS_LOG))
    error = widget.locator("#error")
    error.filter(has_text=NETWORK_ERROR).wait_for()
    assert error.get_attribute("role") == "alert"
    assert error.get_attribute("data-code") == "network"
    assert error.is_visible()
    # The widget does not hang: the upload is over, and another file can be tried.
    assert widget.locator("#upload-text").inner_text() == "Upload failed."
    assert widget.locator("#upload-cancel").is_hidden()
    assert widget.locator("#again").is_visible()
    assert not widget.locator("#result article").count()
    assert widget.locator(".job").is_hidden()
    # The preflight was refused, so the upload never reached the server.
    with server.client(key) as client:
        listed = client.get("/v1/diagnoses")
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == []
    view.console.shot("refused")


def test_refused_origin_is_explained_by_a_widget_served_from_the_page_origin(
    open_embedded: Callable[[Server], EmbeddedView],
    refusing_server: Server,
    ops_console: OpsConsole,
    request: pytest.FixtureRequest,
) -> None:
    key = _tenant_key(refusing_server, request)
    url = ops_console.write_page(
        f"embed-vendored-{request.node.callspec.id}",
        module_src=ops_console.vendor_widget(),
        api_base=refusing_server.base_url,
        key=key,
    )
    view = open_embedded(refusing_server)
    assert view.open(url) == "loaded", view.console_errors
    _assert_refusal_explained(view, refusing_server, key)


def test_refused_origin_is_explained_by_the_widget_served_by_panicdx(
    open_embedded: Callable[[Server], EmbeddedView],
    refusing_server: Server,
    ops_console: OpsConsole,
    request: pytest.FixtureRequest,
) -> None:
    key = _tenant_key(refusing_server, request)
    module_url = f"{refusing_server.base_url}/widget/panic-diagnosis.js"
    url = ops_console.write_page(
        f"embed-refused-{request.node.callspec.id}",
        module_src=module_url,
        api_base=refusing_server.base_url,
        key=key,
    )
    view = open_embedded(refusing_server)
    state = view.open(url)
    if state != "loaded":
        view.console.shot("module-refused")
    shown = view.page.evaluate(
        """() => {
          const el = document.getElementById("diagnose");
          return {
            defined: customElements.get("panic-diagnosis") !== undefined,
            shadow: el.shadowRoot !== null,
            text: el.innerText.trim(),
          };
        }"""
    )
    assert state == "loaded", (
        f"the widget module was refused ({state}); the element shows {shown};"
        f" browser console: {view.console_errors}"
    )
    _assert_refusal_explained(view, refusing_server, key)
