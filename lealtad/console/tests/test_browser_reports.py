"""The dashboard (D1) and the exports (D2) in a real browser (Debian's Chromium via Playwright).

Selectors are ids and roles, not words: the screens speak the merchant's language."""

import datetime as dt

from playwright.sync_api import expect

from lealtad.cashier.tests.test_browser import (  # noqa: F401
    ARGS,
    ARTIFACTS,
    BROWSER,
    CHROMIUM,
    browser,
    settle,
    shot,
)

pytestmark = BROWSER


def _demo_admin(browser, live_server):  # noqa: F811
    from django.core.management import call_command

    call_command("demo", verbosity=0)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "cafe.admin")
    page.fill("#id_password", "lealtad-demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    return page


def test_dashboard_period_branch_and_charts(browser, live_server):  # noqa: F811
    from lealtad.network.models import Branch

    page = _demo_admin(browser, live_server)
    page.goto(f"{live_server.url}/console/dashboard/")
    charts = page.locator("figure.chart svg[role=img]")
    expect(charts).to_have_count(2)
    expect(page.locator("#registrations")).not_to_have_text("0")  # the demo's members
    shot(page, "d1-dashboard")

    # A year, per week, at one branch.
    today = dt.date.fromisoformat(page.input_value("#id_to"))
    page.fill("#id_from", (today - dt.timedelta(days=364)).isoformat())
    usaquen = Branch.objects.get(name="Usaquén")
    page.select_option("#branch", str(usaquen.pk))
    page.locator("form.period button").click()
    page.wait_for_url(f"**branch={usaquen.pk}**")
    settle(page)
    expect(page.locator("#branch")).to_have_value(str(usaquen.pk))
    expect(page.locator("figure.chart[data-per=week]")).to_have_count(2)
    bars = page.locator("#points-heading + svg rect")
    assert bars.count() >= 2 * 52
    assert page.locator("#accruals").text_content() != "0"
    box = page.locator("figure.chart svg").first.bounding_box()
    assert box["width"] > 900 and box["height"] > 180  # readable on a laptop
    page.locator("figure.chart summary").first.click()
    expect(page.locator("figure.chart details table").first).to_be_visible()
    shot(page, "d2-dashboard-year-branch")
    page.locator("figure.chart").first.screenshot(path=str(ARTIFACTS / "cashier-d2-chart.png"))

    # A reversed period is refused next to the field, and the figures step aside.
    page.fill("#id_from", today.isoformat())
    page.fill("#id_to", (today - dt.timedelta(days=3)).isoformat())
    page.locator("form.period button").click()
    expect(page.locator("#to-error")).to_be_visible()
    expect(page.locator("figure.chart")).to_have_count(0)
    shot(page, "d3-dashboard-bad-period")


def _bar_full(page, box):
    # The bar's fill slides to its width (a CSS transition): wait until it is there.
    page.wait_for_function(
        "id => { const bar = document.querySelector(`#${id} .progress`);"
        " return bar.firstElementChild.getBoundingClientRect().width"
        " >= bar.getBoundingClientRect().width - 1; }",
        arg=box,
    )


def test_exports_with_a_progress_bar(browser, live_server, tmp_path):  # noqa: F811
    from lealtad.customers.models import Membership

    page = _demo_admin(browser, live_server)
    page.goto(f"{live_server.url}/console/exports/")
    link = page.locator("a[data-export][href$='customers.csv']")
    total = int(link.get_attribute("data-total"))
    assert total == Membership.objects.filter(merchant__name="Café Aroma").count()
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "customers.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename.startswith("customers-")
    lines = saved.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == total + 1
    bar = page.locator("#customers-progress .progress")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#customers-progress [aria-live]")).to_contain_text(str(total))
    _bar_full(page, "customers-progress")
    shot(page, "d4-exports")

    # The movements of the period: the same bar, and the file holds what the page announced.
    movements = page.locator("a[data-export][href*='movements.csv']")
    expected = int(movements.get_attribute("data-total"))
    with page.expect_download() as download:
        movements.click()
    download.value.save_as(tmp_path / "movements.csv")
    rows = (tmp_path / "movements.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == expected + 1
    expect(page.locator("#movements-progress .progress")).to_have_attribute("aria-valuenow", "100")
    _bar_full(page, "movements-progress")
    shot(page, "d5-exports-done")
