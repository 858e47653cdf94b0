"""Accessibility of the console: keyboard-only use, labels, contrast, focus, phone width.

The keyboard test never clicks: Tab, Shift+Tab, Enter, Space and arrow keys only, and every
focused control must show a visible focus outline. Contrast is measured on the rendered page
(WCAG AA: 4.5:1 for text, 3:1 for large text) in the light and the dark colour scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web_helpers import DEEP_FOCUS_JS, Console, Server, example, only_job

MAX_TABS = 80


def _tab_to(console: Console, element_id: str, *, backwards: bool = False) -> dict[str, Any]:
    """Press Tab until the (shadow-piercing) focused element has `element_id`."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        console.page.keyboard.press(key)
        focused = console.deep_focus()
        if focused and focused["id"] == element_id:
            # Visible focus: a real outline on whatever keyboard focus lands on.
            assert focused["outlineStyle"] != "none", focused
            assert focused["outlineWidth"] >= 2, focused
            return focused
    raise AssertionError(f"#{element_id} never got keyboard focus in {MAX_TABS} presses of {key}")


def _wait_focus(console: Console, element_id: str) -> None:
    """Wait until focus (looking inside shadow roots) is on `element_id`."""
    console.page.wait_for_function(
        f"() => ({DEEP_FOCUS_JS})()?.id === {element_id!r}", timeout=10_000
    )


def test_keyboard_only_upload_result_and_feedback(
    open_console: Callable[..., Console], server: Server, tenant_key: str
) -> None:
    console = open_console()
    console.open()
    page = console.page

    _tab_to(console, "api-key")
    page.keyboard.type(tenant_key)
    page.keyboard.press("Enter")
    page.locator("#key-status", has_text="Using tenant").wait_for()

    # The drop zone opens the real file picker on Enter (and on Space).
    _tab_to(console, "drop")
    console.shot("focus-on-drop-zone", full_page=False)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(example("dimm-machine-check.log")))
    console.wait_result()
    console.shot("keyboard-result")

    _tab_to(console, "fb-confirm")
    page.keyboard.press("Space")
    console.widget().locator("#fb-status", has_text="confirmation was recorded").wait_for()

    # Correct it: the form opens with focus on the root-cause list; arrows pick an entry.
    _tab_to(console, "fb-correct")
    page.keyboard.press("Enter")
    _wait_focus(console, "fb-rc")
    page.keyboard.press("ArrowDown")
    chosen = console.widget().locator("#fb-rc").input_value()
    assert chosen
    console.shot("keyboard-correct-form")
    _tab_to(console, "fb-send")
    page.keyboard.press("Enter")
    console.widget().locator("#fb-status", has_text="correction was recorded").wait_for()
    # After sending, focus returns to the button that opened the form.
    _wait_focus(console, "fb-correct")

    feedback = only_job(server, tenant_key)["feedback"]
    assert [f["verdict"] for f in feedback] == ["confirm", "correct"]
    assert feedback[1]["root_cause"] == chosen

    # Tabs follow the WAI-ARIA pattern: arrow keys move between them.
    _tab_to(console, "tab-diagnose", backwards=True)
    page.keyboard.press("ArrowRight")
    assert console.deep_focus()["id"] == "tab-fleet"
    assert page.locator("#tab-fleet").get_attribute("aria-selected") == "true"
    assert page.locator("#panel-fleet").is_visible()
    console.widget("fleet").locator("#stat-total", has_text="1").wait_for()
    _tab_to(console, "range")
    console.shot("keyboard-fleet", full_page=False)


UNLABELLED_CONTROLS_JS = """() => {
  const missing = [];
  const widgets = [...document.querySelectorAll("panic-diagnosis")];
  const roots = [document, ...widgets.map((w) => w.shadowRoot)];
  for (const root of roots) {
    const controls = "input, select, textarea, button, [role=button], [tabindex='0']";
    for (const el of root.querySelectorAll(controls)) {
      const labelled = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") ||
        (el.id && root.querySelector(`label[for="${el.id}"]`)) || el.closest("label") ||
        (el.tagName !== "INPUT" && el.tagName !== "SELECT" && el.textContent.trim());
      if (!labelled) missing.push(el.outerHTML.slice(0, 120));
    }
  }
  return missing;
}"""


CONTRAST_JS = """() => {
  // WCAG relative luminance and contrast, on the rendered colours.
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const parentOf = (el) => el.parentElement || (el.getRootNode() && el.getRootNode().host) || null;
  const background = (el) => {
    for (let node = el; node; node = parentOf(node)) {
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg.length >= 3 && (bg.length === 3 || bg[3] > 0.5)) return bg.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  let checked = 0;
  const visit = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) visit(el.shadowRoot);
      if (el.closest("svg, .sr-only, option, optgroup") || el.disabled) continue;
      const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      const box = el.getBoundingClientRect();
      if (!hasText || box.width === 0 || box.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden") continue;
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const r = ratio(parse(style.color).slice(0, 3), background(el));
      checked += 1;
      if (r < (large ? 3 : 4.5)) {
        const text = el.textContent.trim().slice(0, 40);
        failures.push(`${el.tagName.toLowerCase()}.${el.className} "${text}" ${r.toFixed(2)}`);
      }
    }
  };
  visit(document);
  return { checked, failures };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_labels_and_contrast_on_the_result_and_fleet_views(
    open_console: Callable[..., Console], tenant_key: str, scheme: str
) -> None:
    console = open_console(color_scheme=scheme)
    console.open()
    console.use_key(tenant_key)
    console.upload(example("vcpu-starvation-soft-lockup.log"))
    console.wait_result()
    console.widget().locator("#fb-correct").click()
    console.widget().locator("#recent summary").click()
    console.widget().locator('#evidence .log[data-context="true"]').wait_for()
    console.shot(f"result-{scheme}")

    assert console.page.evaluate(UNLABELLED_CONTROLS_JS) == []
    contrast = console.page.evaluate(CONTRAST_JS)
    assert contrast["checked"] > 50, contrast
    assert contrast["failures"] == [], contrast["failures"]

    console.page.click("#tab-fleet")
    console.widget("fleet").locator("#stat-total", has_text="1").wait_for()
    console.shot(f"fleet-{scheme}")
    assert console.page.evaluate(UNLABELLED_CONTROLS_JS) == []
    contrast = console.page.evaluate(CONTRAST_JS)
    assert contrast["failures"] == [], contrast["failures"]
    if scheme == "dark":
        # The widget follows prefers-color-scheme: a dark background behind light text.
        host_bg = console.widget().evaluate("w => getComputedStyle(w).backgroundColor")
        assert host_bg == "rgb(13, 17, 23)"


def test_phone_width_has_no_horizontal_scrolling(
    open_console: Callable[..., Console], tenant_key: str
) -> None:
    console = open_console(width=360, height=740)
    console.open()
    console.use_key(tenant_key)
    console.upload(example("nvidia-null-deref.log"))
    console.wait_result()
    evidence = console.widget().locator('#evidence .log[data-context="true"]')
    evidence.wait_for()
    console.shot("phone-result")
    scroll, inner = console.overflow()
    assert scroll <= inner, f"the page scrolls sideways at 360 px: {scroll} > {inner}"
    # Long log lines scroll inside their own box instead.
    assert evidence.evaluate("box => box.scrollWidth > box.clientWidth")

    console.page.click("#tab-fleet")
    console.widget("fleet").locator("#stat-total", has_text="1").wait_for()
    console.shot("phone-fleet")
    scroll, inner = console.overflow()
    assert scroll <= inner, f"the fleet view scrolls sideways at 360 px: {scroll} > {inner}"
