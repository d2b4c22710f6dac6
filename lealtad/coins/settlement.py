"""The operator's monthly settlement statement: what no anchor offers.

Per merchant and month: coins issued (earned at that issuer: owed by the issuer to the network)
and coins accepted (captured payments at that acceptor: owed by the network to the acceptor),
each net of its reversals, and the net position. Network-wide: coins converted from partners,
expired, donated and reversed. 1 coin = 1 unit of the network's currency.

It reconciles with the ledger, for any period and for all time:

    opening + issued + converted − accepted − expired − donated − reversed (+ adjustments)
        = closing,

and, through today, closing = coins outstanding = available + held in every wallet
(`lealtad.ledger.identity.coin_identity`, which `lealtad ledger-check` runs).
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from lealtad.coins.causes import csv_text
from lealtad.coins.models import Donation, PartnerConversion
from lealtad.core import money
from lealtad.ledger.identity import coin_movements
from lealtad.ledger.models import AccountKind, Kind, Status, Transaction
from lealtad.network.models import Merchant, Network

# The country whose way of writing numbers the statement uses, by the network's currency.
COUNTRY_OF_CURRENCY = {"COP": "CO", "BRL": "BR", "CLP": "CL", "ARS": "AR", "PYG": "PY"}


def month_bounds(month: dt.date, tz=None) -> tuple[dt.datetime, dt.datetime]:
    tz = tz or timezone.get_current_timezone()
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return (
        dt.datetime.combine(first, dt.time.min, tz),
        dt.datetime.combine(following, dt.time.min, tz),
    )


@dataclass
class MerchantLine:
    merchant: Merchant
    issued: int = 0  # coins earned at this issuer
    issued_reversed: int = 0  # of those (any month's), taken back by a reversal this month
    accepted: int = 0  # coins of payments captured at this acceptor
    accepted_reversed: int = 0  # of those, given back by a reversal this month

    @property
    def owed_by_merchant(self) -> int:
        return self.issued - self.issued_reversed

    @property
    def owed_to_merchant(self) -> int:
        return self.accepted - self.accepted_reversed

    @property
    def net(self) -> int:
        """Positive: the network pays the merchant; negative: the merchant pays the network."""
        return self.owed_to_merchant - self.owed_by_merchant


@dataclass
class Statement:
    month: dt.date
    currency: str
    merchants: list[MerchantLine]
    opening: int
    closing: int
    issued: int
    converted: int
    accepted: int
    expired: int
    donated: int
    reversed: int  # net: coins taken back by reversals less coins given back
    adjustments: int  # any other movement of a wallet (none today)
    by_partner: list[tuple[str, int]] = field(default_factory=list)
    by_cause: list[tuple[str, int]] = field(default_factory=list)

    @property
    def net_flow(self) -> int:
        return (
            self.issued
            + self.converted
            - self.accepted
            - self.expired
            - self.donated
            - self.reversed
            + self.adjustments
        )

    @property
    def reconciles(self) -> bool:
        return self.opening + self.net_flow == self.closing


def _wallet_moves():
    return Transaction.objects.filter(account__kind=AccountKind.COINS, status=Status.POSTED)


def statement_for(month: dt.date, network: Network | None = None, tz=None) -> Statement:
    network = network or Network.default()
    start, end = month_bounds(month, tz)
    moves = coin_movements(start, end)
    opening = sum(coin_movements(None, start).values())
    closing = opening + sum(moves.values())
    in_month = _wallet_moves().filter(posted_at__gte=start, posted_at__lt=end)
    lines: dict = {}

    def line(merchant_id) -> MerchantLine:
        return lines.setdefault(merchant_id, MerchantLine(merchant=None))

    for row in (
        in_month.filter(kind__in=[Kind.COIN_EARN, Kind.COIN_PAYMENT], merchant__isnull=False)
        .values("merchant_id", "kind")
        .annotate(total=Sum("points"))
    ):
        if row["kind"] == Kind.COIN_EARN:
            line(row["merchant_id"]).issued += row["total"]
        else:
            line(row["merchant_id"]).accepted += -row["total"]
    for row in (
        in_month.filter(kind=Kind.REVERSAL, merchant__isnull=False)
        .values("merchant_id", "reverses__kind")
        .annotate(total=Sum("points"))
    ):
        if row["reverses__kind"] == Kind.COIN_EARN:
            line(row["merchant_id"]).issued_reversed += -row["total"]
        elif row["reverses__kind"] == Kind.COIN_PAYMENT:
            line(row["merchant_id"]).accepted_reversed += row["total"]
    # Every issuer and acceptor is listed, with zeros in a quiet month.
    for merchant in Merchant.objects.filter(
        Q(pk__in=list(lines)) | Q(coin_issuer=True) | Q(coin_acceptor=True)
    ).order_by("name"):
        line(merchant.pk).merchant = merchant
    merchant_lines = sorted(
        (ln for ln in lines.values() if ln.merchant is not None), key=lambda ln: ln.merchant.name
    )
    by_partner = list(
        PartnerConversion.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("partner__name")
        .annotate(total=Sum("coins"))
        .order_by("partner__name")
    )
    by_cause = list(
        Donation.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("cause__name")
        .annotate(total=Sum("coins"))
        .order_by("cause__name")
    )
    known = {Kind.COIN_EARN, Kind.CONVERSION, Kind.COIN_PAYMENT, Kind.EXPIRY, Kind.DONATION}
    known.add(Kind.REVERSAL)
    return Statement(
        month=month.replace(day=1),
        currency=network.currency,
        merchants=merchant_lines,
        opening=opening,
        closing=closing,
        issued=moves.get(Kind.COIN_EARN, 0),
        converted=moves.get(Kind.CONVERSION, 0),
        accepted=-moves.get(Kind.COIN_PAYMENT, 0),
        expired=-moves.get(Kind.EXPIRY, 0),
        donated=-moves.get(Kind.DONATION, 0),
        reversed=-moves.get(Kind.REVERSAL, 0),
        adjustments=sum(v for k, v in moves.items() if k not in known),
        by_partner=by_partner,
        by_cause=by_cause,
    )


def amount(coins: int, currency: str) -> str:
    """Coins as the network's money on screen (1 coin = 1 unit), written as its country does."""
    return money.display_amount(Decimal(coins), COUNTRY_OF_CURRENCY.get(currency, ""), currency)


def statement_csv(st: Statement) -> str:
    """One row per figure: the merchants' lines, then the network's; amounts are plain decimals
    in the network's currency."""

    def value(coins: int) -> str:
        return money.format_amount(Decimal(coins), st.currency)

    month = st.month.strftime("%Y-%m")
    rows = []
    for ln in st.merchants:
        rows += [
            [month, ln.merchant.name, _("Coins issued"), value(ln.issued), st.currency],
            [month, ln.merchant.name, _("Issued coins reversed"), value(ln.issued_reversed)],
            [month, ln.merchant.name, _("Owed by the merchant"), value(ln.owed_by_merchant)],
            [month, ln.merchant.name, _("Coins accepted"), value(ln.accepted)],
            [month, ln.merchant.name, _("Accepted coins reversed"), value(ln.accepted_reversed)],
            [month, ln.merchant.name, _("Owed to the merchant"), value(ln.owed_to_merchant)],
            [month, ln.merchant.name, _("Net position"), value(ln.net)],
        ]
    network = _("Network")
    rows += [
        [month, network, _("Outstanding at the start of the month"), value(st.opening)],
        [month, network, _("Coins issued"), value(st.issued)],
        *[
            [month, network, _("Converted from %(partner)s") % {"partner": n}, value(v)]
            for n, v in st.by_partner
        ],
        [month, network, _("Coins from partners"), value(st.converted)],
        [month, network, _("Coins accepted"), value(st.accepted)],
        [month, network, _("Coins expired"), value(st.expired)],
        *[
            [month, network, _("Donated to %(cause)s") % {"cause": n}, value(v)]
            for n, v in st.by_cause
        ],
        [month, network, _("Coins donated"), value(st.donated)],
        [month, network, _("Coins reversed"), value(st.reversed)],
        [month, network, _("Other adjustments"), value(st.adjustments)],
        [month, network, _("Outstanding at the end of the month"), value(st.closing)],
    ]
    for row in rows:
        row[4:] = [st.currency]
    header = [_("Month"), _("Merchant"), _("Line"), _("Amount"), _("Currency")]
    return csv_text(header, rows)
