"""On SQLite, the few long windows in a partial index of their own, so that the schedule's
lower bound on `planned_start` is one range (see changedesk/schedule/windows.py, whose
LONG_WINDOW, 7 days = 604,800 seconds, is this index's condition, written as `since`
writes it). PostgreSQL has its own (0006). Django does not know it: a later migration
that rebuilds the table on SQLite drops it and must create it again."""

from typing import Any

from django.db import migrations

LONG_WINDOW = (
    "CREATE INDEX change_long_window ON changes_change (planned_end, planned_start) "
    "WHERE CAST(strftime('%s', planned_end) AS INTEGER) - "
    "CAST(strftime('%s', planned_start) AS INTEGER) >= 604800"
)


def long_window(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(LONG_WINDOW, params=None)


def no_long_window(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX IF EXISTS change_long_window")


class Migration(migrations.Migration):
    dependencies = [("changes", "0012_covering_work_indexes")]

    operations = [migrations.RunPython(long_window, no_long_window, elidable=False)]
