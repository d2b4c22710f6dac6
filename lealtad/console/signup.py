"""O1: a small merchant signs up and lands in a working console."""

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from lealtad.core import throttle
from lealtad.core.errors import ValidationFailed
from lealtad.customers.documents import normalize_email, normalize_mobile
from lealtad.network import signin
from lealtad.network.actions import create_merchant
from lealtad.network.models import Merchant

COUNTRIES = [
    ("CO", "Colombia"),
    ("BR", "Brasil"),
    ("PA", "Panamá"),
    ("GT", "Guatemala"),
    ("SV", "El Salvador"),
    ("MX", "México"),
    ("CR", "Costa Rica"),
    ("EC", "Ecuador"),
    ("PE", "Perú"),
    ("CL", "Chile"),
    ("AR", "Argentina"),
]


class SignupForm(forms.Form):
    name = forms.CharField(label=_("Business name"), max_length=120)
    email = forms.CharField(label=_("Email"), max_length=254)
    phone = forms.CharField(label=_("Phone"), max_length=30)
    address = forms.CharField(label=_("Address"), max_length=200)
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRIES)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128)

    def clean(self):
        data = super().clean()
        if data.get("email"):
            try:
                data["email"] = normalize_email(data["email"])
            except ValueError as exc:
                self.add_error("email", str(exc))
            else:
                if Merchant.objects.filter(email=data["email"]).exists():
                    self.add_error("email", _("A merchant already signed up with this email."))
        if data.get("phone") and data.get("country"):
            try:
                normalize_mobile(data["phone"], data["country"])
            except ValueError:
                import phonenumbers

                try:
                    number = phonenumbers.parse(data["phone"], data["country"])
                    valid = phonenumbers.is_valid_number(number)
                except phonenumbers.NumberParseException:
                    valid = False
                if not valid:
                    self.add_error("phone", _("This phone number does not exist."))
        return data


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # Counted before anything is created: a flood of sign-ups from one place stops here.
            throttle.hit("signup-ip", signin.client_address(request), settings.SIGNUPS_PER_IP_HOUR)
            new = create_merchant(
                name=data["name"],
                country=data["country"],
                admin_username=data["email"],
                admin_password=data["password"],
                email=data["email"],
                phone=data["phone"],
                address=data["address"],
            )
        except ValidationFailed as exc:
            for error in exc.errors:
                field = {"admin_username": "email"}.get(error["field"], error["field"])
                form.add_error(field if field in form.fields else None, error["message"])
        except IntegrityError:
            form.add_error("email", _("A merchant already signed up with this email."))
        except throttle.Throttled as exc:
            form.add_error(None, throttle.message(exc.retry_after))
        else:
            login(request, new.admin, backend=signin.BACKEND)
            return redirect("console:home")
    return render(request, "console/signup.html", {"form": form})
