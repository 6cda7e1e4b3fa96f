"""Languages in templates.

`{% html_lang %}`: the active language as an HTML lang attribute wants it (en-GB, cy).

`{% notice_languages school as notice_languages %}`: the languages a school's notices are
written in, in order: Welsh then English where the school asks for bilingual notices, else
the school's default language.

`{{ value|translated }}`: a label another app holds in English (listed in
`changedesk/lib/labels.py`), in the active language; anything else as it is. Given a list
(e.g. `invitation.role_labels`), each of its labels.

`{% bilingual %}…{% endbilingual %}`: renders what it holds once in each of the context's
`notice_languages` (as `{% language %}` would), Welsh first, each part marked with its
lang; with one language (or none given) it renders once, in that language, unmarked when
it is the page's: exactly as without the tag. `{% bilingual block %}` puts the parts one
under the other (a paragraph each) rather than side by side ("Pryd / When"); `text`
writes them for a plain-text e-mail.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.template.base import Parser, Token
from django.template.context import Context
from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from changedesk.accounts.choices import Language

register = template.Library()

BILINGUAL = [Language.CY.value, Language.EN_GB.value]


def bcp47(code: str) -> str:
    """Django's language code in the form HTML and HTTP write it: en-gb → en-GB."""
    language, _, region = code.partition("-")
    return f"{language}-{region.upper()}" if region else language


@register.simple_tag
def html_lang(code: str = "") -> str:
    return bcp47(code or translation.get_language() or str(settings.LANGUAGE_CODE))


def languages_of_notices(school: Any) -> list[str]:
    """The languages of `school`'s notices, in the order they are written."""
    if school is None or not hasattr(school, "bilingual_notices"):
        return [translation.get_language() or str(settings.LANGUAGE_CODE)]
    return list(BILINGUAL) if school.bilingual_notices else [school.language]


@register.simple_tag
def notice_languages(school: Any) -> list[str]:
    return languages_of_notices(school)


@register.filter
def translated(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [translated(item) for item in value]
    if isinstance(value, Promise):
        value = str(value)
    if not isinstance(value, str) or not value:
        return value
    return translation.gettext(value)


class BilingualNode(template.Node):
    def __init__(self, nodelist: template.NodeList, block: bool, text: bool) -> None:
        self.nodelist = nodelist
        self.block = block
        self.text = text

    def render(self, context: Context) -> SafeString | str:
        codes = [str(code) for code in context.get("notice_languages") or []]
        if not codes:
            return self.nodelist.render(context)
        active = translation.get_language()
        if len(codes) == 1 and (codes[0] == active or self.text):
            with translation.override(codes[0]):
                return self.nodelist.render(context)
        # Several languages, or one that is not the page's: each part says which it is.
        parts: list[tuple[str, str]] = []
        for code in codes:
            with translation.override(code):
                rendered = self.nodelist.render(context).strip()
                parts.append((bcp47(code), mark_safe(rendered)))  # noqa: S308 - escaped by it
        if self.text:
            return ("\n\n" if self.block else " / ").join(part for _, part in parts)
        if self.block:
            return format_html_join("\n", '<div lang="{}">{}</div>', parts)
        spans = (format_html('<span lang="{}">{}</span>', code, part) for code, part in parts)
        return mark_safe(" / ".join(spans))  # noqa: S308 - each part made by format_html


@register.tag
def bilingual(parser: Parser, token: Token) -> BilingualNode:
    """See the module's docstring."""
    options = token.split_contents()[1:]
    unknown = set(options) - {"block", "text"}
    if unknown:
        raise template.TemplateSyntaxError(f"bilingual takes 'block' and 'text', not {unknown}")
    nodelist = parser.parse(("endbilingual",))
    parser.delete_first_token()
    return BilingualNode(nodelist, block="block" in options, text="text" in options)
