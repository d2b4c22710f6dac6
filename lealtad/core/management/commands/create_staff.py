import json

from django.core.management.base import BaseCommand, CommandError

from lealtad.audit.context import recorded_as
from lealtad.core.errors import ValidationFailed
from lealtad.core.ids import parse_id
from lealtad.network.actions import create_staff
from lealtad.network.models import Branch, Merchant


class Command(BaseCommand):
    help = "Create a cashier or merchant admin for a merchant."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant id")
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=["cashier", "merchant_admin"])
        parser.add_argument("--branch", help="branch id (defaults to the first branch)")

    @recorded_as("create-staff")
    def handle(self, *args, **o):
        try:
            merchant = Merchant.objects.get(pk=parse_id(o["merchant"]))
            branch = None
            if o["branch"]:
                branch = Branch.objects.get(pk=parse_id(o["branch"]), merchant=merchant)
            user = create_staff(
                merchant=merchant,
                username=o["username"],
                password=o["password"],
                role=o["role"],
                branch=branch,
            )
        except (Merchant.DoesNotExist, Branch.DoesNotExist) as exc:
            raise CommandError("merchant or branch not found") from exc
        except ValidationFailed as exc:
            raise CommandError(
                "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
            ) from None
        except Exception as exc:
            if getattr(exc, "code", "") == "not_found":
                raise CommandError("merchant or branch not found") from None
            raise
        self.stdout.write(
            json.dumps(
                {
                    "user_id": str(user.pk),
                    "username": user.username,
                    "role": user.role,
                    "merchant_id": str(merchant.pk),
                    "branch_id": str(user.branch_id),
                }
            )
        )
