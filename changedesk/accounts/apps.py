from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "changedesk.accounts"
    label = "accounts"
    verbose_name = "Schools and people"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from changedesk.accounts.languages import on_sign_in
        from changedesk.lib import i18n

        i18n.install()

        user_logged_in.connect(on_sign_in, dispatch_uid="changedesk.accounts.language")
