from lealtad.app import actions
from lealtad.app.models import CustomerSession
from lealtad.core import testing
from lealtad.network.models import User


def test_the_operator_revokes_a_lost_phone(client, ana):
    session, token = actions.open_session(ana, user_agent="lost phone")
    actions.request_code(email=ana.email, ip="203.0.113.9")
    client.force_login(User.objects.create_superuser("op", "op@example.com", testing.PASSWORD))
    listing = client.get("/admin/app/customersession/")
    assert listing.status_code == 200 and str(ana) in listing.content.decode()
    codes = client.get("/admin/app/signincode/")
    assert codes.status_code == 200 and ana.email in codes.content.decode()
    assert (
        session.token_hash
        not in client.get(f"/admin/app/customersession/{session.pk}/change/").content.decode()
    )
    client.post(
        "/admin/app/customersession/",
        {"action": "revoke", "_selected_action": [session.pk]},
    )
    assert CustomerSession.objects.get(pk=session.pk).revoked_at is not None
    assert actions.session_for_token(token) is None
