"""The change-of-contact screen shared by the till and the console: the new e-mail, mobile or
document, then the code the customer received (customers.identity decides everything)."""

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lealtad.core.errors import ChangeClosed, InvalidCode, LealtadError, ValidationFailed
from lealtad.customers import identity
from lealtad.customers.documents import document_types_for
from lealtad.customers.models import IdentityChange, Membership


class ContactChangeForm(forms.Form):
    email = forms.CharField(label=gettext_lazy("New email"), max_length=254, required=False)
    mobile = forms.CharField(label=gettext_lazy("New mobile"), max_length=30, required=False)
    document_type = forms.ChoiceField(label=gettext_lazy("Document type"), required=False)
    document_number = forms.CharField(
        label=gettext_lazy("New document number"), max_length=32, required=False
    )

    def __init__(self, *args, country, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document_type"].choices = [
            (t.code, t.label) for t in document_types_for(country)
        ]

    def wanted(self) -> dict:
        data = self.cleaned_data
        if data.get("document_number"):
            return {k: data[k] for k in ("document_type", "document_number")}
        return {k: data[k] for k in ("email", "mobile") if data.get(k)}


def _code_input(**attrs):
    return forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", **attrs})


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code sent to the new address"),
        max_length=12,
        widget=_code_input(autofocus=True),
    )
    owner_code = forms.CharField(
        label=gettext_lazy("Code sent to the contact on file"),
        max_length=12,
        widget=_code_input(),
    )

    def __init__(self, *args, change=None, **kwargs):
        super().__init__(*args, **kwargs)
        if change is None or not change.owner_sent_to:
            # One code only: a document change's, sent to the contact on file.
            del self.fields["owner_code"]
            self.fields["code"].label = gettext_lazy("Code the customer received")


@dataclass
class Outcome:
    """What the screen shows next: `done` (back to the customer with `message`), or the form."""

    done: bool = False
    message: str = ""
    context: dict | None = None


def contact_change(request, membership: Membership, by: identity.Requester) -> Outcome:
    customer = membership.customer
    post = request.POST if request.method == "POST" else None
    start = ContactChangeForm(
        post if post and post.get("step") == "start" else None,
        country=customer.country,
        initial={"document_type": customer.document_type},
    )
    change = None
    code = CodeForm()
    change_id = (post or {}).get("change") or request.GET.get("change")
    if change_id:
        try:
            change = identity.get_change_for(membership.merchant, customer.pk, change_id)
        except LealtadError:
            change = None
    try:
        if post and post.get("step") == "start" and start.is_valid():
            wanted = start.wanted()
            if not wanted:
                start.add_error("email", _("Type the new email, mobile or document."))
            else:
                change = identity.start_change(customer, by, wanted)
                if change.state == IdentityChange.State.APPLIED:
                    return Outcome(done=True, message=_("Saved."))
        elif post and post.get("step") == "confirm" and change is not None:
            code = CodeForm(post, change=change)
            if code.is_valid():
                try:
                    identity.confirm_change(
                        change, code.cleaned_data["code"], code.cleaned_data.get("owner_code")
                    )
                except InvalidCode as exc:
                    code.add_error("code", str(exc.detail))
                else:
                    return Outcome(done=True, message=_("Change confirmed by the customer."))
        elif post and post.get("step") == "resend" and change is not None:
            identity.resend_code(change)
    except ValidationFailed as exc:
        for error in exc.errors:
            start.add_error(
                error["field"] if error["field"] in start.fields else None, error["message"]
            )
        change = None
    except ChangeClosed as exc:
        start.add_error(None, str(exc.detail))
        change = None
    except LealtadError as exc:
        if change is not None:
            code.add_error(None, str(exc.detail))
        else:
            start.add_error(None, str(exc.detail))
    if change is not None and change.state != IdentityChange.State.PENDING:
        change = None
    if change is not None and not code.is_bound:
        code = CodeForm(change=change)
    return Outcome(
        context={
            "customer": customer,
            "start_form": start,
            "code_form": code,
            "change": identity.change_out(change) if change else None,
        }
    )
