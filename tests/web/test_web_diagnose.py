"""The console's diagnose view in a real Chromium against a real `panicdx serve`.

Upload a shipped example log through the widget's file input, watch the upload progress bar and
the job state, and check the result card against what the API stored: root cause, category,
confidence, evidence lines inside their log context, remediation with working copy buttons,
references. Then send feedback (confirm, correct to a known cause, correct to a new cause) and
read it back through the API. API errors must reach the user in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from web_helpers import REPO, Console, Server, example, format_percent, only_job

NFS_LOG = "nfs-hung-task.log"
NFS_ROOT_CAUSE = "hung-task-nfs-server-not-responding"


def test_log_upload_shows_progress_and_the_result_card(
    open_console: Callable[..., Console], server: Server, tenant_key: str
) -> None:
    console = open_console()
    console.open()
    console.shot("empty-page")
    console.use_key(tenant_key)
    status = console.page.locator("#key-status")
    status.filter(has_text="Using tenant").wait_for()
    assert "admin" in status.inner_text()
    assert tenant_key not in console.page.url  # the key never goes into the address bar
    console.shot("key-accepted")

    log = example(NFS_LOG)
    console.upload(log)
    card = console.wait_result()
    widget = console.widget()

    # The upload progress bar was driven by real upload events up to the file's size.
    progress = widget.locator("#upload-progress")
    assert progress.get_attribute("data-complete") == "true"
    assert progress.evaluate("p => [p.value, p.max]") == [log.stat().st_size] * 2
    assert "Uploaded" in widget.locator("#upload-text").inner_text()
    assert widget.locator(".job").get_attribute("data-state") == "done"

    job = only_job(server, tenant_key)
    result = job["result"]
    assert result["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert card.get_attribute("data-root-cause") == NFS_ROOT_CAUSE
    assert widget.locator("#rc-title").inner_text() == result["root_cause"]["title"]
    assert widget.locator("#category").inner_text() == "hung-task"
    assert format_percent(result["confidence"]) in widget.locator("#confidence").inner_text()
    assert widget.locator("#decided-by").inner_text() == result["decided_by"]
    assert widget.locator("#tier").inner_text() == result["source"]["tier"]
    assert result["source"]["kind"] in widget.locator("#source").inner_text()

    # Evidence lines are highlighted inside the real log, with the lines around them.
    log_lines = log.read_text().split("\n")
    evidence_box = widget.locator("#evidence .log")
    evidence_box.wait_for()
    widget.locator('#evidence .log[data-context="true"]').wait_for()
    assert result["evidence"], "the example log must have evidence"
    for item in result["evidence"]:
        row = widget.locator(f'#evidence .ln.ev[data-line="{item["line"]}"]')
        assert item["text"] in row.inner_text()
        before = item["line"] - 1
        if before >= 1:
            context_row = widget.locator(f'#evidence .ln[data-line="{before}"]')
            assert log_lines[before - 1].strip() in context_row.inner_text()
    # Long log lines scroll inside their box instead of widening the page.
    assert evidence_box.evaluate("box => getComputedStyle(box).overflowX") == "auto"

    steps = widget.locator("#remediation > li")
    assert steps.count() == len(result["remediation"])
    commands = [s["command"] for s in result["remediation"] if s.get("command")]
    assert widget.locator("#remediation pre code").all_inner_texts() == commands
    links = widget.locator("#references a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        r["url"] for r in result["references"]
    ]
    assert links.first.get_attribute("rel") == "noopener noreferrer"
    console.shot("result-card")
    widget.locator("#evidence").screenshot(
        path=str(console.artifacts / f"{console.name}-evidence.png")
    )


def test_copy_button_puts_the_command_on_the_clipboard(
    open_console: Callable[..., Console], server: Server, tenant_key: str
) -> None:
    console = open_console()
    console.page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=server.base_url
    )
    console.open()
    console.use_key(tenant_key)
    console.upload(example("panic-on-oom.log"))
    console.wait_result()
    widget = console.widget()
    first_command = widget.locator("#remediation pre code").first.inner_text()
    button = widget.locator("#remediation button.copy").first
    assert button.get_attribute("aria-label") == "Copy the command of step 1"
    button.click()
    widget.locator("#remediation button.copy", has_text="Copied").first.wait_for()
    assert console.page.evaluate("navigator.clipboard.readText()") == first_command
    console.shot("copied")


def test_feedback_confirm_and_corrections_are_stored(
    open_console: Callable[..., Console], server: Server, tenant_key: str
) -> None:
    console = open_console()
    console.open()
    console.use_key(tenant_key)
    console.upload(example("panic-on-oom.log"))
    console.wait_result()
    widget = console.widget()
    job = only_job(server, tenant_key)
    current = job["result"]["root_cause"]["id"]

    widget.locator("#fb-confirm").click()
    widget.locator("#fb-status", has_text="confirmation was recorded").wait_for()
    console.shot("confirmed")

    # Correct to another known root cause, chosen from GET /v1/root-causes.
    widget.locator("#fb-correct").click()
    choice = widget.locator("#fb-rc")
    choice.locator("optgroup option").first.wait_for(state="attached")
    values = choice.evaluate("s => [...s.options].map(o => o.value).filter(Boolean)")
    other = next(v for v in values if v != current)
    choice.select_option(other)
    widget.locator("#fb-note").fill("the OOM came from a leaking kernel module")
    console.shot("correct-form")
    widget.locator("#fb-send").click()
    widget.locator("#fb-status", has_text="correction was recorded").wait_for()

    # Correct to a cause the knowledge base does not have yet, with its category.
    widget.locator("#fb-correct").click()
    widget.locator("#fb-kind-new").check()
    widget.locator("#fb-new").fill("RAID controller firmware stalls all I/O")
    widget.locator("#fb-cat").select_option("hardware-device")
    widget.locator("#fb-send").click()
    history = widget.locator("#fb-history li")
    history.nth(2).wait_for()
    console.shot("feedback-history")

    stored = only_job(server, tenant_key)["feedback"]
    assert [f["verdict"] for f in stored] == ["confirm", "correct", "correct"]
    assert stored[1]["root_cause"] == other
    assert stored[1]["note"] == "the OOM came from a leaking kernel module"
    assert stored[2]["new_cause"] == "RAID controller firmware stalls all I/O"
    assert stored[2]["category"] == "hardware-device"
    assert history.count() == 3


def test_wrong_key_is_explained_in_plain_words(
    open_console: Callable[..., Console], server: Server
) -> None:
    console = open_console()
    console.open()
    console.use_key("pdx_this-key-does-not-exist")
    console.page.locator("#key-status", has_text="not accepted").wait_for()
    console.upload(example(NFS_LOG))
    error = console.widget().locator("#error")
    error.filter(has_text="The API key was not accepted").wait_for()
    assert error.get_attribute("role") == "alert"
    assert error.get_attribute("data-code") == "unauthorized"
    assert not console.widget().locator("#result article").count()
    console.shot("wrong-key")


def test_empty_file_is_refused_with_a_clear_message(
    open_console: Callable[..., Console], tenant_key: str, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    console = open_console()
    console.open()
    console.use_key(tenant_key)
    console.upload(empty)
    error = console.widget().locator("#error")
    error.filter(has_text="The file is empty").wait_for()
    assert error.get_attribute("data-code") == "empty_input"
    console.shot("empty-file")


def test_markup_in_the_log_is_shown_as_text(
    open_console: Callable[..., Console], tenant_key: str, tmp_path: Path
) -> None:
    # The log is customer data: markup in it must appear as text, never become page elements.
    hostile = tmp_path / "hostile.log"
    lines = example(NFS_LOG).read_text().split("\n")
    lines[4] = lines[4] + ' <img src=x onerror="window.__pwned=1"><b>bold</b>'
    hostile.write_text("\n".join(lines))
    console = open_console()
    console.open()
    console.use_key(tenant_key)
    console.upload(hostile)
    console.wait_result()
    widget = console.widget()
    widget.locator('#evidence .log[data-context="true"]').wait_for()
    assert widget.locator("#evidence img, #evidence b").count() == 0
    assert '<img src=x onerror="window.__pwned=1">' in widget.locator("#evidence").inner_text()
    assert console.page.evaluate("window.__pwned === undefined")


def test_dropping_a_file_on_the_drop_zone_uploads_it(
    open_console: Callable[..., Console], server: Server, tenant_key: str
) -> None:
    console = open_console()
    console.open()
    console.use_key(tenant_key)
    log = example("dimm-machine-check.log")
    drop_zone = console.widget().locator("#drop")
    # A real DataTransfer carrying a File, as the browser builds it for a drag from the desktop.
    transfer = console.page.evaluate_handle(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, { type: "text/plain" }));
            return transfer;
        }""",
        [log.name, log.read_text()],
    )
    drop_zone.dispatch_event("dragover", {"dataTransfer": transfer})
    assert "over" in (drop_zone.get_attribute("class") or "")
    drop_zone.dispatch_event("drop", {"dataTransfer": transfer})
    console.wait_result()
    job = only_job(server, tenant_key)
    assert job["upload"]["filename"] == log.name
    assert job["upload"]["size"] == log.stat().st_size
    root_cause = job["result"]["root_cause"]["id"]
    assert console.widget().locator("#rc-id").inner_text() == root_cause
    console.shot("dropped")


def test_recent_diagnoses_reopen_a_result(
    open_console: Callable[..., Console], server: Server, tenant_key: str
) -> None:
    console = open_console()
    console.open()
    console.use_key(tenant_key)
    console.upload(example(NFS_LOG))
    console.wait_result()
    widget = console.widget()
    widget.locator("#again").click()
    assert widget.locator("#result").is_hidden()
    widget.locator("#recent summary").click()
    entry = widget.locator("#recent li button")
    entry.filter(has_text=NFS_LOG).wait_for()
    assert entry.count() == 1
    entry.click()
    console.wait_result()
    assert widget.locator("#rc-id").inner_text() == NFS_ROOT_CAUSE
    console.shot("reopened")


KB_EXAMPLES = REPO / "knowledge_base" / "examples"


@pytest.mark.parametrize(
    ("log_name", "exercises"),
    [
        ("assertion-tcp-sack-panic-cve-2019-11477/positive-1.log", "fixed_in"),
        ("assertion-xfs-debug-assertion/positive-1.log", "alternatives"),
        ("generic-unknown/positive-1.log", "warnings"),
    ],
)
def test_result_card_shows_fixes_alternatives_and_warnings(
    open_console: Callable[..., Console],
    server: Server,
    tenant_key: str,
    log_name: str,
    exercises: str,
) -> None:
    console = open_console()
    console.open()
    console.use_key(tenant_key)
    console.upload(KB_EXAMPLES / log_name)
    console.wait_result()
    widget = console.widget()
    result = only_job(server, tenant_key)["result"]
    assert result[exercises], f"{log_name} no longer has {exercises}: pick another example"

    fixed = widget.locator("#fixed-in li")
    assert fixed.all_inner_texts() == [f"{f['stream']}: {f['version']}" for f in result["fixed_in"]]
    alternatives = widget.locator("#alternatives li").all_inner_texts()
    assert len(alternatives) == len(result["alternatives"])
    for shown, alt in zip(alternatives, result["alternatives"], strict=True):
        assert alt["title"] in shown
        assert alt["id"] in shown
        assert format_percent(alt["confidence"]) in shown
    assert widget.locator("#warnings li").all_inner_texts() == result["warnings"]
    applicability = result.get("applicability") or {"status": "unknown"}
    if applicability["status"] != "unknown":
        assert applicability["message"] in widget.locator("#applicability").inner_text()
    console.shot(exercises)


RECORD_PERCENTS_JS = """(widget) => {
  const bar = widget.shadowRoot.querySelector("#upload-progress");
  window.__percents = [];
  new MutationObserver(() => window.__percents.push(Number(bar.dataset.percent)))
    .observe(bar, { attributes: true, attributeFilter: ["data-percent"] });
}"""


def _big_log(path: Path, noise_bytes: int) -> Path:
    """A real panic log after `noise_bytes` of ordinary boot noise (a long console capture)."""
    noise = '[    1.000000] audit: type=1400 apparmor="STATUS" operation="profile_load" name="x"\n'
    path.write_text(noise * (noise_bytes // len(noise)) + example(NFS_LOG).read_text())
    return path


def _throttle_upload(console: Console, bytes_per_second: int) -> None:
    # Chromium's own network emulation: uploads really take time, as over a slow VPN.
    cdp = console.page.context.new_cdp_session(console.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def test_upload_progress_moves_and_an_upload_can_be_cancelled(
    open_console: Callable[..., Console], server: Server, tenant_key: str, tmp_path: Path
) -> None:
    console = open_console()
    console.open()
    console.use_key(tenant_key)
    _throttle_upload(console, 1_500_000)
    widget = console.widget()
    widget.evaluate(RECORD_PERCENTS_JS)

    big = _big_log(tmp_path / "console-capture.log", 6_000_000)
    console.upload(big)
    console.page.wait_for_function("window.__percents.some((p) => p >= 30 && p < 100)")
    console.shot("upload-in-progress", full_page=False)
    console.wait_result(timeout_s=120)
    percents = console.page.evaluate("window.__percents")
    partial = sorted({p for p in percents if 0 < p < 100})
    assert len(partial) >= 5, percents  # the bar moved in steps while the bytes went out
    assert percents == sorted(percents), percents
    assert percents[-1] == 100
    assert widget.locator("#rc-id").inner_text() == NFS_ROOT_CAUSE
    assert only_job(server, tenant_key)["upload"]["size"] == big.stat().st_size

    # A slower upload, cancelled half way: no job may come of it.
    _throttle_upload(console, 400_000)
    widget.locator("#again").click()
    widget.evaluate(RECORD_PERCENTS_JS)
    console.upload(_big_log(tmp_path / "cancelled.log", 8_000_000))
    console.page.wait_for_function("window.__percents.some((p) => p >= 10)")
    widget.locator("#upload-cancel").click()
    widget.locator("#upload-text", has_text="Upload cancelled").wait_for()
    assert widget.locator("#error").get_attribute("data-code") == "aborted"
    console.shot("upload-cancelled")
    console.page.wait_for_timeout(2000)  # give a half-received upload time to (wrongly) land
    assert only_job(server, tenant_key)["upload"]["filename"] == big.name
