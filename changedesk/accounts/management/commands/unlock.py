"""`changedesk unlock USERNAME [--address ADDRESS]`: lift a sign-in pause."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from changedesk.accounts import throttle
from changedesk.lib.management import base


class Command(base.Command):
    help = "let a person (or an address) try signing in again after too many failures"
    description = (
        "Lift the pause on signing in that too many failed attempts put on a username, "
        "and forget its failures. With --address, lift the pause on a client address too "
        "(after a flood of failures from a school's network)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help="the username as they type it")
        parser.add_argument("--address", help="a client address, e.g. 203.0.113.7")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str | None = options["username"]
        address: str | None = options["address"]
        if not username and not address:
            raise CommandError(
                "give a USERNAME, or --address (see `changedesk unlock --help`)", returncode=2
            )
        names = " and ".join(n for n in (username, address) if n)
        if throttle.unlock(username, address):
            self.stdout.write(f"{names} may try signing in again now.")
        else:
            self.stdout.write(f"{names} had no failed sign-ins counted; nothing to do.")
