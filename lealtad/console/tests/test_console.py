"""The merchant admin's console, part 1: program, staff, approval queue; tenancy and roles."""

from decimal import Decimal

import pytest
from django.test import Client

from lealtad.claims.testing import photo
from lealtad.core import testing
from lealtad.ledger import actions
from lealtad.ledger.models import Account, Transaction
from lealtad.network.models import User
from lealtad.program.models import FraudRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return testing.make_merchant(admin="alice")


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    return client


def test_a_cashier_cannot_open_the_console(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop))
    for url in ("/console/", "/console/staff/", "/console/approvals/", "/console/program/"):
        assert client.get(url).status_code == 404


def test_program_settings_saved_and_validated(console, shop):
    response = console.post(
        "/console/program/",
        {
            "point_value": "500",
            "points_validity_days": "180",
            "welcome_bonus_points": "25",
            "redemption_requires_document_check": "on",
        },
    )
    assert response.status_code == 302
    shop.merchant.refresh_from_db()
    assert (
        shop.merchant.point_value,
        shop.merchant.points_validity_days,
        shop.merchant.welcome_bonus_points,
    ) == (Decimal("500"), 180, 25)
    page = console.post(
        "/console/program/",
        {"point_value": "0", "points_validity_days": "0", "welcome_bonus_points": "-1"},
    ).content.decode()
    assert page.count('class="error"') == 3
    shop.merchant.refresh_from_db()
    assert shop.merchant.point_value == Decimal("500")


def test_admin_creates_resets_and_deactivates_a_cashier(console, shop):
    console.post(
        "/console/staff/",
        {"username": "bea", "password": "caja-segura-1", "branch": str(shop.branch.pk)},
    )
    bea = User.objects.get(username="bea")
    assert (bea.role, bea.merchant_id) == ("cashier", shop.merchant.pk)
    console.post(f"/console/staff/{bea.pk}/password/", {"password": "temporal-2026"})
    bea.refresh_from_db()
    assert bea.must_change_password
    till = Client()
    till.post("/login/", {"username": "bea", "password": "temporal-2026"})
    assert till.get("/cashier/")["Location"] == "/cashier/password/"
    till.post(
        "/cashier/password/",
        {
            "old_password": "temporal-2026",
            "new_password1": "mi-clave-propia-9",
            "new_password2": "mi-clave-propia-9",
        },
    )
    assert till.get("/cashier/").status_code == 200
    console.post(f"/console/staff/{bea.pk}/active/")
    assert not User.objects.get(pk=bea.pk).is_active


def test_staff_form_errors_next_to_fields(console, shop):
    page = console.post(
        "/console/staff/", {"username": "alice", "password": "123", "branch": str(shop.branch.pk)}
    ).content.decode()
    assert 'id="username-error"' in page or 'id="password-error"' in page
    assert User.objects.filter(username="alice").count() == 1


def test_approval_queue_approve_reject_and_bulk(console, shop):
    FraudRule.objects.create(merchant=shop.merchant, kind="max_invoice_amount", limit=1000)
    members = [testing.make_customer(shop).membership for _ in range(3)]
    held = [
        actions.accrue_points(
            merchant=shop.merchant, customer=m.customer, amount=Decimal(5000), branch=shop.branch
        ).transaction
        for m in members
    ]
    page = console.get("/console/approvals/").content.decode()
    assert page.count('name="ids"') == 3 and "Valor máximo de factura" in page
    console.post(f"/console/approvals/{held[0].pk}/reject/", {"reason": "Factura falsa"})
    console.post("/console/approvals/", {"ids": [str(held[1].pk), str(held[2].pk)]})
    statuses = dict(Transaction.objects.filter(kind="accrual").values_list("pk", "status"))
    assert [statuses[t.pk] for t in held] == ["rejected", "posted", "posted"]
    assert [Account.objects.get(pk=m.account_id).balance for m in members] == [0, 5, 5]


def test_another_merchants_objects_are_404(console, shop):
    other = testing.make_merchant("Otro")
    stranger = testing.make_cashier(other)
    txn = actions.accrue_points(
        merchant=other.merchant,
        customer=testing.make_customer(other).customer,
        amount=Decimal(5000),
        branch=other.branch,
    ).transaction
    assert console.get(f"/console/staff/{stranger.pk}/password/").status_code == 404
    assert console.post(f"/console/staff/{stranger.pk}/active/").status_code == 404
    assert console.post(f"/console/approvals/{txn.pk}/reject/", {"reason": "x"}).status_code == 404
    console.post("/console/approvals/", {"ids": [str(txn.pk)]})
    assert User.objects.get(pk=stranger.pk).is_active
    assert Transaction.objects.get(pk=txn.pk).status == "posted"


def test_categories_created_edited_and_validated(console, shop):
    from lealtad.program.models import Category

    console.post(
        "/console/categories/new/",
        {
            "name": "Oro",
            "description": "Clientes top",
            "multiplier": "2",
            "validity_days": "540",
            "audit_mode": "default",
            "active": "on",
        },
    )
    gold = Category.objects.get(merchant=shop.merchant, name="Oro")
    assert (gold.multiplier, gold.validity_days) == (Decimal("2"), 540)
    page = console.post(
        "/console/categories/new/", {"name": "oro", "multiplier": "-1", "audit_mode": "default"}
    ).content.decode()
    assert page.count('class="error"') == 2
    default = Category.objects.get(merchant=shop.merchant, is_default=True)
    page = console.post(
        f"/console/categories/{default.pk}/",
        {"name": default.name, "multiplier": "1", "audit_mode": "default"},
    ).content.decode()
    assert "predeterminada" in page
    assert Category.objects.get(pk=default.pk).active


def test_fraud_rules_edited_in_the_console_change_accruals(console, shop):
    console.post(
        "/console/rules/",
        {
            "max_invoice_amount_limit": "100000",
            "max_invoice_amount_action": "hold",
            "max_accruals_per_day_limit": "",
            "max_accruals_per_day_action": "hold",
            "min_minutes_between_limit": "",
            "min_minutes_between_action": "hold",
            "max_points_per_day_limit": "",
            "max_points_per_day_action": "refuse",
        },
    )
    assert list(FraudRule.objects.values_list("kind", "limit", "action")) == [
        ("max_invoice_amount", Decimal("100000"), "hold")
    ]
    customer = testing.make_customer(shop).customer
    held = actions.accrue_points(
        merchant=shop.merchant, customer=customer, amount=Decimal(150000), branch=shop.branch
    )
    assert held.transaction.status == "pending"
    console.post(
        "/console/rules/",
        {
            f"{k}_{f}": "" if f == "limit" else "hold"
            for k in (
                "max_invoice_amount",
                "max_accruals_per_day",
                "min_minutes_between",
                "max_points_per_day",
            )
            for f in ("limit", "action")
        },
    )
    assert not FraudRule.objects.exists()


def test_another_merchants_category_is_404(console):
    from lealtad.program.models import Category

    other = testing.make_merchant("Otro")
    theirs = Category.objects.get(merchant=other.merchant)
    assert console.get(f"/console/categories/{theirs.pk}/").status_code == 404
    assert console.get(f"/console/categories/{theirs.pk}/rules/").status_code == 404


def test_goals_default_and_per_cashier_with_the_report(console, shop):
    import datetime as dt

    from lealtad.cashier import goals

    bea = testing.make_cashier(shop, "bea")
    carl = testing.make_cashier(shop, "carl")
    console.post("/console/goals/", {"registrations": "2", "accruals": "4"})
    console.post("/console/goals/", {"staff": str(bea.pk), "registrations": "1", "accruals": "10"})
    assert goals.targets_for(bea, shop.merchant) == (1, 10)
    assert goals.targets_for(carl, shop.merchant) == (2, 4)
    customer = testing.make_customer(shop).customer
    actions.accrue_points(
        merchant=shop.merchant,
        customer=customer,
        amount=Decimal(5000),
        branch=shop.branch,
        staff=bea,
    )
    today = goals.start_of_today(shop.merchant).date()
    rows = {r["user"].username: r for r in goals.report(shop.merchant, today)}
    assert rows["bea"]["accruals"] == {"done": 1, "target": 10, "percent": 10}
    assert rows["carl"]["accruals"]["done"] == 0
    past = goals.report(shop.merchant, today - dt.timedelta(days=1))
    assert all(r["accruals"]["done"] == 0 for r in past)
    page = console.get("/console/goals/", {"day": "no-es-fecha"})
    assert page.status_code == 200 and "bea" in page.content.decode()
    assert (
        console.post("/console/goals/", {"registrations": "-1", "accruals": "x"}).status_code == 200
    )


def test_branches_created_edited_deactivated(console, shop):
    from lealtad.network.models import Branch

    console.post(
        "/console/branches/new/",
        {"name": "Usaquén", "city": "Bogotá", "address": "Cra 7 # 120", "active": "on"},
    )
    branch = Branch.objects.get(merchant=shop.merchant, name="Usaquén")
    console.post(f"/console/branches/{branch.pk}/", {"name": "Usaquén", "city": "Bogotá"})
    assert not Branch.objects.get(pk=branch.pk).active
    page = console.post("/console/branches/new/", {"name": "usaquén"}).content.decode()
    assert 'id="name-error"' in page
    other = testing.make_merchant("Otro")
    assert console.get(f"/console/branches/{other.branch.pk}/").status_code == 404


# A real picture: uploads are checked by Pillow (issue 16), not by their first bytes.
PNG = photo("PNG")


def test_prizes_with_a_picture_appear_at_the_till_and_in_the_api(console, shop, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lealtad.api.views import reward_rows
    from lealtad.program.models import Reward

    settings.MEDIA_ROOT = tmp_path
    response = console.post(
        "/console/prizes/new/",
        {
            "name": "Capuchino",
            "points_cost": "60",
            "stock": "10",
            "active": "on",
            "picture": SimpleUploadedFile("foto.png", PNG, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    prize = Reward.objects.get(merchant=shop.merchant, name="Capuchino")
    assert prize.picture.name.startswith("rewards/") and (tmp_path / prize.picture.name).exists()
    assert [r["name"] for r in reward_rows(shop.merchant, None)] == ["Capuchino"]
    for name, content, message in (
        ("virus.png", b"MZ not a picture", "PNG, JPEG"),
        ("big.png", PNG + b"\x00" * (2 * 1024 * 1024), "2 MB"),
    ):
        page = console.post(
            "/console/prizes/new/",
            {"name": "Malo", "points_cost": "5", "picture": SimpleUploadedFile(name, content)},
        ).content.decode()
        assert message in page
    page = console.post(
        "/console/prizes/new/",
        {
            "name": "Ventana",
            "points_cost": "5",
            "valid_from": "2026-12-01",
            "valid_until": "2026-11-01",
        },
    ).content.decode()
    assert 'id="valid_until-error"' in page
    assert Reward.objects.filter(merchant=shop.merchant).count() == 1


def test_an_expired_prize_window_hides_the_prize(console, shop):
    import datetime as dt

    from django.utils import timezone

    from lealtad.api.views import reward_rows

    yesterday = timezone.localdate() - dt.timedelta(days=2)
    console.post(
        "/console/prizes/new/",
        {
            "name": "Navidad",
            "points_cost": "5",
            "valid_until": yesterday.isoformat(),
            "active": "on",
        },
    )
    assert reward_rows(shop.merchant, None) == []


def test_a_small_merchant_signs_up_and_lands_in_a_working_console(db):
    from lealtad.network.models import Merchant

    client = Client()
    response = client.post(
        "/signup/",
        {
            "name": "Panadería La Espiga",
            "email": "Duena@LaEspiga.co",
            "phone": "601 555 0100",
            "address": "Calle 10 # 5-20",
            "country": "CO",
            "password": "pan-de-bono-2026",
        },
    )
    assert response["Location"] == "/console/"
    merchant = Merchant.objects.get(email="duena@laespiga.co")
    assert merchant.branches.count() == 1 and merchant.categories.get().is_default
    assert merchant.point_value == Decimal("1000") and merchant.currency == "COP"
    assert client.get("/console/").status_code == 200
    again = (
        Client()
        .post(
            "/signup/",
            {
                "name": "Otra",
                "email": "duena@laespiga.co",
                "phone": "601 555 0101",
                "address": "x",
                "country": "CO",
                "password": "pan-de-bono-2026",
            },
        )
        .content.decode()
    )
    assert 'id="email-error"' in again
    assert Merchant.objects.count() == 1


def test_sign_up_errors_next_to_fields(db):
    from lealtad.network.models import Merchant

    page = (
        Client()
        .post(
            "/signup/",
            {
                "name": "",
                "email": "x",
                "phone": "1",
                "address": "",
                "country": "ZZ",
                "password": "1",
            },
        )
        .content.decode()
    )
    for field in ("name", "email", "address", "country"):
        assert f'id="{field}-error"' in page, field
    assert not Merchant.objects.exists()


def test_sign_up_checks_the_phone_in_the_country(db):
    page = (
        Client()
        .post(
            "/signup/",
            {
                "name": "Bien",
                "email": "bien@example.com",
                "phone": "1",
                "address": "x",
                "country": "CO",
                "password": "pan-de-bono-2026",
            },
        )
        .content.decode()
    )
    assert 'id="phone-error"' in page


def test_the_coin_payment_document_setting_sits_with_the_coin_status(console, shop):
    page = console.get("/console/program/").content.decode()
    coins = page[page.index('id="coin-status"') :]
    assert 'name="coin_payment_requires_document"' in coins
    assert page.count('name="coin_payment_requires_document"') == 1
    assert "documento físico" in coins
    response = console.post(
        "/console/program/",
        {
            "point_value": "1000",
            "points_validity_days": "365",
            "welcome_bonus_points": "0",
            "coin_payment_requires_document": "on",
        },
    )
    assert response.status_code == 302
    shop.merchant.refresh_from_db()
    assert shop.merchant.coin_payment_requires_document is True
