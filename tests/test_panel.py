"""The filter panel and the address bar: presets, Reset, the summary in words, what a link
could not show, and chart clicks that set a filter — answered by the app's own callbacks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dash
import pytest
from flask.testing import FlaskClient

from chicrime.analytics import Filters
from chicrime.analytics.export import csv_filename
from chicrime.app import create_app, ids
from chicrime.app.context import drill_search
from chicrime.app.corrections import link_corrections
from chicrime.app.shell import summary
from chicrime.demo import write_demo_lake
from chicrime.settings import Settings
from tests.dash_requests import PRESETS_UNCLICKED, callback_body, callback_result, output_of

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2024, 6, 30)
SPAN = (FIRST, LAST)
MARCH = {"start": "2024-03-01", "end": "2024-03-31"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> dash.Dash:
    directory = tmp_path_factory.mktemp("panel") / "data"
    write_demo_lake(Settings(data_dir=directory), start=FIRST, end=LAST, seed=5)
    return create_app(Settings(data_dir=directory, map_style="white-bg"))


@pytest.fixture(scope="module")
def client(app: dash.Dash) -> Iterator[FlaskClient]:
    with app.server.test_client() as test_client:
        yield test_client


def set_panel(
    client: FlaskClient,
    app: dash.Dash,
    trigger: str,
    search: object = None,
    dates: tuple[object, object] = (None, None),
) -> dict[str, Any]:
    """The panel `apply_url` answers when `trigger` ("<id>.<prop>") changed, for the address
    bar's `search` and the panel's `dates`."""
    inputs = [search, None, *PRESETS_UNCLICKED]
    body = callback_body(app, output_of(app, f"{ids.DATE_FROM}.value"), inputs, list(dates))
    body["changedPropIds"] = [trigger]
    return callback_result(client, body)


def dates_of(result: dict[str, Any]) -> tuple[str, str]:
    return result[ids.DATE_FROM]["value"], result[ids.DATE_TO]["value"]


def test_a_preset_sets_only_the_dates(client: FlaskClient, app: dash.Dash) -> None:
    """The last 7 days end at the lake's newest day (30 June 2024); the other filters and the
    notice are left as they are."""
    result = set_panel(client, app, f"{ids.PRESET}-7d.n_clicks", dates=("2024-03-01", None))
    assert dates_of(result) == ("2024-06-24", "2024-06-30")
    assert set(result) == {ids.DATE_FROM, ids.DATE_TO}


def test_the_year_earlier_preset_moves_the_selection_back_a_year(
    client: FlaskClient, app: dash.Dash
) -> None:
    """March 2024 a year earlier is March 2023, before the lake: it opens on the first day."""
    result = set_panel(
        client, app, f"{ids.PRESET}-year-before.n_clicks", dates=("2024-03-01", "2024-03-31")
    )
    assert dates_of(result) == ("2024-01-01", "2024-01-01")


def test_reset_sets_the_default_view_and_clears_the_notice(
    client: FlaskClient, app: dash.Dash
) -> None:
    """Reset ignores the address bar: the last 30 days, every hour, no type, no notice."""
    result = set_panel(client, app, f"{ids.RESET}.n_clicks", "?types=THEFT&hours=1-2")
    assert dates_of(result) == ("2024-06-01", "2024-06-30")
    assert (result[ids.HOUR_FROM]["value"], result[ids.HOUR_TO]["value"]) == ("0", "23")
    assert result[ids.TYPES]["value"] == []
    assert result[ids.URL_NOTICE]["children"] is None
    assert ids.URL_APPLIED not in result  # not from the address bar: the query is pushed


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(dt.date(2024, 3, 1), dt.date(2024, 3, 1)), "01 Mar 2024 – 01 Mar 2024 (1 day)"),
        (
            Filters(
                dt.date(2024, 3, 1),
                dt.date(2024, 3, 31),
                primary_types=("ARSON", "BATTERY", "THEFT"),
                districts=("004",),
                arrest=True,
                domestic=False,
                hour_from=22,
                hour_to=4,
                category="violent",
            ),
            "01 Mar 2024 – 31 Mar 2024 (31 days) · Arson, Battery +1 more · Violent (Part I) · "
            "district 004 · arrest: yes · domestic: no · 22:00–04:59 (overnight)",
        ),
        (
            Filters(dt.date(2024, 3, 1), dt.date(2024, 3, 2), hour_from=8, hour_to=17),
            "01 Mar 2024 – 02 Mar 2024 (2 days) · 08:00–17:59",
        ),
        (
            Filters(
                dt.date(2024, 3, 1),
                dt.date(2024, 3, 2),
                community_areas=("32",),
                near=(41.8781, -87.6298),
            ),
            "01 Mar 2024 – 02 Mar 2024 (2 days) · area 32 · within ½ mile of 41.87810, -87.62980",
        ),
    ],
)
def test_the_summary_names_every_filter_that_is_set(filters: Filters, expected: str) -> None:
    assert summary(filters) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start": "2024-03-01", "end": "2024-03-31", "hours": "22-4"}, []),
        (
            {"start": "March", "end": "2024-03-31"},
            ["The start date “March” is not a date (YYYY-MM-DD): default used."],
        ),
        (
            {"district": "004|999|998|997|996"},
            ["No districts “999”, “998”, “997” and 1 more in the lake: ignored."],
        ),
        (
            {"arrest": "maybe", "domestic": "all", "category": "bad"},
            [
                "arrest=“maybe” is neither true nor false: ignored.",
                "category=“bad” is not one of violent, property, index, other: ignored.",
            ],
        ),
        (
            {"near": "40.7,-74.0", "radius": "1"},
            ["near=“40.7,-74.0” is not a point in Chicago (latitude,longitude): ignored."],
        ),
        (
            {"area": "99|32"},
            ["No community area “99” in the lake: ignored."],
        ),
        (
            {"start": "2023-12-01", "end": "2024-01-15"},
            [
                "The lake holds incidents from 01 Jan 2024 to 30 Jun 2024: the dates were moved "
                "into that range."
            ],
        ),
    ],
)
def test_a_link_says_what_it_could_not_show(params: dict[str, str], expected: list[str]) -> None:
    """Each value the opened view does not show as written gets one sentence."""
    shown = Filters(
        dt.date(2024, 3, 1), dt.date(2024, 3, 31), districts=("004",), community_areas=("32",)
    )
    assert link_corrections(params, shown, SPAN) == expected


def test_a_radius_that_is_no_choice_is_named_when_there_is_a_place() -> None:
    """radius=3 around a place falls back to ½ mile and says so; 1.0 is the 1-mile choice."""
    shown = Filters(dt.date(2024, 3, 1), dt.date(2024, 3, 31), near=(41.88, -87.63))
    assert link_corrections({"near": "41.88,-87.63", "radius": "3"}, shown, SPAN) == [
        "radius=“3” is not one of 0.25, 0.5, 1, 2 miles: 0.5 is used."
    ]
    one_mile = Filters(shown.start, shown.end, near=shown.near, radius=1.0)
    assert link_corrections({"near": "41.88,-87.63", "radius": "1.0"}, one_mile, SPAN) == []


def test_a_link_around_a_place_fills_the_place_fields(client: FlaskClient, app: dash.Dash) -> None:
    """near and radius go into the latitude, longitude and radius fields."""
    result = set_panel(
        client, app, f"{ids.URL_SEARCH}.data", "?near=41.87811,-87.6298&radius=1&area=32"
    )
    assert result[ids.NEAR_LAT]["value"] == 41.87811
    assert result[ids.NEAR_LON]["value"] == -87.6298
    assert result[ids.RADIUS]["value"] == "1"
    assert result[ids.AREA]["value"] == "32"


@pytest.mark.parametrize(
    ("kind", "click", "query", "expected"),
    [
        (
            "type",
            {"points": [{"y": "THEFT", "x": 40}]},
            MARCH,
            "?start=2024-03-01&end=2024-03-31&types=THEFT",
        ),
        (
            "hour",
            {"points": [{"x": 22, "y": "Mon"}]},
            MARCH,
            "?start=2024-03-01&end=2024-03-31&hours=22-22",
        ),
        (
            "period",
            {"points": [{"x": "2024-03-05", "y": 12}]},
            MARCH,
            "?start=2024-03-05&end=2024-03-05",
        ),
        (
            "period",
            {"points": [{"x": "2024-01-29", "y": 80}]},
            {"start": "2024-01-03", "end": "2024-06-30"},
            "?start=2024-01-29&end=2024-02-04",
        ),
        (
            "period",
            {"points": [{"x": "2024-01-01", "y": 30}]},
            {"start": "2024-01-03", "end": "2024-06-30"},
            "?start=2024-01-03&end=2024-01-07",
        ),
        ("type", {"points": [{"y": "NO SUCH TYPE"}]}, MARCH, None),
        ("hour", {"points": [{"x": True}]}, MARCH, None),
        ("hour", {"points": [{"x": 24}]}, MARCH, None),
        ("period", {"points": [{"x": "not a day"}]}, MARCH, None),
        ("type", {"points": []}, MARCH, None),
        ("type", None, MARCH, None),
        ("area", {"points": [{"y": "THEFT"}]}, MARCH, None),
        (
            "area",
            {"points": [{"location": "32", "z": 4.5}]},
            MARCH,
            "?start=2024-03-01&end=2024-03-31&area=32",
        ),
        ("area", {"points": [{"location": "99"}]}, MARCH, None),
        ("type", {"points": [{"y": "THEFT"}]}, {**MARCH, "types": "THEFT"}, None),
    ],
)
def test_a_chart_click_narrows_the_selection_to_what_it_picked(
    app: dash.Dash, kind: str, click: object, query: dict[str, str], expected: str | None
) -> None:
    """A bar sets its type, a heatmap column its hour, a day its day and a week its days
    inside the selection; anything else (or nothing new) changes nothing."""
    assert drill_search(kind, click, query) == expected


def test_a_click_on_a_top_types_bar_answers_the_new_address(
    client: FlaskClient, app: dash.Dash
) -> None:
    """The callback behind the overview's bars writes the narrowed search to the address bar."""
    (output,) = (
        key
        for key, entry in app.callback_map.items()
        if entry["inputs"] == [{"id": ids.OVERVIEW_TYPES, "property": "clickData"}]
    )
    body = callback_body(app, output, [{"points": [{"y": "BATTERY"}]}], [MARCH])
    result = callback_result(client, body)
    assert result[ids.URL_DRILLED]["data"] == "?start=2024-03-01&end=2024-03-31&types=BATTERY"


@pytest.mark.parametrize(
    ("filters", "capped", "expected"),
    [
        (Filters(dt.date(2024, 3, 1), dt.date(2024, 3, 31)), None, "2024-03-01-2024-03-31"),
        (
            Filters(
                dt.date(2024, 3, 1),
                dt.date(2024, 3, 31),
                primary_types=("CRIM SEXUAL ASSAULT", "THEFT"),
                districts=("004",),
                arrest=False,
                hour_from=22,
                hour_to=4,
                category="violent",
            ),
            100_000,
            "2024-03-01-2024-03-31-types-crim_sexual_assault_theft-district-004-arrest-false-"
            "category-violent-hours-22_4-newest-100000",
        ),
        (
            Filters(dt.date(2024, 3, 1), dt.date(2024, 3, 1), primary_types=("A" * 60,)),
            None,
            "2024-03-01-2024-03-01-types-" + "a" * 40,
        ),
    ],
)
def test_the_csv_file_name_says_what_it_holds(
    filters: Filters, capped: int | None, expected: str
) -> None:
    assert csv_filename(filters, capped) == f"chicago-incidents-{expected}.csv"
