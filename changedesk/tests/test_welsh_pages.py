"""Every main page of every app, in Welsh and in English, without a browser.

The pages are the phone test's (changedesk/tests/pages.py: the menu's pages and the
pages under them, on the demo school with what the demo leaves out, built once for the
module), and the main pages it does not visit, seen by Dana whose language is Welsh
(User.language = "cy"), a few by Tom who only reads, and the main forms sent with errors.
Each page must render (200, or its redirect), say `<html lang="cy">`, and, when it declares
its content translated (its `<main>` has no `lang="en-GB"`), show Welsh there: its UI text
(headings, labels, buttons, table headers, field errors) differs from the English
rendering, and none of it is a plain English UI word or a message the Welsh catalogue
translates. (User data, names and references are the same in both: only UI text counts,
and what an element marks English, e.g. a notice in the school's languages, does not.)
The same page in English must still render.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.utils import translation

from changedesk.accounts.models import User
from changedesk.changes.models import Change
from changedesk.tests import pages as phone  # the phone test's pages and scene

pytestmark = pytest.mark.django_db

# Pages that answer with a redirect rather than a page: (path template) -> where to.
REDIRECTS: dict[str, str] = {}

# Main pages the phone test does not visit (a whole app, standard changes, among them).
EXTRA_PAGES: list[tuple[str, str]] = [
    ("standard changes", "/standard-changes/"),
    ("new standard change form", "/standard-changes/new/"),
    ("standard change", "/standard-changes/{template}/"),
    ("standard change form", "/standard-changes/{template}/edit/"),
    ("new item form", "/items/new/"),
    ("new calendar period form", "/schedule/calendar/{school}/periods/new/"),
    ("new change window form", "/schedule/calendar/{school}/windows/new/"),
    ("teaching day form", "/schedule/calendar/{school}/teaching-day/"),
    ("notice board print", "/notices/{school}/print/"),
    ("new meeting form", "/committee/{school}/new/"),
    ("vendor form", "/patches/vendors/{vendor}/edit/"),
    ("new patch source form", "/patches/vendors/{vendor}/sources/new/"),
    ("build form", "/releases/builds/{build}/edit/"),
    ("new licence form", "/releases/licences/new/"),
    ("report print", "/reports/print/"),
    ("report settings", "/reports/settings/?school={school}"),
    ("training, for a school", "/getting-started/training/?school={school}"),
    ("training overview, for a school", "/getting-started/training/overview/?school={school}"),
    ("a role's guide", "/getting-started/training/originator/?school={school}"),
    ("a role's guide, choose the school", "/getting-started/training/originator/"),
    ("pilot, for a school", "/getting-started/pilot/?school={school}"),
    ("pilot answer", "/getting-started/pilot/answer/?school={school}"),
    ("worked example", "/getting-started/materials/examples/firewall-rule/"),
    ("password change", "/accounts/password/"),
]

# Pages not drawn by base.html (Swagger UI's page about the API, which is in English):
# they only have to render, in both languages.
NOT_BASE = {"/api/v1/docs/"}

# Only the RFC's originator may edit it (changes/services.py: can_edit), not Dana.
ORIGINATOR_ONLY = {"/changes/{rfc}/edit/"}

# What the other forms are sent: their usual required fields empty, and values none takes.
INVALID = {"title": "", "name": "", "product": "", "email": "not an address",
           "starts_at": "soon", "held_at": "soon", "kind": "zzz", "language": "zz"}  # fmt: skip

# The main forms, sent with a required field left empty: (name, path, data). (A form sent
# with nothing at all is unbound to some views: `Form(request.POST or None)`.)
EMPTY_FORMS: list[tuple[str, str, dict[str, str]]] = [
    ("new RFC form, errors", "/changes/new/", {"school": "{school}", "title": ""}),
    ("RFC edit form, errors", "/changes/{rfc}/edit/", {"planned_start": "soon"}),
    ("item form, errors", "/items/{item}/edit/", {"name": ""}),
    ("calendar period form, errors", "/schedule/calendar/{school}/periods/{period}/",
     {"name": ""}),
    ("new release form, errors", "/releases/new/", {"title": ""}),
    ("release form, errors", "/releases/{release}/edit/", {"title": ""}),
    ("new patch form, errors", "/patches/new/", {"title": ""}),
    ("patch form, errors", "/patches/{patch}/edit/", {"title": ""}),
] + [
    (name, path, INVALID)
    for name, path in [
        ("new calendar period form, errors", "/schedule/calendar/{school}/periods/new/"),
        ("new change window form, errors", "/schedule/calendar/{school}/windows/new/"),
        ("teaching day form, errors", "/schedule/calendar/{school}/teaching-day/"),
        ("calendar import, errors", "/schedule/calendar/{school}/import/"),
        ("trust calendar period form, errors", "/schedule/calendar/trust/{trust}/periods/new/"),
        ("new notice form, errors", "/notices/{school}/new/"),
        ("notice form, errors", "/notices/{school}/{general}/edit/"),
        ("notice settings, errors", "/notices/{school}/settings/"),
        ("new meeting form, errors", "/committee/{school}/new/"),
        ("meeting form, errors", "/committee/{school}/{meeting}/edit/"),
        ("committee settings, errors", "/committee/{school}/settings/"),
        ("add a member, errors", "/accounts/schools/{school}/members/add/"),
        ("delegations, errors", "/accounts/schools/{school}/delegations/"),
        ("school settings, errors", "/accounts/schools/{school}/settings/"),
        ("profile, errors", "/accounts/me/"),
        ("password change, errors", "/accounts/password/"),
        ("add a school to the trust, errors", "/accounts/trusts/{trust}/schools/add/"),
        ("give trust roles, errors", "/accounts/trusts/{trust}/people/add/"),
        ("items import, errors", "/items/import/{school}/"),
        ("change log import, errors", "/spreadsheets/import/{school}/"),
        ("raise a trust-wide change, errors", "/trust-changes/new/{trust}/"),
        ("standard change form, errors", "/standard-changes/{template}/edit/"),
        ("new vendor form, errors", "/patches/vendors/new/"),
        ("vendor form, errors", "/patches/vendors/{vendor}/edit/"),
        ("new patch source form, errors", "/patches/vendors/{vendor}/sources/new/"),
        ("patch deadlines, errors", "/patches/policy/{school}/"),
        ("patch import, errors", "/patches/import/"),
        ("new licence form, errors", "/releases/licences/new/"),
        ("licence form, errors", "/releases/licences/{licence}/edit/"),
        ("licence import, errors", "/releases/licences/import/"),
        ("new library piece form, errors", "/releases/library/new/"),
        ("library piece form, errors", "/releases/library/{software}/edit/"),
        ("new build form, errors", "/releases/builds/new/"),
        ("build form, errors", "/releases/builds/{build}/edit/"),
        ("start an installation, errors", "/releases/builds/{build}/install/"),
        ("report settings, errors", "/reports/settings/?school={school}"),
    ]
]  # fmt: skip

# UI words a translated page must not show as a heading, label, button, or column header.
ENGLISH_UI = {
    "Save",
    "Save changes",
    "Cancel",
    "Edit",
    "Delete",
    "Search",
    "Filter",
    "Back",
    "Title",
    "State",
    "Name",
    "School",
    "Description",
    "History",
    "Next",
    "Previous",
    "Notes",
    "Actions",
    "This field is required.",
}

_UI_TAGS = {"h1", "h2", "h3", "label", "legend", "button", "th", "caption", "summary", "dt"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}  # fmt: skip
_LITERAL = {"code", "kbd", "samp", "pre"}


class _Main(HTMLParser):
    """The <main> element's lang, and the text of its UI elements (in document order), less
    what an element inside it marks as English (a notice in the school's languages) and
    literal text (a CSV file's column names in <code>)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.main_lang: str | None = None
        self.in_main = False
        self.found_main = False
        self.stack: list[tuple[str, bool]] = []  # open elements in <main>: (tag, skipped?)
        self.current: list[list[str]] = []
        self.ui: list[str] = []
        self.h1: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main" and not self.found_main:
            self.found_main = self.in_main = True
            self.main_lang = dict(attrs).get("lang")
            return
        if not self.in_main or tag in _VOID:
            return
        lang = (dict(attrs).get("lang") or "").lower()
        self.stack.append((tag, lang.startswith("en") or tag in _LITERAL))
        classes = (dict(attrs).get("class") or "").split()
        if tag in _UI_TAGS or {"errorlist", "field-error"} & set(classes):
            self.current.append([tag])

    def handle_endtag(self, tag: str) -> None:
        if tag == "main" and self.in_main:
            self.in_main = False
            return
        if not self.in_main or tag in _VOID or tag not in [t for t, _ in self.stack]:
            return
        while self.stack:
            top, _ = self.stack.pop()
            if self.current and self.current[-1][0] == top:
                name, *parts = self.current.pop()
                text = " ".join("".join(parts).split())
                if text:
                    self.ui.append(text)
                    if name == "h1":
                        self.h1.append(text)
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.in_main or any(skipped for _, skipped in self.stack):
            return
        if data.strip():
            self.text.append(" ".join(data.split()))
        for open_ in self.current:
            open_.append(data)


def _main(html: str) -> _Main:
    parser = _Main()
    parser.feed(html)
    parser.close()
    return parser


def _more(place: dict[str, Any]) -> dict[str, Any]:
    """The names EXTRA_PAGES use besides the phone test's."""
    from changedesk.standard.models import Template

    template = Template.objects.filter(school__slug=place["school"]).order_by("id").first()
    assert template is not None  # the demo has two
    return {**place, "template": template.pk}


@pytest.fixture(scope="module")
def place(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The phone test's scene, built once for the module and rolled back after it."""
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DATA_DIR=tmp_path_factory.mktemp("welsh-pages"),
    )
    with django_db_blocker.unblock(), fast:
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _more(phone.build_place())
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _client(username: str, language: str) -> Client:
    User.objects.filter(username=username).update(language=language)
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _get(client: Client, path: str, expected_redirect: str | None) -> Any:
    response = client.get(path)
    if expected_redirect is not None:
        assert response.status_code == 302, (path, response.status_code)
        assert response["Location"].startswith(expected_redirect), response["Location"]
        response = client.get(response["Location"])
    assert response.status_code == 200, (path, response.status_code)
    return response


def _check_welsh(html: str, english_html: str, path: str) -> None:
    assert '<html lang="cy">' in html, path
    main = _main(html)
    assert main.found_main, f"{path}: no <main>"
    if main.main_lang == "en-GB":
        return  # not (yet) translated: base.html marks its content English
    english = _main(english_html)
    assert main.ui, f"{path}: no headings, labels or buttons"
    assert main.ui != english.ui or (len(main.ui) == 1 and main.text != english.text), (
        f"{path}: says it is translated, but its UI is English"
    )
    if main.h1 and english.h1 and main.h1 == english.h1:
        # A heading that is user data (an RFC's title): its UI around it must differ.
        assert set(main.ui) - set(english.ui), path
    left = {text for text in main.ui if text in ENGLISH_UI}
    # And any UI text the catalogue translates, left in English.
    with translation.override("cy"):
        left |= {text for text in main.ui if translation.gettext(text) != text}
    assert not left, f"{path}: English UI text in a translated page: {sorted(left)}"


def _originator(place: dict[str, Any]) -> str:
    return Change.objects.get(pk=place["rfc"]).originator.username


def _both(username: str, path: str, redirect: str | None) -> None:
    welsh = _get(_client(username, "cy"), path, redirect)
    english = _get(_client(username, "en-gb"), path, redirect)
    english_html = english.content.decode()
    if path in NOT_BASE:
        return
    assert welsh["Content-Language"] == "cy"
    assert '<html lang="en-GB">' in english_html, path
    _check_welsh(welsh.content.decode(), english_html, path)


@pytest.mark.parametrize(("name", "path"), phone.PAGES, ids=[name for name, _ in phone.PAGES])
def test_page_in_welsh(place, name, path):
    who = _originator(place) if path in ORIGINATOR_ONLY else "dana"
    _both(who, path.format(**place), REDIRECTS.get(path))


@pytest.mark.parametrize(("name", "path"), EXTRA_PAGES, ids=[name for name, _ in EXTRA_PAGES])
def test_more_pages_in_welsh(place, name, path):
    _both("dana", path.format(**place), REDIRECTS.get(path))


@pytest.mark.parametrize(
    ("name", "path"), phone.READER_PAGES, ids=[name for name, _ in phone.READER_PAGES]
)
def test_reader_page_in_welsh(place, name, path):
    _both("tom", path.format(**place), REDIRECTS.get(path))


@pytest.mark.parametrize(
    ("name", "path", "data"), EMPTY_FORMS, ids=[name for name, _, _ in EMPTY_FORMS]
)
def test_form_errors_in_welsh(place, name, path, data):
    url = path.format(**place)
    who = _originator(place) if path in ORIGINATOR_ONLY else "dana"
    sent = {key: value.format(**place) for key, value in data.items()}
    pages = {}
    for language in ("cy", "en-gb"):
        response = _client(who, language).post(url, sent)
        assert response.status_code in (200, 400), (url, language, response.status_code)
        pages[language] = response.content.decode()
    errors = ("This field is required.", "Enter a valid", "Select a valid")  # Django's own
    assert any(error in pages["en-gb"] for error in (*errors, "field-error", "errorlist")), (
        "the form shows no error"
    )
    assert not [error for error in errors if error in pages["cy"]]
    assert '<html lang="en-GB">' in pages["en-gb"]
    _check_welsh(pages["cy"], pages["en-gb"], url)


# Signed out, the pages follow the browser's language.
SIGNED_OUT: list[tuple[str, str]] = [
    ("sign in", "/accounts/login/"),
    ("password reset", "/accounts/password/reset/"),
]


@pytest.mark.parametrize(("name", "path"), SIGNED_OUT, ids=[name for name, _ in SIGNED_OUT])
def test_signed_out_page_in_welsh(db, name, path):
    welsh = Client(headers={"accept-language": "cy"}).get(path)
    english = Client(headers={"accept-language": "en-GB"}).get(path)
    assert (welsh.status_code, english.status_code) == (200, 200)
    _check_welsh(welsh.content.decode(), english.content.decode(), path)


def test_the_check_finds_english_in_a_translated_page():
    """The check is live: English UI text in a page that says it is translated fails it,
    English inside an element marked English, or a literal, does not."""
    english = (
        '<html lang="en-GB"><main id="main"><h1>Change log</h1>'
        "<label>State</label><button>Save changes</button></main>"
    )
    left = (
        '<html lang="cy"><main id="main"><h1>Log newidiadau</h1>'
        "<label>Cyflwr</label><button>Save changes</button></main>"
    )
    with pytest.raises(AssertionError, match="Save changes"):
        _check_welsh(left, english, "/changes/")
    untranslated = english.replace('lang="en-GB"', 'lang="cy"')
    with pytest.raises(AssertionError, match="its UI is English"):
        _check_welsh(untranslated, english, "/changes/")
    marked = left.replace(
        "<button>Save changes</button>",
        '<button>Cadw</button><h2><span lang="en-GB">Coming up</span></h2>'
        "<th><code>name</code></th>",
    )
    _check_welsh(marked, english, "/changes/")
    # A page that does not say it is translated is left alone.
    _check_welsh(untranslated.replace('id="main"', 'id="main" lang="en-GB"'), english, "/")
