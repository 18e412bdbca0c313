"""``repeat`` against crontab: ``man 5 crontab`` for which minutes match,
``man 8 cron`` for DST. Expected instants are written out by hand from those
rules (calendar: 1 Jan 2026 is a Thursday; 2026 DST changes: Europe/Berlin
29 Mar 02:00->03:00 and 25 Oct 03:00->02:00; America/New_York 8 Mar
02:00->03:00 and 1 Nov 02:00->01:00; Australia/Lord_Howe 5 Apr 02:00->01:30
and 4 Oct 02:00->02:30; America/Havana 8 Mar 00:00->01:00)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spi_campaign.cronexpr import parse
from spi_campaign.recurrence import (
    check_cron, cron_warnings, is_occurrence, iter_after, last_at_or_before, next_after, occurrences,
    occurrences_on,
)

UTC = timezone.utc


def local(text: str, zone: str) -> datetime:
    """A wall time, or an ISO time with offset, as an aware datetime."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(zone))


def shown(instants, zone: str) -> list[str]:
    return [i.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes") for i in instants]


# (expression, zone, from (wall time or ISO with offset), expected occurrences at or after it)
TABLE = [
    # man 5 crontab's own example: "at 4:30 am on the 1st and 15th of each month, plus every Friday"
    ("30 4 1,15 * 5", "Asia/Makassar", "2026-05-01 00:00",
     ["2026-05-01T04:30+08:00", "2026-05-08T04:30+08:00", "2026-05-15T04:30+08:00", "2026-05-22T04:30+08:00",
      "2026-05-29T04:30+08:00", "2026-06-01T04:30+08:00", "2026-06-05T04:30+08:00"]),
    ("0 9 * * 1-5", "Asia/Makassar", "2026-12-11 00:00",
     ["2026-12-11T09:00+08:00", "2026-12-14T09:00+08:00", "2026-12-15T09:00+08:00", "2026-12-16T09:00+08:00"]),
    ("0 9 * * fri", "Asia/Makassar", "2026-12-09 10:00", ["2026-12-11T09:00+08:00", "2026-12-18T09:00+08:00"]),
    ("0 9 * * MON-FRI/2", "Asia/Makassar", "2026-12-13 00:00",        # Mon, Wed, Fri
     ["2026-12-14T09:00+08:00", "2026-12-16T09:00+08:00", "2026-12-18T09:00+08:00", "2026-12-21T09:00+08:00"]),
    # 0 and 7 are Sunday; 7-7 is Sunday only; 5-7 is Friday to Sunday; 0-7 every day
    ("0 0 * * 7-7", "UTC", "2026-01-01 00:00", ["2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00"]),
    ("0 0 * * 7", "UTC", "2026-01-01 00:00", ["2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00"]),
    ("0 0 * * 0", "UTC", "2026-01-01 00:00", ["2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00"]),
    ("0 0 * * 5-7", "UTC", "2026-01-01 00:00",
     ["2026-01-02T00:00+00:00", "2026-01-03T00:00+00:00", "2026-01-04T00:00+00:00", "2026-01-09T00:00+00:00"]),
    ("0 0 * * 0-7", "UTC", "2026-01-01 00:00",
     ["2026-01-01T00:00+00:00", "2026-01-02T00:00+00:00", "2026-01-03T00:00+00:00"]),
    ("0 0 * * */2", "UTC", "2026-01-01 00:00",                         # 0,2,4,6: Sun, Tue, Thu, Sat
     ["2026-01-01T00:00+00:00", "2026-01-03T00:00+00:00", "2026-01-04T00:00+00:00", "2026-01-06T00:00+00:00"]),
    ("0 0 * * */7", "UTC", "2026-01-01 00:00", ["2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00"]),
    # both day fields restricted: either is enough
    ("0 0 1-7 * 1", "UTC", "2026-01-01 00:00",
     ["2026-01-01T00:00+00:00", "2026-01-02T00:00+00:00", "2026-01-03T00:00+00:00", "2026-01-04T00:00+00:00",
      "2026-01-05T00:00+00:00", "2026-01-06T00:00+00:00", "2026-01-07T00:00+00:00", "2026-01-12T00:00+00:00",
      "2026-01-19T00:00+00:00"]),
    ("0 0 13 * 5", "UTC", "2026-02-01 00:00",
     ["2026-02-06T00:00+00:00", "2026-02-13T00:00+00:00", "2026-02-20T00:00+00:00", "2026-02-27T00:00+00:00",
      "2026-03-06T00:00+00:00"]),
    # a day field starting with '*' is unrestricted (cron's DOM_STAR): then both must match
    ("0 0 */2 * 1", "UTC", "2026-01-01 00:00",
     ["2026-01-05T00:00+00:00", "2026-01-19T00:00+00:00", "2026-02-09T00:00+00:00", "2026-02-23T00:00+00:00"]),
    ("0 0 */7 * *", "UTC", "2026-02-01 00:00",
     ["2026-02-01T00:00+00:00", "2026-02-08T00:00+00:00", "2026-02-15T00:00+00:00", "2026-02-22T00:00+00:00",
      "2026-03-01T00:00+00:00"]),
    ("0 0 31 * *", "UTC", "2026-01-01 00:00",
     ["2026-01-31T00:00+00:00", "2026-03-31T00:00+00:00", "2026-05-31T00:00+00:00"]),
    ("0 12 29 2 *", "UTC", "2026-01-01 00:00", ["2028-02-29T12:00+00:00", "2032-02-29T12:00+00:00"]),
    ("0 12 29 feb */7", "UTC", "2026-01-01 00:00", ["2032-02-29T12:00+00:00", "2060-02-29T12:00+00:00"]),
    ("0 0 30 2 *", "UTC", "2026-01-01 00:00", []),
    ("0 0 31 4,6,9,11 *", "UTC", "2026-01-01 00:00", []),
    ("15 10 * JAN-MAR,dec MON", "Asia/Makassar", "2026-03-20 00:00",
     ["2026-03-23T10:15+08:00", "2026-03-30T10:15+08:00", "2026-12-07T10:15+08:00", "2026-12-14T10:15+08:00"]),
    ("23 0-23/2 * * *", "UTC", "2026-01-01 00:00",
     ["2026-01-01T00:23+00:00", "2026-01-01T02:23+00:00", "2026-01-01T04:23+00:00"]),
    ("5 4 * * sun", "UTC", "2026-01-01 00:00", ["2026-01-04T04:05+00:00"]),
    # nicknames
    ("@yearly", "UTC", "2026-06-01 00:00", ["2027-01-01T00:00+00:00", "2028-01-01T00:00+00:00"]),
    ("@annually", "UTC", "2026-06-01 00:00", ["2027-01-01T00:00+00:00"]),
    ("@monthly", "UTC", "2026-01-15 00:00", ["2026-02-01T00:00+00:00", "2026-03-01T00:00+00:00"]),
    ("@weekly", "UTC", "2026-01-01 00:00", ["2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00"]),
    ("@daily", "Asia/Makassar", "2026-12-09 10:00", ["2026-12-10T00:00+08:00", "2026-12-11T00:00+08:00"]),
    ("@midnight", "Asia/Makassar", "2026-12-09 10:00", ["2026-12-10T00:00+08:00"]),
    ("@hourly", "UTC", "2026-01-01 00:30", ["2026-01-01T01:00+00:00", "2026-01-01T02:00+00:00"]),
    # a step larger than its range keeps the first value
    ("*/90 * * * *", "UTC", "2026-01-01 00:30", ["2026-01-01T01:00+00:00", "2026-01-01T02:00+00:00"]),
    ("0-10/20 12 * * *", "UTC", "2026-01-01 00:00", ["2026-01-01T12:00+00:00", "2026-01-02T12:00+00:00"]),
    # DST, Europe/Berlin. Fixed-time: skipped time runs right after the change, repeated time runs once.
    ("30 2 * * *", "Europe/Berlin", "2026-03-28 00:00",
     ["2026-03-28T02:30+01:00", "2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"]),
    ("30 2 * * *", "Europe/Berlin", "2026-10-24 00:00",
     ["2026-10-24T02:30+02:00", "2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"]),
    ("0,30 2 * * *", "Europe/Berlin", "2026-03-29 00:00",
     ["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00", "2026-03-30T02:30+02:00"]),
    ("0 2,3 * * *", "Europe/Berlin", "2026-03-29 00:00",
     ["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00", "2026-03-30T03:00+02:00"]),
    ("0-59/30 2 * * *", "Europe/Berlin", "2026-10-25 00:00",      # no '*' at the start: fixed-time
     ["2026-10-25T02:00+02:00", "2026-10-25T02:30+02:00", "2026-10-26T02:00+01:00"]),
    # wildcard (minute or hour starts with '*'): the wall clock, skipped times do not run, repeated ones twice
    ("*/30 * * * *", "Europe/Berlin", "2026-03-29 01:00",
     ["2026-03-29T01:00+01:00", "2026-03-29T01:30+01:00", "2026-03-29T03:00+02:00", "2026-03-29T03:30+02:00"]),
    ("*/30 * * * *", "Europe/Berlin", "2026-10-25T01:30+02:00",
     ["2026-10-25T01:30+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:30+02:00", "2026-10-25T02:00+01:00",
      "2026-10-25T02:30+01:00", "2026-10-25T03:00+01:00"]),
    ("30 * * * *", "Europe/Berlin", "2026-03-29 01:00", ["2026-03-29T01:30+01:00", "2026-03-29T03:30+02:00"]),
    ("@hourly", "Europe/Berlin", "2026-03-29 00:30", ["2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00"]),
    ("@hourly", "Europe/Berlin", "2026-10-25T01:30+02:00",
     ["2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00"]),
    # America/New_York
    ("30 2 * * *", "America/New_York", "2026-03-07 00:00",
     ["2026-03-07T02:30-05:00", "2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"]),
    ("30 1 * * *", "America/New_York", "2026-10-31 00:00",
     ["2026-10-31T01:30-04:00", "2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"]),
    ("*/15 1 * * *", "America/New_York", "2026-11-01 00:00",
     ["2026-11-01T01:00-04:00", "2026-11-01T01:15-04:00", "2026-11-01T01:30-04:00", "2026-11-01T01:45-04:00",
      "2026-11-01T01:00-05:00", "2026-11-01T01:15-05:00", "2026-11-01T01:30-05:00", "2026-11-01T01:45-05:00",
      "2026-11-02T01:00-05:00"]),
    # Australia/Lord_Howe: 30-minute DST
    ("15 2 * * *", "Australia/Lord_Howe", "2026-10-03 00:00",
     ["2026-10-03T02:15+10:30", "2026-10-04T02:30+11:00", "2026-10-05T02:15+11:00"]),
    ("45 1 * * *", "Australia/Lord_Howe", "2026-04-04 00:00",
     ["2026-04-04T01:45+11:00", "2026-04-05T01:45+11:00", "2026-04-06T01:45+10:30"]),
    ("*/15 * * * *", "Australia/Lord_Howe", "2026-10-04 01:30",
     ["2026-10-04T01:30+10:30", "2026-10-04T01:45+10:30", "2026-10-04T02:30+11:00", "2026-10-04T02:45+11:00"]),
    ("*/15 1 * * *", "Australia/Lord_Howe", "2026-04-05 00:00",
     ["2026-04-05T01:00+11:00", "2026-04-05T01:15+11:00", "2026-04-05T01:30+11:00", "2026-04-05T01:45+11:00",
      "2026-04-05T01:30+10:30", "2026-04-05T01:45+10:30", "2026-04-06T01:00+10:30"]),
    # a change at midnight: the midnight post of that day runs when the clocks jump, not a day late
    ("0 0 * * *", "America/Havana", "2026-03-07 00:00",
     ["2026-03-07T00:00-05:00", "2026-03-08T01:00-04:00", "2026-03-09T00:00-04:00"]),
    ("@daily", "America/Havana", "2026-03-07 12:00", ["2026-03-08T01:00-04:00"]),
]


@pytest.mark.parametrize("expr, zone, start, expected", TABLE, ids=[f"{t[0]}|{t[1]}|{t[2]}" for t in TABLE])
def test_occurrences_follow_crontab(expr, zone, start, expected):
    tz = ZoneInfo(zone)
    got = list(islice(iter_after(expr, tz, local(start, zone)), len(expected) + (1 if not expected else 0)))
    assert shown(got, zone) == expected
    assert all(g.tzinfo is UTC for g in got)
    # next_after/occurrences/is_occurrence agree with the iteration
    if expected:
        first = local(expected[0], zone)
        assert next_after(expr, tz, local(start, zone), local(start, zone)) == first
        window = occurrences(expr, tz, local(start, zone), local(start, zone), local(expected[-1], zone))
        assert shown(window, zone) == expected
        assert all(is_occurrence(expr, tz, local(start, zone), local(e, zone)) for e in expected)
        assert last_at_or_before(expr, tz, local(start, zone), local(expected[-1], zone)) == local(expected[-1], zone)


def test_one_instant_is_not_repeated_forever_across_fall_back():
    tz = ZoneInfo("Europe/Berlin")
    start = local("2026-10-20 02:30", "Europe/Berlin")
    got = occurrences("30 2 * * *", tz, start, start, local("2026-10-31 00:00", "Europe/Berlin"))
    assert len(got) == len(set(got)) == 11
    assert [g for g in got if g.date() == date(2026, 10, 25)] == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]


def test_until_is_an_instant_not_a_wall_clock():
    tz = ZoneInfo("Europe/Berlin")
    start = local("2026-10-25 00:00", "Europe/Berlin")
    until = local("2026-10-25 02:45", "Europe/Berlin")          # the first 02:45 (CEST), 00:45 UTC
    got = occurrences("*/30 * * * *", tz, start, start, local("2026-10-26 00:00", "Europe/Berlin"), until)
    assert shown(got, "Europe/Berlin")[-1] == "2026-10-25T02:30+02:00"     # not 02:00/02:30 CET
    assert next_after("*/30 * * * *", tz, start, datetime(2026, 10, 25, 1, 0, tzinfo=UTC), until) is None
    assert not is_occurrence("*/30 * * * *", tz, start, datetime(2026, 10, 25, 1, 30, tzinfo=UTC), until)


def test_start_is_an_instant_not_a_wall_clock():
    tz = ZoneInfo("Europe/Berlin")
    second_two = datetime(2026, 10, 25, 2, 0, tzinfo=tz, fold=1)    # 02:00 CET, 01:00 UTC
    got = occurrences("*/30 * * * *", tz, second_two, second_two, local("2026-10-25 03:00", "Europe/Berlin"))
    assert shown(got, "Europe/Berlin") == ["2026-10-25T02:00+01:00", "2026-10-25T02:30+01:00",
                                           "2026-10-25T03:00+01:00"]


def test_the_second_half_hour_of_a_fall_back_is_an_occurrence_of_a_wildcard_post():
    tz = ZoneInfo("Europe/Berlin")
    start = local("2026-10-01 00:00", "Europe/Berlin")
    assert is_occurrence("*/30 * * * *", tz, start, datetime(2026, 10, 25, 1, 30, tzinfo=UTC))   # 02:30 CET
    assert not is_occurrence("30 2 * * *", tz, start, datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert is_occurrence("30 2 * * *", tz, start, datetime(2026, 10, 25, 0, 30, tzinfo=UTC))     # 02:30 CEST


def test_a_never_matching_expression_ends_quickly():
    import time

    t0 = time.perf_counter()
    for expr in ("0 0 30 2 *", "0 0 31 2,4 */2", "0 0 31 11 *"):
        assert next_after(expr, UTC, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)) is None
        assert last_at_or_before(expr, UTC, datetime(1970, 1, 1, tzinfo=UTC), datetime(9998, 1, 1, tzinfo=UTC)) is None
    # rare but possible: 29 February on a Sunday, near the end of the calendar
    assert next_after("0 0 29 2 */7", UTC, datetime(9990, 1, 1, tzinfo=UTC), datetime(9990, 1, 1, tzinfo=UTC)) is None
    assert time.perf_counter() - t0 < 2


def test_last_at_or_before_and_occurrences_on():
    tz = ZoneInfo("Europe/Berlin")
    start = local("2026-10-01 00:00", "Europe/Berlin")
    at = datetime(2026, 10, 25, 1, 45, tzinfo=UTC)                  # 02:45 CET
    assert last_at_or_before("*/30 * * * *", tz, start, at) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert last_at_or_before("30 2 * * *", tz, start, at) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert last_at_or_before("30 2 * * *", tz, start, at, not_before=at - timedelta(minutes=30)) is None
    assert occurrences_on("30 2 * * *", tz, date(2026, 10, 25)) == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]
    assert occurrences_on("30 2 * * *", tz, date(2026, 3, 29)) == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    assert len(occurrences_on("*/30 * * * *", tz, date(2026, 10, 25))) == 50
    assert len(occurrences_on("*/30 * * * *", tz, date(2026, 3, 29))) == 46
    assert occurrences_on("0 9 * * 1", tz, date(2026, 10, 25)) == []           # a Sunday
    wita = ZoneInfo("Asia/Makassar")
    assert occurrences_on("0 9 * * *", wita, date(2026, 12, 9)) == [datetime(2026, 12, 9, 1, 0, tzinfo=UTC)]


# ---- parsing --------------------------------------------------------------------------------------------

ERRORS = [
    ("0 9 * *", "needs 5 fields (minute hour day-of-month month day-of-week), got 4"),
    ("0 0 9 * * *", "got 6 (crontab has no seconds or years field)"),
    ("", "cron expression is empty"),
    ("60 * * * *", "minute 60 is out of range (0-59)"),
    ("0 25 * * *", "hour 25 is out of range (0-23)"),
    ("0 0 0 * *", "day-of-month 0 is out of range (1-31)"),
    ("0 0 32 * *", "day-of-month 32 is out of range (1-31)"),
    ("0 0 * 13 *", "month 13 is out of range (1-12)"),
    ("0 0 * * 8", "day-of-week 8 is out of range (0-7)"),
    ("0 0 ٩ * *", "day-of-month '٩' contains '٩' (U+0669), which is not an ASCII digit"),
    ("０ 9 * * *", "minute '０' contains '０' (U+FF10), which is not an ASCII digit"),
    ("0 9 * * ７", "day-of-week '７' contains '７' (U+FF17), which is not an ASCII digit"),
    ("0 0 L * *", "day-of-month 'L' is not crontab syntax"),
    ("0 0 last * *", "day-of-month 'last' is not crontab syntax"),
    ("0 0 * * 5L", "day-of-week '5L' is neither a number nor a name"),
    ("0 0 ? * *", "day-of-month '?': '?' is not crontab syntax"),
    ("0 0 * * 5#3", "day-of-week '5#3': '#' is not crontab syntax"),
    ("5/15 * * * *", "minute '5/15': a step needs a range or '*' (write 5-59/15 or */15)"),
    ("0 0 * * 1/2", "day-of-week '1/2': a step needs a range or '*'"),
    ("*/0 * * * *", "minute '*/0': the step must be a whole number from 1 to 9999"),
    ("*/x * * * *", "minute '*/x': the step after '/' must be a number"),
    ("0 22-3 * * *", "hour range '22-3' runs backwards"),
    ("0 9 * * 7-0", "day-of-week range '7-0' runs backwards"),
    ("0 9 * * FUNDAY", "day-of-week 'FUNDAY' is not a day (use 0-7 or sun..sat)"),
    ("0 9 * * Monday", "day-of-week 'Monday' is not a day name; cron takes the first three letters ('mon')"),
    ("0 9 * January *", "month 'January' is not a month name; cron takes the first three letters ('jan')"),
    ("0 9 * * 1,,2", "day-of-week '1,,2' has an empty item"),
    ("0 9 * * 1-", "day-of-week '1-' is missing a value"),
    ("MON 9 * * *", "minute 'MON' is not a number (0-59)"),
    ("0 9 * * jan", "day-of-week 'jan' is not a day"),
    ("@reboot", "unknown cron nickname '@reboot' (a post has no reboot; use a time)"),
    ("@Daily", "unknown cron nickname '@Daily' (did you mean '@daily'?)"),
    ("@fortnightly", "unknown cron nickname '@fortnightly'; use one of @yearly"),
]


@pytest.mark.parametrize("expr, message", ERRORS, ids=[e[0] or "empty" for e in ERRORS])
def test_invalid_expressions_name_the_field(expr, message):
    with pytest.raises(ValueError) as exc:
        check_cron(expr)
    assert message in str(exc.value)


def test_valid_expressions_and_their_sets():
    assert parse("0 9 * * 7-7").dows == {0}
    assert parse("0 9 * * 5-7").dows == {5, 6, 0}
    assert parse("0 9 * * *").dows == set(range(7))
    assert parse("  0\t9 * * FRI ").dows == {5}
    assert parse("*/90 * * * *").minutes == (0,)
    assert parse("0 9 * * *").fixed and not parse("*/5 9 * * *").fixed and not parse("@hourly").fixed
    assert parse("@daily").fixed and parse("0-59/30 2 * * *").fixed
    assert (parse("0 0 */2 * 1").dom_star, parse("0 0 1-31/2 * 1").dom_star) == (True, False)
    assert cron_warnings("*/90 * * * *") == [
        "repeat '*/90 * * * *': minute '*/90' only matches 0: the step /90 is larger than the range "
        "(cron cannot repeat across a longer period)"]
    assert cron_warnings("*/15 * * * *") == [] and cron_warnings("0 9 * * */7") == []


# ---- properties -----------------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Havana", "Asia/Makassar", "UTC"]
# the 2026 changes (UTC) of each zone; Asia/Makassar and UTC have none, any day will do
CHANGES = {
    "Europe/Berlin": [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "America/New_York": [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Australia/Lord_Howe": [datetime(2026, 4, 4, 15, tzinfo=UTC), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)],
    "America/Havana": [datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 11, 1, 5, tzinfo=UTC)],
    "Asia/Makassar": [datetime(2026, 12, 9, tzinfo=UTC)],
    "UTC": [datetime(2026, 2, 28, tzinfo=UTC)],
}


def _item(lo: int, hi: int):
    value = st.integers(lo, hi)
    return st.one_of(
        value.map(str),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.tuples(value, value, st.integers(1, hi - lo + 2)).map(lambda t: f"{min(t[:2])}-{max(t[:2])}/{t[2]}"),
        st.integers(1, hi - lo + 2).map(lambda s: f"*/{s}"),
    )


def _field(lo: int, hi: int, star_weight: int = 1):
    return st.one_of(*([st.just("*")] * star_weight), st.lists(_item(lo, hi), min_size=1, max_size=3).map(",".join))


EXPRS = st.tuples(_field(0, 59), _field(0, 23), _field(1, 31, 3), _field(1, 12, 4), _field(0, 7, 2)).map(" ".join)


def _simulate(cron, tz, first: datetime, last: datetime) -> list[datetime]:
    """cron(8) stepping minute by minute in UTC: wildcard jobs match the
    current wall clock; fixed-time jobs run for every wall minute the
    (virtual) clock passed since the last step, once, and never when the
    clock went back (cron.c's main loop)."""

    def matches(wall: datetime) -> bool:
        return wall.minute in cron.minutes and wall.hour in cron.hours and cron.day_matches(wall.date())

    out, virtual = [], None
    u = first - timedelta(hours=4)
    while u <= last:
        wall = u.astimezone(tz).replace(tzinfo=None)
        if cron.fixed:
            if virtual is None:
                fire = matches(wall)
            else:
                fire, w = False, virtual + timedelta(minutes=1)
                while w <= wall and not fire:
                    fire, w = matches(w), w + timedelta(minutes=1)
            virtual = wall if virtual is None else max(virtual, wall)
        else:
            fire = matches(wall)
        if fire and u >= first:
            out.append(u)
        u += timedelta(minutes=1)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=EXPRS, zone=st.sampled_from(ZONES), pick=st.integers(0, 1), shift=st.integers(-20 * 60, 20 * 60))
def test_occurrences_equal_a_minute_by_minute_cron(expr, zone, pick, shift):
    tz = ZoneInfo(zone)
    changes = CHANGES[zone]
    center = changes[pick % len(changes)] + timedelta(minutes=shift)
    first, last = center - timedelta(hours=6), center + timedelta(hours=6)
    cron = parse(expr)
    got = occurrences(expr, tz, first, first, last)
    assert got == sorted(set(got)), "strictly increasing, no duplicates"
    assert got == _simulate(cron, tz, first, last)
    if cron.fixed:   # a fixed-time post never runs twice at one wall time (fall back)
        walls = [g.astimezone(tz).replace(tzinfo=None) for g in got]
        assert len(walls) == len(set(walls))


@settings(max_examples=100, deadline=None)
@given(expr=EXPRS, zone=st.sampled_from(ZONES),
       start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)))
def test_each_occurrence_matches_the_expression_or_is_a_dst_shift(expr, zone, start):
    tz = ZoneInfo(zone)
    cron = parse(expr)
    got = list(islice(iter_after(expr, tz, start), 30))
    assert got == sorted(set(got)) and all(g >= start for g in got)
    for g in got:
        wall = g.astimezone(tz)
        if wall.minute in cron.minutes and wall.hour in cron.hours and cron.day_matches(wall.date()):
            continue
        # otherwise: a fixed-time job whose time was skipped, run at the instant the clocks jumped
        assert cron.fixed
        assert (g - timedelta(seconds=1)).astimezone(tz).utcoffset() < wall.utcoffset()
    if got:
        assert next_after(expr, tz, start, start) == got[0]
        assert last_at_or_before(expr, tz, start, got[-1]) == got[-1]
