"""How the form writes a tick box and a date: each in this one place.

The page, the PDF, the diff, the admin and the file names all call these (the
templates through the `box` filter and Django's `date` filter, which reads the
same DATE_FORMAT).
"""

from django.utils import dateformat, formats, timezone

TICKED, UNTICKED = "■", "□"


def box(checked):
    """A box of the paper form: ■ when ticked, □ when not."""
    return TICKED if checked else UNTICKED


def japanese_date(value):
    """2022年4月1日: Django's DATE_FORMAT for Japanese, whatever language is active
    (a snapshot stores this text, so it must not depend on the request)."""
    return dateformat.format(value, formats.get_format("DATE_FORMAT", lang="ja"))


def japanese_date_time(value):
    """2026年11月28日 14:05, a moment in the portal's time zone (Asia/Tokyo)."""
    local = timezone.localtime(value)
    return f"{japanese_date(local)} {dateformat.format(local, 'H:i')}"


def japanese_moment(value):
    """2027年4月1日 0:00: a go-live time as staff choose it (hour without a leading zero)."""
    local = timezone.localtime(value)
    return f"{japanese_date(local)} {dateformat.format(local, 'G:i')}"
