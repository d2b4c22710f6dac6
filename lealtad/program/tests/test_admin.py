"""The operator's admin keeps a merchant's program rows with their merchant."""

import pytest
from django.test import Client

from lealtad.core import testing
from lealtad.network.models import User
from lealtad.program.models import Category, FraudRule

pytestmark = pytest.mark.django_db


def test_a_fraud_rule_cannot_name_another_merchants_category():
    shop, other = testing.make_merchant(), testing.make_merchant()
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    foreign = Category.objects.get(merchant=other.merchant, is_default=True)
    response = client.post(
        "/admin/program/fraudrule/add/",
        {
            "merchant": shop.merchant.pk,
            "category": foreign.pk,
            "kind": FraudRule._meta.get_field("kind").choices[0][0],
            "limit": "5",
            "action": "hold",
        },
    )
    assert response.status_code == 200
    assert "category" in response.context["adminform"].form.errors
    assert not FraudRule.objects.exists()


def test_a_category_does_not_move_to_another_merchant():
    shop = testing.make_merchant()
    client = Client()
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    category = Category.objects.get(merchant=shop.merchant, is_default=True)
    page = client.get(f"/admin/program/category/{category.pk}/change/")
    assert "merchant" not in page.context["adminform"].form.fields
