"""Helpers shared by the console browser tests: the server handle, the page driver, examples."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PANICDX = Path(sys.executable).parent / "panicdx"
# Settings that would point the test server at shared infrastructure instead of its own dir.
FOREIGN_SETTINGS = ("PANICDX_DATABASE_URL", "PANICDX_BLOB_URL", "PANICDX_BROKER_URL")


def server_env() -> dict[str, str]:
    """This environment without settings that would send the server to shared services."""
    return {k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS}


@dataclass
class Server:
    """A running `panicdx serve` and what the tests need to talk to it."""

    base_url: str
    admin_key: str
    data_dir: Path
    log_path: Path

    def client(self, key: str) -> httpx.Client:
        """An API client sending `key` as the Bearer token."""
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120.0
        )

    def create_key(self, tenant: str, role: str = "admin") -> str:
        """A new key for `tenant` (created if new) made with the real `panicdx apikey create`."""
        completed = subprocess.run(
            [
                str(PANICDX),
                "apikey",
                "create",
                "--tenant",
                tenant,
                "--role",
                role,
                "--data-dir",
                str(self.data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=server_env(),
        )
        assert completed.returncode == 0, completed.stderr
        key = completed.stdout.strip()
        assert key and "\n" not in key, f"apikey create printed {completed.stdout!r}"
        return key


@dataclass
class Console:
    """One browser page on the console, plus helpers to drive the widget."""

    page: Page
    server: Server
    name: str
    artifacts: Path
    page_errors: list[str] = field(default_factory=list)
    shots: int = 0

    def open(self, fragment: str = "") -> None:
        """Load the console page (`fragment` e.g. "#fleet")."""
        self.page.goto(f"{self.server.base_url}/{fragment}")
        self.page.locator("#api-key").wait_for()

    def use_key(self, key: str) -> None:
        """Type the key into the page's key field and submit it."""
        self.page.fill("#api-key", key)
        self.page.click("#key-use")

    def widget(self, view: str = "diagnose") -> Locator:
        """The `<panic-diagnosis>` element of one tab (Playwright pierces its open shadow root)."""
        return self.page.locator(f"panic-diagnosis#{view}")

    def upload(self, path: Path) -> None:
        """Choose `path` in the widget's real file input."""
        self.widget().locator("#file").set_input_files(str(path))

    def wait_result(self, timeout_s: float = 60.0) -> Locator:
        """The result card once it is shown."""
        card = self.widget().locator("#result article.card")
        card.wait_for(state="visible", timeout=timeout_s * 1000)
        return card

    def shot(self, step: str, *, full_page: bool = True) -> Path:
        """Save a screenshot as tests/web/artifacts/<test>-<n>-<step>.png."""
        self.shots += 1
        path = self.artifacts / f"{self.name}-{self.shots:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def deep_focus(self) -> dict[str, Any]:
        """The focused element, looking inside shadow roots: id, tag, label and outline."""
        result: dict[str, Any] = self.page.evaluate(DEEP_FOCUS_JS)
        return result

    def overflow(self) -> tuple[int, int]:
        """(page scroll width, viewport width): equal when nothing scrolls sideways."""
        scroll, inner = self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        return int(scroll), int(inner)


DEEP_FOCUS_JS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  const style = getComputedStyle(el);
  return {
    id: el.id || "", tag: el.tagName.toLowerCase(), label: el.getAttribute("aria-label") || "",
    text: (el.textContent || "").trim().slice(0, 60),
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
  };
}"""


def example(name: str) -> Path:
    """A shipped example log (examples/<name>)."""
    path = EXAMPLES / name
    assert path.is_file(), path
    return path


def format_percent(probability: float) -> str:
    """The widget's confidence wording: ">99%" at the top as in the CLI, "<1%" near zero."""
    if probability >= 0.995:
        return ">99%"
    if 0 < probability < 0.005:
        return "<1%"
    return f"{round(probability * 100)}%"


def only_job(server: Server, key: str) -> dict[str, Any]:
    """The tenant's single diagnosis, in full, read through the API."""
    with server.client(key) as client:
        listed = client.get("/v1/diagnoses")
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert len(items) == 1, items
        job = client.get(f"/v1/diagnoses/{items[0]['id']}")
        assert job.status_code == 200, job.text
        body: dict[str, Any] = job.json()
        return body
