"""A7 in the demo network: the café's demo customer (the one `make run` says to sign in as) has
sent a claim waiting in the café's console queue (Reclamos de compra), and one already approved."""

import datetime as dt
import io

from django.utils import timezone
from PIL import Image, ImageDraw

from lealtad.claims import actions
from lealtad.claims.models import Claim
from lealtad.core.errors import LealtadError
from lealtad.customers.models import Membership
from lealtad.network.models import Merchant
from lealtad.offers.promotions import local_date

CLAIMS = (("C-2041", "38000", 2, False), ("C-1987", "52000", 6, True))


def receipt(merchant: str, number: str, amount: str, day: dt.date) -> bytes:
    """A photo-like picture of a till receipt (drawn, not shot)."""
    image = Image.new("RGB", (600, 900), (236, 233, 224))
    draw = ImageDraw.Draw(image)
    draw.rectangle((90, 40, 510, 860), fill=(252, 252, 248))
    lines = [merchant, "NIT 900.123.456-7", "", f"FACTURA {number}", day.isoformat(), ""]
    lines += ["Capuchino x2        13.000", "Pan de bono x3       9.000", "", f"TOTAL  $ {amount}"]
    for i, text in enumerate(lines):
        draw.text((120, 80 + i * 44), text, fill=(30, 30, 30), font_size=26)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def load_demo(cafe: Merchant | None) -> None:
    if cafe is None:
        return
    membership = (
        Membership.objects.select_related("customer")
        .filter(merchant=cafe, customer__email__isnull=False, customer__mobile__isnull=False)
        .exclude(customer__first_name="")
        .filter(customer__anonymised_at__isnull=True)
        .order_by("created_at")
        .first()
    )
    branch = cafe.branches.order_by("created_at").first()
    if membership is None or branch is None:
        return
    today = local_date(cafe, timezone.now())
    for number, amount, days_ago, approve in CLAIMS:
        if Claim.objects.filter(merchant=cafe, invoice_number=number).exists():
            continue
        day = today - dt.timedelta(days=days_ago)
        try:
            claim = actions.submit_claim(
                customer=membership.customer,
                merchant_id=cafe.pk,
                branch_id=branch.pk,
                invoice_number=number,
                amount=amount,
                purchased_on=day,
                photo=receipt(cafe.name, number, amount, day),
            )
            if approve:
                actions.approve_claim(merchant=cafe, claim_id=claim.pk)
        except LealtadError:
            continue  # a demo built over older data: the number is taken; nothing to show
