"""`changedesk export-evidence REF [--school SLUG]`: one RFC's history as evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from changedesk.changes import evidence
from changedesk.changes.models import Change
from changedesk.lib.management import base


class Command(base.Command):
    help = "write one RFC's history, hashes and anchors as evidence for an auditor (JSON)"
    description = (
        "Write one RFC's events, their hashes, the anchors covering them and a seal as a "
        "JSON document on standard output (see the README's Security section for how an "
        "auditor checks it). With --check FILE, check an exported file here instead: its "
        "chain, its anchors, each event's keyed hash and the seal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", nargs="?", help="RFC-0007, or greenfield:RFC-0007")
        parser.add_argument("--school", help="the school's slug (when REF does not name it)")
        parser.add_argument("--check", metavar="FILE", help="check an exported file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            self._check(Path(options["check"]))
            return
        reference: str | None = options["reference"]
        if not reference:
            raise CommandError(
                "give an RFC's REF (see `changedesk export-evidence --help`)", returncode=2
            )
        found = Change.objects.by_reference(reference).select_related("school")
        if options["school"]:
            found = found.filter(school__slug=options["school"])
        changes = list(found[:2])
        if not changes:
            raise CommandError(
                f"no RFC {reference}" + (f" at {options['school']}" if options["school"] else "")
            )
        if len(changes) > 1:
            raise CommandError(f"{reference} is in several schools: name one with --school")
        document = evidence.export(changes[0])
        self.stdout.write(json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True))

    def _check(self, path: Path) -> None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        problems = evidence.check(document, with_key=True)
        if problems:
            for problem in problems:
                self.stdout.write(f"BROKEN {problem}")
            raise CommandError(f"{path}: {problems[0]}")
        rfc = document["rfc"]
        self.stdout.write(
            f"OK: {rfc['reference']} at {document['school']['name']}, "
            f"{len(document['events'])} events, {len(document['anchors'])} anchors, sealed"
        )
