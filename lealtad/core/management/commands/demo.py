"""`lealtad demo`: the demo network, loaded idempotently, and its logins."""

import contextlib
import datetime as dt
import random
import unicodedata
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation

from lealtad.claims.demo import load_demo as load_claims
from lealtad.coins import actions as coins
from lealtad.core.errors import LealtadError
from lealtad.core.languages import language_for_country as language_of
from lealtad.customers.actions import qr_payload, register_customer, set_card
from lealtad.customers.models import Customer, Membership, RedeemPolicy
from lealtad.customers.privacy import set_marketing_consent
from lealtad.invoices.demo import load_demo as load_pos_invoices
from lealtad.ledger import actions as ledger
from lealtad.ledger.models import Kind, Transaction
from lealtad.network.actions import create_merchant, create_staff
from lealtad.network.models import Branch, Merchant, User
from lealtad.program.models import AuditMode, Category, Reward
from lealtad.ratings import demo as ratings_demo

PASSWORD = "lealtad-demo"

MERCHANTS = [
    {
        "key": "cafe",
        "name": "Café Aroma",
        "country": "CO",
        "point_value": "1000",
        "branches": ["Chapinero", "Usaquén"],
        "welcome_bonus_points": 50,
        "coin_issuer": True,
        "coin_acceptor": True,
        "cashback_rate": Decimal("0.02"),
        "cashiers": [("cafe.chapinero", 0), ("cafe.usaquen", 1)],
        "categories": [
            ("Oro", "2", 540, AuditMode.DEFAULT_RULES),
            ("Corporativo", "1", None, AuditMode.MANUAL),
        ],
        "rewards": [
            ("Café americano", 30, None),
            ("Capuchino", 60, None),
            ("Torta de zanahoria", 120, 20),
            ("Desayuno completo", 300, 5),
        ],
        "document": "CC",
        "amounts": (8_000, 95_000),
        "city": "Bogotá",
        "mobile": ("+57310", 7),
    },
    {
        "key": "posto",
        "name": "Posto Estrada Real",
        "country": "BR",
        "point_value": "5",
        "branches": ["BR-040 km 12"],
        "welcome_bonus_points": 0,
        "cashiers": [("posto.caixa", 0)],
        "categories": [("Frotista", "1.5", 365, AuditMode.DEFAULT_RULES)],
        "rewards": [
            ("Cafezinho", 40, None),
            ("Lavagem completa", 250, 30),
            ("Troca de óleo", 900, 10),
        ],
        "document": "CPF",
        "amounts": (50, 400),
        "city": "Belo Horizonte",
        # C3: the Brazilian registration asks CEP and the full address (seed 004).
        "postal_address": ("30130-010", "Av. Afonso Pena {n}, Centro"),
        "mobile": ("+55319", 8),
    },
    {
        "key": "farmacia",
        "name": "Farmacia Salud",
        "country": "PA",
        "point_value": "1",
        "branches": ["Vía España"],
        "welcome_bonus_points": 10,
        "redemption_requires_document_check": True,
        # P7: the pharmacy takes points as money ("Pagar con puntos"): 1 point = 0.05 USD.
        "points_as_money": True,
        "point_money_value": Decimal("0.05"),
        "cashiers": [("farmacia.caja", 0)],
        "categories": [],
        "rewards": [("Protector solar", 80, 15), ("Vitamina C", 45, None)],
        "document": "CIP",
        "amounts": (5, 90),
        "city": "Ciudad de Panamá",
        "mobile": ("+5076", 7),
    },
]

# What the demo writes in each merchant's own words: a Brazilian till shows Portuguese.
TEXTS = {
    "es": {
        "birthday": "Cumpleaños",
        "dessert": "Postre de la casa",
        "double": "Puntos dobles",
        "special": "Precio especial",
        "points_gift": "Bono 100",
        "discount_gift": "Descuento 10 %",
        "thanks": "Gracias por su visita",
        "claim": "Reclamo en revisión",
    },
    "pt-br": {
        "birthday": "Aniversário",
        "dessert": "Sobremesa da casa",
        "double": "Pontos em dobro",
        "special": "Preço especial",
        "points_gift": "Bônus 100",
        "discount_gift": "Desconto 10%",
        "thanks": "Obrigado pela visita",
        "claim": "Reclamação em análise",
    },
}


FIRST = [
    "Ana",
    "Luis",
    "María",
    "Carlos",
    "Sofía",
    "Jorge",
    "Valentina",
    "Andrés",
    "Camila",
    "Pedro",
    "Lucía",
    "Mateo",
    "Isabela",
    "Joaquim",
    "Fernanda",
    "Diego",
]
FEMALE = {"Ana", "María", "Sofía", "Valentina", "Camila", "Lucía", "Isabela", "Fernanda"}
LAST = [
    "Gómez",
    "Rodríguez",
    "Silva",
    "Pérez",
    "Martínez",
    "Souza",
    "Castillo",
    "Herrera",
    "Oliveira",
    "Ramírez",
    "Vargas",
    "Moreno",
]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _document(kind: str, n: int) -> str:
    if kind == "CPF":
        from stdnum.br import cpf

        base = f"{(n * 7_654_321) % 10**9:09d}"
        return base + cpf._calc_check_digits(base)
    if kind == "CIP":
        return f"8-{100 + n}-{1000 + n * 7}"
    return str(52_000_000 + n * 1_013)


class Command(BaseCommand):
    help = "Load the demo network (idempotent) and print its logins."

    def handle(self, *args, **options):
        rng = random.Random(2026)
        if not User.objects.filter(username="operator").exists():
            User.objects.create_superuser("operator", "operator@lealtad.example", PASSWORD)
        logins = []
        for spec in MERCHANTS:
            merchant = self._merchant(spec, rng)
            admin = User.objects.get(username=f"{spec['key']}.admin")
            logins.append((merchant, admin.username, "merchant_admin"))
            logins += [(merchant, username, "cashier") for username, _b in spec["cashiers"]]
        self._network_visits()
        ratings_demo.seed(Merchant.objects.filter(name="Café Aroma").first())
        logins += self._coin_network()
        self._partners_and_causes()
        load_pos_invoices(Merchant.objects.filter(name="Café Aroma").first())
        load_claims(Merchant.objects.filter(name="Café Aroma").first())  # A7
        self.stdout.write("\nLealtad demo network — every password is: " + PASSWORD)
        self.stdout.write(f"  {'Network operator':<22} {'operator':<15} operator  (/admin/)")
        for merchant, username, role in logins:
            self.stdout.write(f"  {merchant.name:<22} {role:<15} {username}")
        self.stdout.write("\nCustomers' QR payloads (paste one into the cashier's search):")
        for membership in Membership.objects.select_related("customer", "merchant").order_by(
            "merchant__name", "created_at"
        ):
            customer = membership.customer
            self.stdout.write(
                f"  {membership.merchant.name:<22} {customer.document_type} "
                f"{customer.document_number:<14} {qr_payload(customer)}"
            )
        link = ratings_demo.rating_link(Merchant.objects.filter(name="Café Aroma").first())
        self.stdout.write(f"\nA customer's rating page (a café visit not rated yet):\n  {link}")
        self.stdout.write(_app_sign_in())
        self.stdout.write(_where_messages_appear())

    def _coin_network(self) -> list:
        """N5 / K2: the café issues the network's coins (COP), a Colombian bookshop accepts
        them, and the café's first regulars hold some (one already paid with them)."""
        cafe = Merchant.objects.filter(name="Café Aroma").first()
        shop = User.objects.filter(username="libreria.admin").first()
        if shop is None:
            with translation.override("es"):
                shop = create_merchant(
                    name="Librería Macondo",
                    country="CO",
                    point_value=Decimal("1000"),
                    admin_username="libreria.admin",
                    admin_password=PASSWORD,
                    branch_name="La Candelaria",
                    coin_acceptor=True,
                ).admin
            create_staff(
                merchant=shop.merchant, username="libreria.caja", password=PASSWORD,
                role="cashier", branch=shop.branch,
            )  # fmt: skip
        self._coin_promotions(shop.merchant)
        logins = [(shop.merchant, "libreria.admin", "merchant_admin")]
        logins.append((shop.merchant, "libreria.caja", "cashier"))
        if cafe is None or Transaction.objects.filter(kind=Kind.COIN_EARN).exists():
            return logins
        regulars = Customer.objects.filter(
            memberships__merchant=cafe, profile_complete=True, suspended=False
        ).order_by("created_at")[:3]
        branch = cafe.branches.order_by("created_at").first()
        for i, customer in enumerate(regulars):
            coins.earn_coins(
                merchant=cafe, customer=customer, amount=Decimal(40_000 + 15_000 * i),
                branch=branch, invoice_number=f"CAFE-MONEDAS-{i}",
                now=timezone.now() - dt.timedelta(days=5),
            )  # fmt: skip
            if i == 0:
                coins.pay_with_coins(
                    merchant=shop.merchant, customer=customer, coins=300, branch=shop.branch,
                    now=timezone.now() - dt.timedelta(days=2),
                )  # fmt: skip
        return logins

    def _coin_promotions(self, shop: Merchant) -> None:
        """R3: the bookshop sells two products only for coins; the coin holders (about 500,
        1 300 and 1 600 coins) all afford the bookmark, the edition is for one and within reach
        of another."""
        from lealtad.coins.models import CoinPromotion

        if CoinPromotion.objects.filter(merchant=shop).exists():
            return
        now = timezone.now()
        window = {"starts_at": now - dt.timedelta(days=3), "ends_at": now + dt.timedelta(days=60)}
        CoinPromotion.objects.create(
            merchant=shop, name="Marcapáginas de mariposas amarillas",
            description="Marcapáginas ilustrado, edición de la casa.",
            coins_price=450, stock=None, **window,
        )  # fmt: skip
        CoinPromotion.objects.create(
            merchant=shop, name="Cien años de soledad, edición ilustrada",
            description="Tapa dura, ilustraciones de Luisa Rivera.",
            coins_price=1500, stock=5, **window,
        )  # fmt: skip

    def _partners_and_causes(self):
        """K4 / K5: a bank whose points convert into coins, two causes, and in the history one
        conversion and one donation (idempotent: by the partner's reference, and by name)."""
        from lealtad.coins import causes, partners
        from lealtad.coins.models import Cause, Donation, Partner

        bank = Partner.objects.filter(name="Banco Andino").first()
        if bank is None:
            bank = partners.create_partner("Banco Andino", Decimal("0.2"))
            _key, secret = partners.issue_partner_key(bank, "Demo")
            self.stdout.write(f"Banco Andino's partner API key (shown once): {secret}")
        school = Cause.objects.filter(name="Escuela Rural La Esperanza").first()
        if school is None:
            school = causes.create_cause(
                "Escuela Rural La Esperanza", "Útiles escolares para una escuela de vereda."
            )
        if not Cause.objects.filter(name="Reforestación del Río Bogotá").exists():
            causes.create_cause(
                "Reforestación del Río Bogotá", "Árboles nativos en la cuenca del río."
            )
        cafe = Merchant.objects.filter(name="Café Aroma").first()
        regulars = list(
            Customer.objects.filter(
                memberships__merchant=cafe, profile_complete=True, suspended=False
            ).order_by("created_at")[:3]
        )
        if len(regulars) < 3:
            return
        partners.convert(
            partner=bank, customer=regulars[1], partner_points=2500, reference="DEMO-0001",
            now=timezone.now() - dt.timedelta(days=3),
        )  # fmt: skip
        if not Donation.objects.exists():
            causes.donate(regulars[2], school, 100, now=timezone.now() - dt.timedelta(days=1))

    def _network_visits(self):
        """One identity, every merchant (N2): café regulars who also buy at the pharmacy."""
        pharmacy = Merchant.objects.filter(name="Farmacia Salud").first()
        if (
            pharmacy is None
            or Membership.objects.filter(merchant=pharmacy, customer__country="CO").exists()
        ):
            return
        branch = pharmacy.branches.first()
        regulars = Customer.objects.filter(
            memberships__merchant__name="Café Aroma", profile_complete=True, suspended=False
        ).order_by("created_at")[:3]
        for i, customer in enumerate(regulars):
            ledger.accrue_points(
                merchant=pharmacy,
                customer=customer,
                amount=Decimal(25 + i * 10),
                branch=branch,
                invoice_number=f"FARMACIA-CO-{i}",
                now=timezone.now() - dt.timedelta(days=3),
            )

    @transaction.atomic
    def _merchant(self, spec: dict, rng: random.Random) -> Merchant:
        existing = User.objects.filter(username=f"{spec['key']}.admin").first()
        if existing:
            return existing.merchant
        # What the actions name by themselves (the default category) in the merchant's language.
        with translation.override(language_of(spec["country"])):
            return self._new_merchant(spec, rng)

    def _new_merchant(self, spec: dict, rng: random.Random) -> Merchant:
        extra = {
            k: spec[k]
            for k in (
                "welcome_bonus_points",
                "coin_issuer",
                "coin_acceptor",
                "cashback_rate",
                "redemption_requires_document_check",
                "points_as_money",
                "point_money_value",
            )
            if k in spec
        }
        new = create_merchant(
            name=spec["name"],
            country=spec["country"],
            point_value=Decimal(spec["point_value"]),
            admin_username=f"{spec['key']}.admin",
            admin_password=PASSWORD,
            branch_name=spec["branches"][0],
            **extra,
        )
        merchant = new.merchant
        branches = [new.branch] + [
            Branch.objects.create(merchant=merchant, name=name) for name in spec["branches"][1:]
        ]
        # A6: the app lists merchants by city and zone (the café's branches are its zones).
        for branch in branches:
            zone = branch.name if spec["key"] == "cafe" else ""
            Branch.objects.filter(pk=branch.pk).update(city=spec["city"], zone=zone)
        for username, branch_index in spec["cashiers"]:
            create_staff(
                merchant=merchant,
                username=username,
                password=PASSWORD,
                role="cashier",
                branch=branches[branch_index],
            )
        categories = [
            Category.objects.create(
                merchant=merchant,
                name=name,
                multiplier=Decimal(mult),
                validity_days=days,
                audit_mode=audit,
            )
            for name, mult, days, audit in spec["categories"]
        ]
        rewards = [
            Reward.objects.create(merchant=merchant, name=name, points_cost=cost, stock=stock)
            for name, cost, stock in spec["rewards"]
        ]
        self._customers(spec, merchant, branches, categories, rewards, rng)
        self._offers(merchant, rewards, TEXTS[language_of(spec["country"])])
        return merchant

    def _offers(self, merchant, rewards, texts):
        """R1/R2: a running promotion of each kind a till shows, and a gift waiting."""
        from lealtad.customers.models import Membership
        from lealtad.offers.actions import offer_gift
        from lealtad.offers.models import Gift, Promotion
        from lealtad.offers.promotions import local_date

        today = local_date(merchant, timezone.now())
        window = {"starts_on": today - dt.timedelta(days=7), "ends_on": today + dt.timedelta(60)}
        Promotion.objects.create(
            merchant=merchant,
            name=texts["birthday"],
            kind="free_item",
            item=texts["dessert"],
            target="birthday",
            uses_per_customer=1,
            **window,
        )
        Promotion.objects.create(
            merchant=merchant,
            name=texts["double"],
            kind="multiplier",
            multiplier=Decimal(2),
            min_amount=merchant.point_value * 20,
            **window,
        )
        if rewards:
            Promotion.objects.create(
                merchant=merchant,
                name=texts["special"],
                kind="special_price",
                reward=rewards[0],
                special_price=max(rewards[0].points_cost // 2, 1),
                **window,
            )
        points = Gift.objects.create(
            merchant=merchant, name=texts["points_gift"], kind="points", points=100
        )
        Gift.objects.create(
            merchant=merchant,
            name=texts["discount_gift"],
            kind="discount",
            discount_percent=Decimal(10),
        )
        member = Membership.objects.filter(merchant=merchant).order_by("created_at")[1:2].first()
        if member is not None:
            offer_gift(gift=points, membership=member, note=texts["thanks"])

    def _dependent(self, spec, merchant, branches, holder, now, events):
        """A dependent (C8): the holder's child, whose purchases land on the holder's balance."""
        offset = {"cafe": 0, "posto": 100, "farmacia": 200}[spec["key"]]
        n = offset + 50
        joined = now - dt.timedelta(days=60)

        def register():
            with contextlib.suppress(LealtadError):
                child = register_customer(
                    merchant=merchant,
                    branch=branches[0],
                    staff=None,
                    document_type=spec["document"],
                    document_number=_document(spec["document"], n),
                    country=spec["country"],
                    profile={
                        "first_name": FIRST[n % len(FIRST)],
                        "last_name": holder.customer.last_name,
                        "email": _ascii(f"dependiente.{n}@example.com").lower(),
                        "city": spec["city"],
                    },
                    card={"card_number": f"{spec['key'].upper()}-{n:05d}-D", "holder": holder},
                    now=joined,
                )
                accrued_at = now - dt.timedelta(days=30)
                events.append(
                    (
                        accrued_at,
                        lambda: ledger.accrue_points(
                            merchant=merchant,
                            customer=child.customer,
                            amount=Decimal(spec["amounts"][1]),
                            branch=branches[0],
                            invoice_number=f"{spec['key'].upper()}-{n:03d}-00",
                            now=accrued_at,
                        ),
                    )
                )

        events.append((joined, register))

    def _customers(self, spec, merchant, branches, categories, rewards, rng):
        """The merchant's history, written in the order it happened: each account's entries are
        posted oldest first, so every statement's running balance adds up (balance_after is the
        balance when the entry was written)."""
        offset = {"cafe": 0, "posto": 100, "farmacia": 200}[spec["key"]]
        now = timezone.now()
        texts = TEXTS[language_of(spec["country"])]
        holder = None
        events = []  # (when, what): accruals, redemptions, the dependent, run in time order
        for i in range(14):
            n = offset + i + 1
            first, last = FIRST[(n * 3) % len(FIRST)], LAST[(n * 5) % len(LAST)]
            profile = {
                "first_name": first,
                "last_name": last,
                "gender": "F" if first in FEMALE else "M",
                "birth_date": dt.date(1960 + n % 40, 1 + n % 12, 1 + n % 28).isoformat(),
                "email": _ascii(f"{first}.{last}.{n}@example.com").lower(),
                "mobile": f"{spec['mobile'][0]}{n:0{spec['mobile'][1]}d}",
                "city": spec["city"],
            }
            if "postal_address" in spec:
                profile["postal_code"] = spec["postal_address"][0]
                profile["address"] = spec["postal_address"][1].format(n=n * 10)
            if i == 0:  # one quick registration whose profile is still incomplete
                profile = {"email": profile["email"], "city": spec["city"]}
            joined = now - dt.timedelta(days=400 - i * 20)
            try:
                # Registrations come first: each opens its own account, with the welcome bonus
                # as its first entry.
                reg = register_customer(
                    merchant=merchant,
                    branch=branches[i % len(branches)],
                    staff=None,
                    document_type=spec["document"],
                    document_number=_document(spec["document"], n),
                    country=spec["country"],
                    profile=profile,
                    welcome_bonus=True,
                    now=joined,
                )
            except LealtadError:
                continue
            membership = reg.membership
            # The demo's history: registered on the day they joined, not the day it was loaded.
            Membership.objects.filter(pk=membership.pk).update(created_at=joined)
            Customer.objects.filter(pk=reg.customer.pk).update(created_at=joined)
            # Loyalty cards (C7) for most; marketing consent (C12) from about half.
            card = f"{spec['key'].upper()}-{n:05d}" if i % 5 != 4 else None
            set_card(
                membership,
                card_number=card,
                redeem_policy=RedeemPolicy.ALL_CARDS if i == 1 else RedeemPolicy.HOLDER_ONLY,
            )
            if i % 2 == 0 and i > 0:
                set_marketing_consent(membership, given=True, channel="demo", now=joined)
            if i == 1:
                holder = membership
            if categories and i % 4 == 1:
                membership.category = categories[0]
                membership.save(update_fields=["category"])
            if i == 2:
                membership.blocked, membership.blocked_reason = True, texts["claim"]
                membership.blocked_at = now
                membership.save(update_fields=["blocked", "blocked_reason", "blocked_at"])
            # Visits spread over the last year, one after the other; the oldest lots fall due
            # within 30 days. None after the last hour: history, not the future.
            at = joined + dt.timedelta(days=10)
            for visit in range(rng.randint(3, 9)):
                if at > now - dt.timedelta(hours=1):
                    break
                events.append((at, self._accrual(merchant, reg.customer, rng, spec, n, visit, at)))
                at += dt.timedelta(days=rng.randint(15, 40))
            if i % 3 == 0 and rewards and membership.profile_complete and i != 2:
                redeemed_at = now - dt.timedelta(days=2)
                events.append((redeemed_at, self._redemption(membership, rewards, redeemed_at)))
        if holder is not None:
            self._dependent(spec, merchant, branches, holder, now, events)
        for _when, happen in self._in_time_order(events):
            happen()
        if spec["key"] == "cafe":
            # One customer under the operator's fraud review: suspended in the whole network.
            Customer.objects.filter(
                memberships__merchant=merchant, document_number=_document("CC", offset + 14)
            ).update(
                suspended=True,
                # The till adds the network's fraud-monitoring line for the customer's country.
                suspension_message="En revisión por el operador (monitoreo de fraude).",
            )
        # What fell due after each account's last movement leaves by an expiry entry, now: after
        # it, as in real life.
        ledger.expire_points(now)

    @staticmethod
    def _in_time_order(events):
        """Events may add events (a dependent's purchases once registered): run them oldest
        first; lots falling due before an event leave, stamped then, before it."""
        while events:
            events.sort(key=lambda event: event[0])
            when, happen = events.pop(0)
            ledger.expire_points(when)
            yield when, happen

    @staticmethod
    def _accrual(merchant, customer, rng, spec, n, visit, at):
        amount = Decimal(rng.randint(*spec["amounts"]))
        branches = list(merchant.branches.order_by("created_at"))

        def accrue():
            with contextlib.suppress(LealtadError):
                ledger.accrue_points(
                    merchant=merchant,
                    customer=customer,
                    amount=amount,
                    branch=branches[visit % len(branches)],
                    invoice_number=f"{spec['key'].upper()}-{n:03d}-{visit:02d}",
                    now=at,
                )

        return accrue

    @staticmethod
    def _redemption(membership, rewards, at):
        branch = membership.merchant.branches.order_by("created_at").first()

        def redeem():
            with contextlib.suppress(LealtadError):
                ledger.redeem_reward(
                    membership=membership,
                    reward_id=rewards[0].pk,
                    branch=branch,
                    now=at,
                )

        return redeem


def _app_sign_in() -> str:
    """A1: how the demo customer signs in to the customer's app, and where the code shows up."""
    from django.conf import settings

    from lealtad.notifications.sms import provider

    membership = (
        Membership.objects.select_related("customer")
        .filter(merchant__name="Café Aroma", customer__email__isnull=False)
        .exclude(customer__first_name="")
        .filter(customer__mobile__isnull=False, customer__anonymised_at__isnull=True)
        .order_by("created_at")
        .first()
    )
    if membership is None:
        return ""
    customer = membership.customer
    if settings.EMAIL_URL.startswith("console"):
        mail = "the e-mail (EMAIL_URL=console://) is printed in this terminal by the task worker"
    else:
        mail = f"the e-mail goes out through EMAIL_URL ({settings.EMAIL_URL.split('@')[-1]})"
    sms = provider()
    if sms is not None and sms.kind == "console" and customer.mobile:
        mobile = f"; or type the mobile {customer.mobile}: the SMS is printed here too"
    else:
        mobile = ""
    return (
        f"\nThe customer's app: {settings.SITE_URL.rstrip('/')}/app/ (a phone-sized window)."
        f" Sign in as {customer.full_name}"
        f" with the e-mail {customer.email}:\n  the 6-digit code — {mail}{mobile}"
        " (also in /admin/ → Outgoing e-mails, as the operator)."
    )


def _where_messages_appear() -> str:
    """Where a development e-mail and SMS (a payment or redemption code) show up."""
    from django.conf import settings

    from lealtad.notifications.sms import provider

    sms = provider()
    if sms is None:
        where = "no SMS provider (SMS_URL is empty): codes go by e-mail"
    elif sms.kind == "console":
        where = "SMS (payment and redemption codes) are printed here, by the task worker"
    else:
        where = f"SMS go to Twilio ({sms.base}) from {sms.sender or sms.messaging_service}"
    mail = "printed here too" if settings.EMAIL_URL.startswith("console") else "sent by SMTP"
    return f"\nMessages: {where}; e-mails are {mail}.\n"
