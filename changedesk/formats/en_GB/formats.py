"""British formats with 24-hour times, the form schools' timetables use: Django's `en_GB`
shows times as "10:45 p.m." wherever a template or the admin prints one unformatted."""

DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
