"""Forms of the console's customer screens: the three-step registration (C3, C7, C8), the
list's filters, the category, blocks (C11) and reversals (P8)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lealtad.cashier.forms import add_check_errors
from lealtad.customers import completeness
from lealtad.customers.documents import (
    document_types_for,
    normalize_document,
    normalize_email,
    normalize_mobile,
)
from lealtad.customers.models import Gender, PersonType, RedeemPolicy
from lealtad.program.models import Category


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PersonalStep(forms.Form):
    """Step 1: who the customer is."""

    document_type = forms.ChoiceField(label=_("Document type"))
    document_number = forms.CharField(label=_("Document number"), max_length=32)
    first_name = forms.CharField(label=_("First names"), max_length=80)
    last_name = forms.CharField(label=_("Last names"), max_length=80)
    gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=[("", "—"), *Gender.choices]
    )
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=_date_input())
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.none(), empty_label=None
    )
    person_type = forms.ChoiceField(
        label=_("Person or company"), choices=PersonType.choices, initial=PersonType.PERSON
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.country = merchant.country
        self.fields["document_type"].choices = [
            (t.code, t.label) for t in document_types_for(merchant.country)
        ]
        self.fields["category"].queryset = Category.objects.filter(merchant=merchant).order_by(
            "-is_default", "name"
        )
        if not merchant.asks_person_type:
            del self.fields["person_type"]
        # What a complete profile is for this person type (C3): a company gives its name and
        # no last names, gender or birth date.
        person_type = completeness.person_type_for(
            merchant.country,
            self.data.get("document_type", ""),
            self.data.get("person_type", "") if "person_type" in self.fields else "",
        )
        required = completeness.required_fields(person_type, merchant)
        for name in ("last_name", "gender", "birth_date"):
            self.fields[name].required = name in required
        if person_type == PersonType.COMPANY:
            self.fields["first_name"].label = _("Company name")

    def clean(self):
        data = super().clean()

        def document(value):
            return normalize_document(self.country, data.get("document_type", ""), value)

        add_check_errors(self, data, [("document_number", document)])
        return data


class ContactStep(forms.Form):
    """Step 2: where to reach the customer. One of e-mail and mobile at least."""

    postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=80, required=False)
    state = forms.CharField(label=_("State"), max_length=80, required=False)
    mobile = forms.CharField(label=_("Mobile"), max_length=30, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.country = merchant.country
        # The CEP and the address, where this merchant asks them (C3, program settings).
        for name, flag in completeness.MERCHANT_FIELDS:
            self.fields[name].required = getattr(merchant, flag)

    def clean(self):
        data = super().clean()
        checks = (
            ("email", normalize_email),
            ("mobile", lambda v: normalize_mobile(v, self.country)),
        )
        add_check_errors(self, data, checks)
        if not data.get("email") and not data.get("mobile") and not self.errors:
            self.add_error("mobile", _("Give a mobile or an e-mail, so we can reach them."))
        return data


class CardStep(forms.Form):
    """Step 3: the loyalty card (C7) and, for a dependent, the holder (C8)."""

    card_number = forms.CharField(label=_("Card number"), max_length=40, required=False)
    redeem_policy = forms.ChoiceField(
        label=_("Who may redeem"),
        choices=RedeemPolicy.choices,
        initial=RedeemPolicy.HOLDER_ONLY,
        widget=forms.RadioSelect,
    )
    dependent = forms.BooleanField(label=_("Dependent of another customer"), required=False)
    holder = forms.CharField(
        label=_("Holder"),
        max_length=160,
        required=False,
        help_text=_("The holder's document, name or card number."),
    )
    welcome_bonus = forms.BooleanField(
        label=_("Give the welcome bonus"), required=False, initial=True
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.holder_membership = None
        if merchant.welcome_bonus_points <= 0:
            del self.fields["welcome_bonus"]

    def clean(self):
        from lealtad.core.errors import ValidationFailed
        from lealtad.customers.actions import check_holder, find_member_by_any

        data = super().clean()
        if not data.get("dependent"):
            return data
        if not data.get("holder"):
            self.add_error("holder", _("Name the holder."))
            return data
        try:
            holder = find_member_by_any(self.merchant, data["holder"])
            check_holder(None, holder)
        except ValidationFailed as exc:
            self.add_error("holder", " ".join(e["message"] for e in exc.errors))
        else:
            self.holder_membership = holder
        return data


STEPS = (PersonalStep, ContactStep, CardStep)


class CustomerFilter(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=160, required=False)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=pgettext_lazy("feminine", "All"),  # todas las categorías
    )
    branch = forms.ChoiceField(label=_("Registered at"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All")),
            ("blocked", _("Blocked")),
            ("incomplete", _("Incomplete profile")),
            ("dependent", _("Dependents")),
        ],
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(merchant=merchant).order_by(
            "name"
        )
        self.fields["branch"].choices = [("", pgettext_lazy("feminine", "All"))] + [
            (str(b.pk), b.name) for b in merchant.branches.order_by("name")
        ]


class CategoryChangeForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.none(), empty_label=None
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(merchant=merchant).order_by(
            "-is_default", "name"
        )


class CardForm(forms.Form):
    """C7 after registration: the card number and, for a holder, who may redeem."""

    card_number = forms.CharField(label=_("Card number"), max_length=40, required=False)
    redeem_policy = forms.ChoiceField(
        label=_("Who may redeem"), choices=RedeemPolicy.choices, widget=forms.RadioSelect
    )


class BlockForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer"),
        max_length=160,
        help_text=_("Name, document or card number."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("To"), required=False, widget=_date_input())

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end comes before the start."))
        return data
