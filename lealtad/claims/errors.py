"""A7's refusals, each with its stable code (the API answers them as problem+json, the screens
next to the field they concern)."""

from django.utils.translation import gettext_lazy as _

from lealtad.core.errors import LealtadError, ValidationFailed


class _FieldError(ValidationFailed):
    field = "photo"

    def __init__(self, detail):
        super().__init__([{"field": self.field, "message": str(detail)}], detail)


class InvalidImage(_FieldError):
    code, title = "invalid_image", _("The file is not a picture we can read")


class ImageTooLarge(_FieldError):
    code, title = "image_too_large", _("The picture is too large")


class DuplicateClaim(_FieldError):
    """The invoice number is taken at this merchant: accrued, loaded by the point of sale, or
    already claimed (and not rejected)."""

    code, title = "duplicate_invoice", _("This invoice was already recorded")
    field = "invoice_number"


class TooManyClaims(_FieldError):
    code, title = "too_many_claims", _("Too many claims are waiting")
    field = "invoice_number"


class ClaimDecided(LealtadError):
    code, status, title = "claim_already_decided", 409, _("This claim was already decided")
