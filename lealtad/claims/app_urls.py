"""Mounted at /app/claims/ inside the app's namespace (app:claims, app:claim_new)."""

from django.urls import path

from lealtad.claims import views

urlpatterns = [
    path("", views.claim_list, name="claims"),
    path("new/", views.claim_new, name="claim_new"),
]
