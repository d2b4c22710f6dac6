"""The app's home, wallet, QR, prizes and merchants screens (A2–A4, A6), included by
lealtad/app/urls.py inside its "app" namespace."""

from django.urls import path

from lealtad.app import home, merchants, prizes, qr_views, wallet

urlpatterns = [
    path("", home.home, name="home"),
    path("m/<str:merchant_id>/", home.membership, name="membership"),
    path("wallet/", wallet.wallet, name="wallet"),
    path("qr/", qr_views.qr, name="qr"),
    path("qr/payment/", qr_views.qr_payment, name="qr_payment"),
    path("prizes/", prizes.prizes, name="prizes"),
    path("prizes/<str:merchant_id>/", prizes.merchant_prizes, name="merchant_prizes"),
    path("gifts/<str:offer_id>/accept/", prizes.gift_accept, name="gift_accept"),
    path("merchants/", merchants.merchants, name="merchants"),
    path("merchants/<str:merchant_id>/favourite/", merchants.favourite, name="favourite"),
]
