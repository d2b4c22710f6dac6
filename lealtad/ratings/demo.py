"""The demo's ratings at the café (`lealtad demo`): every colour, comments, a detractor without
comment answered by the automatic reply, a conversation both ways and a reply with a gift. Made
through the actions, as customers and staff would; idempotent (once per merchant)."""

import datetime as dt

from lealtad.ledger.models import Status, Transaction
from lealtad.network.models import Merchant, User
from lealtad.offers.models import Gift
from lealtad.ratings import actions
from lealtad.ratings.models import Rating

# (score, comment) for the café's latest visits, newest first.
PLAN = [
    (10, "¡El mejor capuchino de Chapinero! Y la atención, de diez."),
    (3, "Esperé 25 minutos por un café y nadie me dio una explicación."),
    (9, ""),
    (2, ""),  # the silent detractor: the automatic reply answers
    (8, "Muy rico todo, pero la música estaba demasiado fuerte."),
    (6, "El croissant llegó frío."),
    (7, ""),
    (9, "Siempre vuelvo por el pan de bono."),
    (10, ""),
    (5, ""),
    (1, "Me cobraron dos veces el mismo jugo."),
    (8, ""),
]


def seed(merchant: Merchant | None) -> int:
    if merchant is None or Rating.objects.filter(merchant=merchant).exists():
        return 0
    admin = User.objects.filter(merchant=merchant, role="merchant_admin").order_by("pk").first()
    visits = list(
        Transaction.objects.filter(
            merchant=merchant, kind__in=actions.VISIT_KINDS, status=Status.POSTED
        )
        .select_related("merchant", "customer", "branch")
        .order_by("-created_at")[: len(PLAN)]
    )
    auto = actions.save_auto_reply(
        merchant,
        subject="Queremos saber qué pasó en tu visita",
        body=(
            "Lamentamos que tu visita a Café Aroma no haya sido buena. ¿Nos cuentas qué pasó? "
            "Respondemos cada mensaje."
        ),
        enabled=True,
        now=visits[-1].created_at if visits else None,
    )
    ratings = []
    for txn, (score, comment) in zip(visits, PLAN, strict=False):
        at = txn.created_at + dt.timedelta(hours=2)
        ratings.append(actions.rate_visit(txn, score=score, comment=comment, now=at))
    by_score = {r.score: r for r in reversed(ratings)}
    silent = next((r for r in ratings if r.score <= 6 and not r.comment), None)
    if silent is not None and auto.enabled:
        actions.send_auto_reply(silent.pk, now=silent.created_at + dt.timedelta(minutes=6))
    slow = by_score.get(3)
    if slow is not None:  # a conversation both ways
        at = slow.created_at
        actions.reply(
            slow,
            body="Tienes toda la razón, lo sentimos. ¿Recuerdas a qué hora fue? Lo revisamos.",
            staff=admin,
            now=at + dt.timedelta(minutes=40),
        )
        actions.customer_reply(
            slow, body="Hacia las 10 de la mañana, en la barra.", now=at + dt.timedelta(hours=1)
        )
        actions.mark_read(slow, staff=admin, now=at + dt.timedelta(hours=2))
    cold = by_score.get(6)
    if cold is not None:  # a reply that carried a gift
        gift = Gift.objects.filter(merchant=merchant, active=True, kind="discount").first()
        actions.reply(
            cold,
            body="Perdón por el croissant: tu próxima visita lleva un descuento de la casa.",
            staff=admin,
            gift=gift,
            new_gift=None if gift else {"kind": "product", "name": "Croissant de la casa"},
            now=cold.created_at + dt.timedelta(hours=1),
        )
    return len(ratings)


def rating_link(merchant: Merchant | None) -> str:
    """The page of the merchant's latest visit not rated yet, to try it (printed by the demo)."""
    from lealtad.ratings.links import url_for

    if merchant is None:
        return ""
    visit = (
        Transaction.objects.filter(
            merchant=merchant, kind__in=actions.VISIT_KINDS, status=Status.POSTED
        )
        .filter(rating__isnull=True)
        .order_by("-created_at")
        .first()
    )
    return url_for(visit.pk) if visit else ""
