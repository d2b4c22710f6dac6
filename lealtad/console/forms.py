from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lealtad.core.fields import AmountField
from lealtad.core.numbers import format_points, trimmed
from lealtad.customers.actions import find_member
from lealtad.network import coin_roles
from lealtad.network.models import Branch, Merchant
from lealtad.offers.models import Gift, GiftKind, Promotion, PromotionKind, Target
from lealtad.program.models import Category, FraudRule, Reward, RuleKind


def unique_name(form: forms.ModelForm, message) -> str:
    """The form's `name`, refused with `message` when another of this merchant's objects of the
    form's model has it, in any case."""
    name = form.cleaned_data["name"].strip()
    model = form._meta.model
    taken = model.objects.filter(merchant=form.merchant, name__iexact=name)
    if form.instance.pk is not None:
        taken = taken.exclude(pk=form.instance.pk)
    if taken.exists():
        raise forms.ValidationError(message)
    return name


class DecimalsAsTyped:
    """A form shows a stored Decimal as a person types it: 10 and 1.5, not 10.00 and 1.50."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, forms.DecimalField) and isinstance(
                self.initial.get(name), Decimal
            ):
                self.initial[name] = trimmed(self.initial[name])


class ProgramForm(DecimalsAsTyped, forms.ModelForm):
    """P1, P3, C9, P6: what the merchant admin decides; coin flags stay the operator's."""

    class Meta:
        model = Merchant
        fields = [
            "point_value",
            "points_validity_days",
            "welcome_bonus_points",
            "redemption_requires_document_check",
            "points_as_money",
            "point_money_value",
            "asks_person_type",
            "asks_postal_code",
            "asks_address",
            "email_on_join",
            "email_on_accrual",
            "email_on_redemption",
            "rating_invite",
            "rating_invite_delay_minutes",
            "coin_payment_requires_document",
            "invoice_earns",
            "invoice_wait_days",
            "invoice_load_confirm",
        ]
        labels = {
            "invoice_earns": _("An invoice from the point of sale earns"),
            "invoice_wait_days": _("Days an invoice waits for its customer"),
            "invoice_load_confirm": _("The cashier confirms with one key before it loads"),
            "redemption_requires_document_check": _("Redemption needs a document check"),
            "coin_payment_requires_document": _(
                "A coin payment needs the customer's physical document"
            ),
            "points_as_money": _('Points as money at the till ("Pay with points")'),
        }
        help_texts = {
            "rating_invite_delay_minutes": _("From 0 to 10080 (7 days). 120 is two hours."),
        }

    # Shown with the coin status (program.html), not in the grid of the other settings.
    COIN_FIELDS = ("coin_payment_requires_document",)
    # I2 / I3: shown in their own section (program.html).
    INVOICE_FIELDS = ("invoice_earns", "invoice_wait_days", "invoice_load_confirm")

    def main_fields(self):
        hidden = self.COIN_FIELDS + self.INVOICE_FIELDS
        return [field for field in self if field.name not in hidden]

    def invoice_fields(self):
        return [self[name] for name in self.INVOICE_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("point_value", "point_money_value"):
            old = self.fields[name]
            self.fields[name] = AmountField(
                label=old.label,
                country=self.instance.country,
                currency=self.instance.currency,
                required=False,
                help_text=old.help_text,
            )
        self.fields["point_value"].required = True
        self.fields["invoice_wait_days"].widget.attrs.update({"min": 1, "max": 90})
        self.fields["invoice_wait_days"].help_text = _(
            "From 1 to 90 days; then it expires and can no longer be loaded."
        )
        if self.is_bound:
            # A form posted before these settings existed (or by a script) keeps them as they
            # are; the screen always sends both.
            missing = [
                name
                for name in ("invoice_earns", "invoice_wait_days")
                if self.add_prefix(name) not in self.data
            ]
            if missing:
                self.data = self.data.copy()
                for name in missing:
                    self.data[self.add_prefix(name)] = getattr(self.instance, name)
        # F1: a form that does not send the delay (an older page) keeps the one saved.
        self.fields["rating_invite_delay_minutes"].required = False
        # P7 off: no value shown (and a typed 0 means none), not a "0" the parser refuses.
        if not self.instance.point_money_value:
            self.initial["point_money_value"] = None
        if self.is_bound and self.data.get(self.add_prefix("point_money_value"), "").strip() in (
            "0",
            "",
        ):
            self.data = self.data.copy()
            self.data[self.add_prefix("point_money_value")] = ""
        self.fields["point_money_value"].label = _("1 point as money is worth (%(currency)s)") % {
            "currency": self.instance.currency
        }

    def clean_rating_invite_delay_minutes(self):
        value = self.cleaned_data.get("rating_invite_delay_minutes")
        return self.instance.rating_invite_delay_minutes if value is None else value

    def clean(self):
        data = super().clean()
        # P7: points as money needs what a point is worth.
        value = data.get("point_money_value") or Decimal("0")
        if data.get("points_as_money") and value <= 0 and "point_money_value" not in self.errors:
            self.add_error(
                "point_money_value", _("Say what one point is worth to take points as money.")
            )
        data["point_money_value"] = value
        return data

    def clean_invoice_earns(self):
        value = self.cleaned_data["invoice_earns"]
        if value == "coins" and not coin_roles.coin_status(self.instance).issuer:
            raise forms.ValidationError(
                _("Only a merchant that issues the network's coins can load invoices as coins.")
            )
        return value

    def clean_invoice_wait_days(self):
        value = self.cleaned_data["invoice_wait_days"]
        if value is None or not 1 <= value <= 90:
            raise forms.ValidationError(_("From 1 to 90 days."))
        return value

    def clean_point_value(self):
        value = self.cleaned_data["point_value"]
        if value is None or value <= Decimal("0"):
            raise forms.ValidationError(_("Must be greater than zero."))
        return value


class CashierForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128)
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.none(), empty_label=None
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = merchant.branches.filter(active=True)


class ResetPasswordForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput, max_length=128)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


# "Active" agrees with what it describes: una categoría, sucursal o promoción activa, but un
# premio o regalo activo (pgettext: the same English word, two Spanish and Portuguese ones).
FEMININE_ACTIVE = pgettext_lazy("feminine", "active")


class CategoryForm(DecimalsAsTyped, forms.ModelForm):
    """C6. Changing a category never rewrites points already earned: it applies from now on."""

    class Meta:
        model = Category
        fields = ["name", "description", "multiplier", "validity_days", "audit_mode", "active"]
        labels = {"active": FEMININE_ACTIVE}

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.merchant = merchant

    def clean_name(self):
        return unique_name(self, _("Another category has this name."))

    def clean_active(self):
        active = self.cleaned_data["active"]
        if not active and self.instance.is_default:
            raise forms.ValidationError(_("The default category stays active."))
        return active


class RulesForm(forms.Form):
    """P9: one limit and one action per rule; an empty limit switches the rule off."""

    def __init__(self, *args, rules, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        current = {rule.kind: rule for rule in rules}
        for kind, label in RuleKind.choices:
            rule = current.get(kind)
            # Limits are > 0 (0 would silently hold or refuse everything, or nothing): an invoice
            # amount is money as people type it there; the others count, in whole numbers.
            if kind in FraudRule.WHOLE:
                field = forms.IntegerField(
                    label=label,
                    required=False,
                    min_value=1,
                    max_value=10**9,
                    initial=int(rule.limit) if rule else None,
                )
            else:
                field = AmountField(
                    label=label,
                    required=False,
                    country=merchant.country,
                    currency=merchant.currency,
                    initial=rule.limit if rule else None,
                )
            self.fields[f"{kind}_limit"] = field
            self.fields[f"{kind}_action"] = forms.ChoiceField(
                label=_("When it fires"),
                choices=FraudRule._meta.get_field("action").choices,
                initial=rule.action if rule else "hold",
            )

    def rows(self):
        return [(self[f"{kind}_limit"], self[f"{kind}_action"]) for kind, _l in RuleKind.choices]


class GoalForm(forms.Form):
    registrations = forms.IntegerField(
        label=_("Registrations per day"), min_value=0, max_value=10_000
    )
    accruals = forms.IntegerField(label=_("Accruals per day"), min_value=0, max_value=100_000)


class BranchForm(forms.ModelForm):
    class Meta:
        model = Branch
        fields = ["name", "city", "zone", "address", "active"]
        labels = {"active": FEMININE_ACTIVE}

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.merchant = merchant

    def clean_name(self):
        return unique_name(self, _("Another branch has this name."))


# Pictures are checked by their content (Pillow reads and verifies them), not by the name or the
# type the browser sends; a picture claiming more pixels than MAX_PICTURE_PIXELS (a decompression
# bomb: a tiny file that would take gigabytes to show) is refused before anything is decoded.
PICTURE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_PICTURE_BYTES = 2 * 1024 * 1024
MAX_PICTURE_PIXELS = 25_000_000  # 25 megapixels: far more than a prize's picture needs


def checked_picture(picture, stem: str):
    """An uploaded picture (PNG, JPEG or WebP by its content, at most 2 MB and 25 megapixels)
    renamed `stem.<kind>`; a stored one (or none) passes as it is."""
    import io
    import warnings

    from PIL import Image

    if not picture or not hasattr(picture, "read") or getattr(picture, "_committed", False):
        return picture
    if picture.size > MAX_PICTURE_BYTES:
        raise forms.ValidationError(_("The picture is larger than 2 MB."))
    picture.seek(0)
    data = picture.read(MAX_PICTURE_BYTES + 1)
    picture.seek(0)
    not_a_picture = forms.ValidationError(_("Upload a PNG, JPEG or WebP picture."))
    if len(data) > MAX_PICTURE_BYTES:
        raise forms.ValidationError(_("The picture is larger than 2 MB."))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(PICTURE_FORMATS)) as image:
                kind = PICTURE_FORMATS[image.format]
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_PICTURE_PIXELS:
                    raise forms.ValidationError(
                        _("The picture has too many pixels (at most %(mp)d megapixels).")
                        % {"mp": MAX_PICTURE_PIXELS // 1_000_000}
                    )
                image.verify()
        except forms.ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise forms.ValidationError(
                _("The picture has too many pixels (at most %(mp)d megapixels).")
                % {"mp": MAX_PICTURE_PIXELS // 1_000_000}
            ) from None
        except Exception:  # not a picture, or a corrupt one: Pillow may fail anywhere
            raise not_a_picture from None
    picture.name = f"{stem}.{kind}"
    return picture


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = [
            "name",
            "description",
            "picture",
            "points_cost",
            "stock",
            "valid_from",
            "valid_until",
            "active",
        ]
        labels = {"valid_from": _("valid from"), "valid_until": _("valid until")}
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
            "picture": forms.ClearableFileInput(
                attrs={"accept": "image/png,image/jpeg,image/webp"}
            ),
        }

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant

    def clean_picture(self):
        return checked_picture(self.cleaned_data.get("picture"), "reward")

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end comes before the start."))
        return data


class PromotionForm(DecimalsAsTyped, forms.ModelForm):
    """R1. What each kind needs is asked for by `clean`, next to its field."""

    customers = forms.CharField(
        label=_("Chosen customers"),
        required=False,
        max_length=20_000,  # about a thousand lines
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: document, card number, email or mobile."),
    )

    class Meta:
        model = Promotion
        fields = [
            "name",
            "description",
            "kind",
            "starts_on",
            "ends_on",
            "target",
            "categories",
            "customers",
            "reward",
            "special_price",
            "multiplier",
            "bonus_points",
            "item",
            "min_amount",
            "uses_per_customer",
            "active",
        ]
        labels = {"active": FEMININE_ACTIVE}
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "categories": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.merchant = merchant
        self.fields["categories"].queryset = merchant.categories.filter(active=True)
        self.fields["reward"].queryset = merchant.rewards.filter(active=True)
        self.fields["reward"].empty_label = "—"
        self.fields["min_amount"] = AmountField(
            label=self.fields["min_amount"].label,
            required=False,
            country=merchant.country,
            currency=merchant.currency,
            help_text=_("Accrual promotions: only on purchases from."),
        )
        if self.instance.pk and not self.is_bound:
            self.initial["customers"] = "\n".join(
                m.card_number or m.customer.document_number
                for m in self.instance.members.select_related("customer")
            )

    def clean_customers(self):
        if self.cleaned_data.get("target") != Target.CUSTOMERS:
            return []
        lines = [line.strip() for line in self.cleaned_data["customers"].splitlines()]
        members, missing = [], []
        for line in filter(None, lines):
            member = find_member(self.merchant, line)
            if member is None:
                missing.append(line)
            elif member not in members:
                members.append(member)
        if missing:
            raise forms.ValidationError(
                _("Not customers here: %(list)s.") % {"list": ", ".join(missing[:10])}
            )
        return members

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("The end comes before the start."))
        needs = {
            PromotionKind.SPECIAL_PRICE: ["reward", "special_price"],
            PromotionKind.MULTIPLIER: ["multiplier"],
            PromotionKind.BONUS: ["bonus_points"],
            PromotionKind.FREE_ITEM: ["item"],
        }
        kind = data.get("kind")
        for name in needs.get(kind, []):
            if name not in self.errors and data.get(name) in (None, ""):
                self.add_error(name, _("Needed for this kind of promotion."))
        reward, price = data.get("reward"), data.get("special_price")
        if kind == PromotionKind.SPECIAL_PRICE and reward and price and price >= reward.points_cost:
            self.add_error(
                "special_price",
                _("Must be lower than the prize's price (%(points)s points).")
                % {"points": format_points(reward.points_cost)},
            )
        target = data.get("target")
        if target == Target.CATEGORIES and not data.get("categories"):
            self.add_error("categories", _("Choose at least one category."))
        if (
            target == Target.CUSTOMERS
            and "customers" not in self.errors
            and not data.get("customers")
        ):
            self.add_error("customers", _("Name at least one customer."))
        # What does not belong to the kind is dropped, so that a promotion means one thing.
        for name in ("reward", "special_price", "multiplier", "bonus_points", "item"):
            if name not in needs.get(kind, []):
                data[name] = "" if name == "item" else None
        if kind not in (PromotionKind.MULTIPLIER, PromotionKind.BONUS):
            data["min_amount"] = None
        return data

    def _save_m2m(self):
        super()._save_m2m()
        data = self.cleaned_data
        if data.get("target") != Target.CATEGORIES:
            self.instance.categories.clear()
        self.instance.members.set(
            data.get("customers") or [] if data.get("target") == Target.CUSTOMERS else []
        )


class GiftForm(DecimalsAsTyped, forms.ModelForm):
    class Meta:
        model = Gift
        fields = [
            "name",
            "description",
            "kind",
            "points",
            "discount_percent",
            "valid_days",
            "active",
        ]

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.merchant = merchant

    def clean_name(self):
        return unique_name(self, _("There is already a gift with this name."))

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == GiftKind.POINTS and data.get("points") is None and "points" not in self.errors:
            self.add_error("points", _("How many points?"))
        if (
            kind == GiftKind.DISCOUNT
            and data.get("discount_percent") is None
            and "discount_percent" not in self.errors
        ):
            self.add_error("discount_percent", _("How much off?"))
        if kind != GiftKind.POINTS:
            data["points"] = None
        if kind != GiftKind.DISCOUNT:
            data["discount_percent"] = None
        return data


class OfferGiftForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer"),
        max_length=200,
        help_text=_("Document, card number, email or mobile."),
    )
    gift = forms.ModelChoiceField(label=_("Gift"), queryset=Gift.objects.none(), empty_label=None)
    expires_on = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the gift's own validity."),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.fields["gift"].queryset = merchant.gifts.filter(active=True)

    def clean_customer(self):
        member = find_member(self.merchant, self.cleaned_data["customer"])
        if member is None:
            raise forms.ValidationError(_("No customer of this merchant matches."))
        return member
