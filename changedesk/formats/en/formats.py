"""`LANGUAGE_CODE=en`: the same 24-hour formats as en_GB."""

from changedesk.formats.en_GB.formats import *  # noqa: F403
