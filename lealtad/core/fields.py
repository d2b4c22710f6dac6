"""Form fields shared by the screens."""

from decimal import Decimal

from django import forms

from lealtad.core import money


class AmountField(forms.Field):
    """Money typed as people write it in the merchant's country (money.parse_typed_amount): the
    till, the console and the API read amounts with one parser per country, so "1.000" is a
    thousand pesos in Bogotá and never one peso."""

    widget = forms.TextInput

    def __init__(self, *, country: str, currency: str, **kwargs):
        super().__init__(**kwargs)
        self.country, self.currency = country, currency
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off", "maxlength": "24"})

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return money.display_amount(value, self.country, self.currency)
        return value

    def to_python(self, value):
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        try:
            return money.parse_typed_amount(text, self.country, self.currency)
        except money.InvalidAmount as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None
