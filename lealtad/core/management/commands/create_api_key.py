import json

from django.core.management.base import BaseCommand, CommandError

from lealtad.audit.context import recorded_as
from lealtad.core.errors import LealtadError, ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.network.actions import create_api_key
from lealtad.network.models import Branch, Merchant


class Command(BaseCommand):
    help = (
        "Create a point-of-sale API key for a merchant (for one branch, or merchant-wide) and "
        "print its secret once, as JSON. Merchant admins create them in the console too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant id")
        parser.add_argument("--name", default="POS", help="unique among the active keys")
        parser.add_argument("--branch", help="branch id (omit for a merchant-wide key)")

    @recorded_as("create-api-key")
    def handle(self, *args, **o):
        try:
            merchant = Merchant.objects.get(pk=parse_id(o["merchant"]))
            branch = None
            if o["branch"]:
                branch = Branch.objects.get(pk=parse_id(o["branch"]), merchant=merchant)
            key, secret = create_api_key(merchant, branch, o["name"])
        except (Merchant.DoesNotExist, Branch.DoesNotExist):
            raise CommandError("merchant or branch not found") from None
        except ValidationFailed as exc:
            raise CommandError(
                "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
            ) from None
        except LealtadError as exc:  # a malformed id
            raise CommandError("merchant or branch not found") from exc
        self.stdout.write(
            json.dumps(
                {
                    "id": str(key.pk),
                    "name": key.name,
                    "prefix": key.prefix,
                    "merchant_id": str(merchant.pk),
                    "branch_id": str(key.branch_id) if key.branch_id else None,
                    "api_key": secret,
                }
            )
        )
