from django.core.management.base import BaseCommand, CommandError

from lealtad.audit.context import recorded_as
from lealtad.core.errors import NotFound
from lealtad.customers.actions import get_customer
from lealtad.customers.privacy import anonymise


class Command(BaseCommand):
    help = (
        "C12: anonymise a customer on their request: erase their personal data, keep the "
        "ledger whole. Asks first unless --yes."
    )

    def add_arguments(self, parser):
        parser.add_argument("customer_id", help="the customer's id")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    @recorded_as("anonymise-customer")
    def handle(self, *args, **o):
        try:
            customer = get_customer(o["customer_id"])
        except NotFound:
            raise CommandError(f"customer {o['customer_id']} not found") from None
        if customer.anonymised_at is None and not o["yes"]:
            # Only the id is shown: the terminal may be logged, and the point is to erase the rest.
            answer = input(
                f"Erase the personal data of customer {customer.pk} for good? Type 'yes': "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("nothing done")
        report = anonymise(customer)
        if not report.done:
            self.stdout.write(
                f"customer {customer.pk} was already anonymised at "
                f"{report.customer.anonymised_at.isoformat()}; nothing done"
            )
            return
        self.stdout.write(
            "\n".join(
                [
                    f"customer {customer.pk} anonymised at "
                    f"{report.customer.anonymised_at.isoformat()}",
                    "  profile erased (names, e-mail, mobile, gender, birth date, address); "
                    f"document number now {report.customer.document_number}",
                    f"  QR codes printed before no longer work (version "
                    f"{report.customer.qr_version})",
                    f"  memberships: {report.memberships}; card numbers cleared: "
                    f"{report.cards_cleared}; marketing consents withdrawn: "
                    f"{report.consents_withdrawn}",
                    f"  e-mails blanked: {report.emails_blanked}, of which cancelled before "
                    f"sending: {report.emails_cancelled}",
                    f"  SMS blanked: {report.sms_blanked}, of which cancelled before "
                    f"sending: {report.sms_cancelled}",
                    f"  gift notes blanked: {report.gift_notes_blanked}; API replays redacted: "
                    f"{report.api_replays_redacted}; rating texts blanked: "
                    f"{report.rating_texts_blanked}",
                    "  ledger untouched: balances, movements and lots stay as they were",
                ]
            )
        )
