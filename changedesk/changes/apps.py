from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "changedesk.changes"
    label = "changes"
    verbose_name = "Requests for change"

    def ready(self) -> None:
        # The daily anchors of the history chains (changes/anchors.py), run by the worker.
        from changedesk.changes import anchors, extensions
        from changedesk.configuration import jobs as item_imports

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
