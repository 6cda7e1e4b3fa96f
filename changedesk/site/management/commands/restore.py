"""`changedesk restore FILE`: a backup, loaded into an empty database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from changedesk.lib.management import base
from changedesk.site.backup import restore


class Command(base.Command):
    help = "restore a backup into an empty database"
    description = (
        "Load FILE, made by `changedesk backup` on SQLite or PostgreSQL, into the database "
        "DATABASE_URL names, which must be empty: a new database is migrated first; one that "
        "holds anything is refused. The backup must be of this changedesk's migrations. "
        "It is loaded in one transaction: all of it, or (on any error) nothing. Primary keys "
        "are kept, so links and the RFCs' history chains are as they were (check them with "
        "`changedesk verify-history`). Everyone signs in again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", type=Path, help="the backup to load")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        verbose = options["verbosity"] >= 2
        summary = restore(path, progress=self._table if verbose else None)
        counts, header = summary.counts, summary.header
        self.stdout.write(
            f"Restored {summary.rows} rows of {summary.tables} tables from {path} "
            f"({counts.get('changes.change', 0)} RFCs, "
            f"{counts.get('changes.changeevent', 0)} history events), backed up "
            f"{header.get('created_at', '?')} from {header.get('database', '?')} by changedesk "
            f"{header.get('changedesk', '?')}."
        )

    def _table(self, name: str, rows: int) -> None:
        self.stdout.write(f"  {name}: {rows}")
