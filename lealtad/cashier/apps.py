from django.apps import AppConfig


class CashierConfig(AppConfig):
    name = "lealtad.cashier"
    label = "cashier"
