from django import forms
from django.contrib import admin
from django.utils.translation import gettext

from lealtad.program.models import Category, FraudRule, Reward


class MerchantFixedAdmin(admin.ModelAdmin):
    """A merchant's row stays with its merchant: moving a category (with its members) or a prize
    to another merchant would hand one tenant's data to another."""

    def get_readonly_fields(self, request, obj=None):
        return ("merchant",) if obj is not None else ()


@admin.register(Category)
class CategoryAdmin(MerchantFixedAdmin):
    list_display = (
        "name",
        "merchant",
        "multiplier",
        "validity_days",
        "audit_mode",
        "active",
        "is_default",
    )
    list_filter = ("active", "audit_mode", "merchant")

    def has_delete_permission(self, request, obj=None):
        return False  # its members and movements need it: set it inactive


@admin.register(Reward)
class RewardAdmin(MerchantFixedAdmin):
    list_display = ("name", "merchant", "points_cost", "stock", "active")
    list_filter = ("active", "merchant")
    search_fields = ("name",)

    def has_delete_permission(self, request, obj=None):
        return False  # redemptions point at it: set it inactive


class FraudRuleForm(forms.ModelForm):
    class Meta:
        model = FraudRule
        fields = ("merchant", "category", "kind", "limit", "action")

    def clean(self):
        data = super().clean()
        merchant = data.get("merchant") or getattr(self.instance, "merchant", None)
        category = data.get("category")
        if category is not None and merchant is not None and category.merchant_id != merchant.pk:
            self.add_error("category", gettext("Not a category of this merchant."))
        return data


@admin.register(FraudRule)
class FraudRuleAdmin(MerchantFixedAdmin):
    form = FraudRuleForm
    list_display = ("kind", "limit", "action", "merchant", "category")
    list_filter = ("kind", "action", "merchant")
