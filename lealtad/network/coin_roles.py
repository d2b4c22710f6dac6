"""N4 / N5: the network's currency and who takes part in coins.

A network has one currency (1 coin = 1 unit of it, `NETWORK_CURRENCY`); a merchant issues or
accepts coins only when its own currency is the network's: never a silent conversion. The
operator makes a merchant an issuer (with its cashback rate) and/or an acceptor through
`set_coin_roles`; the coins actions check the same rule again with `check_issuer` and
`check_acceptor`, so a row changed by other means still earns or pays nothing.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from lealtad.core.errors import NotCoinAcceptor, NotCoinIssuer, ValidationFailed
from lealtad.network import actorcache
from lealtad.network.models import Merchant


def currency_problem(merchant: Merchant) -> str | None:
    """Why this merchant cannot take part in the network's coins, in words; None when it can."""
    network_currency = merchant.network.currency
    if merchant.currency != network_currency:
        return _(
            "Coins are in %(network)s, the network's currency; this merchant works in "
            "%(currency)s, so it cannot issue or accept coins."
        ) % {"network": network_currency, "currency": merchant.currency}
    return None


def _rate(value, *, allow_zero: bool) -> Decimal | None:
    try:
        rate = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    if not rate.is_finite() or rate < 0 or rate > 1 or rate.as_tuple().exponent < -4:
        return None
    if rate == 0 and not allow_zero:
        return None
    return rate


def set_coin_roles(
    merchant: Merchant, *, issuer: bool, acceptor: bool, cashback_rate=None
) -> Merchant:
    """The operator's decision. An issuer needs a cashback rate in (0, 1] with at most four
    decimals (0.03 = 3 coins per 100); either role needs the network's currency."""
    errors = []
    given = cashback_rate if cashback_rate not in (None, "") else merchant.cashback_rate
    rate = _rate(given, allow_zero=not issuer)
    if rate is None:
        errors.append(
            {
                "field": "cashback_rate",
                "message": _(
                    "An issuer needs a cashback rate above 0 and at most 1, "
                    "e.g. 0.03 (3 coins per 100)."
                )
                if issuer
                else _("A cashback rate between 0 and 1, e.g. 0.03."),
            }
        )
    if (issuer or acceptor) and (problem := currency_problem(merchant)):
        errors.append({"field": "coin_issuer" if issuer else "coin_acceptor", "message": problem})
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        Merchant.objects.filter(pk=merchant.pk).update(
            coin_issuer=issuer, coin_acceptor=acceptor, cashback_rate=rate
        )
        actorcache.forget_staff(merchant=merchant.pk)  # the cached actors carry the merchant
    merchant.coin_issuer, merchant.coin_acceptor, merchant.cashback_rate = issuer, acceptor, rate
    return merchant


def check_issuer(merchant: Merchant) -> None:
    if not merchant.coin_issuer or merchant.cashback_rate <= 0:
        raise NotCoinIssuer(_("This merchant does not issue coins."))
    if problem := currency_problem(merchant):
        raise NotCoinIssuer(problem)


def check_acceptor(merchant: Merchant) -> None:
    if not merchant.coin_acceptor:
        raise NotCoinAcceptor(_("This merchant does not accept coins."))
    if problem := currency_problem(merchant):
        raise NotCoinAcceptor(problem)


@dataclass
class CoinStatus:
    """What the merchant admin sees in the console."""

    issuer: bool
    acceptor: bool
    cashback_rate: Decimal
    currency: str
    problem: str | None

    @property
    def takes_part(self) -> bool:
        return (self.issuer or self.acceptor) and self.problem is None


def coin_status(merchant: Merchant) -> CoinStatus:
    problem = currency_problem(merchant)
    return CoinStatus(
        issuer=merchant.coin_issuer and merchant.cashback_rate > 0 and problem is None,
        acceptor=merchant.coin_acceptor and problem is None,
        cashback_rate=merchant.cashback_rate,
        currency=merchant.network.currency,
        problem=problem,
    )
