"""The base of changedesk's own management commands (`changedesk worker`, `school`, `user` …).

Scripts rely on how they end, so every one of them ends the same way:

- what it did on standard output;
- an error as one line on standard error, `changedesk: error: …` (with `--traceback`, an
  unexpected error shows its traceback instead);
- the exit status: 0 done, 1 refused or failed (`CommandError`), 2 a usage mistake (a
  missing or bad argument), 130 interrupted.

Django's own commands print a usage mistake as the usage and a `CommandError` as
`CommandError: …`, and let any other exception out as a traceback; these do not.
"""

from __future__ import annotations

import os
import sys
from argparse import SUPPRESS
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
    handle_default_options,
)
from django.db import DatabaseError, connections

from changedesk.lib.errors import WorkflowError

if TYPE_CHECKING:
    from argparse import _SubParsersAction

PROG = "changedesk"


class UsageParser(CommandParser):
    """Django's parser, but a usage mistake raises `CommandError` (exit status 2) with a
    pointer to the help, instead of printing the usage. Its sub-command parsers are of the
    same class (`CommandParser.add_subparsers` makes them so)."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see `{self.prog} --help`)", returncode=2)


class Command(BaseCommand):
    """A changedesk command: `help` is its one line in `changedesk --help`, `description`
    (if any) says more in `changedesk COMMAND --help`."""

    description = ""
    # They start often, from scripts and supervisors; `changedesk check` runs the checks.
    requires_system_checks = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """Django's `create_parser`, with a `UsageParser` (Django's makes a plain
        `CommandParser`, and has no hook for another class)."""
        kwargs.setdefault("formatter_class", DjangoHelpFormatter)
        parser = UsageParser(
            prog=f"{os.path.basename(prog_name)} {subcommand}",
            description=self.description or self.help or None,
            **kwargs,
        )
        # Django's options common to every command, less --version (Django's own) and
        # --skip-checks (these run none).
        self.add_base_argument(
            parser,
            "-v",
            "--verbosity",
            default=1,
            type=int,
            choices=[0, 1, 2, 3],
            help="verbosity level: 0 minimal, 1 normal, 2 verbose, 3 very verbose",
        )
        self.add_base_argument(
            parser, "--settings", help="the settings module (default: DJANGO_SETTINGS_MODULE)"
        )
        self.add_base_argument(parser, "--pythonpath", help="a directory to add to sys.path")
        self.add_base_argument(
            parser, "--traceback", action="store_true", help="show the full error"
        )
        self.add_base_argument(
            parser, "--no-color", action="store_true", help="do not colour the output"
        )
        self.add_base_argument(
            parser, "--force-color", action="store_true", help="colour the output"
        )
        self.add_arguments(parser)
        return parser

    def add_subcommand(
        self, commands: _SubParsersAction[CommandParser], name: str, **kwargs: Any
    ) -> CommandParser:
        """The parser of a sub-command (`school add`); it takes --traceback too."""
        parser = commands.add_parser(name, formatter_class=DjangoHelpFormatter, **kwargs)
        parser.add_argument(
            "--traceback", action="store_true", default=SUPPRESS, help="show the full error"
        )
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        """Django's `run_from_argv`, ending as the module docstring says."""
        traceback = False
        try:
            options = self.create_parser(argv[0], argv[1]).parse_args(argv[2:])
            traceback = options.traceback
            handle_default_options(options)
            arguments = vars(options)
            self.execute(*arguments.pop("args", ()), **arguments)
        except CommandError as exc:
            self.stderr.write(f"{PROG}: error: {exc}")
            sys.exit(exc.returncode)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:
            if traceback:
                raise
            self.stderr.write(f"{PROG}: error: {describe(exc)}")
            sys.exit(1)
        finally:
            close_connections()


def describe(exc: Exception) -> str:
    """An error on one line; for one nobody planned for, its kind and its first line."""
    if isinstance(exc, CommandError):
        return str(exc)
    if isinstance(exc, ValidationError):
        return validation_message(exc)
    if isinstance(exc, WorkflowError):
        return exc.message
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, ImproperlyConfigured):
        return f"configuration: {first}"
    if isinstance(exc, DatabaseError):
        return f"database: {first} (is it migrated? try `{PROG} migrate`)"
    return f"{type(exc).__name__}: {first} (run again with --traceback for details)"


def validation_message(exc: ValidationError) -> str:
    """A `ValidationError` on one line: `field: message; other: message`."""
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for name, messages in exc.message_dict.items():
        text = " ".join(messages)
        parts.append(text if name == NON_FIELD_ERRORS else f"{name}: {text}")
    return "; ".join(parts)


def close_connections() -> None:
    """Close the database connections, as Django does after a command, but not one inside a
    caller's transaction (a command run in-process, as the tests do)."""
    try:
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()
    except ImproperlyConfigured:
        pass


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """`rows` (a header first) as lines of left-aligned columns, for a command's listing."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
