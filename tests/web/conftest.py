"""Fixtures for the console tests in a real headless Chromium.

One `panicdx serve` subprocess for the session (free port, temporary data dir; its admin key is
read from what it prints) and one Debian `chromium` driven by Playwright through its executable
path (browsers cannot be downloaded here, so `playwright install` is never used). Each test gets
its own tenant (`panicdx apikey create`), so uploads of the same file in two tests are two jobs
and the fleet view counts only that test's diagnoses.

Without /usr/bin/chromium or the playwright package the tests skip with the reason;
PANICDX_REQUIRE_BROWSER=1 turns that skip into a failure (scripts/install-browser.sh installs
both). Screenshots of every step go to tests/web/artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest
from web_helpers import Console, Server, server_env

from tests.serving import ServeProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Response

CHROMIUM = Path("/usr/bin/chromium")
# No GPU, no sandbox (containers run as root), and nothing that phones home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
START_TIMEOUT = 180.0  # first start migrates the database and loads the model


def _require_browser() -> None:
    """Skip (or fail, when PANICDX_REQUIRE_BROWSER=1) without the browser or Playwright."""
    problems = []
    if not CHROMIUM.is_file():
        problems.append(f"{CHROMIUM} is missing (run scripts/install-browser.sh)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is missing (pip install -e '.[dev]')")
    if not problems:
        return
    reason = "console browser tests need Debian's chromium and Playwright: " + "; ".join(problems)
    if os.environ.get("PANICDX_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (PANICDX_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/web/artifacts/, emptied of the previous run's screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Server]:
    """`panicdx serve --data-dir <tmp> --port <free>`, ready (/readyz answered 200)."""
    _require_browser()
    data_dir = tmp_path_factory.mktemp("panicdx-serve")
    log_path = artifacts / "server.log"
    with ServeProcess(["--data-dir", str(data_dir)], server_env(), log_path) as serve:
        serve.wait_ready(START_TIMEOUT, need_key=True)
        assert serve.key is not None
        yield Server(serve.base_url, serve.key, data_dir, log_path)


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[Browser]:
    """Debian's headless Chromium, launched through Playwright by executable path."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_console(
    browser: Browser, server: Server, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Console]]:
    """Factory: a new browser context + page on the console.

    At the end of the test no page may have had an uncaught script error or a 5xx answer.
    """
    made: list[tuple[Any, Console]] = []

    def make(
        *,
        width: int = 1280,
        height: int = 900,
        color_scheme: Literal["light", "dark"] = "light",
        suffix: str = "",
    ) -> Console:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + suffix
        console = Console(page=page, server=server, name=name, artifacts=artifacts)
        page.on("pageerror", lambda error: console.page_errors.append(str(error)))

        def note_server_error(response: Response) -> None:
            # A 5xx answer is a server bug whatever the page shows.
            if response.status >= 500:
                console.page_errors.append(f"HTTP {response.status} from {response.url}")

        page.on("response", note_server_error)
        made.append((context, console))
        return console

    yield make
    errors = [e for _, console in made for e in console.page_errors]
    for context, _ in made:
        context.close()
    assert not errors, f"uncaught errors in the page or 5xx answers: {errors}"


@pytest.fixture
def tenant_key(server: Server, request: pytest.FixtureRequest) -> str:
    """An admin key of a tenant of this test's own."""
    return server.create_key(f"web-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}")
