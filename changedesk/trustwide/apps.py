"""One change for many schools: a trust technician raises it once, for chosen schools or
all of the trust's, and each school gets its own RFC (a child) with its own approvers,
window, notice and outcome. The parent page shows where each stands and acts on many."""

from django.apps import AppConfig


class TrustwideConfig(AppConfig):
    name = "changedesk.trustwide"
    label = "trustwide"
    verbose_name = "Trust-wide changes"

    def ready(self) -> None:
        # The one place this app plugs into the RFC: see trustwide/rfc.py.
        from changedesk.changes import extensions
        from changedesk.trustwide.rfc import EXTENSION

        extensions.register(EXTENSION)
