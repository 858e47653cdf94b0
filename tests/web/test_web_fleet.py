"""The console's fleet view: `GET /v1/stats` drawn as an inline SVG chart and tables.

The tenant is this test's own, so the counts are exactly the diagnoses the test submitted.
"""

from __future__ import annotations

from collections.abc import Callable

from web_helpers import Console, Server, example

SUBMITTED = {
    "nfs-hung-task.log": "web-1",
    "panic-on-oom.log": "db-1",
    "nvidia-null-deref.log": "db-1",
}


def test_fleet_view_charts_the_tenants_diagnoses(
    open_console: Callable[..., Console], server: Server, tenant_key: str
) -> None:
    titles = []
    with server.client(tenant_key) as client:
        for name, host in SUBMITTED.items():
            answer = client.post(
                "/v1/diagnoses",
                params={"filename": name, "host": host},
                content=example(name).read_bytes(),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert answer.status_code == 200, answer.text
            titles.append(answer.json()["result"]["root_cause"]["title"])
        categories = client.get("/v1/stats").json()["by_category"]

    console = open_console()
    console.open()
    console.use_key(tenant_key)
    console.page.click("#tab-fleet")
    assert console.page.locator("#panel-diagnose").is_hidden()
    fleet = console.widget("fleet")
    total = fleet.locator("#stat-total")
    total.filter(has_text="3").wait_for()
    assert fleet.locator("#stat-hosts").inner_text() == "2"

    chart = fleet.locator("#chart svg")
    assert chart.get_attribute("data-total") == "3"
    drawn = chart.locator("rect.seg").evaluate_all(
        "rects => rects.map(r => [r.dataset.category, Number(r.dataset.count)])"
    )
    assert sum(count for _, count in drawn) == 3
    drawn_by_category: dict[str, int] = {}
    for category, count in drawn:
        drawn_by_category[category] = drawn_by_category.get(category, 0) + count
    assert drawn_by_category == {c["category"]: c["count"] for c in categories if c["count"]}
    legend = fleet.locator("#legend li").all_inner_texts()
    assert sorted(legend) == sorted(
        f"{c['category']}: {c['count']}" for c in categories if c["count"]
    )
    assert "3 diagnoses" in (chart.get_attribute("aria-label") or "")

    causes = fleet.locator("#top-causes tbody").inner_text()
    for title in titles:
        assert title in causes
    assert fleet.locator("#top-signatures tbody tr").count() == 3
    console.shot("fleet-30-days")

    # The range selector really changes the query: hourly buckets, then a range in the past.
    fleet.locator("#range").select_option("24h")
    fleet.locator("#chart-caption", has_text="per hour").wait_for()
    assert chart.get_attribute("data-total") == "3"
    console.shot("fleet-24-hours")

    fleet.locator("#range").select_option("custom")
    fleet.locator("#since").fill("2020-01-01")
    fleet.locator("#until").fill("2020-01-31")
    fleet.locator("#range-apply").click()
    total.filter(has_text="0").wait_for()
    assert fleet.locator("#chart svg").get_attribute("data-total") == "0"
    assert "No diagnoses" in fleet.locator("#chart").inner_text()
    assert "No diagnoses" in fleet.locator("#top-causes").inner_text()
    console.shot("fleet-empty-range")


def test_fleet_view_refuses_an_inverted_custom_range(
    open_console: Callable[..., Console], tenant_key: str
) -> None:
    console = open_console()
    console.open("#fleet")
    console.use_key(tenant_key)
    fleet = console.widget("fleet")
    fleet.locator("#stat-total", has_text="0").wait_for()
    fleet.locator("#range").select_option("custom")
    fleet.locator("#since").fill("2026-02-10")
    fleet.locator("#until").fill("2026-02-01")
    fleet.locator("#range-apply").click()
    fleet.locator("#error", has_text="before the last day").wait_for()


def test_key_survives_a_reload_in_session_storage_only(
    open_console: Callable[..., Console], tenant_key: str
) -> None:
    console = open_console()
    console.open("#fleet")
    console.use_key(tenant_key)
    console.widget("fleet").locator("#stat-total", has_text="0").wait_for()
    # Reloading on the fleet tab: the page checks the key and loads the stats at the same time.
    console.page.reload()
    console.page.locator("#key-status", has_text="Using tenant").wait_for()
    console.widget("fleet").locator("#stat-total", has_text="0").wait_for()
    assert console.page.locator("#tab-fleet").get_attribute("aria-selected") == "true"
    assert console.page.input_value("#api-key") == tenant_key
    assert console.page.evaluate("sessionStorage.getItem('panicdx.apiKey')") == tenant_key
    assert tenant_key not in console.page.url
    assert console.page.evaluate("localStorage.length") == 0

    console.page.click("#key-forget")
    console.page.locator("#key-status", has_text="No API key").wait_for()
    assert console.page.evaluate("sessionStorage.getItem('panicdx.apiKey')") is None
