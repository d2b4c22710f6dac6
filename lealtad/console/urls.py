from django.urls import include, path

from lealtad.console import api_keys, coin_promotions, customers, ratings, views, webhooks

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("program/", views.program, name="program"),
    path("staff/", views.staff, name="staff"),
    path("staff/<str:user_id>/password/", views.reset_password, name="reset_password"),
    path("staff/<str:user_id>/active/", views.toggle_active, name="toggle_active"),
    path("approvals/", views.approvals, name="approvals"),
    path("api-keys/", api_keys.api_keys, name="api_keys"),
    # Issue 16: the audit trail (lealtad.audit), the admin's and the operator's.
    path("audit/", include("lealtad.audit.urls")),
    path("api-keys/new/", api_keys.api_key_new, name="api_key_new"),
    path("api-keys/<str:key_id>/revoke/", api_keys.api_key_revoke, name="api_key_revoke"),
    path("webhooks/", webhooks.webhooks, name="webhooks"),
    path("webhooks/new/", webhooks.webhook_new, name="webhook_new"),
    path("webhooks/<str:endpoint_id>/", webhooks.webhook_detail, name="webhook"),
    path("webhooks/<str:endpoint_id>/rotate/", webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<str:endpoint_id>/delete/", webhooks.webhook_delete, name="webhook_delete"),
    path("webhooks/<str:endpoint_id>/enable/", webhooks.webhook_enable, name="webhook_enable"),
    path("webhooks/<str:endpoint_id>/disable/", webhooks.webhook_disable, name="webhook_disable"),
    path("webhooks/<str:endpoint_id>/test/", webhooks.webhook_test, name="webhook_test"),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/redeliver/",
        webhooks.webhook_redeliver,
        name="webhook_redeliver",
    ),
    path("goals/", views.goals_page, name="goals"),
    path("branches/", views.branches, name="branches"),
    path("branches/new/", views.branch_edit, name="branch_new"),
    path("branches/<str:branch_id>/", views.branch_edit, name="branch_edit"),
    path("prizes/", views.rewards, name="rewards"),
    path("prizes/new/", views.reward_edit, name="reward_new"),
    path("prizes/<str:reward_id>/", views.reward_edit, name="reward_edit"),
    path("promotions/", views.promotions, name="promotions"),
    path("promotions/new/", views.promotion_edit, name="promotion_new"),
    path("promotions/<str:promotion_id>/", views.promotion_edit, name="promotion_edit"),
    path("coin-promotions/", coin_promotions.coin_promotions, name="coin_promotions"),
    path("coin-promotions/new/", coin_promotions.coin_promotion_edit, name="coin_promotion_new"),
    path(
        "coin-promotions/<str:promotion_id>/",
        coin_promotions.coin_promotion_edit,
        name="coin_promotion_edit",
    ),
    path(
        "coin-promotions/<str:promotion_id>/deactivate/",
        coin_promotions.coin_promotion_deactivate,
        name="coin_promotion_deactivate",
    ),
    path("gifts/", views.gifts, name="gifts"),
    path("gifts/new/", views.gift_edit, name="gift_new"),
    path("gifts/<str:gift_id>/", views.gift_edit, name="gift_edit"),
    path("categories/", views.categories, name="categories"),
    path("categories/new/", views.category_edit, name="category_new"),
    path("categories/<str:category_id>/", views.category_edit, name="category_edit"),
    path("categories/<str:category_id>/rules/", views.rules, name="category_rules"),
    path("rules/", views.rules, name="rules"),
    path("approvals/<str:transaction_id>/reject/", views.reject, name="reject"),
    # A7: purchase claims sent from the customer's app (lealtad.claims).
    path("claims/", include("lealtad.claims.console_urls")),
    path("", include("lealtad.console.urls_reports")),
    path("ratings/", ratings.inbox_list, name="ratings"),
    path("ratings/auto-reply/", ratings.auto_reply, name="auto_reply"),
    path("ratings/auto-reply/toggle/", ratings.auto_reply_toggle, name="auto_reply_toggle"),
    path("ratings/<str:rating_id>/", ratings.rating_detail, name="rating"),
    path("ratings/<str:rating_id>/reply/", ratings.rating_reply, name="rating_reply"),
    path("customers/", customers.customer_list, name="customers"),
    path("customers/new/", customers.customer_new, name="customer_new"),
    path("customers/join/", customers.customer_join, name="customer_join"),
    path("customers/blocked/", customers.blocked, name="blocked"),
    path("customers/<str:customer_id>/", customers.customer_detail, name="customer"),
    path(
        "customers/<str:customer_id>/category/",
        customers.customer_category,
        name="customer_category",
    ),
    path("customers/<str:customer_id>/card/", customers.customer_card, name="customer_card"),
    path(
        "customers/<str:customer_id>/contact/", customers.customer_contact, name="customer_contact"
    ),
    path("customers/<str:customer_id>/block/", customers.customer_block, name="customer_block"),
    path(
        "customers/<str:customer_id>/unblock/", customers.customer_unblock, name="customer_unblock"
    ),
    path(
        "customers/<str:customer_id>/consent/", customers.customer_consent, name="customer_consent"
    ),
    path(
        "customers/<str:customer_id>/export.<str:fmt>",
        customers.customer_export,
        name="customer_export",
    ),
    path(
        "customers/<str:customer_id>/reverse/<str:transaction_id>/",
        customers.reverse_movement,
        name="reverse",
    ),
]
