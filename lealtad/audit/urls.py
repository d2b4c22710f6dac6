from django.urls import path

from lealtad.audit import views

urlpatterns = [path("", views.trail, name="audit")]
