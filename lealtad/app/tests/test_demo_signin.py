"""`make run` / `lealtad demo`: the demo customer it prints can sign in to the app."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from lealtad.app import actions
from lealtad.app.tests.conftest import last_code

pytestmark = pytest.mark.django_db


def test_the_printed_demo_customer_signs_in(settings):
    settings.SMS_URL = "console://"  # as `make run` sets it
    out = StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "/app/" in text and "printed in this terminal" in text
    email = re.search(r"with the e-mail (\S+@\S+?):", text).group(1)
    mobile = re.search(r"type the mobile (\+\d+)", text).group(1)
    actions.request_code(email=email, ip=None)
    session, _token = actions.verify_code(email=email, code=last_code(email), ip=None)
    assert session.customer.email == email and session.customer.mobile == mobile
