import datetime as dt

import pytest
from django.utils import timezone

from lealtad.app import actions
from lealtad.app.models import CustomerSession, SignInCode
from lealtad.app.tests.conftest import last_code
from lealtad.core.errors import ValidationFailed
from lealtad.notifications.models import OutgoingEmail, OutgoingSms

IP = "203.0.113.7"


def test_a_code_by_email_signs_in_once(ana):
    actions.request_code(email=ana.email.upper(), ip=IP)
    code = last_code(ana.email)
    row = SignInCode.objects.get()
    assert row.customer == ana and row.address == ana.email
    assert code not in row.code_hash  # only an HMAC is kept
    session, token = actions.verify_code(email=ana.email, code=code, ip=IP, user_agent="UA")
    assert session.customer == ana and token.startswith("lcs_")
    assert session.token_hash == CustomerSession.hash(token) and token not in session.token_hash
    assert session.expires_at - session.created_at == dt.timedelta(days=180)
    assert actions.session_for_token(token) == session
    with pytest.raises(actions.InvalidCode):  # single use
        actions.verify_code(email=ana.email, code=code, ip=IP)


def test_the_code_expires_after_ten_minutes(ana):
    now = timezone.now()
    actions.request_code(email=ana.email, ip=IP, now=now)
    code = last_code(ana.email)
    with pytest.raises(actions.InvalidCode):
        actions.verify_code(
            email=ana.email, code=code, ip=IP, now=now + dt.timedelta(minutes=10, seconds=1)
        )
    actions.verify_code(email=ana.email, code=code, ip=IP, now=now + dt.timedelta(minutes=9))


def test_five_wrong_tries_kill_the_code(ana):
    actions.request_code(email=ana.email, ip=IP)
    code = last_code(ana.email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(actions.InvalidCode):
            actions.verify_code(email=ana.email, code=wrong, ip=IP)
    assert SignInCode.objects.get().attempts == 5
    with pytest.raises(actions.InvalidCode):  # even the right one now
        actions.verify_code(email=ana.email, code=code, ip=IP)


def test_a_new_code_replaces_the_old_one(ana):
    actions.request_code(email=ana.email, ip=IP)
    first = last_code(ana.email)
    actions.request_code(email=ana.email, ip=IP)
    second = last_code(ana.email)
    if first != second:
        with pytest.raises(actions.InvalidCode):
            actions.verify_code(email=ana.email, code=first, ip=IP)
    actions.verify_code(email=ana.email, code=second, ip=IP)


def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(ana):
    known = actions.request_code(email=ana.email, ip=IP)
    unknown = actions.request_code(email="Nobody@Example.com", ip=IP)
    assert unknown == "nobody@example.com" and known == ana.email
    assert not OutgoingEmail.objects.filter(to="nobody@example.com").exists()
    assert SignInCode.objects.filter(address="nobody@example.com", customer=None).exists()
    for guess in ("000000", "123456"):
        with pytest.raises(actions.InvalidCode):
            actions.verify_code(email="nobody@example.com", code=guess, ip=IP)


def test_rate_limited_per_address_known_or_not(ana):
    for address in (ana.email, "nobody@example.com"):
        for _ in range(actions.CODES_PER_ADDRESS_HOUR):
            actions.request_code(email=address, ip=None)
        with pytest.raises(actions.TooManyAttempts) as caught:
            actions.request_code(email=address, ip=None)
        assert caught.value.code == "too_many_attempts" and caught.value.status == 429
    # An hour later it may again.
    later = timezone.now() + dt.timedelta(hours=1, minutes=1)
    actions.request_code(email=ana.email, ip=None, now=later)


def test_rate_limited_per_ip(db):
    for n in range(actions.CODES_PER_IP_HOUR):
        actions.request_code(email=f"p{n}@example.com", ip=IP)
    with pytest.raises(actions.TooManyAttempts):
        actions.request_code(email="another@example.com", ip=IP)
    actions.request_code(email="another@example.com", ip="198.51.100.1")


def test_wrong_codes_per_ip_are_limited(ana):
    for n in range(actions.WRONG_CODES_PER_IP_HOUR):
        with pytest.raises(actions.InvalidCode):
            actions.verify_code(email=f"x{n}@example.com", code="111111", ip=IP)
    with pytest.raises(actions.TooManyAttempts):
        actions.verify_code(email=ana.email, code="111111", ip=IP)


def test_bad_addresses_name_the_field(db):
    with pytest.raises(ValidationFailed) as caught:
        actions.request_code(email="not-an-email", ip=IP)
    assert caught.value.errors[0]["field"] == "email"
    with pytest.raises(ValidationFailed) as caught:
        actions.request_code(mobile="12", ip=IP)
    assert caught.value.errors[0]["field"] == "mobile"
    with pytest.raises(ValidationFailed):
        actions.request_code(ip=IP)


def test_mobile_without_sms_goes_to_the_email(ana, settings):
    settings.SMS_URL = ""
    national = ana.mobile.removeprefix("+57")
    assert actions.request_code(mobile=national, ip=IP) == ana.mobile
    assert not OutgoingSms.objects.exists()
    code = last_code(ana.email)
    session, _token = actions.verify_code(mobile=ana.mobile, code=code, ip=IP)
    assert session.customer == ana


def test_mobile_with_sms_goes_by_sms(ana, settings):
    settings.SMS_URL = "console://"
    actions.request_code(mobile=ana.mobile, ip=IP)
    sms = OutgoingSms.objects.get()
    assert sms.to == ana.mobile and sms.customer == ana
    assert not OutgoingEmail.objects.filter(to=ana.email, event="code").exists()
    code = "".join(ch for ch in sms.body if ch.isdigit())[:6]
    actions.verify_code(mobile=ana.mobile, code=code, ip=IP)


def test_the_code_is_written_in_the_callers_transaction(ana, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.count()
    actions.request_code(email=ana.email, ip=IP)
    assert DBTaskResult.objects.count() == before + 1  # the send task, with the outbox row


def test_revoke_and_revoke_all(ana):
    one, token_one = actions.open_session(ana)
    two, token_two = actions.open_session(ana, kind="api")
    actions.revoke(one)
    assert actions.session_for_token(token_one) is None
    assert actions.session_for_token(token_two) == two
    actions.open_session(ana)
    assert actions.revoke_all(ana) == 2
    assert actions.session_for_token(token_two) is None


def test_sliding_expiry_touched_at_most_once_a_minute(ana):
    start = timezone.now()
    session, token = actions.open_session(ana, now=start)
    actions.session_for_token(token, now=start + dt.timedelta(seconds=30))
    session.refresh_from_db()
    assert session.last_seen_at == start
    later = start + dt.timedelta(days=100)
    actions.session_for_token(token, now=later)
    session.refresh_from_db()
    assert session.last_seen_at == later and session.expires_at == later + dt.timedelta(days=180)
    # Unused for 180 days: gone.
    assert actions.session_for_token(token, now=later + dt.timedelta(days=181)) is None


def test_garbage_tokens(db):
    for token in (None, "", "x" * 500, "lcs_nope", "abc", 12):
        assert actions.session_for_token(token) is None
