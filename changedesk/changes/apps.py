from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_tallies(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from changedesk.changes import tally

    tally.install(using)


class ChangesConfig(AppConfig):
    name = "changedesk.changes"
    label = "changes"
    verbose_name = "Requests for change"

    def ready(self) -> None:
        # The daily anchors of the history chains (changes/anchors.py), run by the worker.
        from changedesk.changes import anchors, extensions, tally
        from changedesk.configuration import jobs as item_imports

        # The tallies' triggers, after every migrate (changes/tally.py); folded by the worker.
        post_migrate.connect(_install_tallies, sender=self, dispatch_uid="changes.tally")
        extensions.register(
            extensions.Extension(
                app="changes.tally", jobs=(extensions.Job(tally.JOB_NAME, tally.run),)
            )
        )

        extensions.register(
            extensions.Extension(
                app="changes.history",
                jobs=(extensions.Job(anchors.JOB_NAME, anchors.run),),
            )
        )
        # The items' CSV imports (configuration/jobs.py): `configuration` sits beside
        # `notifications`, below the RFC, and cannot reach the worker itself.
        extensions.register(
            extensions.Extension(
                app="configuration.imports",
                jobs=(extensions.Job(item_imports.JOB_NAME, item_imports.run),),
            )
        )
