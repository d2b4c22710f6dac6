"""The `lealtad` command line: the commands API.md names, the demo, and production settings."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from lealtad.customers.models import Customer, Membership
from lealtad.ledger.check import check_ledger
from lealtad.network.models import ApiKey, Merchant, User

ROOT = Path(__file__).resolve().parents[3]
LEALTAD = [sys.executable, "-m", "lealtad.cli"]


def run(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
class TestCreateMerchant:
    def test_prints_one_json_object(self):
        out = run(
            "create_merchant",
            "--name",
            "Pan de Bono",
            "--country",
            "CO",
            "--point-value",
            "500",
            "--admin",
            "pan.admin",
            "--admin-password",
            "s3cret-pan!",
        )
        data = json.loads(out)
        assert set(data) == {
            "merchant_id",
            "branch_id",
            "admin_username",
            "api_key",
            "coin_issuer",
            "coin_acceptor",
        }
        assert (data["coin_issuer"], data["coin_acceptor"]) == (False, False)
        merchant = Merchant.objects.get(pk=data["merchant_id"])
        assert (merchant.currency, merchant.point_value, merchant.timezone) == (
            "COP",
            500,
            "America/Bogota",
        )
        assert merchant.categories.get().is_default
        assert User.objects.get(username="pan.admin").role == "merchant_admin"
        assert ApiKey.objects.get(merchant=merchant).key_hash != data["api_key"]

    def test_refuses_bad_input_without_writing(self):
        with pytest.raises(CommandError, match="point_value"):
            run(
                "create_merchant",
                "--name",
                "X",
                "--country",
                "CO",
                "--point-value",
                "-1",
                "--admin",
                "x.admin",
                "--admin-password",
                "s3cret-pan!",
            )
        with pytest.raises(CommandError, match="password"):
            run(
                "create_merchant",
                "--name",
                "X",
                "--country",
                "CO",
                "--admin",
                "x.admin",
                "--admin-password",
                "123",
            )
        assert not Merchant.objects.exists()


@pytest.mark.django_db
class TestCreateStaff:
    def test_cashier_at_a_branch(self):
        data = json.loads(
            run(
                "create_merchant",
                "--name",
                "Pan",
                "--country",
                "BR",
                "--admin",
                "a1",
                "--admin-password",
                "s3cret-pan!",
            )
        )
        out = json.loads(
            run(
                "create_staff",
                "--merchant",
                data["merchant_id"],
                "--username",
                "caixa1",
                "--password",
                "s3cret-caixa",
                "--role",
                "cashier",
                "--branch",
                data["branch_id"],
            )
        )
        assert out["role"] == "cashier" and out["branch_id"] == data["branch_id"]
        assert Merchant.objects.get(pk=data["merchant_id"]).currency == "BRL"

    def test_unknown_merchant(self):
        with pytest.raises(CommandError, match="not found"):
            run(
                "create_staff",
                "--merchant",
                "nope",
                "--username",
                "u",
                "--password",
                "s3cret-caixa",
                "--role",
                "cashier",
            )


@pytest.mark.django_db
def test_demo_is_idempotent_and_shows_the_product():
    first = run("demo")
    counts = (Merchant.objects.count(), Customer.objects.count(), Membership.objects.count())
    second = run("demo")
    assert counts == (
        Merchant.objects.count(),
        Customer.objects.count(),
        Membership.objects.count(),
    )
    assert counts[0] == 4 and counts[1] >= 36
    assert "cafe.chapinero" in first and "cafe.chapinero" in second
    assert second.count("LTQ1.") == counts[2]
    assert {m.country for m in Merchant.objects.all()} == {"CO", "BR", "PA"}
    cafe = Merchant.objects.get(name="Café Aroma")
    assert cafe.branches.count() == 2 and cafe.coin_issuer and cafe.coin_acceptor
    # N5 / K2: a Colombian acceptor in the network's currency, and customers holding coins.
    bookshop = Merchant.objects.get(name="Librería Macondo")
    assert bookshop.coin_acceptor and bookshop.currency == cafe.network.currency == "COP"
    assert "libreria.caja" in first
    from lealtad.coins.actions import wallet_of

    holders = [wallet_of(c)["available"] for c in Customer.objects.all()]
    # Earned at the café, one paid at the bookshop, 2,500 bank points at 0.2, one donation (K4, K5).
    assert sum(1 for h in holders if h > 0) == 3
    assert sum(holders) == 800 + 1100 + 1400 - 300 + 500 - 100
    from lealtad.coins.models import Cause, Donation, Partner, PartnerConversion

    assert Partner.objects.get().name == "Banco Andino" and Cause.objects.count() == 2
    assert PartnerConversion.objects.count() == 1 and Donation.objects.count() == 1
    assert "Banco Andino's partner API key" in first and "lpp_" not in second
    # R3: two coin promotions at the bookshop, one every holder affords, one within reach.
    from lealtad.coins.promotions import on_sale

    prices = sorted(p.coins_price for p in on_sale(bookshop))
    assert len(prices) == 2 and prices[0] <= min(h for h in holders if h > 0)
    assert max(h for h in holders if h > 0) >= prices[1] > sorted(h for h in holders if h)[1]
    assert Customer.objects.filter(profile_complete=False).exists()
    assert Membership.objects.filter(blocked=True).exists()
    assert Customer.objects.filter(document_type="CPF").count() >= 10
    # One identity at several merchants (N2).
    assert Customer.objects.filter(
        memberships__merchant__name="Farmacia Salud", country="CO"
    ).exists()
    assert check_ledger() == []


@pytest.mark.django_db
def test_demo_has_points_close_to_expiry():
    from django.utils import timezone

    from lealtad.api.views import points_of

    run("demo")
    soon = [points_of(m, timezone.now())["expiring_30d"] for m in Membership.objects.all()]
    assert any(soon)


def _env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(extra)
    return env


def test_production_without_secret_key_stops_with_a_clear_message():
    result = subprocess.run(
        [*LEALTAD, "check"],
        env=_env(DEBUG="false"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_in_production():
    result = subprocess.run(
        [*LEALTAD, "check", "--deploy", "--fail-level", "WARNING"],
        env=_env(DEBUG="false", SECRET_KEY="x" * 20 + "-production-grade-secret-key-0123456789"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_hyphenated_commands_map_to_django_commands():
    result = subprocess.run(
        [*LEALTAD, "create-merchant", "--help"],
        env=_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "--point-value" in result.stdout


@pytest.mark.django_db
class TestCreateApiKey:
    def test_prints_the_secret_once_and_keeps_only_its_hash(self):
        data = json.loads(
            run(
                "create_merchant",
                "--name",
                "Llaves",
                "--country",
                "CO",
                "--admin",
                "llaves.admin",
                "--admin-password",
                "s3cret-llaves!",
            )
        )
        wide = json.loads(run("create_api_key", "--merchant", data["merchant_id"], "--name", "Web"))
        assert wide["branch_id"] is None and wide["api_key"].startswith("lpk_")
        key = ApiKey.objects.get(pk=wide["id"])
        assert key.key_hash == ApiKey.hash(wide["api_key"]) and key.branch is None
        one = json.loads(
            run(
                "create_api_key",
                "--merchant",
                data["merchant_id"],
                "--name",
                "Caja 2",
                "--branch",
                data["branch_id"],
            )
        )
        assert one["branch_id"] == data["branch_id"] and one["api_key"] != wide["api_key"]

    def test_refusals_name_the_problem(self):
        data = json.loads(
            run(
                "create_merchant",
                "--name",
                "Llaves 2",
                "--country",
                "CO",
                "--admin",
                "llaves2.admin",
                "--admin-password",
                "s3cret-llaves!",
            )
        )
        with pytest.raises(CommandError, match="not found"):
            run("create_api_key", "--merchant", "nope")
        with pytest.raises(CommandError, match="name"):
            run("create_api_key", "--merchant", data["merchant_id"], "--name", "POS")
        count = ApiKey.objects.filter(merchant_id=data["merchant_id"]).count()
        assert count == 1
