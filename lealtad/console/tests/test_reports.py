"""D1 dashboard and D2 exports: hand-computed figures, filters, refusals, tenancy, CSV content."""

import csv
import datetime as dt
import io
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lealtad.console import reports
from lealtad.core import testing
from lealtad.customers.models import Customer, Membership
from lealtad.ledger import actions
from lealtad.network.models import Branch
from lealtad.program.models import FraudRule

pytestmark = pytest.mark.django_db

BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def at(day: int, hour: int = 12, minute: int = 0, month: int = 3) -> dt.datetime:
    """A moment of 2026 on the merchant's (Bogotá's) clock."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BOGOTA)


def joined(registration, moment):
    Membership.objects.filter(pk=registration.membership.pk).update(created_at=moment)
    return registration


@pytest.fixture
def shop():
    return testing.make_merchant("Café Aroma", admin="alice")


@pytest.fixture
def north(shop):
    return Branch.objects.create(merchant=shop.merchant, name="Norte")


@pytest.fixture
def march(shop, north):
    """Three customers and their movements, mostly in March 2026:

    - Ana joins at the main branch on 2 March, accrues 25 points there (25,000 COP) and 40 at
      Norte at 23:30 on 3 March (already the 4th in UTC), redeems a 30-point prize on 10 March.
    - Beto joins at Norte on 5 March, accrues 10 points there, reversed on 6 March.
    - Caro joined on 20 February and accrued 100 points then; on 7 March an accrual of 5 points
      is held for approval by a fraud rule.
    Balances now: Ana 35, Beto 0, Caro 100 (and 5 held).
    """
    merchant, main = shop.merchant, shop.branch
    ana = joined(testing.make_customer(shop), at(2, 9))
    beto = joined(testing.make_customer(shop), at(5, 9))
    Membership.objects.filter(pk=beto.membership.pk).update(registered_branch=north)
    caro = joined(testing.make_customer(shop), at(20, 9, month=2))
    prize = testing.make_reward(shop, cost=30)

    def accrue(who, amount, branch, moment):
        return actions.accrue_points(
            merchant=merchant,
            customer=who.customer,
            amount=Decimal(amount),
            branch=branch,
            now=moment,
        ).transaction

    accrue(ana, 25_000, main, at(2, 10))
    accrue(ana, 40_000, north, at(3, 23, 30))
    beto_accrual = accrue(beto, 10_000, north, at(5, 18))
    accrue(caro, 100_000, main, at(20, 11, month=2))
    actions.redeem_reward(
        membership=Membership.objects.get(pk=ana.membership.pk),
        reward_id=prize.pk,
        branch=main,
        now=at(10, 16),
    )
    actions.reverse_transaction(
        merchant=merchant,
        transaction_id=beto_accrual.pk,
        reason="+wrong customer",
        now=at(6, 8),
    )
    FraudRule.objects.create(merchant=merchant, kind="max_invoice_amount", limit=1000)
    held = accrue(caro, 5_000, main, at(7, 12))
    assert held.status == "pending"
    return {"ana": ana, "beto": beto, "caro": caro}


@pytest.fixture
def console(shop):
    client = Client()
    client.force_login(shop.admin)
    client.cookies["django_language"] = "en"
    return client


def board(client, **query):
    response = client.get("/console/dashboard/", query)
    assert response.status_code == 200
    return response.context["board"]


# --- figures ----------------------------------------------------------------------------------


def test_dashboard_figures_for_a_month_all_branches(console, shop, march):
    f = board(console, **MARCH).figures
    assert f.registrations == 2  # Ana and Beto; Caro joined in February
    assert (f.accruals, f.accrued_points, f.accrued_amount) == (3, 75, Decimal("75000.00"))
    assert (f.redemptions, f.redeemed_points) == (1, 30)
    assert f.reversals == 1
    assert (f.outstanding_points, f.held_points) == (135, 5)  # 35 + 0 + 100, and 5 held
    assert f.outstanding_value == Decimal("135000.00")  # 135 points × 1,000 COP
    assert (f.pending, f.pending_points) == (1, 5)


def test_dashboard_page_shows_the_figures_and_says_what_the_value_means(console, march):
    page = console.get("/console/dashboard/", MARCH).content.decode()
    assert '<dd id="accruals">3</dd>' in page
    assert "75,000.00 COP" in page
    assert '<dd id="outstanding-value">135,000.00 COP</dd>' in page
    assert "what customers spent to earn the points they still hold" in page
    assert "No ratings in this period." in page  # the NPS tile, with no rating yet


def test_each_branch_has_its_own_figures(console, march, shop, north):
    f = board(console, branch=str(north.pk), **MARCH).figures
    assert f.registrations == 1  # Beto
    assert (f.accruals, f.accrued_points, f.accrued_amount) == (2, 50, Decimal("50000.00"))
    assert (f.redemptions, f.reversals, f.pending) == (0, 1, 0)
    f = board(console, branch=str(shop.branch.pk), **MARCH).figures
    assert (f.registrations, f.accruals, f.accrued_points) == (1, 1, 25)
    assert (f.redemptions, f.redeemed_points, f.reversals, f.pending) == (1, 30, 0, 1)
    # Points outstanding belong to the program, not to a branch.
    assert f.outstanding_points == 135


def test_the_period_decides_what_counts(console, march):
    f = board(console, **{"from": "2026-03-04", "to": "2026-03-10"}).figures
    assert (f.registrations, f.accruals, f.redemptions, f.reversals) == (1, 1, 1, 1)
    f = board(console, **{"from": "2026-02-01", "to": "2026-02-28"}).figures
    assert (f.registrations, f.accruals, f.accrued_points, f.redemptions) == (1, 1, 100, 0)


def test_days_are_the_merchants_own(console, march):
    """The accrual at 23:30 in Bogotá on 3 March is the 4th in UTC: it counts on the 3rd."""
    result = board(console, **MARCH)
    points, registrations = result.charts
    per_day = {day: values for day, values in points["rows"]}
    assert per_day[dt.date(2026, 3, 2)] == [25, 0]
    assert per_day[dt.date(2026, 3, 3)] == [40, 0]
    assert per_day[dt.date(2026, 3, 4)] == [0, 0]
    assert per_day[dt.date(2026, 3, 10)] == [0, 30]
    assert len(points["rows"]) == 31 and not points["weekly"]
    assert {d: v for d, v in registrations["rows"] if v != [0]} == {
        dt.date(2026, 3, 2): [1],
        dt.date(2026, 3, 5): [1],
    }
    f = board(console, **{"from": "2026-03-04", "to": "2026-03-04"}).figures
    assert f.accruals == 0


def test_a_long_period_is_charted_per_week(console, march):
    result = board(console, **{"from": "2026-01-01", "to": "2026-12-31"})
    points = result.charts[0]
    assert points["weekly"]
    weeks = dict(points["rows"])
    assert min(weeks) == dt.date(2025, 12, 29)  # the Monday of the week of 1 January
    assert weeks[dt.date(2026, 3, 2)] == [75, 0]  # 25 + 40 + 10, Monday 2 to Sunday 8 March
    assert weeks[dt.date(2026, 3, 9)] == [0, 30]
    assert weeks[dt.date(2026, 2, 16)] == [100, 0]
    assert len(weeks) == 53


def test_charts_are_inline_svg_with_a_title_a_description_and_a_table(console, march):
    page = console.get("/console/dashboard/", MARCH).content.decode()
    # The two movement charts, and the NPS section's two (its course, the 1–10 counts).
    assert page.count("<svg") == 4 and 'role="img"' in page
    assert '<title id="points-title">Points accrued and redeemed per day</title>' in page
    assert '<desc id="points-desc">Accrued: 75 points; Redeemed: 30 points</desc>' in page
    assert "<details>" in page and '<th scope="row">Tue 3 Mar 2026</th>' in page
    assert "<script" not in page.split('<section class="card" aria-labelledby="charts-heading">')[1]
    # Coordinates are never localised: a Spanish page draws the same numbers.
    console.cookies["django_language"] = "es"
    spanish = console.get("/console/dashboard/", MARCH).content.decode()
    assert 'height="125.0"' in page and 'height="125.0"' in spanish  # 25 of 40 points


def test_default_period_is_the_last_30_days(console, shop):
    testing.make_customer(shop)
    result = board(console)
    today = timezone.localtime(timezone.now(), BOGOTA).date()
    assert (result.period.start, result.period.end) == (today - dt.timedelta(days=29), today)
    assert result.figures.registrations == 1
    page = console.get("/console/dashboard/").content.decode()
    assert f'value="{today.isoformat()}"' in page  # the inputs show the period in force


def test_dashboard_shows_todays_cashier_goals_per_branch(console, shop, north):
    carol = testing.make_cashier(shop, "carol")
    testing.make_cashier(shop, "dora")
    from lealtad.network.models import User

    User.objects.filter(username="dora").update(branch=north)
    actions.accrue_points(
        merchant=shop.merchant,
        customer=testing.make_customer(shop).customer,
        amount=Decimal(5000),
        branch=shop.branch,
        staff=carol,
    )
    page = console.get("/console/dashboard/").content.decode()
    assert "carol" in page and "dora" in page and "1 / 20" in page
    page = console.get("/console/dashboard/", {"branch": str(north.pk)}).content.decode()
    assert "carol" not in page and "dora" in page


# --- refused input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-02-30", "to": "2026-03-31"}, "from"),
        ({"from": "not a date"}, "from"),
        ({"from": "2026-03-31", "to": "2026-03-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "to"),
        ({"from": "1999-12-31", "to": "2000-01-05"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "from"),
    ],
)
def test_bad_periods_get_a_message_next_to_the_field(console, shop, query, field):
    response = console.get("/console/dashboard/", query)
    assert response.status_code == 200
    assert response.context["board"] is None
    page = response.content.decode()
    assert f'id="{field}-error"' in page
    assert f'aria-describedby="{field}-error"' in page
    assert "<svg" not in page


def test_a_whole_year_is_allowed_but_not_more(console, shop):
    assert board(console, **{"from": "2025-03-01", "to": "2026-03-01"}) is not None  # 366 days
    response = console.get("/console/dashboard/", {"from": "2025-03-01", "to": "2026-03-02"})
    assert response.context["board"] is None


def test_another_merchants_branch_is_404(console, shop):
    other = testing.make_merchant("Otro")
    for branch in (str(other.branch.pk), "not-an-id", "00000000-0000-0000-0000-000000000000"):
        assert console.get("/console/dashboard/", {"branch": branch}).status_code == 404
        assert console.get("/console/exports/", {"branch": branch}).status_code == 404
        assert console.get("/console/exports/movements.csv", {"branch": branch}).status_code == 404


# --- tenancy and roles ------------------------------------------------------------------------


def test_a_cashier_gets_404_everywhere(shop):
    client = Client()
    client.force_login(testing.make_cashier(shop))
    for url in (
        "/console/dashboard/",
        "/console/exports/",
        "/console/exports/customers.csv",
        "/console/exports/movements.csv",
    ):
        assert client.get(url).status_code == 404


def test_signed_out_visitors_go_to_the_login(shop):
    response = Client().get("/console/exports/customers.csv")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_another_merchants_admin_sees_none_of_it(march):
    other = testing.make_merchant("Otro", admin="charlie")
    client = Client()
    client.force_login(other.admin)
    f = board(client, **MARCH).figures
    assert (f.registrations, f.accruals, f.redemptions, f.reversals, f.pending) == (0, 0, 0, 0, 0)
    assert (f.outstanding_points, f.outstanding_value) == (0, Decimal("0.00"))
    rows = read_csv(client.get("/console/exports/customers.csv"))
    assert len(rows) == 1  # the header only
    rows = read_csv(client.get("/console/exports/movements.csv", MARCH))
    assert len(rows) == 1


# --- exports ----------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_exports_page_counts_what_will_be_downloaded(console, march, north):
    page = console.get("/console/exports/", MARCH).content.decode()
    assert "Customers of this program: 3." in page
    assert "Movements from 1 Mar 2026 to 31 Mar 2026: 6." in page
    assert 'data-total="3"' in page and 'data-total="6"' in page
    assert 'href="/console/exports/movements.csv?from=2026-03-01&amp;to=2026-03-31"' in page
    assert 'hx-boost="false"' in page  # a plain link: it downloads without JavaScript too
    page = console.get("/console/exports/", {**MARCH, "branch": str(north.pk)}).content.decode()
    assert "Mar 2026: 3." in page and f"branch={north.pk}" in page


def test_customers_csv(console, shop, march, north):
    Customer.objects.filter(pk=march["ana"].customer.pk).update(
        first_name='=HYPERLINK("http://evil")', last_name="@SUM(1)"
    )
    Membership.objects.filter(pk=march["ana"].membership.pk).update(
        card_number="=1+2", marketing_consent=True
    )
    response = console.get("/console/exports/customers.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    rows = read_csv(response)
    assert rows[0] == [
        "Document type",
        "Document number",
        "First names",
        "Last names",
        "Email",
        "Mobile",
        "Category",
        "Branch of registration",
        "Card",
        "Registered at",
        "Balance (points)",
        "Blocked",
        "Marketing consent",
    ]
    caro, ana, beto = rows[1:]  # oldest first
    customer = march["ana"].customer
    assert ana == [
        "CC",
        customer.document_number,
        '\'=HYPERLINK("http://evil")',
        "'@SUM(1)",
        customer.email,
        customer.mobile,
        "General",
        shop.branch.name,
        "'=1+2",
        "2026-03-02T09:00:00-05:00",
        "35",
        "no",
        "yes",
    ]
    assert (beto[7], beto[10]) == ("Norte", "0")
    assert (caro[9], caro[10]) == ("2026-02-20T09:00:00-05:00", "100")


def test_anonymised_customers_export_as_stored(console, shop):
    member = testing.make_customer(shop)
    Customer.objects.filter(pk=member.customer.pk).update(
        first_name="", last_name="", email=None, mobile=None, anonymised_at=timezone.now()
    )
    (row,) = read_csv(console.get("/console/exports/customers.csv"))[1:]
    assert row[1] == member.customer.document_number
    assert row[2:6] == ["", "", "", ""]


def test_movements_csv(console, shop, march, north):
    rows = read_csv(console.get("/console/exports/movements.csv", MARCH))
    assert rows[0] == [
        "Id",
        "Date",
        "Kind",
        "Status",
        "Points",
        "Balance after",
        "Amount",
        "Currency",
        "Invoice",
        "Branch",
        "Cashier",
        "Document type",
        "Document number",
        "Reason",
        "Reverses",
    ]
    body = rows[1:]
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in body] == [
        ("2026-03-02T10:00:00-05:00", "Accrual", "Posted", "25", "25"),
        ("2026-03-03T23:30:00-05:00", "Accrual", "Posted", "40", "65"),
        ("2026-03-05T18:00:00-05:00", "Accrual", "Posted", "10", "10"),
        ("2026-03-06T08:00:00-05:00", "Reversal", "Posted", "-10", "0"),
        ("2026-03-07T12:00:00-05:00", "Accrual", "Pending approval", "5", ""),
        ("2026-03-10T16:00:00-05:00", "Redemption", "Posted", "-30", "35"),
    ]
    accrual, reversal = body[2], body[3]
    assert accrual[6:8] == ["10000.00", "COP"] and accrual[9] == "Norte"
    assert reversal[13] == "'+wrong customer"  # a formula disarmed; the -10 stays a number
    assert reversal[14] == accrual[0]
    assert body[0][11:13] == ["CC", march["ana"].customer.document_number]
    assert body[5][6] == ""  # a redemption has no amount
    north_only = read_csv(
        console.get("/console/exports/movements.csv", {**MARCH, "branch": str(north.pk)})
    )
    assert [r[4] for r in north_only[1:]] == ["40", "10", "-10"]


def test_movements_csv_names_the_cashier(console, shop):
    carol = testing.make_cashier(shop, "carol")
    actions.accrue_points(
        merchant=shop.merchant,
        customer=testing.make_customer(shop).customer,
        amount=Decimal(5000),
        branch=shop.branch,
        staff=carol,
    )
    (row,) = read_csv(console.get("/console/exports/movements.csv"))[1:]
    assert (row[2], row[10]) == ("Accrual", "carol")


def test_movements_csv_refuses_a_bad_period(console, shop):
    response = console.get("/console/exports/movements.csv", {"from": "2026-03-31", "to": "x"})
    assert response.status_code == 400
    assert 'id="to-error"' in response.content.decode()


def test_cell_disarms_formulas_but_keeps_plain_numbers():
    values = ("=1+1", "-1+1", "+57 1", "@a", "\tx", "-3", "+573001234567", "ok", None, 12)
    assert [reports.cell(v) for v in values] == [
        "'=1+1",
        "'-1+1",
        "'+57 1",
        "'@a",
        "'\tx",
        "-3",
        "+573001234567",
        "ok",
        "",
        "12",
    ]


def test_outstanding_value_uses_the_currencys_minor_units():
    merchant = testing.make_merchant("Sin centavos", country="CL", point_value="1000").merchant
    merchant.currency = "CLP"
    assert reports.outstanding_value(merchant, 7) == Decimal("7000")
    assert str(reports.outstanding_value(merchant, 7)) == "7000"


# --- cost -------------------------------------------------------------------------------------


def _queries(client, url, query=None, stream=False) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query or {})
        if stream:
            b"".join(response.streaming_content)
    return len(captured.captured_queries)


def _grow(shop, n):
    for _ in range(n):
        member = testing.make_customer(shop)
        actions.accrue_points(
            merchant=shop.merchant,
            customer=member.customer,
            amount=Decimal(20_000),
            branch=shop.branch,
        )


def test_query_counts_do_not_grow_with_customers(console, shop, django_assert_max_num_queries):
    _grow(shop, 2)
    console.get("/console/dashboard/")  # the first one fills the roll-up's closed days
    small = {
        url: _queries(console, url, stream=url.endswith(".csv"))
        for url in (
            "/console/dashboard/",
            "/console/exports/",
            "/console/exports/customers.csv",
            "/console/exports/movements.csv",
        )
    }
    _grow(shop, 12)
    for url, count in small.items():
        assert _queries(console, url, stream=url.endswith(".csv")) == count, url
    # 14, the NPS (its course and the 1–10 counts), the roll-up's stale marks and stored days,
    # and on PostgreSQL a savepoint with `SET LOCAL jit = off` around the per-day queries.
    with django_assert_max_num_queries(21):
        console.get("/console/dashboard/")
