"""Template helpers of the spreadsheets pages."""

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    """`mapping[key]`, or "" (a field's label by its name)."""
    return mapping.get(key, "")
