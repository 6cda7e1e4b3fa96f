"""Template helpers of the spreadsheets pages."""

from typing import Any

from django import template
from django.utils import translation
from django.utils.html import format_html

from changedesk.spreadsheets import wording

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    """`mapping[key]`, or "" (a field's label by its name)."""
    return mapping.get(key, "")


@register.filter
def said(message: str) -> str:
    """A kept message of an import (`wording`) in the reader's language; one that has no
    translation is marked as English where the page is not."""
    if not message:
        return ""
    text = wording.in_language(message)
    language = translation.get_language() or ""
    if text == message and not language.startswith("en"):
        return format_html('<span lang="en-GB">{}</span>', message)
    return text
