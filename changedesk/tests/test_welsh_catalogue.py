"""The Welsh catalogue is complete: every message marked for translation in the code and
templates has a Welsh translation, none fuzzy, and the compiled django.mo is django.po's.

Extracting the messages needs GNU gettext (xgettext, msgmerge), as Django's makemessages
does: without it the completeness test is skipped, unless CHANGEDESK_REQUIRE_GETTEXT=1 (as
.ci/run sets), when it fails instead. The .mo check needs nothing but Python.
"""

from __future__ import annotations

import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from changedesk.lib.labels import LABELS

PACKAGE = Path(settings.BASE_DIR)
CATALOGUE = PACKAGE / "locale" / "cy" / "LC_MESSAGES"
# What makemessages leaves out, as README ("Welsh") runs it: tests and migrations.
IGNORED = ("tests", "migrations", "__pycache__", "locale", "static", "node_modules")
FIX = (
    "cd changedesk && django-admin makemessages --settings=changedesk.settings -l cy "
    '--no-obsolete --add-location=file --ignore "tests/*" --ignore "*/tests/*" '
    '--ignore "*/migrations/*", translate, then django-admin compilemessages '
    "--settings=changedesk.settings -l cy (README, Welsh)"
)


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False

    @property
    def name(self) -> str:
        return f"{self.msgctxt}|{self.msgid}" if self.msgctxt else self.msgid


LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) (".*")$')


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header left out)."""
    entries: list[Entry] = []
    current: dict[str, object] = {}
    last: tuple[str, int] = ("", 0)

    def finish() -> None:
        if "msgid" in current and current["msgid"] != "":
            entries.append(
                Entry(
                    msgid=str(current["msgid"]),
                    msgctxt=current.get("msgctxt"),  # type: ignore[arg-type]
                    msgid_plural=current.get("msgid_plural"),  # type: ignore[arg-type]
                    msgstr=dict(current.get("msgstr", {})),  # type: ignore[call-overload]
                    fuzzy=bool(current.get("fuzzy")),
                )
            )
        current.clear()

    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            current["fuzzy"] = "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif match := LINE.match(line):
            key, index, value = match.group(1), match.group(2), json.loads(match.group(3))
            if key.startswith("msgstr"):
                number = int(index) if index is not None else 0
                current.setdefault("msgstr", {})[number] = value  # type: ignore[index]
                last = ("msgstr", number)
            else:
                current[key] = value
                last = (key, 0)
        elif line.startswith('"'):
            value = json.loads(line)
            if last[0] == "msgstr":
                current["msgstr"][last[1]] += value  # type: ignore[index]
            else:
                current[last[0]] = str(current[last[0]]) + value
    return entries


def needs_gettext() -> None:
    missing = [tool for tool in ("xgettext", "msgmerge", "msguniq") if not shutil.which(tool)]
    if missing:
        if os.environ.get("CHANGEDESK_REQUIRE_GETTEXT") == "1":
            pytest.fail(f"needs GNU gettext ({', '.join(missing)} missing): apt install gettext")
        pytest.skip(f"needs GNU gettext ({', '.join(missing)}): apt install gettext")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    """The committed catalogue merged with the messages extracted from the code now, by
    Django's makemessages run on a copy of the package (so the tree is left as it is)."""
    needs_gettext()
    root = tmp_path_factory.mktemp("messages")
    copy = root / "changedesk"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns(*IGNORED))
    (copy / "locale" / "cy" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(CATALOGUE / "django.po", copy / "locale" / "cy" / "LC_MESSAGES" / "django.po")
    # The settings, with the catalogue's home in the copy: makemessages writes there.
    (root / "copy_settings.py").write_text(
        f"from changedesk.settings import *  # noqa\nLOCALE_PATHS = [{str(copy / 'locale')!r}]\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "copy_settings",
        "PYTHONPATH": os.pathsep.join([str(root), str(PACKAGE.parent)]),
    }
    run = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "cy", "--no-obsolete",
         "--ignore", "tests/*", "--ignore", "*/tests/*", "--ignore", "*/migrations/*"],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return read_po(copy / "locale" / "cy" / "LC_MESSAGES" / "django.po")


def test_every_message_has_a_welsh_translation(extracted):
    untranslated = [
        entry.name
        for entry in extracted
        if not entry.msgstr or not all(text.strip() for text in entry.msgstr.values())
    ]
    assert not untranslated, f"Not translated into Welsh: {untranslated}. {FIX}"


def test_no_welsh_translation_is_fuzzy(extracted):
    fuzzy = [entry.name for entry in extracted if entry.fuzzy]
    assert not fuzzy, f"Fuzzy (a guess by msgmerge, not used): {fuzzy}. Check them. {FIX}"


def test_the_catalogue_holds_no_message_the_code_has_dropped(extracted):
    """The committed django.po is exactly what makemessages makes of the code now."""
    now = {(entry.msgctxt, entry.msgid) for entry in extracted}
    committed = {(entry.msgctxt, entry.msgid) for entry in read_po(CATALOGUE / "django.po")}
    assert committed == now, f"Out of date: {sorted(committed ^ now, key=str)}. {FIX}"


def test_the_compiled_catalogue_is_the_po_files():
    with (CATALOGUE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in read_po(CATALOGUE / "django.po"):
        if entry.fuzzy:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural is None:
            expected[key] = entry.msgstr.get(0, "")
        else:
            expected.update({(key, n): text for n, text in entry.msgstr.items()})
    compiled_entries = {key: text for key, text in catalogue.items() if key != ""}
    assert compiled_entries == expected, (
        "locale/cy/LC_MESSAGES/django.mo is stale: run `cd changedesk && django-admin "
        "compilemessages --settings=changedesk.settings -l cy` and commit django.mo"
    )


def test_the_welsh_plural_forms_are_djangos():
    """Django's own Welsh catalogue's formula: two formulas would split the catalogues."""
    header = (CATALOGUE / "django.po").read_text(encoding="utf-8")
    assert (
        '"Plural-Forms: nplurals=4; plural=(n==1) ? 0 : (n==2) ? 1 : (n != 8 && n != "\n'
        '"11) ? 2 : 3;\\n"'
    ) in header


def test_the_labels_other_apps_hold_are_all_listed():
    """lib/labels.py follows the labels it lists for translation (see its docstring)."""
    from changedesk.accounts.choices import Role, TrustRole
    from changedesk.changes import queries
    from changedesk.changes.choices import Action, ChangeType, EventKind, Outcome, State
    from changedesk.communication.choices import NoticeKind, NoticeStatus

    sources = [State, Action, EventKind, Outcome, ChangeType, Role, TrustRole]
    labels = {str(label) for choices in sources for label in choices.labels}
    labels |= {str(label) for choices in (NoticeKind, NoticeStatus) for label in choices.labels}
    for kind in [*queries.SECTIONS.values(), queries.WAITING]:
        labels |= {text for text in (kind.title, kind.hint, kind.note) if text}
    workflow = (PACKAGE / "changes" / "workflow.py").read_text()
    labels |= set(re.findall(r'task="([^"]*)"', workflow))
    missing = sorted(labels - set(LABELS))
    assert not missing, f"Add these to changedesk/lib/labels.py and translate them: {missing}"
