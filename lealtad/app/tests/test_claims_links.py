"""A7 is reached from the app: the home's card and the account's links lead to /app/claims/, in
the customer's language."""

import pytest
from django.conf import settings
from django.test import Client

from lealtad.app.testing import sign_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "title", "text"),
    [
        ("es", "Reclamar una compra", "¿La caja no cargó sus puntos?"),
        ("pt-br", "Solicitar pontos de uma compra", "O caixa não lançou seus pontos?"),
    ],
)
def test_home_and_account_link_to_the_claims(ana, language, title, text):
    client = Client()
    sign_in(client, ana)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    home = client.get("/app/").content.decode()
    assert 'href="/app/claims/"' in home and title in home and text in home
    account = client.get("/app/account/").content.decode()
    assert 'href="/app/claims/"' in account
