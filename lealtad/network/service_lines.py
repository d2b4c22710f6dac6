"""C11: the network's service lines, and the message a suspended customer's cashier gives."""

from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.core.errors import CustomerSuspended
from lealtad.network.models import ServiceAudience, ServiceLine

# What the cashier reads when the operator gave no reason; the service line follows it.
DEFAULT_SUSPENSION_MESSAGE = gettext_lazy(
    "Under review by the network operator: send the customer to the network's customer service."
)

COUNTRY_NAMES = {
    "CO": "Colombia",
    "PA": "Panamá",
    "SV": "El Salvador",
    "GT": "Guatemala",
    "BR": "Brasil",
    "MX": "México",
    "CR": "Costa Rica",
    "EC": "Ecuador",
    "PE": "Perú",
    "CL": "Chile",
    "AR": "Argentina",
}


def service_line(network_id, audience: str, *countries: str) -> ServiceLine | None:
    """The line for the first of `countries` that has one, else the network's line for every
    other country; None if the operator keeps none."""
    wanted = [c for c in dict.fromkeys(c.upper() for c in countries if c)]
    order = Case(
        *(When(country=c, then=Value(i)) for i, c in enumerate(wanted)),
        default=Value(len(wanted)),
        output_field=IntegerField(),
    )
    return (
        ServiceLine.objects.filter(
            network_id=network_id, audience=audience, country__in=[*wanted, ""]
        )
        .order_by(order)
        .first()
    )


def describe(line: ServiceLine) -> str:
    """ "Colombia: (+57) 3502118702 / (1) 7464520 · monitoreo@leal.co"."""
    parts = [p for p in (line.phones, line.email, line.address, line.hours) if p]
    text = " · ".join(parts)
    name = COUNTRY_NAMES.get(line.country, line.country)
    return f"{name}: {text}" if name else text


def fraud_line(customer, merchant) -> ServiceLine | None:
    """The fraud-monitoring line of the customer's country (they call from home), else of the
    merchant's, else the network's line for every other country."""
    return service_line(
        merchant.network_id, ServiceAudience.FRAUD, customer.country, merchant.country
    )


def suspension_notice(customer, merchant, line: ServiceLine | None = None) -> str:
    """The operator's message, then where to send the customer."""
    message = customer.suspension_message or str(DEFAULT_SUSPENSION_MESSAGE)
    line = line or fraud_line(customer, merchant)
    if line is None:
        return message
    return _("%(message)s Customer service %(line)s") % {"message": message, "line": describe(line)}


def suspended(customer, merchant) -> CustomerSuspended:
    """The error every refusal of a suspended customer raises (accrual, redemption, gifts, free
    items, coins): the problem detail names the right service line, and carries it apart."""
    line = fraud_line(customer, merchant)
    extra = {}
    if line is not None:
        extra["service_line"] = {
            "country": line.country or None,
            "phones": line.phones or None,
            "email": line.email or None,
            "address": line.address or None,
        }
    return CustomerSuspended(suspension_notice(customer, merchant, line), **extra)
