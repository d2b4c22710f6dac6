"""/app/: the customer's app: home, histories, QR, prizes and merchants (urls_home), sign-in,
account and the installable shell (here), ratings, coins and privacy (urls_more), claims."""

from django.urls import include, path

from lealtad.app import pwa, views

app_name = "app"
urlpatterns = [
    # home, qr, prizes, merchants and their detail pages (A2–A4, A6).
    path("", include("lealtad.app.urls_home")),
    path("signin/", views.signin, name="signin"),
    path("signin/code/", views.signin_code, name="signin_code"),
    path("join/", views.join, name="join"),
    path("signout/", views.signout, name="signout"),
    path("account/", views.account, name="account"),
    path("account/signout-everywhere/", views.signout_everywhere, name="signout_everywhere"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("offline/", pwa.offline, name="offline"),
    path("", include("lealtad.app.urls_more")),  # ratings, coins, privacy ("more")
    # A7: purchase claims with a photo of the invoice (lealtad.claims).
    # A7: purchase claims with a photo of the invoice (lealtad.claims).
    path("claims/", include("lealtad.claims.app_urls")),
]
