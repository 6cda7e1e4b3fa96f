"""The spreadsheets a school already keeps: importing an existing change log (CSV or XLSX),
the change log as XLSX, and everything of a school as one archive."""

from django.apps import AppConfig


class SpreadsheetsConfig(AppConfig):
    name = "changedesk.spreadsheets"
    label = "spreadsheets"
    verbose_name = "Spreadsheets"

    def ready(self) -> None:
        # The one place the spreadsheets app plugs into the RFC: see spreadsheets/rfc.py.
        from changedesk.changes import extensions
        from changedesk.spreadsheets.rfc import EXTENSION

        extensions.register(EXTENSION)
