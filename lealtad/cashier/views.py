"""The cashier's screen: find or register a customer, accrue, redeem. Each view parses the form,
calls one action and renders; HTMX (hx-boost) turns every link and form into one request that
swaps the page body, so the screen answers at once and still works without JavaScript."""

import contextlib
import uuid
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lealtad.cashier import card, forms, goals, invoice_panel
from lealtad.cashier.models import Registration
from lealtad.coins import actions as coins
from lealtad.coins import qr as payment_qr
from lealtad.core import money
from lealtad.core.errors import DuplicateInvoice, LealtadError, NotFound, ValidationFailed
from lealtad.customers import actions as customers
from lealtad.customers import documents, identity, screens
from lealtad.ledger import actions as ledger
from lealtad.network import signin
from lealtad.network.models import Branch, Role
from lealtad.offers import actions as offers


def staff_view(view):
    """Signed-in staff of a merchant; the merchant scopes everything below."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.role == Role.OPERATOR or request.user.merchant_id is None:
            return redirect("/admin/")
        if request.user.must_change_password:
            return redirect("cashier:change_password")
        request.merchant, request.branch = _merchant_and_branch(request.user)
        try:
            # Times on screen are the merchant's (its own time zone), whatever the server's.
            with timezone.override(request.merchant.timezone):
                return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


def _merchant_and_branch(user):
    """The staff's merchant, with its network (the coin screens read it), and branch: one query
    for a cashier, whose branch brings the rest along, instead of three."""
    if user.branch_id is not None:
        branch = (
            Branch.objects.select_related("merchant__network")
            .filter(pk=user.branch_id, merchant_id=user.merchant_id)
            .first()
        )
        if branch is not None:
            user.merchant, user.branch = branch.merchant, branch
            return branch.merchant, branch
    return user.merchant, user.branch


def _page(request, template, **context):
    context.setdefault("goals", goals.progress(request.user, request.merchant))
    context["merchant"], context["branch"] = request.merchant, request.branch
    # I2: the invoice the cashier picked and the panel of waiting POS invoices.
    context.update(invoice_panel.till_context(request, template, context))
    return render(request, template, context)


class SignIn(auth_views.LoginView):
    """One sign-in for everyone; the role decides where they land."""

    template_name = "cashier/login.html"
    form_class = signin.SignInForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if wait := getattr(self.request, "signin_retry_after", 0):
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    def get_default_redirect_url(self):
        role = self.request.user.role
        if role == Role.OPERATOR:
            return "/admin/"
        if role == Role.MERCHANT_ADMIN:
            return reverse("console:home")
        return reverse("cashier:home")


@staff_view
def home(request):
    return _page(request, "cashier/home.html")


def _register_prefill(q: str, country: str) -> dict | None:
    """What the registration form starts with for a search that found no one; None when the
    text cannot be an e-mail, a mobile or a document of this country (a name, a letter)."""
    if "@" in q:
        with contextlib.suppress(ValueError):
            return {"email": documents.normalize_email(q)}
        return None
    candidates = documents.document_candidates(q, [country])
    checked = {t.code for t in documents.document_types_for(country) if t.has_check_digit}
    # Many mobiles are also valid free-format numbers (a Colombian 310 555 1234 is a valid
    # cédula): a mobile of this country wins, unless a check digit says it is a document.
    if q.startswith("+") or not any(kind in checked for kind, _n in candidates):
        with contextlib.suppress(ValueError):
            return {"mobile": documents.normalize_mobile(q, country)}
    return {"document_number": q} if candidates else None


@staff_view
def search(request):
    q = request.GET.get("q", "").strip()[:200]
    return search_page(request, q)


def search_page(request, q, found=None, members=None):
    """What a search answers (also with a picked invoice, cashier/invoices.py `identify`)."""
    if found is None:
        found = customers.find_customers(q, country=request.merchant.country)
        members = customers.memberships_at(request.merchant, found)
    if len(found) == 1 and found[0].pk in members:
        # One request from Enter to the customer's card: a scanner's QR lands here too. The
        # search read the membership with its account: the card starts from it.
        membership = members[found[0].pk]
        membership.customer, membership.merchant = found[0], request.merchant
        membership.read_account = membership.account
        return _customer_page(request, found[0].pk, membership=membership)
    if len(found) == 1:
        # Never here before: a masked card to recognise and enrol them, not their profile.
        return _page(request, "cashier/home.html", q=q, stranger=identity.card_of(found[0]))
    if found:
        choices = [
            {"member": members.get(c.pk), "customer": c, "card": identity.card_of(c)} for c in found
        ]
        return _page(request, "cashier/home.html", q=q, choices=choices)
    if found_voucher := _voucher_in(request, q):
        return found_voucher
    if q.startswith(payment_qr.PREFIX):
        # The app's payment QR reached the URL (no JavaScript): not kept, asked for again.
        message = _("Scan the payment QR again, or type it in “Pay invoice with coins”.")
        return _page(request, "cashier/home.html", payment_qr_error=message)
    if q.startswith(customers.QR_PREFIX):
        # Tampered, truncated or replaced by a newer one: not a document to register.
        return _page(request, "cashier/home.html", q=q, invalid_qr=True)
    prefill = _register_prefill(q, request.merchant.country) if q else None
    register_url = f"{reverse('cashier:register')}?{urlencode(prefill)}" if prefill else None
    return _page(request, "cashier/home.html", q=q, not_found=bool(q), register_url=register_url)


def _voucher_in(request, q):
    # A coin voucher bought in the app (its QR scanned or its code typed) opens its page.
    from lealtad.cashier.coin_vouchers import from_search

    return from_search(request, q) if q else None


def _customer_page(request, customer_id, membership=None, **extra):
    """The customer's card as the answer to this request, with the address bar pointing at it;
    `membership`: the one a search just read (with its account), else it is read here."""
    if membership is None:
        membership = card.member(request.merchant, customer_id)
    context = _customer_context(request, membership)
    context.update(extra)
    response = _page(request, "cashier/customer.html", **context)
    response["HX-Push-Url"] = reverse("cashier:customer", args=[membership.customer_id])
    return response


@staff_view
def open_customer(request, customer_id):
    """From a search: a member's card; a customer of the network who never came here is shown
    masked, and joins this merchant (N2) only when the cashier enrols them (a POST)."""
    customer = customers.get_customer(customer_id)
    if request.method == "POST":
        try:
            customers.membership_or_join(request.merchant, customer.pk, request.branch)
        except LealtadError as exc:  # suspended in the network: the operator's message says why
            return _page(
                request, "cashier/home.html", stranger=identity.card_of(customer), notice=exc.detail
            )
        return redirect("cashier:customer", customer_id=customer.pk)
    if customers.memberships_at(request.merchant, [customer]):
        return redirect("cashier:customer", customer_id=customer.pk)
    return _page(request, "cashier/home.html", stranger=identity.card_of(customer))


def _customer_context(request, membership, priced=None):
    return card.customer_context(request, membership, priced)


@staff_view
def customer(request, customer_id):
    membership = card.member(request.merchant, customer_id)
    return _page(request, "cashier/customer.html", **_customer_context(request, membership))


def _typed_amount(request, text):
    """The amount as people type it in this merchant's country (money.parse_typed_amount)."""
    merchant = request.merchant
    return money.parse_typed_amount(text, merchant.country, merchant.currency)


@staff_view
def accrue(request, customer_id):
    membership = customers.get_membership_for(request.merchant, customer_id)
    form = forms.AccrueForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            movement = ledger.accrue_points(
                merchant=request.merchant,
                membership=membership,
                branch=request.branch,
                staff=request.user,
                amount=_typed_amount(request, form.cleaned_data["amount"]),
                invoice_number=form.cleaned_data["invoice_number"] or None,
            )
            result = movement
            form = forms.AccrueForm()
        except money.InvalidAmount as exc:
            form.add_error("amount", str(exc))
        except ValidationFailed as exc:
            forms.add_errors(form, exc.errors)
        except LealtadError as exc:
            field = "invoice_number" if isinstance(exc, DuplicateInvoice) else None
            form.add_error(field, str(exc.detail))
    context = _customer_context(request, membership)
    context.update(accrue_form=form, accrued=result)
    return _page(request, "cashier/customer.html", **context)


@staff_view
def earn_coins(request, customer_id):
    membership = customers.get_membership_for(request.merchant, customer_id)
    form = forms.EarnCoinsForm(request.POST or None, prefix="coins")
    earned = None
    if request.method == "POST" and form.is_valid():
        try:
            earned = coins.earn_coins(
                merchant=request.merchant,
                customer=membership.customer,
                branch=request.branch,
                staff=request.user,
                amount=_typed_amount(request, form.cleaned_data["amount"]),
                invoice_number=form.cleaned_data["invoice_number"],
            )
            form = forms.EarnCoinsForm(prefix="coins")
        except money.InvalidAmount as exc:
            form.add_error("amount", str(exc))
        except ValidationFailed as exc:
            forms.add_errors(form, exc.errors)
        except LealtadError as exc:
            field = "invoice_number" if isinstance(exc, DuplicateInvoice) else None
            form.add_error(field, str(exc.detail))
    context = _customer_context(request, membership)
    context.update(earn_form=form, coins_earned=earned)
    return _page(request, "cashier/customer.html", **context)


@staff_view
def accrual_quote(request, customer_id):
    """The points an amount will give, as it is typed (HTMX): the quote `accrue_points` posts,
    promotions included, so the preview and the receipt say the same number."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    text = request.GET.get("amount", "").strip()[:40]
    context = {"quote": None, "error": None}
    if text:
        try:
            context["quote"] = ledger.quote_accrual(
                request.merchant, membership, _typed_amount(request, text)
            )
        except money.InvalidAmount as exc:
            context["error"] = str(exc)
        except LealtadError as exc:
            context["error"] = str(exc.detail)
    return render(request, "cashier/partials/quote.html", context)


@staff_view
def redeem(request, customer_id, reward_id):
    membership = customers.get_membership_for(request.merchant, customer_id)
    # The prize at today's price first: a redemption that goes through draws the card once,
    # after it, and never the card as it was before.
    priced = card.priced_rewards(request.merchant, membership, timezone.now())
    reward = next((r for r in priced[2] if r["id"] == str(reward_id)), None)
    if reward is None:
        raise Http404
    extra = {}
    promotion_id = request.POST.get("promotion") or request.GET.get("promotion") or None
    if promotion_id and promotion_id != reward.get("promotion_id"):
        # The promotion ended or was used up since the list was drawn: say so, at the list price.
        extra["notice"] = _("That promotion is no longer available for this customer.")
        promotion_id = None
    elif not promotion_id and reward.get("promotion_id"):
        promotion_id = reward["promotion_id"]

    def card_page(**more):
        context = _customer_context(request, membership, priced)
        context.update(extra, **more)
        return _page(request, "cashier/customer.html", **context)

    done = request.session.setdefault("redeemed", {})
    if request.method == "POST":
        token = request.POST.get("token", "")
        if token in done:  # a double click or a resend shows the first receipt, never twice
            return card_page(receipt=done[token])
        if request.merchant.redemption_requires_document_check and not request.POST.get(
            "document_checked"
        ):
            return card_page(
                confirm=reward, token=token, confirm_error=_("Check the customer's document first.")
            )
        try:
            movement = ledger.redeem_reward(
                membership=membership,
                reward_id=reward_id,
                branch=request.branch,
                staff=request.user,
                promotion_id=promotion_id,
                document_checked=bool(request.POST.get("document_checked")),
            )
        except LealtadError as exc:
            return card_page(confirm=reward, token=token, confirm_error=str(exc.detail))
        receipt = {
            "reward": reward["name"],
            "points": movement.points,
            "balance": movement.available,
            "id": str(movement.transaction.pk),
        }
        done[token] = receipt
        request.session.modified = True
        context = _customer_context(request, membership)
        context["receipt"] = receipt
        return _page(request, "cashier/customer.html", **context)
    return card_page(confirm=reward, token=uuid.uuid4().hex)


@staff_view
def register(request):
    existing = None
    complete = request.GET.get("mode") == "complete" or request.POST.get("mode") == "complete"
    form = forms.RegisterForm(
        request.POST or None,
        merchant=request.merchant,
        complete=complete,
        initial=request.GET.dict(),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        profile = {
            k: v
            for k, v in data.items()
            if k not in ("document_type", "document_number", "welcome_bonus")
        }
        try:
            reg = customers.register_customer(
                merchant=request.merchant,
                branch=request.branch,
                staff=request.user,
                document_type=data["document_type"],
                document_number=data["document_number"],
                country=request.merchant.country,
                profile=profile,
                welcome_bonus=data.get("welcome_bonus", False),
            )
        except ValidationFailed as exc:
            forms.add_errors(form, exc.errors)
        except LealtadError as exc:
            if exc.code != "customer_exists":
                form.add_error(None, str(exc.detail))
            else:
                # Say so, keep what was typed, and let the cashier open that customer.
                form.add_error("document_number", _("This document is already registered."))
                existing = exc.extra["customer_id"]
        else:
            Registration.objects.create(
                staff=request.user, membership=reg.membership, at=reg.membership.created_at
            )
            return _customer_page(request, reg.customer.pk, registered=reg)
    return _page(request, "cashier/register.html", form=form, complete=complete, existing=existing)


@staff_view
def check_document(request):
    """As the cashier leaves the field: the check digit's verdict, or that the document is
    already registered, before the form is sent."""
    country, doc_type = request.merchant.country, request.GET.get("document_type", "").upper()
    message, existing = "", None
    try:
        number = documents.normalize_document(
            country, doc_type, request.GET.get("document_number", "")
        )
    except ValueError as exc:
        message = str(exc)
    else:
        existing = customers.identity_of(country, doc_type, number)
        if existing:
            message = _("This document is already registered.")
    # A template, not the text itself: the message can quote what was typed.
    return render(
        request, "cashier/partials/document_check.html", {"message": message, "existing": existing}
    )


@staff_view
def complete_profile(request, customer_id):
    membership = customers.get_membership_for(request.merchant, customer_id)
    customer = membership.customer
    form = forms.ProfileForm(
        request.POST or None,
        missing=membership.missing_fields(),
        person_type=customer.person_type,
    )
    if request.method == "POST" and form.is_valid():
        try:
            identity.update_profile(customer, form.cleaned_data, _requester(request))
        except ValidationFailed as exc:
            forms.add_errors(form, exc.errors)
        else:
            return redirect("cashier:customer", customer_id=customer.pk)
    return _page(request, "cashier/profile.html", form=form, customer=customer)


def _requester(request) -> identity.Requester:
    return identity.Requester(request.merchant, user=request.user, channel="till")


@staff_view
def contact_change(request, customer_id):
    """A set e-mail, mobile or document changes with the code the customer received."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    outcome = screens.contact_change(request, membership, _requester(request))
    if outcome.done:
        return _customer_page(request, membership.customer_id, notice=outcome.message)
    back = reverse("cashier:customer", args=[membership.customer_id])
    return _page(request, "cashier/contact.html", back=back, **outcome.context)


@login_required
def change_password(request):
    """S1: after an admin reset, the cashier chooses their own password before anything else."""
    form = signin.ThrottledPasswordChangeForm(request.user, request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
        update_session_auth_hash(request, user)
        return redirect("cashier:home")
    return render(request, "cashier/change_password.html", {"form": form})


def _once(request, key, make_receipt):
    """Run a till action at most once per form token: a double click or a resend gets the first
    answer back instead of doing it twice (or an error for the second try)."""
    token = request.POST.get("token", "")
    done = request.session.setdefault(key, {})
    if token and token in done:
        return done[token]
    receipt = make_receipt()
    if token:
        done[token] = receipt
        # Keep the session small: only the latest answers matter for resends.
        for old in list(done)[:-20]:
            del done[old]
        request.session.modified = True
    return receipt


def _hand_over(request, membership, key, action):
    """The customer's page after a till action done at most once per token: its receipt, or
    why it could not be done."""
    context = {}
    try:
        context["handed"] = _once(request, key, action)
    except LealtadError as exc:
        context["notice"] = str(exc.detail)
    return _page(
        request, "cashier/customer.html", **_customer_context(request, membership), **context
    )


@staff_view
@require_POST
def take_promotion(request, customer_id, promotion_id):
    """R1: hand over a promotion's free item."""
    membership = customers.get_membership_for(request.merchant, customer_id)

    def give():
        use = offers.give_free_item(
            membership=membership,
            promotion_id=promotion_id,
            branch=request.branch,
            staff=request.user,
        )
        return {"title": use.promotion.name, "text": use.promotion.item}

    return _hand_over(request, membership, "promotions_taken", give)


@staff_view
@require_POST
def redeem_gift(request, customer_id, offer_id):
    """R2: the customer takes a gift offered to them; a points gift is credited at once."""
    membership = customers.get_membership_for(request.merchant, customer_id)

    def take():
        offer = offers.redeem_gift(
            membership=membership,
            offer_id=offer_id,
            branch=request.branch,
            staff=request.user,
        )
        gift = offer.gift
        return {"title": gift.name, "text": gift.summary, "points": gift.points or 0}

    return _hand_over(request, membership, "gifts_taken", take)
