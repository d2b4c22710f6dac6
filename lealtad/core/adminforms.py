"""The operator's admin goes through the same actions as the till and the console.

A ModelAdmin's form here does not save the model itself: once Django's own field and model
validation pass, it calls the domain action (`act`), and the action's `ValidationFailed` errors
become the form's errors, next to their fields. So the admin cannot save what the action would
refuse, and a unique constraint is a message, never a 500.
"""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.template import engines
from django.template.response import TemplateResponse

from lealtad.core.errors import LealtadError, ValidationFailed


def adopt(target, saved) -> None:
    """Make the admin's unsaved instance the row the action saved (the admin logs and redirects
    to it)."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


class ActionModelForm(forms.ModelForm):
    """`act()` runs the domain action and returns the saved instance."""

    request = None  # set by ActionAdmin.get_form
    result = None

    def act(self):
        raise NotImplementedError

    # The action owns uniqueness and constraints (normal forms, its own messages, and the
    # IntegrityError of a race): Django's check would compare what was typed, not what is stored.
    def validate_unique(self):
        pass

    def validate_constraints(self):
        pass

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            # A savepoint: an action refused half-way leaves nothing behind.
            with transaction.atomic():
                self.result = self.act()
        except ValidationFailed as exc:
            for error in exc.errors:
                self.add_domain_error(error.get("field"), error.get("message", exc.detail))
            if not exc.errors:
                self.add_error(None, str(exc.detail))
        except LealtadError as exc:
            self.add_error(None, str(exc.detail))
        else:
            saved = self.result if hasattr(self.result, "_meta") else self.instance
            if saved is not self.instance and saved is not None:
                adopt(self.instance, saved)

    def add_domain_error(self, field, message) -> None:
        if field in self.fields:
            self.add_error(field, message)
        else:
            label = f"{field}: " if field else ""
            self.add_error(None, f"{label}{message}")


class ActionAdmin(admin.ModelAdmin):
    """Saving is the form's action: the admin never calls `obj.save()` (a full-row save would
    rewrite columns others changed meanwhile, such as a key revoked in between)."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request, obj, form, change):
        pass  # done by the form's action


# Shown once, right after creation: only the hash of a secret is stored.
SECRET_ONCE = """{% extends "admin/base_site.html" %}
{% load i18n %}
{% block content %}
<p>{{ intro }}</p>
<p><code id="secret" style="font-size:1.2em;user-select:all">{{ secret }}</code></p>
<p><strong>{{ warning }}</strong></p>
<p><a class="button" href="{{ next }}">{{ done }}</a></p>
{% endblock %}"""


def secret_once_response(request, admin_site, *, title, intro, secret, next_url):
    from django.utils.translation import gettext

    context = {
        **admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "secret": secret,
        "warning": gettext("Copy it now: it is not stored and will not be shown again."),
        "done": gettext("Done, I copied it"),
        "next": next_url,
    }
    response = TemplateResponse(request, engines["django"].from_string(SECRET_ONCE), context)
    response["Cache-Control"] = "no-store"
    return response
