"""At trust scale (issue 9): the change log sorted by title, school by school; and the
schedule's queries: open RFCs' windows in a school (the conflict check, the next safe
slot), and, on PostgreSQL, the few long windows and the statistics that tell the planner
how few they are (see changedesk/schedule/windows.py, whose LONG_WINDOW, 7 days, is this
index's condition)."""

from typing import Any

from django.conf import settings
from django.db import migrations, models

LONG_WINDOWS = (
    "CREATE INDEX change_long_window ON changes_change (school_id, planned_end) "
    "WHERE (planned_end - planned_start) > '7 days'::interval",
    "CREATE STATISTICS change_window_length ON (planned_end - planned_start) FROM changes_change",
    "ANALYZE changes_change",
)


def long_windows(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in LONG_WINDOWS:
            schema_editor.execute(statement)


def no_long_windows(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP STATISTICS IF EXISTS change_window_length")
        schema_editor.execute("DROP INDEX IF EXISTS change_long_window")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_sign_in_counter"),
        ("changes", "0005_scale"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="change",
            index=models.Index(
                condition=models.Q(
                    state__in=[
                        "approved",
                        "awaiting_final_approval",
                        "awaiting_initial_approval",
                        "awaiting_peer_review",
                        "draft",
                        "implemented",
                        "planning",
                    ]
                ),
                fields=["school", "planned_start", "planned_end"],
                name="change_open_window",
            ),
        ),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(fields=["school", "title", "id"], name="change_school_title"),
        ),
        migrations.RunPython(long_windows, no_long_windows, elidable=False),
    ]
