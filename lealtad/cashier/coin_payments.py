"""The till's "Pagar factura con monedas" (K3), over `lealtad.coins.payments`.

On the customer's card at an acceptor: invoice number, invoice amount and the coins to use,
prefilled with min(available, amount) as the amount is typed (full or partial payment). Too
many coins is "fondos insuficientes" at once, next to the field, and nothing is held. Otherwise
the coins are held and a code goes to the customer: the payment's own page asks for it (a
4-digit field, the cursor in it), resends it, or cancels, releasing the hold. The right code
captures the hold and the page becomes the receipt the till prints. Each step is one POST; the
payment's page is where a reload, a second click or the Back button lands, so nothing is done
twice (the payment is resolved once by the ledger either way).
"""

from decimal import ROUND_DOWN, Decimal

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lealtad.cashier import forms
from lealtad.cashier.views import _customer_context, _page, _typed_amount, staff_view
from lealtad.coins import actions as coins
from lealtad.coins import codes, payments, qr
from lealtad.coins.models import PaymentStatus
from lealtad.core import money
from lealtad.core.errors import InvalidQr, LealtadError, NotFound, ValidationFailed
from lealtad.customers import actions as customers
from lealtad.customers import identity
from lealtad.network import coin_roles

FIELDS = {"invoice_amount": "amount", "coins": "coins", "document_checked": "document_checked"}


def prefill(available: int, amount: Decimal | None) -> int | None:
    """The coins a payment starts with: all the invoice (1 coin = 1 unit), as far as the wallet
    goes. None without an amount."""
    if amount is None or amount <= 0:
        return None
    return max(0, min(available, int(amount.to_integral_value(rounding=ROUND_DOWN))))


def _card(request, membership, **extra):
    context = _customer_context(request, membership)
    context.update(extra)
    response = _page(request, "cashier/customer.html", **context)
    response["HX-Push-Url"] = reverse("cashier:customer", args=[membership.customer_id])
    return response


@staff_view
def coins_prefill(request, customer_id):
    """As the amount is typed (HTMX): the coins field, prefilled with min(available, amount),
    unless the cashier typed another number in it."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    available = coins.wallet_of(membership.customer)["available"]
    typed = request.GET.get("cp-coins", "").strip()[:14]
    last = request.GET.get("cp-prefilled", "").strip()[:14]
    amount = None
    text = request.GET.get("cp-amount", "").strip()[:40]
    if text:
        try:
            amount = _typed_amount(request, text)
        except money.InvalidAmount:
            amount = None
    value = typed
    suggested = prefill(available, amount)
    if suggested is not None and (typed == "" or typed == last):
        value = str(suggested)
    context = {"value": value, "prefilled": value if value == str(suggested) else last}
    return render(request, "cashier/partials/coins_field.html", context)


@staff_view
@require_POST
def start(request, customer_id):
    """Hold the coins and send the code; the payment's page asks for it."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    try:
        coin_roles.check_acceptor(request.merchant)
    except LealtadError as exc:  # no form on this card: say why at the top
        return _card(request, membership, notice=str(exc.detail))
    form = forms.PayWithCoinsForm(request.POST, prefix="cp")
    if not form.is_valid():
        return _card(request, membership, coin_pay_form=form)
    data = form.cleaned_data
    try:
        amount = _typed_amount(request, data["amount"])
        count = data["coins"]
        if count is None:  # left blank: the whole invoice, as far as the wallet goes
            count = prefill(coins.wallet_of(membership.customer)["available"], amount) or 0
        payment = payments.start_payment(
            merchant=request.merchant,
            customer=membership.customer,
            invoice_amount=amount,
            coins=count,
            invoice_number=data["invoice_number"],
            branch=request.branch,
            staff=request.user,
            document_checked=data["document_checked"],
            qr_payload=data["payment_qr"].strip() or None,
        )
    except money.InvalidAmount as exc:
        form.add_error("amount", str(exc))
    except ValidationFailed as exc:
        forms.add_errors(
            form, [{**e, "field": FIELDS.get(e["field"], e["field"])} for e in exc.errors]
        )
    except InvalidQr as exc:  # expired, forged, used, another customer's: nothing was held
        form.add_error("payment_qr", str(exc.detail))
    except LealtadError as exc:
        field = "coins" if exc.code == "insufficient_coins" else None
        form.add_error(field, str(exc.detail))
    else:
        return _payment_page(request, payment, status=201)
    return _card(request, membership, coin_pay_form=form)


@staff_view
@require_POST
def open_payment_qr(request):
    """The till's search received the customer app's payment QR (cashier.js posts it here, so
    the payload never sits in a logged URL): the customer's card, with "Pagar factura con
    monedas" holding the QR and the cursor in the invoice number. Scan, type the amount, Enter."""
    payload = request.POST.get("qr", "").strip()[:1000]
    try:
        customer = customers.get_customer(qr.customer_id_of(payload))
    except (InvalidQr, NotFound) as exc:
        detail = exc.detail if isinstance(exc, InvalidQr) else _("This payment QR is not valid.")
        return _page(request, "cashier/home.html", payment_qr_error=str(detail))
    if not customers.memberships_at(request.merchant, [customer]):
        # Never here before: the masked card to enrol them first, as the search shows it.
        return _page(request, "cashier/home.html", stranger=identity.card_of(customer))
    membership = customers.get_membership_for(request.merchant, customer.pk)
    form = forms.PayWithCoinsForm(prefix="cp", initial={"payment_qr": payload})
    extra = {"coin_pay_form": form, "payment_qr_ready": True}
    try:
        coin_roles.check_acceptor(request.merchant)
    except LealtadError as exc:
        extra["notice"] = str(exc.detail)
    return _card(request, membership, **extra)


def _payment_page(request, payment, status=200, **extra):
    merchant = request.merchant
    context = {
        "payment": payment,
        "customer": payment.customer,
        # The payment's hold names the wallet: no lookup of it first.
        "wallet": coins.wallet_of(payment.customer, account_id=payment.hold.account_id),
        "digits": codes.digits_for(merchant),
        "left_to_pay": payment.invoice_amount - Decimal(payment.coins),
        "now": timezone.now(),
        **extra,
    }
    response = _page(request, "cashier/coin_payment.html", **context)
    response.status_code = status
    response["HX-Push-Url"] = reverse("cashier:coin_payment", args=[payment.pk])
    return response


@staff_view
def payment(request, payment_id):
    """The payment as it stands: waiting for the code, the receipt, or why it was cancelled."""
    found = payments.get_payment(payment_id, merchant=request.merchant)
    return _payment_page(request, found)


@staff_view
@require_POST
def confirm(request, payment_id):
    code = request.POST.get("code", "")[:20]
    try:
        # confirm_payment reads the payment itself (another merchant's is NotFound, a 404).
        found = payments.confirm_payment(payment_id, merchant=request.merchant, code=code)
    except ValidationFailed as exc:
        found = payments.get_payment(payment_id, merchant=request.merchant)
        return _payment_page(request, found, code_error=exc.errors[0]["message"])
    except NotFound:
        raise
    except LealtadError as exc:
        found = payments.get_payment(payment_id, merchant=request.merchant)
        if found.status == PaymentStatus.AWAITING_CODE:
            return _payment_page(request, found, code_error=str(exc.detail))
        return _payment_page(request, found, notice=str(exc.detail))
    return _payment_page(request, found)


@staff_view
@require_POST
def resend(request, payment_id):
    found = payments.get_payment(payment_id, merchant=request.merchant)
    try:
        found = payments.resend_code(found.pk, merchant=request.merchant)
    except LealtadError as exc:
        found = payments.get_payment(found.pk, merchant=request.merchant)
        return _payment_page(request, found, notice=str(exc.detail))
    return _payment_page(request, found, resent=True)


@staff_view
@require_POST
def cancel(request, payment_id):
    found = payments.get_payment(payment_id, merchant=request.merchant)
    try:
        payments.cancel_payment(found.pk, merchant=request.merchant)
    except LealtadError as exc:  # already paid: reversed from the console instead
        return _payment_page(request, found, notice=str(exc.detail))
    membership = customers.get_membership_for(request.merchant, found.customer_id)
    return _card(
        request,
        membership,
        notice=_("Coin payment cancelled: the coins are available again."),
    )
