from django.urls import path

from lealtad.ratings import views

app_name = "ratings"
urlpatterns = [
    path("<str:token>/", views.page, name="page"),
    path("<str:token>/answer/", views.answer, name="answer"),
]
