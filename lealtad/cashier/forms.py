from django import forms
from django.utils.translation import gettext_lazy as _

from lealtad.customers import completeness
from lealtad.customers.documents import (
    document_types_for,
    normalize_document,
    normalize_email,
    normalize_mobile,
)
from lealtad.customers.models import Gender, PersonType

# The profile fields a merchant may ask for (CEP, address), by their Merchant flag.
ASKED = dict(completeness.MERCHANT_FIELDS)


class RegisterForm(forms.Form):
    document_type = forms.ChoiceField(label=_("Document type"))
    document_number = forms.CharField(label=_("Document number"), max_length=32)
    person_type = forms.ChoiceField(
        label=_("Person or company"),
        choices=PersonType.choices,
        initial=PersonType.PERSON,
        required=False,  # not said: the document type says it (a CNPJ is a company)
    )
    email = forms.CharField(label=_("Email"), max_length=254)
    mobile = forms.CharField(label=_("Mobile"), max_length=30, required=False)
    city = forms.CharField(label=_("City"), max_length=80, required=False)
    first_name = forms.CharField(label=_("First names"), max_length=80, required=False)
    last_name = forms.CharField(label=_("Last names"), max_length=80, required=False)
    gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=[("", "—"), *Gender.choices]
    )
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    welcome_bonus = forms.BooleanField(
        label=_("Give the welcome bonus"), required=False, initial=True
    )

    COMPLETE_ONLY = (
        "person_type",
        "first_name",
        "last_name",
        "gender",
        "birth_date",
        "postal_code",
        "address",
    )
    # Asked only where the merchant asks them (program settings, C3).
    ASKED_BY_MERCHANT = {"person_type": "asks_person_type", **dict(ASKED)}

    def __init__(self, *args, merchant, complete=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.country = merchant.country
        self.fields["document_type"].choices = [
            (t.code, t.label) for t in document_types_for(merchant.country)
        ]
        if merchant.welcome_bonus_points <= 0:
            del self.fields["welcome_bonus"]
        for name, flag in self.ASKED_BY_MERCHANT.items():
            if not getattr(merchant, flag):
                del self.fields[name]
        if not complete:
            for name in self.COMPLETE_ONLY:
                self.fields.pop(name, None)
            return
        # The complete registration asks what a complete profile is at this merchant, for
        # this person type (a company gives no gender or birth date): the one rule.
        person_type = completeness.person_type_for(
            merchant.country,
            self.data.get("document_type", ""),
            self.data.get("person_type", "") if "person_type" in self.fields else "",
        )
        required = completeness.required_fields(person_type, merchant)
        for name in ("mobile", "first_name", "last_name", "gender", "birth_date", *ASKED):
            if name in self.fields:
                self.fields[name].required = name in required
        if person_type == PersonType.COMPANY:
            self.fields["first_name"].label = _("Company name")

    def clean(self):
        """Every field's problem at once, the document's check digit included."""
        data = super().clean()
        checks = (
            (
                "document_number",
                lambda v: normalize_document(self.country, data.get("document_type", ""), v),
            ),
            ("email", normalize_email),
            ("mobile", lambda v: normalize_mobile(v, self.country)),
        )
        add_check_errors(self, data, checks)
        return data


class AccrueForm(forms.Form):
    amount = forms.CharField(
        label=_("Invoice amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=64, required=False)


class EarnCoinsForm(forms.Form):
    """K2 at an issuer: its own form beside points (prefix "coins": ids never clash)."""

    invoice_number = forms.CharField(label=_("Invoice number"), max_length=64)
    amount = forms.CharField(
        label=_("Invoice amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class ProfileForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254)
    mobile = forms.CharField(label=_("Mobile"), max_length=30)
    first_name = forms.CharField(label=_("First names"), max_length=80)
    last_name = forms.CharField(label=_("Last names"), max_length=80)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Gender.choices])
    birth_date = forms.DateField(
        label=_("Birth date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    postal_code = forms.CharField(label=_("Postal code"), max_length=12)
    address = forms.CharField(label=_("Address"), max_length=200)

    def __init__(self, *args, missing, person_type=PersonType.PERSON, **kwargs):
        """Only the fields the profile misses (`Membership.missing_fields()`)."""
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in missing:
                del self.fields[name]
        if person_type == PersonType.COMPANY and "first_name" in self.fields:
            self.fields["first_name"].label = _("Company name")


def add_check_errors(form, data, checks) -> None:
    """Run each (field, check) on the fields typed; a check's ValueError goes next to its field."""
    for name, check in checks:
        if data.get(name):
            try:
                check(data[name])
            except ValueError as exc:
                form.add_error(name, str(exc))


def add_errors(form, errors) -> None:
    """Domain validation errors ({"field", "message"}) next to their fields."""
    for error in errors:
        field = error["field"] if error["field"] in form.fields else None
        form.add_error(field, error["message"])


class PayWithPointsForm(forms.Form):
    """P7 at the till: points off an invoice (prefix "pp": ids never clash)."""

    invoice_number = forms.CharField(label=_("Invoice number"), max_length=64)
    amount = forms.CharField(
        label=_("Invoice amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    points = forms.IntegerField(
        label=_("Points to use"),
        min_value=1,
        max_value=10**12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    document_checked = forms.BooleanField(
        label=_("I checked the customer's identity document"), required=False
    )


class PayWithCoinsForm(forms.Form):
    """K3 at an acceptor: an invoice paid, fully or partly, with coins (prefix "cp"). Coins left
    blank mean the whole invoice, as far as the wallet goes (what the field is prefilled with)."""

    invoice_number = forms.CharField(label=_("Invoice number"), max_length=64)
    amount = forms.CharField(
        label=_("Invoice amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    coins = forms.IntegerField(
        label=_("Coins to use"),
        required=False,
        min_value=1,
        max_value=10**12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    document_checked = forms.BooleanField(
        label=_("The customer showed the physical identity document"), required=False
    )
    # K3: the customer app's payment QR, typed by the scanner: with it the payment needs no code.
    payment_qr = forms.CharField(label=_("Customer's payment QR"), required=False, max_length=1000)
