"""`changedesk verify-history`: every RFC's hash chain, checked, and against the anchors."""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser, OutputWrapper

from changedesk.changes.anchors import AnchorMismatch, Anchors, anchors_path
from changedesk.changes.history import verify_history
from changedesk.changes.models import history_key_id
from changedesk.lib.management import base


def plain(text: str) -> str:
    """Not in the colour of an error, as Django writes on a terminal's standard error."""
    return text


class ProgressLine:
    """The events checked so far, of how many, and how fast, on standard error: rewritten
    in place on a terminal (every half second), else a line every five seconds."""

    def __init__(self, out: OutputWrapper, terminal: bool) -> None:
        self.out = out
        self.terminal = terminal
        self.every = 0.5 if terminal else 5.0
        self.started = time.monotonic()
        self.shown_at = -self.every
        self.shown = -1
        self.width = 0

    def __call__(self, checked: int, total: int) -> None:
        now = time.monotonic()
        done = checked >= total
        if checked == self.shown or (not done and now - self.shown_at < self.every):
            return
        self.shown_at, self.shown = now, checked
        rate = checked / max(now - self.started, 1e-6)
        share = min(100, checked * 100 // total) if total else 100
        line = f"checked {checked:,} of {total:,} events ({share}%), {rate:,.0f} events/s"
        if self.terminal:
            self.out.write("\r" + line.ljust(self.width), style_func=plain, ending="")
            self.width = len(line)
            self.out.flush()
        else:
            self.out.write(line, style_func=plain)

    def end(self) -> None:
        if self.terminal and self.width:
            self.out.write("", style_func=plain)


class Command(base.Command):
    help = "check every RFC's hash-chained history for tampering"
    description = (
        "Check every RFC's history chain (keyed with the history key), and every head the "
        "anchors file in the data directory holds. Exits 1 and names the first broken link "
        "of each RFC whose history was altered in the database, and the RFCs whose events "
        "changed since a day's anchor. On PostgreSQL the RFCs are checked in parallel."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--jobs",
            type=int,
            default=os.cpu_count() or 1,
            metavar="N",
            help="worker processes on PostgreSQL (default: the number of CPUs, here %(default)s)",
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="show the events checked and the rate on standard error (the default when "
            "it is a terminal)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = int(options["jobs"])
        if jobs < 1:
            raise CommandError("--jobs must be at least 1", returncode=2)
        terminal = self.stderr.isatty()
        line = ProgressLine(self.stderr, terminal) if options["progress"] or terminal else None
        anchors = Anchors.read()
        try:
            verified = verify_history(anchors=anchors, jobs=jobs, progress=line)
        finally:
            if line is not None:
                line.end()
        problems, changes = verified.problems, verified.changes
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
        self.stdout.write(f"OK: {verified.events} events in {changes} RFCs")
        if anchors.lines:
            latest = max(anchors.days.values())
            self.stdout.write(
                f"OK: matches {anchors.lines} anchors of {len(anchors.days)} schools "
                f"in {anchors_path()}, the latest of {latest}"
            )
        if anchors.unreadable:
            self.stdout.write(f"NOTE {anchors.unreadable} lines of the anchors file unreadable")
