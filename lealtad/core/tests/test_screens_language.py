"""Every screen speaks the user's language: a crawl over every URL pattern of the till, the
console, sign-in and sign-up, in Spanish and in Portuguese, getting each page and posting its
forms empty and with nonsense, fails on an English word or an internal field name on screen.
The e-mails are rendered too."""

import datetime as dt
import re
import uuid
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone, translation

from lealtad.cashier.models import RemoteRedemption
from lealtad.core import testing
from lealtad.ledger import actions as ledger
from lealtad.offers.actions import offer_gift
from lealtad.ratings import links as rating_links
from lealtad.ratings.actions import rate_visit

pytestmark = pytest.mark.django_db

# Words that are English and neither Spanish nor Portuguese: one of them on a screen is a string
# that missed translation (or a message written in the code without gettext).
ENGLISH = re.compile(
    r"\b(the|is|are|not|and|with|this|that|must|required|invalid|field|empty|already|taken|"
    r"select|option|enter|valid|should|please|missing|none|true|false|points|customer|amount|"
    r"password|username|number|greater|than|unknown|found|off|left|stock|branch|prize|reward|"
    r"gift|promotion|approval|balance|decimals?|characters?|float|string|choose|yes|active|"
    r"inactive|name|city|address|description|picture|kind|status|date|from|until|save|"
    r"edit|new|back|search|code|phone|mobile|email address|first|last|birth|gender|"
    r"accrual|redemption|expiry|reversal|bonus|pending|posted|rejected|offered|redeemed|"
    r"expired|ended|running|scheduled|every|all|none|male|female|other|weekly|daily)\b",
    re.IGNORECASE,
)
# first_name, birth_date, admin_username: names from the code, never words of a screen.
INTERNAL = re.compile(r"\b[a-z]+_[a-z_]+\b")
RAW_NUMBER = re.compile(r"\d[Ee][+-]?\d|Decimal\(|\d\.\d\d\b(?! ?[A-Z]{3})")
VISIBLE_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}


class Visible(HTMLParser):
    """The text a person sees or hears: element text outside scripts and styles, and the
    attributes read aloud or shown (placeholder, title, aria-label, alt, button values).
    Text in <code> is data shown as it is (an API key's random prefix, an event type), not words."""

    def __init__(self):
        super().__init__()
        self.parts, self.fields, self.values, self._skip, self._select = [], {}, {}, 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "code"):
            self._skip += 1
        self.parts += [attrs[a] or "" for a in VISIBLE_ATTRIBUTES if a in attrs]
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("type", tag)
            self.values[attrs["name"]] = attrs.get("value") or ""
            self._select = attrs["name"] if tag == "select" else None
        if (
            tag == "option"
            and self._select
            and attrs.get("value")
            and not self.values[self._select]
        ):
            self.values[self._select] = attrs["value"]

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> Visible:
    parser = Visible()
    parser.feed(html)
    return parser


def untranslated(text: str, allowed: set[str]) -> list[str]:
    for word in sorted(allowed, key=len, reverse=True):  # "QR code" before "QR"
        text = text.replace(word, " ")
    return sorted(
        {m.group(0) for m in ENGLISH.finditer(text)}
        | {m.group(0) for m in INTERNAL.finditer(text)}
        | {m.group(0) for m in RAW_NUMBER.finditer(text)}
    )


def patterns(resolver=None, prefix=""):
    """Every URL pattern of the screens, as (route, name)."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        # The uploaded files' route (`^media/`, DEBUG's, when the URLconf was first imported
        # before pytest-django turned DEBUG off) serves files, not a screen.
        if route.startswith(("admin/", "api/", "i18n/", "healthz", "logout/", "^media/")):
            continue
        if isinstance(entry, URLResolver):
            yield from patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name


@pytest.fixture
def world(request):
    """A merchant with one of everything a screen shows: members (complete, incomplete), a
    prize out of stock, a 10 % gift, each kind of promotion, a held accrual, a second cashier."""
    country = getattr(request, "param", "CO")
    shop = testing.make_merchant(email_on_join=True, country=country, point_value="5")
    member = testing.make_customer(shop, welcome_bonus=True)
    incomplete = testing.make_customer(shop, complete=False)
    reward = testing.make_reward(shop, cost=10, stock=0)
    testing.make_reward(shop, cost=5_000)
    gift = testing.make_gift(shop, "discount", discount_percent=Decimal("10"))
    offer = offer_gift(gift=gift, membership=member.membership, note="")
    promotion = testing.make_promotion(shop, "multiplier", multiplier=Decimal("10"))
    testing.make_promotion(shop, "bonus", bonus_points=5)
    accrual = ledger.accrue_points(
        merchant=shop.merchant,
        customer=member.customer,
        amount=Decimal("25000"),
        branch=shop.branch,
        invoice_number="F-1",
    )
    category = shop.merchant.categories.first()
    other_cashier = testing.make_cashier(shop)
    now = timezone.now()
    remote = RemoteRedemption.objects.create(  # P6: a remote redemption waiting for its code
        merchant=shop.merchant,
        membership=member.membership,
        reward=reward,
        points=10,
        branch=shop.branch,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=10),
    )
    payment_id = _coin_payment(shop, member.customer) if country == "CO" else uuid.uuid4()
    invoice = _pos_invoice(shop)
    rated = ledger.accrue_points(  # F2: a rated visit, with a comment, for the inbox's detail
        merchant=shop.merchant,
        customer=member.customer,
        amount=Decimal("10000"),
        branch=shop.branch,
        invoice_number="F-2",
    )
    rating = rate_visit(rated.transaction, score=5, comment="Tardaron en atender")
    from lealtad.network.models import ApiKey
    from lealtad.webhooks.actions import create_endpoint, send_test_event

    endpoint = create_endpoint(
        shop.merchant, url="https://93.184.215.14/h", events=["accrual.posted"]
    )[0]
    ids = {
        "key_id": ApiKey.objects.filter(merchant=shop.merchant).first().pk,
        "endpoint_id": endpoint.pk,
        "delivery_id": send_test_event(endpoint).pk,
        "customer_id": member.customer.pk,
        "reward_id": reward.pk,
        "promotion_id": promotion.pk,
        "gift_id": gift.pk,
        "offer_id": offer.pk,
        # A2/A4/A6: the customer app's pages of one merchant (the member's own).
        "merchant_id": shop.merchant.pk,
        "branch_id": shop.branch.pk,
        "category_id": category.pk,
        "user_id": other_cashier.pk,
        "transaction_id": accrual.transaction.pk,
        "payment_id": payment_id,
        "fmt": "csv",
        "remote_id": remote.pk,
        "action": "confirm",
        "invoice_id": invoice.pk,
        "claim_id": _claim(shop, member.customer, request).pk,
        "rating_id": rating.pk,
        # A9: a coin product bought in the app, its voucher (the app's and the till's pages).
        "voucher_id": _voucher(shop, member.customer) if country == "CO" else uuid.uuid4(),
        # F1: the customer's rating page, from its signed link.
        "token": rating_links.make_token(accrual.transaction.pk),
    }
    return shop, ids, incomplete


def _pos_invoice(shop):
    """I2: an invoice the POS sent, waiting at the till for its customer, with its items."""
    from lealtad.invoices.actions import record_invoice

    line = {"description": "Café", "quantity": 2, "unit_price": "5000", "amount": "10000"}
    return record_invoice(
        merchant=shop.merchant,
        branch=shop.branch,
        invoice_number="POS-1",
        amount=Decimal("10000"),
        lines=[line],
    )[0]


def _claim(shop, customer, request):
    """A7: a purchase claim with its photo, waiting in the console's queue."""
    from lealtad.claims import testing as pictures
    from lealtad.claims.actions import submit_claim
    from lealtad.offers.promotions import local_date

    request.getfixturevalue("settings").PRIVATE_MEDIA_ROOT = request.getfixturevalue("tmp_path")
    return submit_claim(
        customer=customer,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number="CLAIM-1",
        amount=Decimal("30000"),
        purchased_on=local_date(shop.merchant, timezone.now()),
        photo=pictures.photo("PNG"),
    )


def _coin_payment(shop, customer):
    """K3: the shop accepts coins and a payment waits for its code (the till's code step)."""
    from lealtad.coins import actions as coins
    from lealtad.coins import payments

    issuer = testing.make_merchant("Emisor", coin_issuer=True, cashback_rate="0.1")
    coins.earn_coins(merchant=issuer.merchant, customer=customer, amount=Decimal(5000))
    shop.merchant.coin_acceptor = True
    shop.merchant.save(update_fields=["coin_acceptor"])
    payment = payments.start_payment(
        merchant=shop.merchant, customer=customer, invoice_amount=Decimal(1000), coins=100
    )
    return payment.pk


def _voucher(shop, customer):
    """A9: a coin promotion of the (coin-accepting) shop bought from the app."""
    from lealtad.coins import vouchers
    from lealtad.coins.models import CoinPromotion

    now = timezone.now()
    product = CoinPromotion.objects.create(
        merchant=shop.merchant,
        name="Libro",
        coins_price=10,
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=30),
    )
    return vouchers.buy_in_app(product.pk, customer=customer).pk


def _url(route: str, ids: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), route)


def _plausible(form: Visible, taken_username: str) -> dict:
    """The form as a hurried user sends it: choices and values kept, every empty text "x", a
    username that exists: it passes the form's own checks and reaches the action's."""
    data = {
        name: form.values.get(name) or ("on" if kind == "checkbox" else "x")
        for name, kind in form.fields.items()
    }
    data.pop("csrfmiddlewaretoken", None)
    data.update({name: taken_username for name in data if name.endswith("username")})
    data.update({name: testing.PASSWORD for name in data if "password" in name})
    return data


def _nonsense(fields: dict, taken_username: str) -> dict:
    """Every field filled with what it cannot take: "x" for numbers, dates, e-mails and
    choices, a username that exists, a password too short."""
    data = {name: "on" if kind == "checkbox" else "x" for name, kind in fields.items()}
    data.pop("csrfmiddlewaretoken", None)
    data.update({name: taken_username for name in data if name.endswith("username")})
    return data


@pytest.mark.parametrize(
    ("world", "language"),
    [("CO", "es"), ("CO", "pt-br"), ("BR", "pt-br")],
    indirect=["world"],
)
def test_every_screen_and_form_error_speaks_the_language(world, language):
    shop, ids, incomplete = world
    clients = {"anonymous": Client(), "cashier": Client(), "admin": Client(), "customer": Client()}
    clients["cashier"].force_login(testing.make_cashier(shop))
    clients["admin"].force_login(shop.admin)
    # A1: the customer's app, signed in as the complete member (lealtad.app.testing).
    from lealtad.app.testing import sign_in
    from lealtad.customers.models import Customer

    sign_in(clients["customer"], Customer.objects.get(pk=ids["customer_id"]))
    for client in clients.values():
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    # Names that are data, not words: the merchant's, the customers', the cashiers'.
    allowed = {shop.merchant.name, shop.branch.name, "Lealtad", "HTMX", "CSV", "QR", "API"}
    allowed.add("Enter")  # the key, called so on Spanish and Portuguese keyboards
    # Names of the API shown as they are sent: webhook event types, the branch_id field, a URL.
    from lealtad.webhooks.events import EVENT_TYPES, TEST_EVENT

    allowed |= {*EVENT_TYPES, TEST_EVENT, "branch_id", "https://93.184.215.14/h"}
    if language == "pt-br":
        allowed |= {"QR code", "status", "Status"}  # Portuguese says them so
    found = {}
    routes = sorted(patterns(), key=lambda r: (not r[0].startswith("cashier/"), r[0]))
    assert len(routes) > 40
    # Each customer page twice: a complete member, and one whose profile lacks everything.
    routes += [(route, "incomplete") for route, _name in routes if "<str:customer_id>" in route]
    for route, name in routes:
        if name == "incomplete":
            ids = {**ids, "customer_id": incomplete.customer.pk}
        who = (
            "cashier"
            if route.startswith("cashier/")
            else "admin"
            if route.startswith("console/")
            else "customer"
            if route.startswith("app/") and not route.startswith(("app/signin", "app/join"))
            else "anonymous"
        )
        client = clients[who]
        url = _url(route, ids)
        page = client.get(url)
        assert page.status_code < 500, url
        form = Visible()
        sent = [("GET", page)]
        if page.status_code == 200 and "html" in page.get("Content-Type", ""):
            form = visible(page.content.decode())
        fields = form.fields
        if route.endswith(("active/", "logout/", "signout/", "signout-everywhere/")):
            continue  # would lock the crawl's own users out
        nonsense = _nonsense(fields, shop.admin.username)
        plausible = _plausible(form, shop.admin.username)
        for data, htmx in (({}, False), (nonsense, False), (nonsense, True), (plausible, False)):
            response = client.post(url, data, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
            assert response.status_code < 500, (url, data)
            sent.append(("POST", response))
        for method, response in sent:
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            text = " ".join(visible(response.content.decode()).parts)
            words = untranslated(text, allowed | _people(shop))
            if words:
                found[f"{method} {url}"] = words
    if found:
        pytest.fail(
            "Not in the language:\n" + "\n".join(f"{k}: {v}" for k, v in sorted(found.items()))
        )


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_error_pages_speak_the_language(language):
    """A wrong address, a page of another merchant, a refused form: Django's own pages are
    English ("Not Found", "Forbidden"); ours are in the user's language."""
    shop = testing.make_merchant()
    cashier = Client(enforce_csrf_checks=True)
    cashier.force_login(testing.make_cashier(shop))
    cashier.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    pages = [
        cashier.get("/no-such-page/"),
        cashier.get("/cashier/c/00000000-0000-0000-0000-000000000000/"),
        cashier.post("/cashier/register/", {}),  # no CSRF token
    ]
    assert [p.status_code for p in pages] == [404, 404, 403]
    for page in pages:
        text = " ".join(visible(page.content.decode()).parts)
        assert untranslated(text, {"Lealtad"}) == [], text
        assert ("Página no encontrada" if language == "es" else "Página não encontrada") in (
            text
        ) or page.status_code == 403
    with translation.override(language):  # what server_error renders, without a request
        text = " ".join(visible(render_to_string("500.html")).parts)
    assert untranslated(text, {"Lealtad"}) == [] and "Lealtad" in text


def _people(shop) -> set[str]:
    from lealtad.customers.models import Customer
    from lealtad.network.models import ApiKey, User

    names = set(User.objects.filter(merchant=shop.merchant).values_list("username", flat=True))
    # An API key's random prefix is data too, also where a sentence names it (the revoke page).
    names |= set(ApiKey.objects.filter(merchant=shop.merchant).values_list("prefix", flat=True))
    for customer in Customer.objects.all():
        names |= {customer.first_name, customer.last_name, customer.email or "", customer.city}
    return {n for n in names if n}


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_every_e_mail_speaks_the_language(language):
    shop = testing.make_merchant()
    made = testing.make_customer(shop)
    context = {
        "merchant": shop.merchant,
        "customer": made.customer,
        "points": 1250,
        "balance": 12500,
        "bonus": 50,
        "reward": "Capuchino",
    }
    allowed = {shop.merchant.name, made.customer.first_name, "Capuchino"}
    with translation.override(language):
        for event in ("join", "accrual", "redemption"):
            for part in (f"{event}_subject", event):
                text = render_to_string(f"notifications/{part}.txt", context)
                assert untranslated(text, allowed) == [], (part, text)
                assert "12.500" in text or part != "accrual" or "1.250" in text


def test_words_agree_with_what_they_describe():
    """pgettext: "active" is "activa" for a category, a branch or a promotion and "activo" for
    a prize or a gift; "All" categories are "Todas"; a blocked woman is "bloqueada"."""
    shop = testing.make_merchant()
    woman = testing.make_customer(shop, gender="F")
    man = testing.make_customer(shop, gender="M")
    for made in (woman, man):
        made.membership.blocked, made.membership.blocked_reason = True, "Reclamo"
        made.membership.save(update_fields=["blocked", "blocked_reason"])
    admin = Client()
    admin.force_login(shop.admin)
    cashier = Client()
    cashier.force_login(testing.make_cashier(shop))
    for client in (admin, cashier):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"

    def text(client, url):
        return " ".join(visible(client.get(url).content.decode()).parts)

    assert "Activa" in text(admin, "/console/categories/")
    assert "Activa" in text(admin, "/console/branches/")
    assert "activa" in text(admin, "/console/categories/new/").lower()
    assert "activa" in text(admin, "/console/promotions/new/").lower()
    assert "Activo" in text(admin, "/console/prizes/")
    assert "Activo" in text(admin, "/console/gifts/")
    assert "Todas" in text(admin, "/console/customers/")
    for client, base in ((cashier, "/cashier/c/"), (admin, "/console/customers/")):
        assert "Bloqueada para redimir en este comercio." in text(
            client, f"{base}{woman.customer.pk}/"
        )
        assert "Bloqueado para redimir en este comercio." in text(
            client, f"{base}{man.customer.pk}/"
        )
