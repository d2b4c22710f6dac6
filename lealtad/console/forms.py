from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from lealtad.network.models import Branch, Merchant
from lealtad.program.models import Category, FraudRule, Reward, RuleKind


class ProgramForm(forms.ModelForm):
    """P1, P3, C9, P6: what the merchant admin decides; coin flags stay the operator's."""

    class Meta:
        model = Merchant
        fields = [
            "point_value",
            "points_validity_days",
            "welcome_bonus_points",
            "redemption_requires_document_check",
        ]
        labels = {"redemption_requires_document_check": _("Redemption needs a document check")}

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


class CategoryForm(forms.ModelForm):
    """C6. Changing a category never rewrites points already earned: it applies from now on."""

    class Meta:
        model = Category
        fields = ["name", "description", "multiplier", "validity_days", "audit_mode", "active"]

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.merchant = merchant

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Category.objects.filter(merchant=self.merchant, name__iexact=name).exclude(
            pk=self.instance.pk
        )
        if taken.exists():
            raise forms.ValidationError(_("Another category has this name."))
        return name

    def clean_active(self):
        active = self.cleaned_data["active"]
        if not active and self.instance.is_default:
            raise forms.ValidationError(_("The default category stays active."))
        return active


class RulesForm(forms.Form):
    """P9: one limit and one action per rule; an empty limit switches the rule off."""

    def __init__(self, *args, rules, **kwargs):
        super().__init__(*args, **kwargs)
        current = {rule.kind: rule for rule in rules}
        for kind, label in RuleKind.choices:
            rule = current.get(kind)
            self.fields[f"{kind}_limit"] = forms.DecimalField(
                label=label,
                required=False,
                min_value=0,
                max_digits=16,
                decimal_places=2,
                initial=rule.limit if rule else None,
            )
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
        fields = ["name", "city", "address", "active"]

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.merchant = merchant

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Branch.objects.filter(merchant=self.merchant, name__iexact=name).exclude(
            pk=self.instance.pk
        )
        if taken.exists():
            raise forms.ValidationError(_("Another branch has this name."))
        return name


# Pictures are checked by their first bytes, not by the name the browser sends.
PICTURE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"RIFF": "webp"}
MAX_PICTURE_BYTES = 2 * 1024 * 1024


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
        picture = self.cleaned_data.get("picture")
        if not picture or not hasattr(picture, "read") or getattr(picture, "_committed", False):
            return picture
        if picture.size > MAX_PICTURE_BYTES:
            raise forms.ValidationError(_("The picture is larger than 2 MB."))
        head = picture.read(12)
        picture.seek(0)
        kind = next((k for sig, k in PICTURE_SIGNATURES.items() if head.startswith(sig)), None)
        if kind is None or (kind == "webp" and head[8:12] != b"WEBP"):
            raise forms.ValidationError(_("Upload a PNG, JPEG or WebP picture."))
        picture.name = f"reward.{kind}"
        return picture

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end comes before the start."))
        return data
