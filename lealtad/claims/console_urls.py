"""Mounted at /console/claims/ inside the console's namespace (console:claims, console:claim, …)."""

from django.urls import path

from lealtad.claims import console

urlpatterns = [
    path("", console.queue, name="claims"),
    path("<str:claim_id>/", console.claim_detail, name="claim"),
    path("<str:claim_id>/photo/", console.photo, name="claim_photo"),
    path("<str:claim_id>/approve/", console.approve, name="claim_approve"),
    path("<str:claim_id>/reject/", console.reject, name="claim_reject"),
]
