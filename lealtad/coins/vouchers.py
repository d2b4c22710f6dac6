"""R3 in the customer's app: buying an acceptor's coin promotion from the app.

The customer is signed in to the app, so the purchase needs no code: it is the same coin payment
as at the till (`purchases.buy_promotion`), confirmed by a payment QR the customer's own session
mints (`coins.qr`), so it is held and captured at once, a unit of stock taken. The customer gets a
`CoinVoucher`: a short code (and its QR) that the till types or scans to hand the product over,
once. Another merchant's till, or a second hand-over, is refused.
"""

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.coins import promotions, qr
from lealtad.coins.models import CoinPromotion, CoinVoucher
from lealtad.coins.purchases import buy_promotion
from lealtad.core.errors import DocumentCheckRequired, LealtadError, NotFound, ValidationFailed
from lealtad.core.ids import parse_id

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed at a till
CODE_LENGTH = 8
QR_PREFIX = "LCV1:"  # what the voucher's QR carries before the code (a till's scanner types it)


class VoucherHandedOver(LealtadError):
    code, status, title = "voucher_used", 409, _("This voucher was already handed over")


class AppPurchaseUnavailable(LealtadError):
    code, status, title = (
        "document_check_required",
        422,
        _("This shop checks your identity document: buy it at its till"),
    )


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize(code) -> str:
    code = str(code or "").strip().upper()
    if code.startswith(QR_PREFIX):
        code = code[len(QR_PREFIX) :]
    return "".join(ch for ch in code if ch.isalnum())[:32]


def looks_like_voucher(text) -> bool:
    """Whether a till's search box holds a voucher's code or its QR (then it is looked up)."""
    text = str(text or "").strip().upper()
    code = normalize(text)
    return text.startswith(QR_PREFIX) or (
        len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)
    )


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def on_sale_in_app(now=None):
    """Every acceptor's promotions on sale now (the app's list), cheapest first."""
    now = now or timezone.now()
    rows = (
        CoinPromotion.objects.select_related("merchant__network")
        .filter(merchant__coin_acceptor=True, active=True, starts_at__lte=now, ends_at__gt=now)
        .exclude(stock=0)
        .order_by("coins_price", "name")
    )
    return [p for p in rows if not promotions.can_have(p.merchant)]


def buy_in_app(promotion_id, *, customer, now=None) -> CoinVoucher:
    """Pay one unit of the promotion with the customer's coins at once and give the voucher.
    The payment's own refusals stand (insufficient_coins, out_of_stock, promotion_unavailable,
    a block or an incomplete profile at that merchant); nothing is held when refused."""
    now = now or timezone.now()
    try:
        promotion = CoinPromotion.objects.select_related("merchant__network").get(
            pk=parse_id(promotion_id, "promotion_id")
        )
    except (CoinPromotion.DoesNotExist, NotFound):
        raise NotFound(_("No such coin promotion.")) from None
    with transaction.atomic():
        try:
            payment = buy_promotion(
                promotion.pk,
                merchant=promotion.merchant,
                customer=customer,
                qr_payload=qr.mint_payment_qr(customer, now),
                now=now,
            )
        except DocumentCheckRequired:
            raise AppPurchaseUnavailable() from None
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return CoinVoucher.objects.create(
                        payment=payment,
                        promotion=promotion,
                        merchant=promotion.merchant,
                        customer=customer,
                        code=new_code(),
                        created_at=now,
                    )
            except IntegrityError:  # the one-in-a-trillion code already taken: another
                continue
    raise RuntimeError("no free voucher code")  # pragma: no cover


def vouchers_of(customer):
    return (
        CoinVoucher.objects.filter(customer=customer)
        .select_related("promotion", "merchant")
        .order_by("-created_at")
    )


def get_voucher_for(customer, voucher_id) -> CoinVoucher:
    """The customer's own voucher; anyone else's → 404."""
    try:
        return vouchers_of(customer).get(pk=parse_id(voucher_id, "voucher_id"))
    except (CoinVoucher.DoesNotExist, NotFound):
        raise NotFound(_("Voucher not found.")) from None


def find_voucher(code, *, merchant) -> CoinVoucher:
    """The voucher the till typed or scanned, at this merchant; another merchant's → 404."""
    code = normalize(code)
    if not code:
        raise ValidationFailed([{"field": "code", "message": _("Type the voucher's code.")}])
    voucher = (
        CoinVoucher.objects.select_related("promotion", "customer", "payment")
        .filter(code=code, merchant=merchant)
        .first()
    )
    if voucher is None:
        raise NotFound(_("No voucher with this code at this shop."))
    return voucher


def hand_over(code, *, merchant, staff=None, branch=None, now=None) -> CoinVoucher:
    """The till hands the product over: once (a second time → voucher_used, 409)."""
    now = now or timezone.now()
    voucher = find_voucher(code, merchant=merchant)
    with transaction.atomic():
        taken = CoinVoucher.objects.filter(pk=voucher.pk, handed_over_at__isnull=True).update(
            handed_over_at=now, handed_over_by=staff, handed_over_branch=branch
        )
        if not taken:
            voucher.refresh_from_db()
            raise VoucherHandedOver(
                _("This voucher was already handed over on %(when)s.")
                % {"when": timezone.localtime(voucher.handed_over_at).strftime("%Y-%m-%d %H:%M")}
            )
    voucher.refresh_from_db()
    return voucher


def qr_svg(voucher: CoinVoucher) -> str:
    """The voucher's QR (its code) as inline SVG markup."""
    import segno

    return segno.make(QR_PREFIX + voucher.code, error="m").svg_inline(
        scale=6, border=2, omitsize=True
    )
