"""`changedesk token USERNAME`: the person's API token, made on first use."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from rest_framework.authtoken.models import Token

from changedesk.accounts.models import User
from changedesk.lib.management import base


class Command(base.Command):
    help = "print an API token for a user (made if needed)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user called {username!r}")
        if not user.is_active:
            raise CommandError(f"{user.username} is deactivated; a token would not work")
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
