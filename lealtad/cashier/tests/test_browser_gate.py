"""The exit gate on the till, in Chromium at the three window sizes: an incomplete customer's
card says what is missing by its labels, in Spanish, and the free item and the gift cannot be
handed over; completing the profile opens them."""

import pytest

from lealtad.cashier.tests.test_browser import BROWSER, browser, shot, sign_in  # noqa: F401
from lealtad.core import testing
from lealtad.offers import actions as offers
from lealtad.offers.models import GiftOffer, GiftStatus, PromotionUse

pytestmark = BROWSER

SIZES = [(1366, 768), (1024, 600), (390, 844)]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_an_incomplete_customer_cannot_take_a_free_item_or_a_gift(
    browser,  # noqa: F811
    live_server,
    width,
    height,
):
    shop = testing.make_merchant("Café Aroma")
    cashier = testing.make_cashier(shop)
    membership = testing.make_customer(shop, complete=False).membership
    testing.make_promotion(shop, "free_item", item="Galleta", name="Galleta gratis")
    offers.offer_gift(gift=testing.make_gift(shop, points=5, name="Bono"), membership=membership)
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server.url, cashier.username)
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/cashier/c/{membership.customer_id}/")
    block = page.locator("#exit-block")
    block.wait_for()
    text = block.inner_text()
    assert "nombres, apellidos, género, fecha de nacimiento, celular" in text
    assert "first_name" not in page.content()
    assert page.get_by_role("button", name="Entregar").is_disabled()
    assert page.get_by_role("button", name="Canjear regalo").is_disabled()
    shot(page, f"gate-incomplete-{width}x{height}")
    assert not PromotionUse.objects.filter(membership=membership).exists()
    assert not GiftOffer.objects.filter(status=GiftStatus.REDEEMED).exists()
    page.close()
