"""The till's coin screens: the wallet's statement (K1). The payment screens (K3) live in
`coin_payments.py`."""

from lealtad.cashier.views import _page, staff_view
from lealtad.coins import actions as coins
from lealtad.coins.statement import coin_statement
from lealtad.customers import actions as customers

# What the customer's card shows of the statement; "see all" opens the whole of it.
CARD_LINES = 5


@staff_view
def statement(request, customer_id):
    """K1: the whole coin statement, newest first, with the running balance."""
    membership = customers.get_membership_for(request.merchant, customer_id)
    customer = membership.customer
    return _page(
        request,
        "cashier/coin_statement.html",
        customer=customer,
        coins=coins.wallet_of(customer),
        lines=coin_statement(customer, request.merchant, limit=None),
    )
