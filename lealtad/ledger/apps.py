from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "lealtad.ledger"
    label = "ledger"
