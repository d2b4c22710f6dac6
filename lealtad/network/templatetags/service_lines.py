from django import template

from lealtad.network.service_lines import suspension_notice as notice

register = template.Library()


@register.filter
def suspension_notice(membership) -> str:
    """C11: what the cashier tells a suspended customer, with the right service line."""
    return notice(membership.customer, membership.merchant)
