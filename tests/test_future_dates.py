"""Records dated in the future (upstream typos the lake keeps) do not move the default view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from chicrime.analytics import Analytics, Filters
from chicrime.app import create_app, ids
from chicrime.settings import Settings
from tests.conftest import api_row
from tests.dash_requests import PRESETS_UNCLICKED, callback_body, callback_result, output_of
from tests.test_app import fill_lake

MAY = [api_row(n, f"2024-05-{n:02d}T12:00:00") for n in range(1, 21)]  # 1..20 May 2024
TYPO = api_row(99, "2099-05-20T12:00:00")


def at(instant: str) -> Callable[[], dt.datetime]:
    """A clock stopped at `instant` (ISO text with its offset)."""
    return lambda: dt.datetime.fromisoformat(instant)


@pytest.fixture
def lake_with_a_typo(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    fill_lake(data_dir, [*MAY, api_row(21, "2024-05-21T09:00:00"), TYPO])
    return data_dir


def default_view(data_dir: Path, now: str) -> Filters | None:
    return Analytics(data_dir, cache=False, clock=at(now)).default_filters()


def test_a_record_dated_2099_does_not_move_the_default_view(tmp_path: Path) -> None:
    """The default 30 days end at the newest incident not after tomorrow, not in 2099."""
    data_dir = tmp_path / "data"
    fill_lake(data_dir, [*MAY, TYPO])
    analytics = Analytics(data_dir, cache=False, clock=at("2024-05-25T12:00:00+00:00"))
    assert analytics.default_filters() == Filters(
        start=dt.date(2024, 4, 21), end=dt.date(2024, 5, 20)
    )
    assert analytics.date_range() == (dt.date(2024, 5, 1), dt.date(2099, 5, 20))


@pytest.mark.parametrize(
    ("now", "end"),
    [
        ("2024-05-20T03:00:00+00:00", dt.date(2024, 5, 20)),  # 19 May, 22:00 in Chicago
        ("2024-05-20T06:00:00+00:00", dt.date(2024, 5, 21)),  # 20 May, 01:00 in Chicago
        ("2024-05-18T12:00:00+00:00", dt.date(2024, 5, 19)),
    ],
)
def test_tomorrow_is_counted_in_chicago(lake_with_a_typo: Path, now: str, end: dt.date) -> None:
    """An incident dated tomorrow in Chicago counts; one dated the day after does not."""
    assert default_view(lake_with_a_typo, now) == Filters(
        start=end - dt.timedelta(days=29), end=end
    )


def test_a_lake_dated_wholly_ahead_ends_at_its_newest_incident(tmp_path: Path) -> None:
    """With no incident up to tomorrow, the default view ends at the newest one, as before."""
    data_dir = tmp_path / "data"
    fill_lake(data_dir, [TYPO])
    assert default_view(data_dir, "2024-05-25T12:00:00+00:00") == Filters(
        start=dt.date(2099, 4, 21), end=dt.date(2099, 5, 20)
    )


def test_the_newest_date_lookup_is_memoised(lake_with_a_typo: Path, tmp_path: Path) -> None:
    """A second default view for the same day and lake version runs no query."""
    labels: list[str] = []
    analytics = Analytics(
        lake_with_a_typo,
        cache_dir=tmp_path / "cache",
        on_query=labels.append,
        clock=at("2024-05-25T12:00:00+00:00"),
    )
    first = analytics.default_filters()
    assert labels == ["newest_date"]  # the lake's date range comes from the version's facts
    assert analytics.default_filters() == first
    assert labels == ["newest_date"]


def test_the_dashboard_opens_on_the_last_real_month(lake_with_a_typo: Path) -> None:
    """With no query the panel opens on 1–21 May (the real data); both date fields still reach
    2099."""
    app = create_app(
        Settings(data_dir=lake_with_a_typo, map_style="white-bg"),
        clock=at("2024-05-25T12:00:00+00:00"),
    )
    with app.server.test_client() as client:
        output = output_of(app, f"{ids.DATE_FROM}.value")
        body = callback_body(app, output, ["", None, *PRESETS_UNCLICKED], [None, None])
        result = callback_result(client, body)
        layout = client.get("/_dash-layout").get_data(as_text=True)
    assert (result[ids.DATE_FROM], result[ids.DATE_TO]) == (
        {"value": "2024-05-01"},
        {"value": "2024-05-21"},
    )
    assert layout.count('"max":"2099-05-20"') == 2
