"""The reports app: on start-up it registers the worker's job that freezes the report archive
(`archive.freeze_due`, through the RFC's seam `changes.extensions`, as every app's jobs are)
and the latest frozen report's section of the school's notice board (`board.py`)."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "changedesk.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # The worker freezes each period's report once it has ended: see reports/archive.py.
        from changedesk.changes import extensions
        from changedesk.changes.extensions import Extension, Job
        from changedesk.reports import archive

        extensions.register(
            Extension(app="reports", jobs=(Job(archive.JOB_NAME, archive.freeze_due),))
        )
        # The latest frozen report pinned to the notice board: see reports/board.py.
        from changedesk.communication.sections import register_section
        from changedesk.reports.board import SECTION

        register_section(SECTION)
