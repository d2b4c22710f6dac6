"""R3 in the console: an acceptor's admin lists, creates, edits and deactivates its coin
promotions (products sold only for coins). Another merchant's promotion is 404; a merchant that
does not accept coins sees why it cannot have them, and cannot save one."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lealtad.coins import promotions
from lealtad.coins.models import CoinPromotion
from lealtad.console.forms import checked_picture, unique_name
from lealtad.console.views import _page, _uuid, admin_view

WINDOW_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CoinPromotionForm(forms.ModelForm):
    class Meta:
        model = CoinPromotion
        fields = [
            "name",
            "description",
            "picture",
            "coins_price",
            "stock",
            "starts_at",
            "ends_at",
            "active",
        ]
        help_texts = {
            "stock": gettext_lazy("Leave it empty for no limit."),
            "coins_price": gettext_lazy("1 coin = 1 unit of the network's currency."),
        }
        widgets = {
            "starts_at": WINDOW_INPUT,
            "ends_at": WINDOW_INPUT,
            "description": forms.Textarea(attrs={"rows": 3}),
            "picture": forms.ClearableFileInput(
                attrs={"accept": "image/png,image/jpeg,image/webp"}
            ),
        }

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.instance.merchant = merchant
        if self.instance.pk is None and not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("starts_at", now)
            self.initial.setdefault("ends_at", now + timezone.timedelta(days=30))

    def clean_name(self):
        return unique_name(self, _("Another coin promotion already has this name."))

    def clean_picture(self):
        return checked_picture(self.cleaned_data.get("picture"), "coin-promotion")

    def clean(self):
        data = super().clean()
        if problem := promotions.can_have(self.merchant):
            raise forms.ValidationError(problem)
        # The window (end after start) is the model's rule: its clean says so next to `ends_at`.
        return data


@admin_view
def coin_promotions(request):
    rows = CoinPromotion.objects.filter(merchant=request.merchant).order_by(
        "-active", "-ends_at", "name"
    )
    return _page(
        request,
        "console/coin_promotions.html",
        promotions=rows,
        now=timezone.now(),
        problem=promotions.can_have(request.merchant),
    )


@admin_view
def coin_promotion_edit(request, promotion_id=None):
    promotion = None
    if promotion_id is not None:
        promotion = get_object_or_404(
            CoinPromotion, pk=_uuid(promotion_id), merchant=request.merchant
        )
    problem = promotions.can_have(request.merchant)
    if problem and promotion is None:
        messages.error(request, problem)
        return redirect("console:coin_promotions")
    form = CoinPromotionForm(
        request.POST or None, request.FILES or None, instance=promotion, merchant=request.merchant
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Coin promotion saved."))
        return redirect("console:coin_promotions")
    return _page(
        request,
        "console/edit.html",
        form=form,
        title=_("Coin promotion"),
        back="console:coin_promotions",
        multipart=True,
    )


@admin_view
@require_POST
def coin_promotion_deactivate(request, promotion_id):
    promotion = get_object_or_404(CoinPromotion, pk=_uuid(promotion_id), merchant=request.merchant)
    CoinPromotion.objects.filter(pk=promotion.pk).update(active=False)
    messages.success(request, _("Coin promotion %(name)s deactivated.") % {"name": promotion.name})
    return redirect("console:coin_promotions")
