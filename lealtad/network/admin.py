from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lealtad.core.adminforms import ActionAdmin, ActionModelForm, secret_once_response
from lealtad.network import actions, coin_roles
from lealtad.network.models import ApiKey, Branch, Merchant, Network, Role, ServiceLine, User
from lealtad.network.signin import PASSWORD_MAX_LENGTH, bounded_passwords

admin.site.site_header = "Lealtad"
admin.site.site_title = "Lealtad"
admin.site.index_title = _("Network operator")


class BranchInline(admin.TabularInline):
    model = Branch
    extra = 0
    fields = ("name", "city", "zone", "address", "active")
    can_delete = False  # a branch has staff, keys and movements: deactivate it instead


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "coin_validity_months")

    def get_readonly_fields(self, request, obj=None):
        # The network's currency is the coins' unit: it does not change under existing wallets.
        return ("currency",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False


class MerchantAddForm(ActionModelForm):
    """O1: the same sign-up as the console's: default category, a first branch, an admin, a
    POS key (shown once)."""

    currency = forms.CharField(label=_("currency"), max_length=3, required=False)
    branch_name = forms.CharField(label=_("first branch"), max_length=120, initial="Principal")
    admin_username = forms.CharField(label=_("admin username"), max_length=150)
    admin_password = forms.CharField(
        label=_("admin password"), widget=forms.PasswordInput, max_length=PASSWORD_MAX_LENGTH
    )
    cashback_rate = forms.DecimalField(
        label=_("cashback rate"), required=False, max_digits=5, decimal_places=4
    )

    class Meta:
        model = Merchant
        fields = (
            "name",
            "country",
            "currency",
            "point_value",
            "coin_issuer",
            "cashback_rate",
            "coin_acceptor",
        )

    def act(self):
        data = self.cleaned_data
        made = actions.create_merchant(
            name=data["name"],
            country=data["country"],
            currency=data.get("currency") or None,
            point_value=data.get("point_value"),
            admin_username=data["admin_username"],
            admin_password=data["admin_password"],
            branch_name=data["branch_name"].strip() or "Principal",
            coin_issuer=data.get("coin_issuer", False),
            coin_acceptor=data.get("coin_acceptor", False),
            cashback_rate=data.get("cashback_rate"),
        )
        self.secret = made.api_key
        return made.merchant


class MerchantChangeForm(ActionModelForm):
    """N5: the coin roles change through the operator's action (the network's currency, an
    issuer's cashback rate); the other fields are saved as the admin saves them."""

    def act(self):
        data = self.cleaned_data
        if {"coin_issuer", "coin_acceptor", "cashback_rate"} & set(self.changed_data):
            current = Merchant.objects.select_related("network").get(pk=self.instance.pk)
            coin_roles.set_coin_roles(
                current,
                issuer=data.get("coin_issuer", current.coin_issuer),
                acceptor=data.get("coin_acceptor", current.coin_acceptor),
                cashback_rate=data.get("cashback_rate", current.cashback_rate),
            )
        return self.instance


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "country",
        "currency",
        "point_value",
        "coin_issuer",
        "coin_acceptor",
        "active",
    )
    list_filter = ("country", "coin_issuer", "coin_acceptor", "active")
    search_fields = ("name",)
    inlines = [BranchInline]
    add_fields = (
        "name",
        "country",
        "currency",
        "point_value",
        "coin_issuer",
        "cashback_rate",
        "coin_acceptor",
        "branch_name",
        "admin_username",
        "admin_password",
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs.update(form=MerchantAddForm, fields=self.add_fields)
            form = super().get_form(request, obj, change=change, **kwargs)
            return type(form.__name__, (form,), {"request": request})
        kwargs.update(form=MerchantChangeForm)
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": self.add_fields})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        # Prices, balances and coins are in the merchant's currency and country's documents.
        return ("network", "country", "currency", "created_at") if obj is not None else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            request.lealtad_secret = form.secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "lealtad_secret", None)
        if not secret:
            return super().response_add(request, obj, post_url_continue)
        return secret_once_response(
            request,
            self.admin_site,
            title=gettext("Merchant created"),
            intro=gettext("%(name)s is ready. Its point-of-sale API key:") % {"name": obj.name},
            secret=secret,
            next_url=reverse("admin:network_merchant_change", args=[obj.pk]),
        )

    def has_delete_permission(self, request, obj=None):
        return False  # customers, points and coins hang on it: set it inactive instead


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ("name", "merchant", "city", "active")
    list_filter = ("active", "merchant")
    search_fields = ("name", "merchant__name")

    def get_readonly_fields(self, request, obj=None):
        return ("merchant",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False


class StaffRules:
    """Who a staff member is must hold together: a merchant's staff work at one of its own
    branches and never enter the operator's site; the operator belongs to no merchant."""

    def clean(self):
        data = super().clean()
        role, merchant, branch = data.get("role"), data.get("merchant"), data.get("branch")
        if role is None:
            return data
        if role == Role.OPERATOR:
            if merchant is not None or branch is not None:
                self.add_error("merchant", gettext("The network operator has no merchant."))
        else:
            if merchant is None:
                self.add_error("merchant", gettext("Choose the merchant."))
            if branch is not None and merchant is not None and branch.merchant_id != merchant.pk:
                self.add_error("branch", gettext("Not a branch of this merchant."))
            elif branch is None and merchant is not None:
                # As create_staff: the till needs a branch; the merchant's first one.
                data["branch"] = (
                    merchant.branches.filter(active=True).order_by("created_at").first()
                )
            for flag in ("is_staff", "is_superuser"):
                if data.get(flag):
                    self.add_error(flag, gettext("Only the network operator enters this site."))
        return data


@bounded_passwords
class StaffCreationForm(StaffRules, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User


class StaffChangeForm(StaffRules, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class StaffAdmin(UserAdmin):
    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = ("username", "role", "merchant", "branch", "is_active", "last_login")
    list_filter = ("role", "is_active", "merchant")
    list_select_related = ("merchant", "branch")
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Lealtad", {"fields": ("role", "merchant", "branch", "must_change_password")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Lealtad", {"fields": ("role", "merchant", "branch")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # their movements name them: deactivate instead


class ApiKeyForm(ActionModelForm):
    class Meta:
        model = ApiKey
        fields = ("merchant", "branch", "name")

    def act(self):
        if not self.instance._state.adding:
            return actions.rename_api_key(self.instance, self.cleaned_data["name"])
        key, self.secret = actions.create_api_key(
            self.cleaned_data["merchant"],
            self.cleaned_data["branch"],
            self.cleaned_data["name"],
            created_by=self.request.user if self.request else None,
        )
        return key


@admin.register(ApiKey)
class ApiKeyAdmin(ActionAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "prefix",
        "merchant",
        "branch",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("merchant",)
    list_select_related = ("merchant", "branch")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("merchant", "branch", "name")
        return ("name", *self.SHOWN)

    SHOWN = (
        "merchant",
        "branch",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )

    def get_readonly_fields(self, request, obj=None):
        # The hash is never shown: it is all that proves the secret.
        return self.SHOWN if obj else ()

    def save_model(self, request, obj, form, change):
        if not change:
            request.lealtad_secret = form.secret

    def response_add(self, request, obj, post_url_continue=None):
        return secret_once_response(
            request,
            self.admin_site,
            title=gettext("API key created"),
            intro=gettext("The point-of-sale key %(name)s for %(branch)s:")
            % {"name": obj.name, "branch": obj.branch or gettext("All branches")},
            secret=request.lealtad_secret,
            next_url=reverse("admin:network_apikey_changelist"),
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        count = sum(actions.revoke_api_key(key, by=request.user) for key in queryset)
        self.message_user(
            request, gettext("Keys revoked: %(count)d.") % {"count": count}, messages.SUCCESS
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the key's requests stay on record


class ServiceLineForm(forms.ModelForm):
    class Meta:
        model = ServiceLine
        fields = ("network", "audience", "country", "phones", "email", "address", "hours")

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(gettext("An ISO 3166 alpha-2 code, e.g. CO."))
        return country

    def clean(self):
        data = super().clean()
        if not any(data.get(f) for f in ("phones", "email", "address")):
            raise forms.ValidationError(gettext("Give a phone, an e-mail or an address."))
        return data


@admin.register(ServiceLine)
class ServiceLineAdmin(admin.ModelAdmin):
    """C11: the lines a suspended customer's cashier sends them to (seeded from the guides)."""

    form = ServiceLineForm
    list_display = ("audience", "country", "phones", "email", "address", "network")
    list_filter = ("audience", "country", "network")
