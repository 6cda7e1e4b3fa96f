from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "changedesk.accounts"
    label = "accounts"
    verbose_name = "Schools and people"
