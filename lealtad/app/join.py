"""A1: someone not in the network joins from the app: the till's quick registration (document
with its check digits, e-mail; `lealtad.customers.actions.register_customer`), with no merchant:
the identity joins the network only, and each merchant's till finds it (by document, e-mail,
mobile or QR) and enrols it on first contact. Then a sign-in code goes to the e-mail.

The answer never tells whether a document, e-mail or mobile is already registered: those all
end on the "we sent a code" page, as a new registration does (the code goes to the e-mail only
when it is that customer's own)."""

from django import forms
from django.conf import settings
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.app import actions
from lealtad.app.views import code_page
from lealtad.core import throttle
from lealtad.core.errors import CustomerExists, LealtadError, ValidationFailed
from lealtad.customers import actions as customers
from lealtad.customers import documents
from lealtad.network.service_lines import COUNTRY_NAMES
from lealtad.network.signin import client_address


def document_choices() -> list[tuple[str, str]]:
    """ "CO:CC" → "Colombia · Cédula de ciudadanía", for each country of the network."""
    choices = []
    for country in actions.countries():
        if country not in documents.SUPPORTED_COUNTRIES:
            continue
        for doc_type in documents.document_types_for(country):
            name = COUNTRY_NAMES.get(country, country)
            choices.append((f"{country}:{doc_type.code}", f"{name} · {doc_type.label}"))
    return choices


class JoinForm(forms.Form):
    document = forms.ChoiceField(label=gettext_lazy("Document type"))
    document_number = forms.CharField(label=gettext_lazy("Document number"), max_length=32)
    first_name = forms.CharField(label=gettext_lazy("First names"), max_length=80)
    last_name = forms.CharField(label=gettext_lazy("Last names"), max_length=80)
    email = forms.CharField(
        label=gettext_lazy("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none"}),
    )
    mobile = forms.CharField(
        label=gettext_lazy("Mobile (optional)"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].choices = document_choices()
        self.fields["document_number"].widget.attrs.update(
            {"autocomplete": "off", "inputmode": "text"}
        )
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"

    def clean(self):
        """The check digits and the e-mail's form now, beside the other fields' errors
        (register_customer checks them again)."""
        data = super().clean()
        country, _sep, doc_type = (data.get("document") or "").partition(":")
        if country and data.get("document_number"):
            try:
                documents.normalize_document(country, doc_type, data["document_number"])
            except ValueError as exc:
                self.add_error("document_number", str(exc))
        if data.get("email"):
            try:
                data["email"] = documents.normalize_email(data["email"])
            except ValueError as exc:
                self.add_error("email", str(exc))
        if data.get("mobile") and country:
            try:
                data["mobile"] = documents.normalize_mobile(data["mobile"], country)
            except ValueError as exc:
                self.add_error("mobile", str(exc))
        return data


def join(request):
    form = JoinForm(request.POST or None)
    # register_customer's words for an e-mail or mobile of someone else: not shown (see above).
    taken = _("Another customer already uses it.")
    if request.method == "POST" and form.is_valid():
        try:  # counted before a customer is registered: a flood from one place stops here
            throttle.hit("join-ip", client_address(request), settings.SIGNUPS_PER_IP_HOUR)
        except throttle.Throttled as exc:
            form.add_error(None, throttle.message(exc.retry_after))
            return render(request, "app/join.html", {"form": form}, status=429)
        data = form.cleaned_data
        country, _sep, doc_type = data["document"].partition(":")
        profile = {k: data[k] for k in ("first_name", "last_name", "email", "mobile")}
        try:
            customers.register_customer(
                merchant=None,
                branch=None,
                staff=None,
                document_type=doc_type,
                document_number=data["document_number"],
                country=country,
                profile=profile,
            )
        except CustomerExists:
            pass  # already in the network: a code to this e-mail if it is theirs (same answer)
        except ValidationFailed as exc:
            hidden = [e for e in exc.errors if str(e["message"]) == taken]
            for error in exc.errors:
                if error not in hidden:
                    form.add_error(_field(error["field"]), error["message"])
            if not hidden:
                return render(request, "app/join.html", {"form": form})
        except LealtadError as exc:
            form.add_error(None, str(exc.detail))
            return render(request, "app/join.html", {"form": form})
        if not form.errors:
            email = documents.normalize_email(data["email"])
            try:
                actions.request_code(email=email, ip=client_address(request))
            except actions.TooManyAttempts as exc:
                form.add_error("email", str(exc.detail))
            else:
                return redirect(code_page("email", email, "/app/", joined=True))
    return render(request, "app/join.html", {"form": form})


def _field(name: str) -> str | None:
    if name in ("document_type", "country"):
        return "document"
    return name if name in JoinForm.base_fields else None
