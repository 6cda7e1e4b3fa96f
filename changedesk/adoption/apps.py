"""The adoption app's start-up: its worker job (the review reminder) joins the worker through
the core's one seam (`changes.extensions`), as every app above the core does."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util

from django.apps import AppConfig

REVIEW_REMINDER_JOB = "adoption-review-due"


class AdoptionConfig(AppConfig):
    name = "changedesk.adoption"
    label = "adoption"
    verbose_name = "Bringing FITS into a school"

    def ready(self) -> None:
        from changedesk.adoption import checklist
        from changedesk.changes import extensions

        reminder = extensions.Job(REVIEW_REMINDER_JOB, checklist.remind_due_reviews)
        # An `adoption/rfc.py` with an EXTENSION (what the app adds to the RFC), if one is
        # written, is registered with the reminder added to its jobs.
        base = extensions.Extension(app="adoption")
        if importlib.util.find_spec("changedesk.adoption.rfc") is not None:
            found = getattr(importlib.import_module("changedesk.adoption.rfc"), "EXTENSION", None)
            if isinstance(found, extensions.Extension):
                base = found
        extensions.register(dataclasses.replace(base, jobs=(*base.jobs, reminder)))
