from django.contrib import admin

from lealtad.program.models import Category, FraudRule, Reward


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
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


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ("name", "merchant", "points_cost", "stock", "active")
    list_filter = ("active", "merchant")
    search_fields = ("name",)


@admin.register(FraudRule)
class FraudRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "limit", "action", "merchant", "category")
    list_filter = ("kind", "action", "merchant")
