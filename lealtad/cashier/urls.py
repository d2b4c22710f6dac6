from django.urls import path

from lealtad.cashier import (
    coin_payments,
    coin_promotions,
    coin_vouchers,
    coins,
    invoices,
    point_payments,
    remote,
    views,
)

app_name = "cashier"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("password/", views.change_password, name="change_password"),
    path("register/", views.register, name="register"),
    path("register/check-document/", views.check_document, name="check_document"),
    path("open/<str:customer_id>/", views.open_customer, name="open"),
    path("c/<str:customer_id>/", views.customer, name="customer"),
    path("c/<str:customer_id>/accrue/", views.accrue, name="accrue"),
    path("c/<str:customer_id>/accrue/quote/", views.accrual_quote, name="accrual_quote"),
    path("c/<str:customer_id>/coins/earn/", views.earn_coins, name="earn_coins"),
    path("c/<str:customer_id>/coins/", coins.statement, name="coin_statement"),
    path("c/<str:customer_id>/coins/pay/", coin_payments.start, name="pay_coins"),
    path(
        "c/<str:customer_id>/coins/pay/prefill/",
        coin_payments.coins_prefill,
        name="pay_coins_prefill",
    ),
    path("payment-qr/", coin_payments.open_payment_qr, name="payment_qr"),
    path("coin-vouchers/", coin_vouchers.voucher, name="voucher"),
    path("coin-payments/<str:payment_id>/", coin_payments.payment, name="coin_payment"),
    path(
        "coin-payments/<str:payment_id>/confirm/",
        coin_payments.confirm,
        name="coin_payment_confirm",
    ),
    path(
        "coin-payments/<str:payment_id>/resend/", coin_payments.resend, name="coin_payment_resend"
    ),
    path(
        "coin-payments/<str:payment_id>/cancel/", coin_payments.cancel, name="coin_payment_cancel"
    ),
    path("c/<str:customer_id>/points/pay/", point_payments.pay, name="pay_points"),
    path("c/<str:customer_id>/points/pay/quote/", point_payments.quote, name="pay_points_quote"),
    path("c/<str:customer_id>/profile/", views.complete_profile, name="profile"),
    path("c/<str:customer_id>/contact/", views.contact_change, name="contact"),
    path("c/<str:customer_id>/redeem/<str:reward_id>/", views.redeem, name="redeem"),
    path(
        "c/<str:customer_id>/redeem/<str:reward_id>/remote/",
        remote.remote_start,
        name="remote_start",
    ),
    path("c/<str:customer_id>/remote/<str:remote_id>/", remote.remote_page, name="remote"),
    path(
        "c/<str:customer_id>/promotion/<str:promotion_id>/",
        views.take_promotion,
        name="take_promotion",
    ),
    path(
        "c/<str:customer_id>/coin-promotions/<str:promotion_id>/",
        coin_promotions.coin_promotion,
        name="coin_promotion",
    ),
    path("c/<str:customer_id>/gift/<str:offer_id>/", views.redeem_gift, name="redeem_gift"),
    # I2, I3: POS invoices waiting for their customer.
    path("invoices/", invoices.history, name="invoices"),
    path("invoices/panel/", invoices.panel, name="invoice_panel"),
    path("invoices/drop/", invoices.drop, name="invoice_drop"),
    path("invoices/<str:invoice_id>/", invoices.detail, name="invoice"),
    path("invoices/<str:invoice_id>/pick/", invoices.pick, name="invoice_pick"),
    path("invoices/<str:invoice_id>/identify/", invoices.identify, name="invoice_identify"),
    path("invoices/<str:invoice_id>/load/<str:customer_id>/", invoices.load, name="invoice_load"),
]
