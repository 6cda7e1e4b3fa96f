"""The `changedesk` command: Django's command line, with changedesk's settings.

    changedesk                    changedesk's own commands (also `changedesk --help`)
    changedesk help               every command, Django's and changedesk's, by app
    changedesk COMMAND --help     one command's options (also `changedesk help COMMAND`)

changedesk's own commands are management commands in its apps (`serve`, `demo`, `backup`,
`restore`: site; `school`, `trust`, `user`, `token`, `unlock`: accounts; `verify-history`: changes;
`worker`: notifications),
built on `changedesk.lib.management.base.Command`, which keeps their output and exit
statuses the contract scripts rely on. An unexpected error in Django's commands is one
line on stderr too (`--traceback` shows it whole).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from django.core.management.base import CommandError

from changedesk.lib.management.base import PROG, describe

SETTINGS = "changedesk.settings"


def main(argv: Sequence[str] | None = None) -> int:
    """Run `changedesk ARGS`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(overview())
        return 0
    try:
        _setup(args)
        _run(args)
    except CommandError as exc:
        _error(str(exc))
        return exc.returncode
    except SystemExit as exc:  # a command's exit status, or --help
        return _exit_status(exc.code)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if "--traceback" in args:
            raise
        _error(describe(exc))
        return 1
    return 0


def overview() -> str:
    """What `changedesk --help` prints: changedesk's own commands, and where Django's are."""
    try:
        _setup([])
        commands = own_commands()
    except Exception as exc:  # the help still helps when the settings do not load
        listing = [f"  (listed once the settings load: {describe(exc)})"]
    else:
        width = max(map(len, commands))
        listing = [f"  {name:<{width}}  {text}" for name, text in sorted(commands.items())]
    return "\n".join(
        [
            f"usage: {PROG} COMMAND [OPTIONS]",
            "",
            "FITS change management for schools.",
            "",
            "commands:",
            *listing,
            "",
            f"Every Django management command works too: {PROG} migrate, {PROG} createsuperuser,",
            f"{PROG} check --deploy, … `{PROG} help` lists them all, ours included;",
            f"`{PROG} help COMMAND` or `{PROG} COMMAND --help` explains one.",
            "",
        ]
    )


def own_commands() -> dict[str, str]:
    """changedesk's management commands and their one-line help."""
    from django.core.management import get_commands, load_command_class

    return {
        name: load_command_class(app, name).help
        for name, app in get_commands().items()
        if app.startswith("changedesk.")
    }


def _setup(args: list[str]) -> None:
    """Start Django once, honouring --settings and --pythonpath as `django-admin` does (the
    tests have already started it)."""
    from django.apps import apps

    if apps.ready:
        return
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management.base import CommandParser, handle_default_options

    parser = CommandParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--settings")
    parser.add_argument("--pythonpath")
    try:
        options, _ = parser.parse_known_args(args[1:])
        handle_default_options(options)
    except CommandError:
        pass  # the command's own parser reports the mistake
    try:
        django.setup()
    except ImproperlyConfigured as exc:
        raise CommandError(f"configuration: {exc}") from None


def _run(args: list[str]) -> None:
    from django.core.management import ManagementUtility, get_commands

    name = args[0]
    utility = ManagementUtility([PROG, *args])
    if name in ("help", "version", "--version"):
        utility.execute()
    elif name in get_commands():
        # What `utility.execute()` ends with; Django is already set up.
        utility.fetch_command(name).run_from_argv(utility.argv)
    else:
        raise CommandError(f"unknown command {name!r} (see `{PROG} --help` and `{PROG} help`)")


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
