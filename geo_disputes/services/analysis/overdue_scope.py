"""What an overdue figure counts, printed under it: as of which day, and which registrations.

The dashboard and the monthly report count the same kind of thing — open matters past the deadline that binds
their current holder (clock.annotate_dues), a case group once, repeat petitions not at all — but over different
cases and on different days, which is why the dashboard once said 58 where the report said 59:

* the dashboard's 逾期未办结 counts only matters *registered in its period* (by default the twelve months ending
  today), judged today;
* the report's section 3 (逾期和临期) counts every open matter *whenever registered*, judged on the report's day
  (the month's last day, or today while the month runs): one open matter registered more than a year earlier
  was the 59th;
* the report's summary line 逾期未办结 counts, like the dashboard, only the month's registrations, judged on the
  report's day.

One sentence builds all three definitions, so the wording is the same where the counts agree and differs exactly
where they differ (the day, the registrations).
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _


def overdue_definition(
    as_of: dt.date, today: dt.date, since: dt.date | None = None, until: dt.date | None = None, area: str = ""
) -> str:
    """The definition of an overdue count judged on `as_of` over the matters registered `since`..`until`
    (both None: whenever registered), within `area` (a township or village code, "" for all the user sees)."""
    when = _("今日") if as_of == today else _("月末")
    if since is None and until is None:
        registered = _("不限登记日期")
    else:
        registered = _("%(since)s 至 %(until)s 登记") % {"since": _day(since), "until": _day(until)}
    place = _(",位于 %(area)s") % {"area": area} if area else ""
    return _(
        "截至 %(day)s(%(when)s),%(registered)s%(place)s的未办结事项中已过持有单位自身期限的件数;"
        "事项组计1件,重复信访不计。"
    ) % {"day": _day(as_of), "when": when, "registered": registered, "place": place}


def _day(day: dt.date | None) -> str:
    return f"{day:%Y-%m-%d}" if day is not None else "…"
