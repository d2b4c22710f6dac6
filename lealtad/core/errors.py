"""Domain errors: each has a stable machine code and an HTTP status.

Actions raise them; the API turns them into problem+json and the screens into messages, so the
code and the words are decided in one place.
"""

from django.utils.translation import gettext_lazy as _


class LealtadError(Exception):
    code = "error"
    status = 400
    title = _("Request failed")

    def __init__(self, detail=None, **extra):
        self.detail = detail if detail is not None else self.title
        self.extra = extra
        super().__init__(str(self.detail))


class NotFound(LealtadError):
    code, status, title = "not_found", 404, _("Not found")


class Forbidden(LealtadError):
    code, status, title = "forbidden", 403, _("You may not do this")


class ValidationFailed(LealtadError):
    """Bad input; `errors` is a list of {"field", "message"}."""

    code, status, title = "validation_error", 422, _("The data sent is not valid")

    def __init__(self, errors, detail=None):
        super().__init__(detail, errors=errors)
        self.errors = errors


class InvalidDocument(ValidationFailed):
    code, title = "invalid_document", _("Invalid document number")


class CustomerExists(LealtadError):
    code, status, title = "customer_exists", 409, _("This customer is already registered")


class DuplicateInvoice(LealtadError):
    code, status, title = "duplicate_invoice", 409, _("This invoice was already accrued")


class AlreadyRated(LealtadError):
    """F1: a visit is rated once."""

    code, status, title = "already_rated", 409, _("This visit was already rated")


class InvoiceReversed(DuplicateInvoice):
    """The invoice was accrued and then reversed: its number stays used (P8 keeps the record)."""

    code, title = "invoice_reversed", _("This invoice was accrued and reversed")


class AmountBelowMinimum(ValidationFailed):
    """P1: an amount that earns no point is refused; `minimum` says what earns one."""

    code, title = "amount_below_minimum", _("The amount earns no points")

    def __init__(self, detail, minimum: str):
        super().__init__([{"field": "amount", "message": str(detail)}], detail=detail)
        self.extra["minimum"] = minimum


class DocumentCheckRequired(ValidationFailed):
    """P6: this merchant asks the cashier to check the physical document before a redemption."""

    code, title = "document_check_required", _("Check the customer's identity document first")

    def __init__(self, detail=None):
        super().__init__(
            [{"field": "document_checked", "message": str(detail or self.title)}], detail=detail
        )


class CustomerSuspended(LealtadError):
    code, status, title = "customer_suspended", 403, _("Customer suspended in the network")


class CustomerBlocked(LealtadError):
    code, status, title = "customer_blocked", 403, _("Customer blocked from redemption here")


class ProfileIncomplete(LealtadError):
    code, status, title = "profile_incomplete", 422, _("Complete the customer's profile first")


class InsufficientPoints(LealtadError):
    code, status, title = "insufficient_points", 422, _("Not enough points")


class OutOfStock(LealtadError):
    code, status, title = "out_of_stock", 409, _("This reward is out of stock")


class RewardUnavailable(LealtadError):
    code, status, title = "reward_unavailable", 422, _("This reward is not available now")


class AlreadyReversed(LealtadError):
    code, status, title = "already_reversed", 409, _("This transaction was already reversed")


class NotReversible(LealtadError):
    code, status, title = "not_reversible", 422, _("This transaction cannot be reversed")


class TransactionNotPending(LealtadError):
    code, status, title = "not_pending", 409, _("This transaction is not awaiting approval")


class FraudRuleRefused(LealtadError):
    code, status, title = "fraud_rule_refused", 422, _("Refused by the merchant's fraud rules")


class PromotionUnavailable(LealtadError):
    code, status, title = "promotion_unavailable", 422, _("This promotion is not available")


class PromotionUsedUp(LealtadError):
    code, status, title = (
        "promotion_used_up",
        409,
        _("The customer has already taken this promotion as often as allowed"),
    )


class GiftUnavailable(LealtadError):
    code, status, title = "gift_unavailable", 409, _("This gift can no longer be redeemed")


class CustomerAnonymised(ValidationFailed):
    """C12: the customer was anonymised on request; nothing personal may be recorded again.
    A ValidationFailed, so screens that already show those need nothing new."""

    code, status, title = "customer_anonymised", 409, _("This customer was anonymised")

    def __init__(self, detail=None):
        super().__init__([{"field": "customer", "message": str(self.title)}], detail=detail)


class ConfirmationRequired(LealtadError):
    """A shared identity's contact or document already set changes only with the customer's
    code (customers.identity)."""

    code, status, title = (
        "confirmation_required",
        409,
        _("The customer must confirm this change with a code"),
    )


class FieldCannotBeCleared(ValidationFailed):
    code, title = "field_cannot_be_cleared", _("This field cannot be erased")


class InvalidCode(LealtadError):
    code, status, title = "invalid_code", 422, _("Wrong code")


class ChangeClosed(LealtadError):
    """The change was cancelled: too many wrong codes, expired, or replaced by a newer one."""

    code, status, title = "change_cancelled", 409, _("This change is no longer open")


class TooManyCodes(LealtadError):
    code, status, title = "too_many_codes", 429, _("Too many codes sent")


class NotCoinIssuer(Forbidden):
    """N5 / K2: the merchant does not issue coins (not made an issuer, no cashback rate, or its
    currency is not the network's)."""

    code, title = "not_coin_issuer", _("This merchant does not issue coins")


class NotCoinAcceptor(Forbidden):
    """N5 / K3: the merchant does not accept coins (not an acceptor, or another currency)."""

    code, title = "not_coin_acceptor", _("This merchant does not accept coins")


class InsufficientCoins(InsufficientPoints):
    """K3: more coins than the wallet's available balance (held coins are not available)."""

    code, title = "insufficient_coins", _("Insufficient funds")


class PaymentCancelled(LealtadError):
    """K3: the coin payment was cancelled (wrong codes, expired, or at the till)."""

    code, status, title = "payment_cancelled", 409, _("This coin payment was cancelled")


class PaymentCaptured(LealtadError):
    """K3: a captured coin payment cannot be cancelled; it is reversed like any movement."""

    code, status, title = "payment_captured", 409, _("This coin payment is already paid")


class InvalidQr(LealtadError):
    """K3: a payment QR that is forged, expired, used, or of another customer."""

    code, status, title = "invalid_qr", 422, _("This payment QR is not valid")


class PointsPaymentDisabled(Forbidden):
    """P7: this merchant does not take points as money (program settings)."""

    code, title = "points_payment_disabled", _("This merchant does not take points as money")
