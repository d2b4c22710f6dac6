"""The operator's side of coins: partner programs and their keys (K4), causes and the donation
report (K5), and the monthly settlement statement."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lealtad.coins import causes, partners, settlement
from lealtad.coins.models import Cause, Partner, PartnerKey, Settlement
from lealtad.core.adminforms import ActionAdmin, ActionModelForm, secret_once_response


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ("name", "rate", "active", "app_conversion")

    def save(self, commit=True):
        if self.instance.network_id is None:
            from lealtad.network.models import Network

            self.instance.network = Network.default()
        return super().save(commit)


class PartnerKeyInline(admin.TabularInline):
    model = PartnerKey
    extra = 0
    can_delete = False
    fields = ("name", "prefix", "created_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # a key is issued through "Partner API keys", which shows the secret once


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    list_display = ("name", "rate", "active", "app_conversion", "created_at")
    list_filter = ("active", "app_conversion")
    search_fields = ("name",)
    inlines = [PartnerKeyInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # its conversions name it: set it inactive instead


class PartnerKeyForm(ActionModelForm):
    class Meta:
        model = PartnerKey
        fields = ("partner", "name")

    def act(self):
        if not self.instance._state.adding:
            PartnerKey.objects.filter(pk=self.instance.pk).update(name=self.cleaned_data["name"])
            return PartnerKey.objects.get(pk=self.instance.pk)
        key, self.secret = partners.issue_partner_key(
            self.cleaned_data["partner"], self.cleaned_data["name"]
        )
        return key


@admin.register(PartnerKey)
class PartnerKeyAdmin(ActionAdmin):
    form = PartnerKeyForm
    list_display = ("name", "prefix", "partner", "created_at", "revoked_at")
    list_filter = ("partner",)
    list_select_related = ("partner",)
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("partner", "name")
        return ("name", "partner", "prefix", "created_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return ("partner", "prefix", "created_at", "revoked_at") if obj else ()

    def save_model(self, request, obj, form, change):
        if not change:
            request.lealtad_secret = form.secret

    def response_add(self, request, obj, post_url_continue=None):
        return secret_once_response(
            request,
            self.admin_site,
            title=gettext("Partner API key created"),
            intro=gettext("The API key %(name)s for the partner %(partner)s:")
            % {"name": obj.name, "partner": obj.partner},
            secret=request.lealtad_secret,
            next_url=reverse("admin:coins_partnerkey_changelist"),
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        count = sum(partners.revoke_partner_key(key) for key in queryset)
        self.message_user(
            request, gettext("Keys revoked: %(count)d.") % {"count": count}, messages.SUCCESS
        )

    def has_delete_permission(self, request, obj=None):
        return False


class CauseForm(forms.ModelForm):
    class Meta:
        model = Cause
        fields = ("name", "description", "active")

    def save(self, commit=True):
        if self.instance.network_id is None:
            from lealtad.network.models import Network

            self.instance.network = Network.default()
        return super().save(commit)


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", gettext("The end comes before the start."))
        return data


@admin.register(Cause)
class CauseAdmin(admin.ModelAdmin):
    form = CauseForm
    list_display = ("name", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    change_list_template = "admin/coins/cause/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.report_view)
        return [path("report/", view, name="coins_cause_report"), *super().get_urls()]

    def report_view(self, request):
        if not request.user.has_perm("coins.view_cause"):
            return HttpResponse(status=403)
        period = PeriodForm(request.GET or None)
        date_from = date_to = None
        if period.is_bound and period.is_valid():
            date_from, date_to = period.cleaned_data["date_from"], period.cleaned_data["date_to"]
        report = causes.donation_report(date_from, date_to)
        if request.GET.get("format") == "csv" and (not period.is_bound or period.is_valid()):
            return _csv(causes.donation_report_csv(report), "donations.csv")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Donations per cause"),
            "opts": self.model._meta,
            "period": period,
            "report": report,
            "csv_query": _with_csv(request),
        }
        status = 400 if period.is_bound and not period.is_valid() else 200
        return TemplateResponse(request, "admin/coins/cause/report.html", context, status=status)

    def has_delete_permission(self, request, obj=None):
        return False  # its donations name it: set it inactive instead


class MonthForm(forms.Form):
    month = forms.CharField(
        label=_("Month"),
        widget=forms.TextInput(attrs={"type": "month"}),
        required=False,
        max_length=7,
    )

    def clean_month(self):
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        year, sep, month = text.partition("-")
        try:
            if not (sep and len(year) == 4 and len(month) == 2):
                raise ValueError(text)
            return dt.date(int(year), int(month), 1)
        except ValueError:
            raise forms.ValidationError(gettext("A month as YYYY-MM, e.g. 2026-01.")) from None


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    """The changelist is the statement: a month picker, the merchants' lines, the network's."""

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        form = MonthForm(request.GET or None)
        month = timezone.localdate().replace(day=1)
        valid = not form.is_bound or form.is_valid()
        if form.is_bound and valid and form.cleaned_data["month"]:
            month = form.cleaned_data["month"]
        elif not form.is_bound:
            form = MonthForm(initial={"month": month.strftime("%Y-%m")})
        st = settlement.statement_for(month)
        if request.GET.get("format") == "csv" and valid:
            return _csv(settlement.statement_csv(st), f"settlement-{month:%Y-%m}.csv")
        money = lambda coins: settlement.amount(coins, st.currency)  # noqa: E731
        rows = [
            {
                "merchant": ln.merchant,
                "issued": money(ln.issued),
                "issued_reversed": money(ln.issued_reversed),
                "owed_by": money(ln.owed_by_merchant),
                "accepted": money(ln.accepted),
                "accepted_reversed": money(ln.accepted_reversed),
                "owed_to": money(ln.owed_to_merchant),
                "net": money(ln.net),
                "net_sign": (ln.net > 0) - (ln.net < 0),
            }
            for ln in st.merchants
        ]
        network = [
            (gettext("Outstanding at the start of the month"), money(st.opening)),
            (gettext("Coins issued"), money(st.issued)),
            (gettext("Coins from partners"), money(st.converted)),
            *[
                ("— " + gettext("Converted from %(partner)s") % {"partner": n}, money(v))
                for n, v in st.by_partner
            ],
            (gettext("Coins accepted"), money(-st.accepted)),
            (gettext("Coins expired"), money(-st.expired)),
            (gettext("Coins donated"), money(-st.donated)),
            *[
                ("— " + gettext("Donated to %(cause)s") % {"cause": n}, money(v))
                for n, v in st.by_cause
            ],
            (gettext("Coins reversed"), money(-st.reversed)),
            (gettext("Outstanding at the end of the month"), money(st.closing)),
        ]
        if st.adjustments:
            network.insert(-1, (gettext("Other adjustments"), money(st.adjustments)))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Settlement statement"),
            "opts": self.model._meta,
            "form": form,
            "month": month,
            "currency": st.currency,
            "rows": rows,
            "network": network,
            "reconciles": st.reconciles,
            "csv_query": _with_csv(request, month=month.strftime("%Y-%m")),
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "admin/coins/settlement/statement.html", context, status=200 if valid else 400
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _with_csv(request, **values) -> str:
    query = request.GET.copy()
    for key, value in values.items():
        query[key] = value
    query["format"] = "csv"
    return query.urlencode()


def _csv(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
