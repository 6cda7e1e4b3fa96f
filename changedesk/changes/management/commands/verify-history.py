"""`changedesk verify-history`: every RFC's hash chain, checked, and against the anchors."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from changedesk.changes.anchors import AnchorMismatch, Anchors, anchors_path
from changedesk.changes.history import verify_all
from changedesk.changes.models import Change, ChangeEvent, history_key_id
from changedesk.lib.management import base


class Command(base.Command):
    help = "check every RFC's hash-chained history for tampering"
    description = (
        "Check every RFC's history chain (keyed with the history key), and every head the "
        "anchors file in the data directory holds. Exits 1 and names the first broken link "
        "of each RFC whose history was altered in the database, and the RFCs whose events "
        "changed since a day's anchor."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        anchors = Anchors.read()
        problems = list(verify_all(anchors=anchors))
        changes = Change.objects.count()
        if problems:
            for problem in problems:
                word = "CHANGED" if isinstance(problem, AnchorMismatch) else "BROKEN"
                self.stdout.write(f"{word} {problem}")
            other_keys = anchors.keys - {history_key_id()}
            if other_keys:
                self.stdout.write(
                    "NOTE the anchors were written with another history key: was HISTORY_KEY "
                    "(or SECRET_KEY, when HISTORY_KEY is not set) changed?"
                )
            altered = len({p.change.pk if p.change else str(p) for p in problems})
            first = f"; first: {problems[0]}" if len(problems) > 1 else f": {problems[0]}"
            raise CommandError(
                f"the history of {altered} of {changes} RFCs was altered in the database{first}"
            )
        self.stdout.write(f"OK: {ChangeEvent.objects.count()} events in {changes} RFCs")
        if anchors.lines:
            latest = max(anchors.days.values())
            self.stdout.write(
                f"OK: matches {anchors.lines} anchors of {len(anchors.days)} schools "
                f"in {anchors_path()}, the latest of {latest}"
            )
        if anchors.unreadable:
            self.stdout.write(f"NOTE {anchors.unreadable} lines of the anchors file unreadable")
