"""C11 in a real browser: the cashier opening a suspended customer reads where to send them,
at the till's three window sizes."""

import pytest

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.core import testing
from lealtad.customers.actions import suspend_customer
from lealtad.network.models import Network, ServiceAudience, ServiceLine

pytestmark = BROWSER
SIZES = [(1366, 768), (1024, 600), (390, 844)]


@pytest.mark.parametrize(("width", "height"), SIZES, ids=lambda v: str(v))
def test_the_till_shows_a_suspended_customer_the_right_service_line(
    browser,  # noqa: F811
    live_server,
    width,
    height,
):
    shop = testing.make_merchant("Café Aroma")
    testing.make_cashier(shop, "carol")
    customer = testing.make_customer(shop).customer
    # Transactional tests start from an emptied database: put back the seeded line.
    ServiceLine.objects.get_or_create(
        network=Network.default(),
        country="CO",
        audience=ServiceAudience.FRAUD,
        defaults={"phones": "(+57) 3502118702 / (1) 7464520", "email": "monitoreo@leal.co"},
    )
    suspend_customer(customer, "En revisión por el operador.")
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/cashier/c/{customer.pk}/")
    notice = page.locator("#suspension-notice")
    notice.wait_for()
    text = notice.inner_text()
    assert "Colombia: (+57) 3502118702 / (1) 7464520 · monitoreo@leal.co" in text
    box = notice.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1  # readable, not cut off
    shot(page, f"suspended-{width}x{height}")
