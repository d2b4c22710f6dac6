"""One sign-in throttle for every way in: per username and address, plus a looser one per address.

Alice's shop: Carol is its cashier, Alice its admin; the operator runs the admin site. A stranger
at another address guesses their passwords.
"""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from lealtad.core import testing
from lealtad.network.models import LoginFailure, User

HOME = "10.1.1.1"  # where Carol works
STRANGER = "203.0.113.9"
PASSWORD = testing.PASSWORD


@pytest.fixture
def shop(db):
    return testing.make_merchant("Café Aroma", admin="alice")


@pytest.fixture
def carol(shop):
    return testing.make_cashier(shop, "carol")


@pytest.fixture
def operator(db):
    return User.objects.create_superuser("olga", "olga@example.com", PASSWORD)


def web_login(username, password, address, client=None, path="/login/"):
    client = client or Client()
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def api_token(username, password, address, **extra):
    return Client().post(
        "/api/v1/auth/token",
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
        **extra,
    )


def admin_login(username, password, address):
    return web_login(username, password, address, path="/admin/login/?next=/admin/")


def signed_in_web(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def signed_in_admin(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail(way, username, address, times):
    for _ in range(times):
        way(username, "wrong-password", address)


# --- each way in is throttled, and the right password is refused while it is ----------------------


def test_web_sign_in_refuses_the_right_password_after_five_failures(carol):
    fail(web_login, "carol", STRANGER, 5)
    response = web_login("carol", PASSWORD, STRANGER)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in response.client.session
    assert "Demasiados intentos fallidos. Vuelva a intentarlo en 15 min." in response.text


def test_web_sign_in_says_wrong_password_before_the_limit(carol):
    response = web_login("carol", "wrong-password", HOME)
    assert response.status_code == 200
    assert "Usuario o contraseña incorrectos." in response.text


def test_web_sign_in_speaks_the_users_language(carol):
    client = Client()
    client.cookies["django_language"] = "pt-br"
    fail(web_login, "carol", STRANGER, 5)
    response = web_login("carol", PASSWORD, STRANGER, client=client)
    assert "Muitas tentativas sem sucesso. Tente de novo em 15 min." in response.text


def test_admin_sign_in_refuses_the_right_password_after_five_failures(operator):
    fail(admin_login, "olga", STRANGER, 5)
    response = admin_login("olga", PASSWORD, STRANGER)
    assert not signed_in_admin(response)
    assert "Demasiados intentos fallidos" in response.text


def test_api_token_refuses_the_right_password_after_five_failures(carol):
    fail(api_token, "carol", STRANGER, 5)
    response = api_token("carol", PASSWORD, STRANGER)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "too_many_attempts"
    assert 0 < int(response["Retry-After"]) <= 15 * 60


def test_failures_count_across_the_ways_in(carol):
    """Locked out of the API means locked out of the screens too, and the other way round."""
    fail(web_login, "carol", STRANGER, 2)
    fail(api_token, "carol", STRANGER, 2)
    fail(admin_login, "carol", STRANGER, 1)
    assert api_token("carol", PASSWORD, STRANGER).status_code == 429
    assert not signed_in_web(web_login("carol", PASSWORD, STRANGER))
    assert not signed_in_admin(admin_login("carol", PASSWORD, STRANGER))


def test_the_throttle_lifts_after_the_window(carol):
    fail(api_token, "carol", STRANGER, 5)
    LoginFailure.objects.update(at=timezone.now() - dt.timedelta(minutes=16))
    assert api_token("carol", PASSWORD, STRANGER).status_code == 200


def test_password_change_checks_the_current_password_through_the_throttle(carol):
    client = Client()
    assert signed_in_web(web_login("carol", PASSWORD, HOME, client=client))
    for _ in range(5):
        client.post(
            "/cashier/password/",
            {"old_password": "guess", "new_password1": "N3w-pass!x", "new_password2": "N3w-pass!x"},
            REMOTE_ADDR=HOME,
        )
    response = client.post(
        "/cashier/password/",
        {"old_password": PASSWORD, "new_password1": "N3w-pass!x", "new_password2": "N3w-pass!x"},
        REMOTE_ADDR=HOME,
    )
    assert response.status_code == 200
    assert "Demasiados intentos fallidos" in response.text
    carol.refresh_from_db()
    assert carol.check_password(PASSWORD)


def test_admin_password_change_checks_the_current_password_through_the_throttle(operator):
    client = Client()
    client.force_login(operator)
    new = {"new_password1": "N3w-pass!x", "new_password2": "N3w-pass!x"}
    for _ in range(5):
        client.post("/admin/password_change/", {"old_password": "guess", **new})
    response = client.post("/admin/password_change/", {"old_password": PASSWORD, **new})
    assert response.status_code == 200
    assert "Demasiados intentos fallidos" in response.text
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


# --- a stranger cannot lock anyone out ------------------------------------------------------------


def test_a_stranger_elsewhere_cannot_lock_a_user_out_of_any_way_in(carol, operator):
    for username in ("carol", "olga"):
        for way in (web_login, api_token, admin_login):
            fail(way, username, STRANGER, 10)
    assert signed_in_web(web_login("carol", PASSWORD, HOME))
    assert api_token("carol", PASSWORD, HOME).status_code == 200
    assert signed_in_admin(admin_login("olga", PASSWORD, HOME))
    # ...while the stranger stays throttled.
    assert api_token("carol", PASSWORD, STRANGER).status_code == 429


def test_a_success_starts_only_its_own_count_again(carol, shop):
    fail(api_token, "carol", STRANGER, 4)
    fail(api_token, "carol", HOME, 4)
    assert api_token("carol", PASSWORD, HOME).status_code == 200
    # Carol's success at work does not give the stranger new guesses.
    fail(api_token, "carol", STRANGER, 1)
    assert api_token("carol", PASSWORD, STRANGER).status_code == 429
    assert api_token("carol", PASSWORD, HOME).status_code == 200


def test_one_address_guessing_many_usernames_is_throttled(settings, carol):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 8
    for n in range(8):
        api_token(f"user{n}", "wrong-password", STRANGER)
    response = api_token("carol", PASSWORD, STRANGER)
    assert (response.status_code, response.json()["code"]) == (429, "too_many_attempts")
    assert api_token("carol", PASSWORD, HOME).status_code == 200


def test_a_refused_attempt_is_not_counted_and_checks_no_password(carol):
    fail(api_token, "carol", STRANGER, 5)
    fail(api_token, "carol", STRANGER, 20)
    assert LoginFailure.objects.count() == 5


# --- the client's address -------------------------------------------------------------------------


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(carol):
    for n in range(5):
        api_token("carol", "wrong-password", STRANGER, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert (
        api_token("carol", PASSWORD, STRANGER, HTTP_X_FORWARDED_FOR="198.51.100.77").status_code
        == 429
    )


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(settings, carol):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = "10.0.0.2"
    # The stranger writes a header of their own; the proxy appends the address it saw.
    for _ in range(5):
        api_token("carol", "wrong-password", proxy, HTTP_X_FORWARDED_FOR=f"{HOME}, {STRANGER}")
    assert list(LoginFailure.objects.values_list("ip", flat=True).distinct()) == [STRANGER]
    assert api_token("carol", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=STRANGER).status_code == 429
    assert api_token("carol", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=HOME).status_code == 200


def test_a_proxy_on_the_same_machine_is_trusted_by_default(carol):
    for _ in range(5):
        api_token("carol", "wrong-password", "127.0.0.1", HTTP_X_FORWARDED_FOR=STRANGER)
    assert api_token("carol", PASSWORD, "127.0.0.1", HTTP_X_FORWARDED_FOR=HOME).status_code == 200
    assert api_token("carol", PASSWORD, "::1", HTTP_X_FORWARDED_FOR=STRANGER).status_code == 429


def test_an_ipv6_client_counts_by_its_64_network(carol):
    for n in range(5):
        api_token("carol", "wrong-password", f"2001:db8:1:2::{n + 1}")
    assert api_token("carol", PASSWORD, "2001:db8:1:2:ffff::9").status_code == 429
    assert api_token("carol", PASSWORD, "2001:db8:1:3::1").status_code == 200


def test_a_nul_byte_in_the_username_is_a_wrong_password_not_an_error(carol):
    response = api_token("car\x00ol", PASSWORD, HOME)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")


# --- simultaneous guesses ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_guesses_cannot_slip_past_the_limit(postgres_only, carol):
    import threading

    from django.db import connection

    barrier = threading.Barrier(20)
    codes = [None] * 20

    def guess(i):
        barrier.wait(timeout=30)
        try:
            codes[i] = api_token("carol", f"guess-{i}", STRANGER).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes.count(401) <= 5 and codes.count(401) + codes.count(429) == 20, codes
    assert LoginFailure.objects.count() == codes.count(401)
    # Refused guesses leave no trace, so the stranger may go on up to the limit, and no further.
    later = [api_token("carol", f"later-{i}", STRANGER).status_code for i in range(10)]
    assert codes.count(401) + later.count(401) == 5
    assert api_token("carol", PASSWORD, STRANGER).status_code == 429
