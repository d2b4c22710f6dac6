"""The customer app's ratings (A5), coins (A8, A9) and privacy screens; included from
lealtad/app/urls.py (namespace `app`)."""

from django.urls import path

from lealtad.app import coins_views, privacy_views, ratings_views

urlpatterns = [
    path("ratings/", ratings_views.ratings, name="ratings"),
    path("ratings/visit/<str:transaction_id>/", ratings_views.rate, name="rate"),
    path("ratings/<str:rating_id>/", ratings_views.rating, name="rating"),
    path("coins/", coins_views.coins, name="coins"),
    path("coins/donate/", coins_views.donate, name="donate"),
    path("coins/convert/", coins_views.convert, name="convert"),
    path("coins/buy/<str:promotion_id>/", coins_views.buy, name="buy"),
    path("coins/vouchers/<str:voucher_id>/", coins_views.voucher, name="voucher"),
    path("privacy/", privacy_views.privacy_page, name="privacy"),
    path("privacy/consent/<str:merchant_id>/", privacy_views.consent, name="consent"),
    path("privacy/export/", privacy_views.export, name="export"),
    path("privacy/close/", privacy_views.close, name="close"),
]
