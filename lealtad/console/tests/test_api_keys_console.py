"""API keys in the console (issue 12): create (merchant-wide or one branch), the secret shown once,
revoke after confirming (then the API refuses the key), tenancy and roles, errors next to fields."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.core import testing
from lealtad.network.models import ApiKey, Branch

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(admin="alice")


@pytest.fixture
def other():
    return testing.make_merchant("Farmacia Salud", admin="charlie")


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    return client


def api_get(secret, path="/rewards"):
    return Client().get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {secret}")


def secret_in(page) -> str:
    found = re.search(r'id="api-key-secret" value="(lpk_[^"]+)"', page.content.decode())
    assert found, page.content.decode()
    return found.group(1)


def create(console, name="Caja 1", branch=""):
    return console.post("/console/api-keys/new/", {"name": name, "branch": branch})


def test_a_key_is_created_and_its_secret_shown_once(console, shop):
    page = create(console, "Caja 1", str(shop.branch.pk))
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    secret = secret_in(page)
    body = page.content.decode()
    assert "solo esta vez" in body and 'data-copy="api-key-secret"' in body
    key = ApiKey.objects.get(merchant=shop.merchant, name="Caja 1")
    assert key.branch == shop.branch and key.created_by == shop.admin
    assert key.key_hash == ApiKey.hash(secret) and secret not in key.key_hash
    assert key.prefix == secret[:10]
    assert api_get(secret).status_code == 200
    # Never again: not on the list, not on the revoke page, not in the session.
    for url in ("/console/api-keys/", f"/console/api-keys/{key.pk}/revoke/"):
        later = console.get(url).content.decode()
        assert secret not in later and key.prefix in later
    assert secret not in str(dict(console.session))


def test_the_list_shows_branch_or_all_branches_and_last_use(console, shop):
    secret = secret_in(create(console, "Web", ""))
    listing = console.get("/console/api-keys/").content.decode()
    assert "Claves de API" in listing and "Todas las sucursales" in listing and "Nunca" in listing
    assert api_get(secret).status_code == 200
    key = ApiKey.objects.get(merchant=shop.merchant, name="Web")
    assert key.branch is None and key.last_used_at is not None
    row = row_of(console.get("/console/api-keys/"), key)
    assert "Nunca" not in row and "Todas las sucursales" in row
    assert timezone.localtime(key.last_used_at).strftime("%H:%M") in row


def row_of(page, key) -> str:
    found = re.search(rf'<tr id="api-key-{key.pk}".*?</tr>', page.content.decode(), re.S)
    assert found
    return found.group(0)


def test_a_merchant_wide_key_names_the_branch_where_one_is_needed(console, shop):
    secret = secret_in(create(console, "Central", ""))
    customer = testing.make_customer(shop).customer
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = {"customer_id": str(customer.pk), "amount": "5000", "invoice_number": "W-1"}
    refused = client.post("/api/v1/accruals", body, content_type="application/json", **auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "branch_id"
    body["branch_id"] = str(shop.branch.pk)
    done = client.post("/api/v1/accruals", body, content_type="application/json", **auth)
    assert done.status_code == 201, done.json()


def test_revoke_asks_first_then_the_api_refuses_the_key(console, shop):
    secret = secret_in(create(console))
    key = ApiKey.objects.get(merchant=shop.merchant, name="Caja 1")
    assert api_get(secret).status_code == 200
    confirm = console.get(f"/console/api-keys/{key.pk}/revoke/")
    assert confirm.status_code == 200 and "Revocar la clave" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None  # the GET only asks
    done = console.post(f"/console/api-keys/{key.pk}/revoke/")
    assert done.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == shop.admin
    refused = api_get(secret)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    listing = console.get("/console/api-keys/").content.decode()
    assert "Revocada" in listing and f"/console/api-keys/{key.pk}/revoke/" not in listing
    # A second revoke changes nothing (the first moment and person stay).
    revoked_at = key.revoked_at
    console.post(f"/console/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at == revoked_at


def test_another_merchants_key_is_404(console, other):
    theirs, secret = ApiKey.objects.get(merchant=other.merchant), other.api_key
    for url in (f"/console/api-keys/{theirs.pk}/revoke/", "/console/api-keys/not-a-uuid/revoke/"):
        assert console.get(url).status_code == 404
        assert console.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and api_get(secret).status_code == 200
    assert theirs.prefix not in console.get("/console/api-keys/").content.decode()


def test_a_cashier_gets_404(shop):
    key = ApiKey.objects.get(merchant=shop.merchant)
    client = Client()
    client.force_login(testing.make_cashier(shop))
    urls = ("/console/api-keys/", "/console/api-keys/new/", f"/console/api-keys/{key.pk}/revoke/")
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, {"name": "X"}).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None and ApiKey.objects.filter(merchant=shop.merchant).count() == 1


def test_bad_input_is_refused_next_to_the_field_and_nothing_is_made(console, shop, other):
    before = ApiKey.objects.count()
    page = create(console, "   ")
    assert page.status_code == 200
    assert re.search(r'id="name-error">[^<]*obligatorio', page.content.decode())
    page = create(console, "x" * 81)
    assert 'id="name-error"' in page.content.decode()
    page = create(console, "Caja 9", str(other.branch.pk))  # another merchant's branch
    assert 'id="branch-error"' in page.content.decode()
    page = create(console, "Caja 9", "not-a-uuid")
    assert 'id="branch-error"' in page.content.decode()
    assert ApiKey.objects.count() == before


def test_the_name_is_unique_among_active_keys_only(console, shop):
    secret_in(create(console, "Caja 1"))
    page = create(console, "  caja 1 ")
    assert re.search(r'id="name-error">[^<]*clave activa', page.content.decode())
    assert ApiKey.objects.filter(merchant=shop.merchant, name__iexact="caja 1").count() == 1
    key = ApiKey.objects.get(merchant=shop.merchant, name="Caja 1")
    console.post(f"/console/api-keys/{key.pk}/revoke/")
    secret_in(create(console, "Caja 1"))  # a revoked key's name is free again
    # Another merchant's keys do not take names here.
    other = testing.make_merchant(admin="dora")
    assert ApiKey.objects.filter(merchant=other.merchant, name="POS").exists()
    secret_in(create(console, "POS 2"))


def test_an_inactive_branch_is_not_offered(console, shop):
    closed = Branch.objects.create(merchant=shop.merchant, name="Cerrada", active=False)
    page = console.get("/console/api-keys/new/").content.decode()
    assert "Cerrada" not in page and shop.branch.name in page
    assert 'id="branch-error"' in create(console, "X", str(closed.pk)).content.decode()


def test_last_use_is_written_at_most_once_a_minute(shop, django_assert_num_queries):
    key = ApiKey.objects.get(merchant=shop.merchant)
    assert key.last_used_at is None
    assert api_get(shop.api_key).status_code == 200
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    assert api_get(shop.api_key).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first  # within the minute: no write
    long_ago = timezone.now() - dt.timedelta(minutes=2)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=long_ago)
    assert api_get(shop.api_key).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at > long_ago + dt.timedelta(minutes=1)


def test_reading_a_key_within_the_minute_writes_nothing(shop, django_assert_num_queries):
    from lealtad.api.auth import actor_for_token

    actor_for_token(shop.api_key)  # the first use writes last_used_at
    with django_assert_num_queries(1):  # the key, by its unique hash: no UPDATE
        actor = actor_for_token(shop.api_key)
    assert actor.api_key.merchant_id == shop.merchant.pk


def test_the_screen_speaks_portuguese_and_english(shop):
    client = Client()
    client.force_login(shop.admin)
    client.post("/i18n/setlang/", {"language": "pt-br", "next": "/console/api-keys/"})
    page = create(client, "Web")
    assert "Copie-o agora" in page.content.decode() and secret_in(page)
    page = client.get("/console/api-keys/").content.decode()
    assert "Chaves de API" in page and "Todas as lojas" in page and "Último uso" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/console/api-keys/"})
    assert "All branches" in client.get("/console/api-keys/").content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_creates_of_one_name_make_one_key(postgres_only):
    import threading

    from django.db import connection

    from lealtad.core.errors import ValidationFailed
    from lealtad.network.actions import create_api_key

    shop = testing.make_merchant(admin="alice")
    barrier = threading.Barrier(8)
    outcomes = [None] * 8

    def create_one(i):
        barrier.wait(timeout=30)
        try:
            create_api_key(shop.merchant, None, "Caja única")
            outcomes[i] = "made"
        except ValidationFailed as exc:
            outcomes[i] = exc.errors[0]["field"]
        finally:
            connection.close()

    threads = [threading.Thread(target=create_one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["made"] + ["name"] * 7, outcomes
    assert ApiKey.objects.filter(merchant=shop.merchant, name="Caja única").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_past_the_limit_are_counted_exactly(
    postgres_only, settings, monkeypatch
):
    """Twelve threads at once with a limit of 5: exactly five get through (one atomic count)."""
    import threading
    import time

    from django.db import connection

    from lealtad.api import ratelimit

    settings.API_RATE_LIMIT = 5
    mid_minute = (time.time() // 60 + 1) * 60 + 10
    monkeypatch.setattr(ratelimit, "clock", lambda: mid_minute)
    shop = testing.make_merchant(admin="alice")
    barrier = threading.Barrier(12)
    codes = [None] * 12

    def call(i):
        barrier.wait(timeout=30)
        try:
            codes[i] = api_get(shop.api_key).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert (codes.count(200), codes.count(429)) == (5, 7), codes
