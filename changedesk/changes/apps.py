from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "changedesk.changes"
    label = "changes"
    verbose_name = "Requests for change"

    def ready(self) -> None:
        # The daily anchors of the history chains (changes/anchors.py), run by the worker.
        from changedesk.changes import anchors, extensions

        extensions.register(
            extensions.Extension(
                app="changes.history",
                jobs=(extensions.Job(anchors.JOB_NAME, anchors.run),),
            )
        )
