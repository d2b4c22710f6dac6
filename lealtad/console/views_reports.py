"""The console's reports: the dashboard (D1) and the CSV exports (D2), for merchant admins only.

Like the rest of the console, every query is scoped by the admin's own merchant; a branch of
another merchant is 404. Invalid dates come back as messages next to the fields. They read from the
read replica when there is one (@reads_from_replica, lealtad/core/replica.py).
"""

from urllib.parse import urlencode

from django.http import Http404, StreamingHttpResponse
from django.utils.translation import gettext as _

from lealtad.cashier import goals
from lealtad.console import nps_charts, ratings_export, reports
from lealtad.console.views import _page, admin_view
from lealtad.core.ids import parse_id
from lealtad.core.money import minor_units
from lealtad.core.replica import reads_from_replica


def _branch(request, branches):
    """The branch asked for (`?branch=<id>`), among this merchant's own; none means all."""
    value = request.GET.get("branch", "")
    if not value:
        return None
    wanted = parse_id(value, "branch")  # not a UUID: NotFound, which the console makes a 404
    for branch in branches:
        if branch.pk == wanted:
            return branch
    raise Http404


def _filters(request):
    branches = reports.branches_of(request.merchant)
    branch = _branch(request, branches)
    form = reports.PeriodForm(request.GET, merchant=request.merchant)
    return form, branches, branch


@admin_view
@reads_from_replica
def dashboard(request):
    merchant = request.merchant
    form, branches, branch = _filters(request)
    board = reports.dashboard(merchant, form.period, branch) if form.is_valid() else None
    nps = (
        nps_charts.board(merchant, form.period, branch, request.GET.get("nps_by"))
        if board
        else None
    )
    today = reports.merchant_today(merchant)
    cashiers = [
        row
        for row in goals.report(merchant, today)
        if branch is None or row["user"].branch_id == branch.pk
    ]
    return _page(
        request,
        "console/dashboard.html",
        form=form,
        board=board,
        branches=branches,
        chosen=branch,
        cashiers=cashiers,
        nps=nps,
        nps_figures=[nps["series"], nps["distribution"]] if nps else [],
        nps_choices=[("week", _("Week")), ("month", _("Month"))],
        nps_query=urlencode(
            {k: v for k, v in request.GET.items() if k in ("from", "to", "branch") and v}
        ),
        today=today,
        money_format=f"{minor_units(merchant.currency)}g",
    )


def _exports_page(request, form, branches, branch, status=200):
    merchant = request.merchant
    period = form.period
    context = {
        "form": form,
        "branches": branches,
        "chosen": branch,
        "customers": reports.customers_count(merchant),
        "period": period,
        "movements": None,
        "ratings": None,
        "query": "",
    }
    if period is not None:
        context["movements"] = reports.transactions_query(merchant, period, branch).count()
        context["ratings"] = ratings_export.ratings_query(merchant, period, branch).count()
        context["query"] = urlencode(
            {**period.query(), **({"branch": str(branch.pk)} if branch else {})}
        )
    response = _page(request, "console/exports.html", **context)
    response.status_code = status
    return response


@admin_view
@reads_from_replica
def exports(request):
    form, branches, branch = _filters(request)
    return _exports_page(request, form, branches, branch)


def _csv(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # personal data: no copies in caches
    response["X-Accel-Buffering"] = "no"  # a proxy in front passes the lines on as they come
    return response


@admin_view
@reads_from_replica
def export_customers(request):
    merchant = request.merchant
    header, rows = reports.customer_rows(merchant)
    today = reports.merchant_today(merchant).isoformat()
    return _csv(reports.stream_csv(header, rows), f"customers-{today}.csv")


@admin_view
@reads_from_replica
def export_transactions(request):
    form, branches, branch = _filters(request)
    period = form.period
    if period is None:
        return _exports_page(request, form, branches, branch, status=400)
    header, rows = reports.transaction_rows(request.merchant, period, branch)
    name = f"movements-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return _csv(reports.stream_csv(header, rows), name)


@admin_view
@reads_from_replica
def export_ratings(request):
    form, branches, branch = _filters(request)
    period = form.period
    if period is None:
        return _exports_page(request, form, branches, branch, status=400)
    header, rows = ratings_export.rating_rows(request.merchant, period, branch)
    name = f"ratings-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return _csv(reports.stream_csv(header, rows), name)
