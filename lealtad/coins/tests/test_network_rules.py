"""N4 / N5: one currency per network (NETWORK_CURRENCY, COP by default); a merchant issues or
accepts coins only in that currency; the operator sets the roles through one action, from the
admin and from `create-merchant`."""

import importlib
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from lealtad.coins import actions as coins
from lealtad.core import errors, testing
from lealtad.network import coin_roles
from lealtad.network.models import Merchant, Network, User

pytestmark = pytest.mark.django_db


def test_the_default_network_is_in_the_configured_currency():
    assert Network.default().currency == "COP"
    Network.objects.all().delete()
    with override_settings(NETWORK_CURRENCY="BRL"):
        assert Network.default().currency == "BRL"


def test_the_migration_fixes_the_default_network_the_system_made_in_usd():
    migration = importlib.import_module("lealtad.network.migrations.0008_network_currency_cop")
    Network.objects.update_or_create(name="Lealtad", defaults={"currency": "USD"})
    other = Network.objects.create(name="Panamá", currency="USD")
    migration.fix_default_network(apps, None)
    assert Network.objects.get(name="Lealtad").currency == "COP"
    assert Network.objects.get(pk=other.pk).currency == "USD"  # chosen by someone: left alone


@pytest.mark.parametrize("role", ["coin_issuer", "coin_acceptor"])
def test_a_merchant_in_another_currency_cannot_take_a_coin_role(role):
    extra = {role: True, "cashback_rate": Decimal("0.03")}
    with pytest.raises(errors.ValidationFailed) as refused:
        testing.make_merchant("Farmacia", country="PA", admin="pa_admin", **extra)
    (error,) = refused.value.errors
    assert error["field"] == role
    assert "COP" in error["message"] and "USD" in error["message"]
    assert not Merchant.objects.filter(country="PA").exists()
    assert not User.objects.filter(username="pa_admin").exists()


def test_an_issuer_needs_a_cashback_rate():
    with pytest.raises(errors.ValidationFailed) as refused:
        testing.make_merchant(coin_issuer=True)
    assert [e["field"] for e in refused.value.errors] == ["cashback_rate"]
    for bad in ("0", "-0.1", "1.5", "0.00001", "abc", "NaN"):
        with pytest.raises(errors.ValidationFailed):
            testing.make_merchant(coin_issuer=True, cashback_rate=bad)


def test_a_row_changed_behind_the_action_still_earns_and_pays_nothing_in_another_currency():
    shop = testing.make_merchant(coin_issuer=True, coin_acceptor=True, cashback_rate="0.03")
    customer = testing.make_customer(shop).customer
    coins.earn_coins(merchant=shop.merchant, customer=customer, amount=Decimal("1000"))
    Merchant.objects.filter(pk=shop.merchant.pk).update(currency="USD")
    merchant = Merchant.objects.get(pk=shop.merchant.pk)
    with pytest.raises(errors.NotCoinIssuer) as refused:
        coins.earn_coins(merchant=merchant, customer=customer, amount=Decimal("1000"))
    assert refused.value.code == "not_coin_issuer" and "USD" in str(refused.value.detail)
    with pytest.raises(errors.NotCoinAcceptor) as refused:
        coins.pay_with_coins(merchant=merchant, customer=customer, coins=1)
    assert refused.value.code == "not_coin_acceptor"
    status = coin_roles.coin_status(merchant)
    assert not status.issuer and not status.acceptor and "COP" in status.problem


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


ARGS = ["create_merchant", "--admin-password", "s3cret-pan!", "--name"]


def test_create_merchant_takes_the_coin_roles():
    data = json.loads(
        run(*ARGS, "Pan", "--country", "CO", "--admin", "pan", "--coin-issuer",
            "--cashback-rate", "0.03", "--coin-acceptor")
    )  # fmt: skip
    assert (data["coin_issuer"], data["coin_acceptor"]) == (True, True)
    merchant = Merchant.objects.get(pk=data["merchant_id"])
    assert merchant.cashback_rate == Decimal("0.03")
    with pytest.raises(CommandError, match=r"coin_acceptor: .*COP.*USD"):
        run(*ARGS, "Sol", "--country", "PA", "--admin", "sol", "--coin-acceptor")
    with pytest.raises(CommandError, match="cashback_rate"):
        run(*ARGS, "Luna", "--country", "CO", "--admin", "luna", "--coin-issuer")
    assert not Merchant.objects.filter(name__in=["Sol", "Luna"]).exists()


@pytest.fixture
def operator():
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    return client


def _change(operator, merchant, **fields):
    url = f"/admin/network/merchant/{merchant.pk}/change/"
    form = operator.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update({k: ("on" if v is True else v) for k, v in fields.items() if v is not False})
    for key in [k for k, v in fields.items() if v is False]:
        data.pop(key, None)
    for prefix in ("branches",):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return operator.post(url, data)


def test_the_operator_makes_a_merchant_an_issuer_in_the_admin_through_the_action(operator):
    shop = testing.make_merchant()
    response = _change(operator, shop.merchant, coin_issuer=True, cashback_rate="0")
    assert response.status_code == 200 and "tasa de cashback mayor que 0" in response.text
    assert not Merchant.objects.get(pk=shop.merchant.pk).coin_issuer
    response = _change(operator, shop.merchant, coin_issuer=True, cashback_rate="0.03")
    assert response.status_code == 302, response.content[:3000]
    saved = Merchant.objects.get(pk=shop.merchant.pk)
    assert saved.coin_issuer and saved.cashback_rate == Decimal("0.03")

    usd = testing.make_merchant("Farmacia", country="PA")
    response = _change(operator, usd.merchant, coin_acceptor=True)
    assert response.status_code == 200 and "no puede emitir ni aceptar monedas" in response.text
    assert not Merchant.objects.get(pk=usd.merchant.pk).coin_acceptor


def _program_page(new_merchant) -> str:
    client = Client()
    client.force_login(new_merchant.admin)
    response = client.get("/console/program/")
    assert response.status_code == 200
    start = response.text.index('id="coin-status"')
    return response.text[start : response.text.index("</div>", start)]


def test_the_console_shows_the_merchant_its_coin_status_and_why_it_cannot_take_part():
    issuer = testing.make_merchant(coin_issuer=True, coin_acceptor=True, cashback_rate="0.03")
    shown = _program_page(issuer)
    assert "emite las monedas de la red: 3 monedas por cada 100 COP" in shown
    assert "acepta las monedas de la red" in shown
    outsider = testing.make_merchant("Farmacia", country="PA")
    shown = _program_page(outsider)
    assert "no puede emitir ni aceptar monedas" in shown and "USD" in shown
    plain = testing.make_merchant()
    assert "ni emite ni acepta monedas" in _program_page(plain)


@pytest.mark.parametrize(
    ("rate", "words"),
    [
        ("0.03", "3 coins for every 100 COP"),
        ("0.01", "1 coin for every 100 COP"),
        ("0.0125", "125 coins for every 10.000 COP"),
        ("1", "100 coins for every 100 COP"),
    ],
)
def test_the_rate_in_words(rate, words):
    from django.utils import translation

    from lealtad.coins.words import rate_in_words

    shop = testing.make_merchant(coin_issuer=True, cashback_rate=rate)
    with translation.override("en"):
        assert rate_in_words(shop.merchant) == words
