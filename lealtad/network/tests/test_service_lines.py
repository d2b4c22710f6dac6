"""C11: a suspended customer's cashier is told where to send them — the network's service line
for the right country, kept by the operator (seeded from the guides, edited in the admin)."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.coins import actions as coins
from lealtad.core import testing
from lealtad.core.errors import CustomerSuspended
from lealtad.customers.actions import suspend_customer
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Transaction
from lealtad.network.models import Network, ServiceAudience, ServiceLine, User
from lealtad.offers.actions import redeem_gift
from lealtad.offers.models import Gift, GiftKind, GiftOffer

pytestmark = pytest.mark.django_db
CO_PHONES = "(+57) 3502118702 / (1) 7464520"
REASON = "En revisión por el operador."


def notice_on_till(shop, customer) -> str:
    client = Client()
    client.force_login(testing.make_cashier(shop))
    page = client.get(f"/cashier/c/{customer.pk}/").content.decode()
    found = re.search(r'<span id="suspension-notice">(.*?)</span>', page, re.S)
    assert found, page
    return found.group(1)


def test_the_seed_guides_lines_are_loaded():
    network = Network.default()
    lines = {(x.audience, x.country): x for x in ServiceLine.objects.filter(network=network)}
    assert len(lines) == 15  # 3 audiences × (CO, PA, SV, GT and every other country)
    assert lines[ServiceAudience.FRAUD, "CO"].phones == CO_PHONES
    assert lines[ServiceAudience.FRAUD, "CO"].email == "monitoreo@leal.co"
    assert lines[ServiceAudience.CUSTOMERS, "PA"].phones == "(+507) 18337565"
    assert lines[ServiceAudience.CUSTOMERS, "PA"].email == "usuarios@leal.co"
    assert lines[ServiceAudience.MERCHANTS, "GT"].email == "comercios@leal.co"
    assert lines[ServiceAudience.FRAUD, ""].email == "monitoreo@leal.co"


def test_the_till_names_the_fraud_line_of_the_customers_country():
    shop = testing.make_merchant()
    customer = testing.make_customer(shop).customer
    suspend_customer(customer, REASON)
    notice = notice_on_till(shop, customer)
    assert notice.startswith(REASON)
    assert f"Colombia: {CO_PHONES} · monitoreo@leal.co" in notice


def test_a_country_without_its_own_line_gets_the_networks_line_for_every_other():
    shop = testing.make_merchant("Posto", country="BR")
    customer = testing.make_customer(shop).customer  # a Colombian document
    customer.country = "BR"  # … treated here as a Brazilian customer
    customer.save(update_fields=["country"])
    suspend_customer(customer, REASON)
    notice = notice_on_till(shop, customer)
    assert "monitoreo@leal.co" in notice and "+57" not in notice


def test_the_operator_edits_a_line_in_the_admin_and_the_till_shows_it():
    shop = testing.make_merchant()
    customer = testing.make_customer(shop).customer
    suspend_customer(customer, REASON)
    line = ServiceLine.objects.get(audience=ServiceAudience.FRAUD, country="CO")
    operator = Client()
    operator.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    url = f"/admin/network/serviceline/{line.pk}/change/"
    form = {
        "network": line.network_id,
        "audience": "fraud",
        "country": "co",
        "phones": "(+57) 601 555 0100",
        "email": "fraude@example.com",
        "address": "",
        "hours": "",
    }
    assert operator.post(url, form).status_code == 302
    assert "Colombia: (+57) 601 555 0100 · fraude@example.com" in notice_on_till(shop, customer)
    # A second line for the same country and audience is a message, not a 500.
    duplicate = operator.post("/admin/network/serviceline/add/", form)
    assert duplicate.status_code == 200
    assert ServiceLine.objects.filter(audience="fraud", country="CO").count() == 1
    empty = operator.post(
        "/admin/network/serviceline/add/", {**form, "country": "PA", "phones": "", "email": ""}
    )
    assert (
        empty.status_code == 200
        and not ServiceLine.objects.filter(audience="fraud", country="PA", phones="").exists()
    )


def test_the_api_problem_names_the_line_and_carries_it_apart():
    shop = testing.make_merchant()
    customer = testing.make_customer(shop).customer
    suspend_customer(customer, REASON)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {shop.api_key}"}
    response = Client().post(
        "/api/v1/accruals",
        json.dumps({"customer_id": str(customer.pk), "amount": "10000"}),
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "customer_suspended"
    assert f"Colombia: {CO_PHONES} · monitoreo@leal.co" in body["detail"]
    assert body["service_line"] == {
        "country": "CO",
        "phones": CO_PHONES,
        "email": "monitoreo@leal.co",
        "address": None,
    }
    seen = Client().get(f"/api/v1/customers/{customer.pk}", **auth).json()
    assert "monitoreo@leal.co" in seen["suspension_message"]
    assert not Transaction.objects.filter(kind="accrual").exists()


def test_every_refusal_of_a_suspended_customer_names_the_line():
    """Accrual, redemption, gifts and coins all refuse with the same notice (one helper)."""
    shop = testing.make_merchant(coin_issuer=True, coin_acceptor=True, cashback_rate="0.02")
    member = testing.make_customer(shop).membership
    gift = Gift.objects.create(merchant=shop.merchant, name="Postre", kind=GiftKind.PRODUCT)
    now = timezone.now()
    offer = GiftOffer.objects.create(
        gift=gift, membership=member, offered_at=now, expires_at=now + dt.timedelta(days=9)
    )
    suspend_customer(member.customer, REASON)
    member.customer.refresh_from_db()
    attempts = [
        lambda: ledger.accrue_points(
            merchant=shop.merchant, membership=member, branch=shop.branch, amount=Decimal(9000)
        ),
        lambda: ledger.check_can_redeem(member),
        lambda: coins.earn_coins(
            merchant=shop.merchant, customer=member.customer, amount=Decimal(9000)
        ),
        lambda: coins.pay_with_coins(merchant=shop.merchant, customer=member.customer, coins=1),
        lambda: redeem_gift(membership=member, offer_id=offer.pk, branch=shop.branch),
    ]
    for attempt in attempts:
        with pytest.raises(CustomerSuspended) as refused:
            attempt()
        assert "monitoreo@leal.co" in str(refused.value.detail)
        assert refused.value.extra["service_line"]["country"] == "CO"
