"""The claim form of the customer's app, and the admin's rejection. The form only reads what was
typed (the amount in the merchant's own number format); `actions.submit_claim` decides."""

import json

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.claims import actions
from lealtad.core import money
from lealtad.customers.models import Membership

ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"


class ClaimForm(forms.Form):
    merchant = forms.ChoiceField(label=gettext_lazy("Merchant"))
    branch = forms.ChoiceField(label=gettext_lazy("Branch"))
    invoice_number = forms.CharField(label=gettext_lazy("Invoice number"), max_length=64)
    amount = forms.CharField(label=gettext_lazy("Amount"), max_length=24)
    purchased_on = forms.DateField(
        label=gettext_lazy("Purchase date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    photo = forms.FileField(
        label=gettext_lazy("Photo of the invoice"),
        help_text=gettext_lazy("JPEG, PNG, WebP or HEIC, up to 8 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        merchants = list(actions.claimable_merchants())
        mine = set(
            Membership.objects.filter(customer=customer).values_list("merchant_id", flat=True)
        )
        self.merchants = {str(m.pk): m for m in merchants}
        # The customer's own merchants first, then the rest of the network.
        ordered = [m for m in merchants if m.pk in mine] + [
            m for m in merchants if m.pk not in mine
        ]
        self.fields["merchant"].choices = [("", _("Choose…"))] + [
            (str(m.pk), m.name) for m in ordered
        ]
        branches = actions.claimable_branches_of(merchants)
        self.fields["branch"].choices = [("", _("Choose…"))] + [
            (str(b.pk), b.name) for b in branches
        ]
        # For the page's script, which shows only the chosen merchant's branches.
        self.branch_merchants = {str(b.pk): str(b.merchant_id) for b in branches}
        self.fields["amount"].widget.attrs.update(inputmode="decimal", autocomplete="off")
        self.fields["invoice_number"].widget.attrs.update(autocomplete="off")
        today = timezone.localdate()
        self.fields["purchased_on"].widget.attrs.update(max=today.isoformat())
        self.fields["branch"].widget.attrs["data-merchants"] = json.dumps(self.branch_merchants)

    def clean_amount(self):
        merchant = self.merchants.get(self.data.get("merchant") or "")
        text = self.cleaned_data["amount"]
        if merchant is None:
            return text  # the merchant's own error says what is missing
        try:
            return money.parse_typed_amount(text, merchant.country, merchant.currency)
        except money.InvalidAmount as exc:
            raise forms.ValidationError(str(exc)) from None

    def add_refusal(self, exc) -> None:
        """An action's refusal, shown next to the field it names."""
        for error in getattr(exc, "errors", None) or [{"field": None, "message": str(exc.detail)}]:
            field = error.get("field")
            self.add_error(field if field in self.fields else None, error["message"])


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        help_text=gettext_lazy("The customer reads it."),
    )
