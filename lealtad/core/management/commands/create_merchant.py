import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from lealtad.audit.context import recorded_as
from lealtad.core.errors import ValidationFailed
from lealtad.network.actions import create_merchant


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"not a number: {value}") from None


class Command(BaseCommand):
    help = "Create a merchant with its first branch, default category, admin and POS API key."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", required=True, help="ISO 3166 alpha-2, e.g. CO")
        parser.add_argument("--currency", help="ISO 4217; defaults to the country's")
        parser.add_argument("--point-value", type=_decimal, help="currency per point (1000)")
        parser.add_argument("--admin", required=True, help="the admin's username")
        parser.add_argument("--admin-password", required=True)
        parser.add_argument("--branch-name", default="Principal")
        parser.add_argument(
            "--coin-issuer", action="store_true", help="issues the network's coins (N5)"
        )
        parser.add_argument(
            "--cashback-rate", type=_decimal, help="coins per unit spent, e.g. 0.03 (an issuer's)"
        )
        parser.add_argument(
            "--coin-acceptor", action="store_true", help="accepts the network's coins (N5)"
        )

    @recorded_as("create-merchant")
    def handle(self, *args, **o):
        try:
            new = create_merchant(
                name=o["name"],
                country=o["country"],
                currency=o["currency"],
                point_value=o["point_value"],
                admin_username=o["admin"],
                admin_password=o["admin_password"],
                branch_name=o["branch_name"],
                coin_issuer=o["coin_issuer"],
                coin_acceptor=o["coin_acceptor"],
                cashback_rate=o["cashback_rate"],
            )
        except ValidationFailed as exc:
            raise CommandError(
                "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
            ) from None
        self.stdout.write(
            json.dumps(
                {
                    "merchant_id": str(new.merchant.pk),
                    "branch_id": str(new.branch.pk),
                    "admin_username": new.admin.username,
                    "api_key": new.api_key,
                    "coin_issuer": new.merchant.coin_issuer,
                    "coin_acceptor": new.merchant.coin_acceptor,
                }
            )
        )
