"""P6 remote redemption at the till: the customer asks for a prize by phone or WhatsApp, the
cashier marks it "remote", a one-time code (lealtad.coins.codes, delivered by
notifications.sms.send_code: SMS to the mobile, else e-mail) goes to the customer, who reads it
back; the cashier types it and the redemption is posted by `ledger.redeem_reward`, under every
prize rule (the exit gate, the balance, the stock, the window).

The code stands in for the physical document a merchant may ask for at the counter: the
customer is not there to show it, and the code proves they hold the contact on file. It is bound
to this merchant, customer, prize and price, lives 10 minutes, is used once; 3 wrong codes cancel
the request, at most 3 resends. A request is confirmed once: the row is locked and keeps the
movement, so a double click shows the first receipt.
"""

import datetime as dt

from django.db import transaction
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lealtad.cashier.models import RemoteRedemption
from lealtad.cashier.views import _customer_context, _page, staff_view
from lealtad.coins import codes
from lealtad.core.errors import InvalidCode, LealtadError, NotFound, TooManyCodes
from lealtad.core.ids import parse_id
from lealtad.core.numbers import format_points
from lealtad.customers import actions as customers
from lealtad.ledger import actions as ledger
from lealtad.notifications.actions import language_for

PURPOSE = "remote-redemption"
MAX_ATTEMPTS = 3
MAX_RESENDS = 3
LIFE = dt.timedelta(minutes=10)
Status = RemoteRedemption.Status


class RemoteClosed(LealtadError):
    """The remote redemption was cancelled (wrong codes, expired, or at the till)."""

    code, status, title = (
        "remote_redemption_closed",
        409,
        gettext_lazy("This remote redemption is no longer open"),
    )


# --- actions --------------------------------------------------------------------------------


def start(*, membership, reward_row: dict, branch, staff, now=None) -> RemoteRedemption:
    """Check the prize rules now (the gate, the window, the balance, the stock: a request that
    cannot be redeemed sends no code), then write the request and send its code, in one
    transaction. `reward_row` is the till's row for the prize (its price, with a promotion's)."""
    now = now or timezone.now()
    ledger.check_can_redeem(membership)
    if not reward_row.get("affordable"):
        raise InvalidCode(_("The customer cannot redeem this prize now."))
    with transaction.atomic():
        row = RemoteRedemption.objects.create(
            merchant=membership.merchant,
            membership=membership,
            reward_id=parse_id(reward_row["id"]),
            promotion_id=reward_row.get("promotion_id"),
            points=reward_row["points_cost"],
            branch=branch,
            staff=staff,
            created_at=now,
            expires_at=now + LIFE,
        )
        _send(row, reward_row["name"], now)
    return row


def resend(row: RemoteRedemption, now=None) -> RemoteRedemption:
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked(row)
        _still_open(row, now)
        if row.resends >= MAX_RESENDS:
            raise TooManyCodes(_("The code was sent too many times; start again later."))
        row.resends += 1
        row.expires_at = now + LIFE
        row.save(update_fields=["resends", "expires_at"])
        _send(row, row.reward.name, now)
    return row


def cancel(row: RemoteRedemption, reason: str = "", now=None) -> RemoteRedemption:
    with transaction.atomic():
        row = _locked(row)
        if row.status == Status.PENDING:
            _close(row, reason or _("Cancelled at the till."), now or timezone.now())
    return row


def confirm(row: RemoteRedemption, code, *, staff=None, now=None) -> RemoteRedemption:
    """The customer's code posts the redemption, once. Raises InvalidCode (attempts left),
    RemoteClosed, or the ledger's refusal (then the request is cancelled: the code is spent)."""
    now = now or timezone.now()
    refusal = None
    with transaction.atomic():
        row = _locked(row)
        if row.status == Status.REDEEMED:
            return row  # a double click: the first receipt
        try:
            _still_open(row, now)
        except RemoteClosed as exc:
            refusal = exc
        else:
            if codes.check(
                purpose=PURPOSE, subject=str(row.pk), binding=row.binding(), code=code, now=now
            ):
                refusal = _post(row, staff, now)
            else:
                row.attempts += 1
                left = MAX_ATTEMPTS - row.attempts
                if left <= 0:
                    _close(row, _("Three wrong codes."), now)
                    refusal = RemoteClosed(_("Three wrong codes: the request was cancelled."))
                else:
                    row.save(update_fields=["attempts"])
                    refusal = InvalidCode(
                        _("Wrong code. Attempts left: %(left)d.") % {"left": left},
                        attempts_left=left,
                    )
    if refusal is not None:
        raise refusal
    return row


def _post(row: RemoteRedemption, staff, now):
    """The redemption itself; a refusal (the points went meanwhile, the stock ran out) cancels
    the request and is returned, the code being spent."""
    try:
        with transaction.atomic():
            movement = ledger.redeem_reward(
                membership=row.membership,
                reward_id=row.reward_id,
                branch=row.branch,
                staff=staff or row.staff,
                promotion_id=row.promotion_id,
                document_checked=True,  # the code stands in for the document (module docstring)
                now=now,
            )
    except LealtadError as exc:
        _close(row, str(exc.detail), now)
        return exc
    row.status, row.decided_at, row.transaction = Status.REDEEMED, now, movement.transaction
    row.save(update_fields=["status", "decided_at", "transaction"])
    return None


def _send(row: RemoteRedemption, reward_name: str, now) -> None:
    merchant = row.merchant

    def text(code: str) -> str:
        with translation.override(language_for(merchant)):
            return _(
                "%(merchant)s: your code to redeem %(reward)s (%(points)s points) is %(code)s, "
                "valid for 10 minutes. Give it to the cashier only if you asked for this prize."
            ) % {
                "merchant": merchant.name,
                "reward": reward_name,
                "points": format_points(row.points),
                "code": code,
            }

    sent = codes.issue(
        customer=row.membership.customer,
        merchant=merchant,
        purpose=PURPOSE,
        subject=str(row.pk),
        binding=row.binding(),
        text=text,
        now=now,
    )
    row.sent_to = sent.sent_to
    row.save(update_fields=["sent_to"])


def _locked(row: RemoteRedemption) -> RemoteRedemption:
    return (
        RemoteRedemption.objects.select_for_update()
        .select_related("membership__customer", "membership__merchant", "reward", "merchant")
        .get(pk=row.pk)
    )


def _still_open(row: RemoteRedemption, now) -> None:
    if row.status == Status.PENDING and row.expires_at <= now:
        _close(row, _("The code expired."), now)
    if row.status != Status.PENDING:
        raise RemoteClosed(
            _("This remote redemption is no longer open (%(reason)s).") % {"reason": row.reason}
            if row.reason
            else None
        )


def _close(row: RemoteRedemption, reason: str, now) -> None:
    row.status, row.decided_at, row.reason = Status.CANCELLED, now, reason[:200]
    row.save(update_fields=["status", "decided_at", "reason", "attempts"])


def get_for(merchant, customer_id, remote_id) -> RemoteRedemption:
    """Another merchant's request, or another customer's: not found."""
    row = (
        RemoteRedemption.objects.filter(
            pk=parse_id(remote_id), merchant=merchant, membership__customer_id=parse_id(customer_id)
        )
        .select_related("reward", "transaction")
        .first()
    )
    if row is None:
        raise NotFound(_("Remote redemption not found."))
    return row


# --- the till's views -----------------------------------------------------------------------


@staff_view
@require_POST
def remote_start(request, customer_id, reward_id):
    """From the redemption's confirmation: the customer is not here, send them the code."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    context = _customer_context(request, membership)
    reward = next((r for r in context["rewards"] if r["id"] == str(reward_id)), None)
    if reward is None:
        raise NotFound(_("Reward not found."))
    try:
        row = start(
            membership=membership, reward_row=reward, branch=request.branch, staff=request.user
        )
    except LealtadError as exc:
        context.update(confirm=reward, confirm_error=str(exc.detail))
        return _page(request, "cashier/customer.html", **context)
    return redirect("cashier:remote", customer_id=membership.customer_id, remote_id=row.pk)


@staff_view
def remote_page(request, customer_id, remote_id):
    """The request waiting for its code: type it, resend it, or cancel."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    row = get_for(request.merchant, customer_id, remote_id)
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "resend":
                row = resend(row)
            elif action == "cancel":
                cancel(row)
                return redirect("cashier:customer", customer_id=membership.customer_id)
            else:
                row = confirm(row, request.POST.get("code", ""), staff=request.user)
        except LealtadError as exc:
            error = str(exc.detail)
        row = get_for(request.merchant, customer_id, remote_id)
    context = _customer_context(request, membership)
    if row.status == Status.REDEEMED:
        context["receipt"] = {
            "reward": row.reward.name,
            "points": abs(row.transaction.points),
            "balance": row.transaction.balance_after,
            "id": str(row.transaction_id),
            "remote": True,
        }
    elif row.status == Status.CANCELLED:
        context["notice"] = error or _("This remote redemption is no longer open (%(reason)s).") % {
            "reason": row.reason
        }
    else:
        context["remote"] = row
        context["remote_error"] = error
        context["remote_resends_left"] = max(MAX_RESENDS - row.resends, 0)
    return _page(request, "cashier/customer.html", **context)
