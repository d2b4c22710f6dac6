from django import forms
from django.utils.translation import gettext_lazy as _

from lealtad.customers.documents import (
    document_types_for,
    normalize_document,
    normalize_email,
    normalize_mobile,
)
from lealtad.customers.models import Gender


class RegisterForm(forms.Form):
    document_type = forms.ChoiceField(label=_("Document type"))
    document_number = forms.CharField(label=_("Document number"), max_length=32)
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
    welcome_bonus = forms.BooleanField(
        label=_("Give the welcome bonus"), required=False, initial=True
    )

    COMPLETE_ONLY = ("first_name", "last_name", "gender", "birth_date")

    def __init__(self, *args, merchant, complete=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.country = merchant.country
        self.fields["document_type"].choices = [
            (t.code, t.label) for t in document_types_for(merchant.country)
        ]
        if merchant.welcome_bonus_points <= 0:
            del self.fields["welcome_bonus"]
        if complete:
            for name in ("mobile", *self.COMPLETE_ONLY):
                self.fields[name].required = True
        else:
            for name in self.COMPLETE_ONLY:
                del self.fields[name]

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


class ProfileForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254)
    mobile = forms.CharField(label=_("Mobile"), max_length=30)
    first_name = forms.CharField(label=_("First names"), max_length=80)
    last_name = forms.CharField(label=_("Last names"), max_length=80)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Gender.choices])
    birth_date = forms.DateField(
        label=_("Birth date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, missing, **kwargs):
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in missing:
                del self.fields[name]


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
