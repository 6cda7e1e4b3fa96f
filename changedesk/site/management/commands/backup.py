"""`changedesk backup FILE`: the whole database, as one consistent, portable file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from changedesk.lib.management import base
from changedesk.site.backup import backup


class Command(base.Command):
    help = "back up the whole database to a file"
    description = (
        "Write everything (schools, people, RFCs and their history, the catalogue, the "
        "calendar, notices, meetings, API tokens, the outbox …) to FILE, a gzip'd JSON lines "
        "file that `changedesk restore` loads into an empty database, SQLite or PostgreSQL. "
        "It is one consistent snapshot, taken while changedesk runs. Sessions and the cache "
        "are left out. FILE holds password hashes, API tokens and secret links: it is made "
        "readable by its owner only; keep it as safe as the database. An existing FILE is "
        "replaced once the new backup is complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", type=Path, help="the file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        verbose = options["verbosity"] >= 2
        summary = backup(path, progress=self._table if verbose else None)
        counts = summary.counts
        self.stdout.write(
            f"Backed up {summary.rows} rows of {summary.tables} tables to {path} "
            f"({counts.get('changes.change', 0)} RFCs, "
            f"{counts.get('changes.changeevent', 0)} history events)."
        )

    def _table(self, name: str, rows: int) -> None:
        self.stdout.write(f"  {name}: {rows}")
