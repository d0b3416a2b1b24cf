"""The service's calendar is France's: "today" and every moment users read are in Europe/Paris, whatever the
server's time zone (moments are stored in UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub import clock
from hub.pickup.mails import link_email
from hub.web.inbox_common import _frdate


def test_moments_read_in_france_winter_and_summer() -> None:
    late = datetime(2026, 11, 30, 23, 48, tzinfo=UTC)  # already 1 December in Paris (UTC+1)
    assert clock.fr_datetime(late) == "01/12/2026 à 00:48" and clock.fr_date(late) == "01/12/2026"
    assert clock.fr_datetime(datetime(2026, 7, 1, 10, 0, tzinfo=UTC)) == "01/07/2026 à 12:00"  # UTC+2
    assert _frdate(late) == "01/12/2026 00:48"  # the inbox's filter
    assert _frdate(date(2026, 11, 30)) == "30/11/2026"  # a calendar date is shown as it is


def test_today_is_the_date_in_paris() -> None:
    from zoneinfo import ZoneInfo

    assert clock.today() == datetime.now(ZoneInfo("Europe/Paris")).date()


def test_the_pickup_link_email_gives_its_expiry_in_france(settings_factory) -> None:  # type: ignore[no-untyped-def]
    mail = link_email(settings_factory(), "dr@example.fr", "GU-TEST-0001", "jeton",
                      datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert "valable jusqu'au 01/12/2026" in mail.text


def test_indicator_periods_and_working_days_are_counted_in_france() -> None:
    from hub.indicators.calendar import working_day_ordinal
    from hub.indicators.period import parse_query
    from hub.store.models.indicators import _ordinal

    period, _ = parse_query({"month": "2026-12"}, date(2026, 12, 15))
    start, end = (moment.astimezone(UTC) for moment in period.bounds())
    assert (start, end) == (datetime(2026, 11, 30, 23, 0, tzinfo=UTC), datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    # received at 23:30 UTC on 30 November: a request of Tuesday 1 December for its sender and for the figures
    assert _ordinal(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == working_day_ordinal(date(2026, 12, 1))
