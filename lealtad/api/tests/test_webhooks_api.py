"""I4 through the API: /webhooks (merchant admin only), the secret once, deliveries paged newest
first, rotation, test events, retries, tenancy; and the OpenAPI 3.1 `webhooks` document."""

import datetime as dt

import pytest
from django.utils import timezone

from lealtad.api.tests.conftest import Api
from lealtad.core import testing
from lealtad.webhooks.events import EVENT_TYPES
from lealtad.webhooks.models import Delivery, Endpoint, Event
from lealtad.webhooks.payloads import SCHEMAS
from lealtad.webhooks.tests.helpers import run_worker
from lealtad.webhooks.tests.receiver import receiver  # noqa: F401 (a fixture)

# A public address that needs no DNS (nothing is sent to it: no worker runs in these tests).
pytestmark = pytest.mark.django_db
PUBLIC = "https://8.8.8.8/hooks/lealtad"


def problem_of(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


def create(api, url=PUBLIC, events=("accrual.posted",), **extra):
    return api.post("/webhooks", {"url": url, "events": list(events), **extra})


def test_an_admin_creates_an_endpoint_and_sees_the_secret_only_then(admin_api, alice_shop):
    response = create(admin_api, events=["accrual.posted", "redemption.created"], description="ERP")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert (body["url"], body["events"], body["description"]) == (
        PUBLIC,
        ["accrual.posted", "redemption.created"],
        "ERP",
    )
    assert (body["active"], body["disabled_reason"]) == (True, None)
    endpoint = Endpoint.objects.get()
    assert (str(endpoint.pk), endpoint.merchant_id, endpoint.secret) == (
        body["id"],
        alice_shop.merchant.pk,
        body["secret"],
    )
    assert endpoint.created_by == alice_shop.admin
    listed = admin_api.get("/webhooks").json()["results"]
    assert len(listed) == 1 and "secret" not in listed[0]
    assert listed[0] == {key: value for key, value in body.items() if key != "secret"}
    assert dt.datetime.fromisoformat(listed[0]["created_at"]).tzinfo is not None
    one = admin_api.get(f"/webhooks/{body['id']}").json()
    assert one == listed[0]


def test_cashiers_and_pos_keys_are_refused(cashier_api, pos_api, admin_api):
    endpoint_id = create(admin_api).json()["id"]
    for api in (cashier_api, pos_api):
        problem_of(create(api), 403, "forbidden")
        problem_of(api.get("/webhooks"), 403, "forbidden")
        problem_of(
            api.client.delete(f"/api/v1/webhooks/{endpoint_id}", **api._headers({})),
            403,
            "forbidden",
        )
        problem_of(api.get(f"/webhooks/{endpoint_id}/deliveries"), 403, "forbidden")
        problem_of(api.post(f"/webhooks/{endpoint_id}/rotate-secret"), 403, "forbidden")
    assert Endpoint.objects.count() == 1


def test_no_token_is_401(anon_api):
    problem_of(anon_api.get("/webhooks"), 401, "unauthorized")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "http://8.8.8.8/hooks",  # plain http
        "ftp://8.8.8.8/",
        "not a url",
    ],
)
def test_a_url_that_may_not_receive_webhooks_is_422(admin_api, url):
    body = problem_of(create(admin_api, url=url), 422, "webhook_url_not_allowed")
    assert body["detail"]
    assert not Endpoint.objects.exists()


@pytest.mark.in_process
def test_private_targets_are_allowed_when_the_server_says_so(admin_api, settings):
    """In process only (in_process): it changes a setting in this process, not in a live server."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    assert create(admin_api, url="http://127.0.0.1:18137/hooks").status_code == 201


@pytest.mark.parametrize(
    "events", [["accrual.posted", "accrual.teleported"], [], ["webhook.test"], [7]]
)
def test_an_unknown_event_is_a_validation_error_on_events(admin_api, events):
    body = problem_of(create(admin_api, events=events), 422, "validation_error")
    assert [e["field"].split(".")[0] for e in body["errors"]] == ["events"]
    assert not Endpoint.objects.exists()


def test_another_merchants_endpoint_is_404(admin_api, other_api):
    endpoint_id = create(admin_api).json()["id"]
    problem_of(other_api.get(f"/webhooks/{endpoint_id}"), 404, "not_found")
    problem_of(other_api.patch(f"/webhooks/{endpoint_id}", {"description": "x"}), 404, "not_found")
    problem_of(
        other_api.client.delete(f"/api/v1/webhooks/{endpoint_id}", **other_api._headers({})),
        404,
        "not_found",
    )
    problem_of(other_api.get(f"/webhooks/{endpoint_id}/deliveries"), 404, "not_found")
    problem_of(other_api.post(f"/webhooks/{endpoint_id}/rotate-secret"), 404, "not_found")
    problem_of(other_api.post(f"/webhooks/{endpoint_id}/test"), 404, "not_found")
    delivery_id = admin_api.post(f"/webhooks/{endpoint_id}/test").json()["id"]
    problem_of(other_api.post(f"/webhooks/deliveries/{delivery_id}/retry"), 404, "not_found")
    assert other_api.get("/webhooks").json() == {"results": []}
    endpoint = Endpoint.objects.get()
    assert endpoint.description == "" and endpoint.previous_secret == ""
    for junk in ("nope", "0", "%00"):
        problem_of(admin_api.get(f"/webhooks/{junk}"), 404, "not_found")
        problem_of(admin_api.post(f"/webhooks/deliveries/{junk}/retry"), 404, "not_found")


def test_delete_is_204_and_then_it_is_gone(admin_api):
    endpoint_id = create(admin_api).json()["id"]
    gone = admin_api.client.delete(f"/api/v1/webhooks/{endpoint_id}", **admin_api._headers({}))
    assert gone.status_code == 204 and gone.content == b""
    assert admin_api.get("/webhooks").json() == {"results": []}
    again = admin_api.client.delete(f"/api/v1/webhooks/{endpoint_id}", **admin_api._headers({}))
    problem_of(again, 404, "not_found")


def accrue(api, customer, n):
    response = api.post(
        "/accruals", {"customer_id": str(customer.pk), "amount": "5000", "invoice_number": f"W-{n}"}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_deliveries_are_listed_newest_first_a_page_at_a_time(admin_api, cashier_api, alice_shop):
    endpoint_id = create(admin_api).json()["id"]
    customer = testing.make_customer(alice_shop).customer
    accruals = [accrue(cashier_api, customer, n) for n in range(5)]
    seen, before, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"before": before} if before else {})}
        page = admin_api.get(f"/webhooks/{endpoint_id}/deliveries", params).json()
        seen += page["results"]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
    assert pages == 3 and len(seen) == 5
    events = {e.pk: e.payload["data"]["id"] for e in Event.objects.all()}
    assert [events[d["event_id"]] for d in seen] == accruals[::-1]  # newest first
    first = seen[0]
    assert (first["type"], first["status"], first["attempts"]) == ("accrual.posted", "pending", 0)
    assert first["endpoint_id"] == endpoint_id and first["event_id"].startswith("msg_")
    assert first["last_status_code"] is None and first["delivered_at"] is None
    everything = admin_api.get(f"/webhooks/{endpoint_id}/deliveries").json()
    assert [d["id"] for d in everything["results"]] == [d["id"] for d in seen]
    assert everything["next_before"] is None
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"before": "abc"}):
        problem_of(
            admin_api.get(f"/webhooks/{endpoint_id}/deliveries", bad), 422, "validation_error"
        )


def test_rotating_the_secret_keeps_the_old_one_for_a_day(admin_api):
    created = create(admin_api).json()
    response = admin_api.post(f"/webhooks/{created['id']}/rotate-secret")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    until = dt.datetime.fromisoformat(body["previous_secret_valid_until"])
    assert abs(until - timezone.now() - dt.timedelta(hours=24)) < dt.timedelta(minutes=1)
    endpoint = Endpoint.objects.get()
    assert (endpoint.secret, endpoint.previous_secret) == (body["secret"], created["secret"])


def test_a_test_event_and_a_retry_are_accepted(admin_api):
    endpoint_id = create(admin_api).json()["id"]
    response = admin_api.post(f"/webhooks/{endpoint_id}/test")
    assert response.status_code == 202, response.content
    delivery = response.json()
    assert (delivery["type"], delivery["status"]) == ("webhook.test", "pending")
    Delivery.objects.filter(pk=delivery["id"]).update(status="failed", next_attempt_at=None)
    retried = admin_api.post(f"/webhooks/deliveries/{delivery['id']}/retry")
    assert retried.status_code == 202, retried.content
    assert retried.json()["status"] == "pending"
    assert retried.json()["event_id"] == delivery["event_id"]  # the same webhook-id
    assert Delivery.objects.get(pk=delivery["id"]).status == "pending"


def test_patch_changes_what_is_given_and_stops_and_starts(admin_api):
    endpoint_id = create(admin_api, description="old").json()["id"]
    body = admin_api.patch(
        f"/webhooks/{endpoint_id}", {"events": ["coins.earned"], "description": "new"}
    ).json()
    assert (body["events"], body["description"], body["url"]) == (["coins.earned"], "new", PUBLIC)
    stopped = admin_api.patch(f"/webhooks/{endpoint_id}", {"active": False}).json()
    assert (stopped["active"], stopped["disabled_reason"]) == (False, "manual")
    assert stopped["disabled_at"] is not None
    problem_of(admin_api.post(f"/webhooks/{endpoint_id}/test"), 409, "webhook_endpoint_disabled")
    started = admin_api.patch(f"/webhooks/{endpoint_id}", {"active": True}).json()
    assert (started["active"], started["disabled_reason"]) == (True, None)
    problem_of(
        admin_api.patch(f"/webhooks/{endpoint_id}", {"url": "https://192.168.0.5/x"}),
        422,
        "webhook_url_not_allowed",
    )
    problem_of(
        admin_api.patch(f"/webhooks/{endpoint_id}", {"events": ["nope"]}), 422, "validation_error"
    )
    endpoint = Endpoint.objects.get()
    assert (endpoint.url, endpoint.events, endpoint.active) == (PUBLIC, ["coins.earned"], True)


@pytest.mark.in_process
@pytest.mark.django_db(transaction=True)
def test_an_accrual_through_the_api_reaches_a_verifying_receiver(receiver):  # noqa: F811
    """In process only (in_process): it changes a setting in this process, never in a live server.
    The worker it runs is this process's too."""
    shop = testing.make_merchant("Café", admin="alicia")
    admin = Api(testing.token_for(shop.admin))
    created = create(admin, url=receiver.url).json()
    receiver.secrets = [created["secret"]]
    customer = testing.make_customer(shop).customer
    accrual_id = accrue(Api(shop.api_key), customer, 1)
    run_worker()
    (got,) = receiver.requests
    assert got.verified, got.error
    assert got.type == "accrual.posted"
    assert got.payload["data"]["id"] == accrual_id
    assert got.payload["data"]["amount"] == "5000.00"
    (row,) = admin.get(f"/webhooks/{created['id']}/deliveries").json()["results"]
    assert (row["event_id"], row["status"], row["last_status_code"]) == (got.id, "delivered", 200)


# --- the OpenAPI document -----------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_openapi_document_is_3_1_with_every_event_under_webhooks(anon_api):
    schema = anon_api.client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1.")
    assert set(schema["webhooks"]) == set(EVENT_TYPES)
    components = schema["components"]["schemas"]
    for ref in set(_refs(schema)):  # every reference in the document resolves
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, ref
    operation_ids = [
        op["operationId"]
        for item in [*schema["paths"].values(), *schema["webhooks"].values()]
        for op in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
    for type_, item in schema["webhooks"].items():
        post = item["post"]
        assert {p["name"]: p["in"] for p in post["parameters"]} == {
            "webhook-id": "header",
            "webhook-timestamp": "header",
            "webhook-signature": "header",
        }
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert body["required"] == ["type", "timestamp", "data"]
        assert body["properties"]["type"] == {"const": type_}
        if type_ in SCHEMAS:
            name = body["properties"]["data"]["$ref"].removeprefix("#/components/schemas/")
            data = components[name]
            assert data["type"] == "object" and data["additionalProperties"] is False
            assert set(data["properties"]) == set(SCHEMAS[type_].model_fields)
        assert "2XX" in post["responses"]
    assert "/api/v1/webhooks" in schema["paths"]
    assert "/api/v1/webhooks/{endpoint_id}/deliveries" in schema["paths"]


@pytest.mark.django_db
def test_a_real_events_data_matches_its_documented_schema(anon_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    from lealtad.ledger import actions as ledger
    from lealtad.webhooks.actions import create_endpoint

    shop = testing.make_merchant()
    create_endpoint(shop.merchant, url="http://127.0.0.1:18138/", events=["accrual.posted"])
    member = testing.make_customer(shop).membership
    ledger.accrue_points(merchant=shop.merchant, membership=member, amount=3000, branch=shop.branch)
    data = Event.objects.get().payload["data"]
    schema = anon_api.client.get("/api/v1/openapi.json").json()
    documented = schema["components"]["schemas"]["WebhookAccrual"]
    assert set(documented["required"]) <= set(data) <= set(documented["properties"])
    types = {"string": str, "integer": int, "object": dict}
    for field, value in data.items():
        spec = documented["properties"][field]
        options = [spec] if "type" in spec or "$ref" in spec else spec["anyOf"]
        allowed = tuple(
            dict if "$ref" in o else type(None) if o.get("type") == "null" else types[o["type"]]
            for o in options
        )
        assert isinstance(value, allowed), (field, value, spec)
