"""`changedesk worker`: sends the outbox (see `changedesk.notifications.worker`)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandParser

from changedesk.lib.management import base
from changedesk.notifications.worker import run


class Command(base.Command):
    help = "send the queued e-mail, retrying while the mail server is down"
    description = "Send the outbox until stopped (SIGTERM or Ctrl-C)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--batch", type=_positive, default=50, help="messages per pass (default 50)"
        )
        parser.add_argument(
            "--interval", type=float, default=5, help="seconds between passes (default 5)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sent, failed = run(
            once=options["once"], interval=options["interval"], batch=options["batch"]
        )
        self.stdout.write(f"Sent {sent}, failed {failed}.")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number
