"""Pages of the forward schedule of change, the school calendar and the slot finder.

The feeds and the page that manages their links are in `views/feeds.py`, routed by
`feed_urls.py`."""

from changedesk.schedule.views.calendar import (
    ICS_SALT,
    calendar_detail,
    calendars,
    ics_import,
    period_create,
    period_delete,
    period_edit,
    teaching_day_edit,
    window_create,
    window_delete,
    window_edit,
)
from changedesk.schedule.views.forward import forward_schedule, forward_schedule_print
from changedesk.schedule.views.slots import safe_slots

__all__ = [
    "ICS_SALT",
    "calendar_detail",
    "calendars",
    "forward_schedule",
    "forward_schedule_print",
    "ics_import",
    "period_create",
    "period_delete",
    "period_edit",
    "safe_slots",
    "teaching_day_edit",
    "window_create",
    "window_delete",
    "window_edit",
]
