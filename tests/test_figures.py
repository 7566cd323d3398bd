"""Figures from analytics frames: what each chart is given to draw, checked value by value."""

from __future__ import annotations

import datetime as dt

import polars as pl

from chicrime.analytics.queries import MAP_POINTS_SCHEMA, TIME_SERIES_SCHEMA, WEEKDAY_HOUR_SCHEMA
from chicrime.app import figures


def weekly(rows: list[tuple[dt.date, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TIME_SERIES_SCHEMA, orient="row")


def test_partial_weeks_are_markers_of_their_own_not_points_on_the_line() -> None:
    """Whole weeks make the line; the 3-day first and 2-day last weeks are hollow markers
    whose hover names the days they hold."""
    series = weekly(
        [
            (dt.date(2024, 1, 1), 30, 3),
            (dt.date(2024, 1, 8), 70, 7),
            (dt.date(2024, 1, 15), 71, 7),
            (dt.date(2024, 1, 22), 20, 2),
        ]
    )
    line, partial = figures.incidents_line(series, "week")["data"]
    assert (line["x"], line["y"]) == (["2024-01-08", "2024-01-15"], [70, 71])
    assert line["hovertemplate"].startswith("week of ")
    assert (partial["x"], partial["y"]) == (["2024-01-01", "2024-01-22"], [30, 20])
    assert partial["customdata"] == [3, 2]
    assert partial["marker"]["symbol"] == "circle-open"


def test_a_daily_series_is_one_line_with_every_day() -> None:
    """Days are never partial: one trace, every day on it."""
    series = weekly([(dt.date(2024, 1, 1), 4, 1), (dt.date(2024, 1, 2), 0, 1)])
    (line,) = figures.incidents_line(series, "day")["data"]
    assert (line["x"], line["y"]) == (["2024-01-01", "2024-01-02"], [4, 0])


def test_the_heatmap_leaves_hours_outside_the_filter_empty_and_darkens_with_counts() -> None:
    """With hours 22-1 selected, other hours are gaps (None), selected hours without incidents
    are 0, and the scale runs from pale at 0 to dark red at the top."""
    cells = pl.DataFrame(
        [(0, 23, 5), (6, 1, 2)] + [(d, h, 0) for d in range(7) for h in (0, 22)],
        schema=WEEKDAY_HOUR_SCHEMA,
        orient="row",
    )
    (trace,) = figures.weekday_hour_heatmap(cells, frozenset({22, 23, 0, 1}))["data"]
    monday, sunday = trace["z"][0], trace["z"][6]
    assert monday[22:] == [0, 5]
    assert monday[:2] == [0, 0]
    assert sunday[1] == 2
    assert monday[2:22] == [None] * 20
    assert trace["colorscale"][0] == [0.0, "#ffffcc"]
    assert trace["colorscale"][-1] == [1.0, "#800026"]
    assert trace["colorbar"]["title"] == {"text": "incidents"}


def test_the_heatmap_without_an_hour_filter_draws_every_cell() -> None:
    """No filter: all 168 cells are numbers, zeros included."""
    cells = pl.DataFrame([(2, 9, 1)], schema=WEEKDAY_HOUR_SCHEMA, orient="row")
    (trace,) = figures.weekday_hour_heatmap(cells)["data"]
    assert sum(row.count(None) for row in trace["z"]) == 0
    assert trace["z"][2][9] == 1
    assert sum(map(sum, trace["z"])) == 1


def test_the_points_map_draws_the_commonest_types_in_colour_and_the_rest_as_one_group() -> None:
    """Twelve types: the ten commonest get a colour and a trace per arrest outcome each, the
    two rarest share one grey group whose dots name their own type; rarest group first,
    commonest last, no arrest before arrest, rows in their given order."""
    kinds = [f"TYPE {chr(65 + n)}" for n in range(12)]  # TYPE A: 12 incidents ... TYPE L: 1
    rows = [(kind, n % 2 == 1) for rank, kind in enumerate(kinds) for n in range(12 - rank)]
    points = pl.DataFrame(
        {
            "id": range(len(rows)),
            "date": [dt.datetime(2024, 6, 1, n % 24, 0) for n in range(len(rows))],
            "primary_type": [kind for kind, _arrest in rows],
            "arrest": [arrest for _kind, arrest in rows],
            "block": ["000XX W MADISON ST"] * len(rows),
            "latitude": [41.88] * len(rows),
            "longitude": [-87.63] * len(rows),
        }
    ).select(MAP_POINTS_SCHEMA.names())
    traces = figures.points_map(points, "white-bg")["data"]
    # TYPE K (2 incidents) and TYPE L (1) are the other types: K's no-arrest and arrest dots
    # and L's no-arrest dot.
    assert [(trace["name"], "arrest made" in trace["hovertemplate"]) for trace in traces] == [
        ("other types", False),
        ("other types", True),
        *[(kind.title(), arrest) for kind in reversed(kinds[:10]) for arrest in (False, True)],
    ]
    assert traces[0]["text"] == ["TYPE K", "TYPE L"]
    assert traces[1]["text"] == ["TYPE K"]
    assert traces[0]["hovertemplate"].startswith("<b>%{text}</b><br>%{customdata} · no arrest")
    assert "text" not in traces[-1]
    assert traces[-1]["marker"]["color"] == "#1f78b4"  # the commonest type, TYPE A
    assert {trace["marker"]["color"] for trace in traces[:2]} == {"#9e9e9e"}
    assert [trace["showlegend"] for trace in traces[:4]] == [True, False, True, False]


def test_a_dot_hovers_with_its_type_day_time_and_arrest() -> None:
    """Per point only the wall-clock day and time travel as text; type and arrest are the
    trace's. A circle around a place is a closed line of 73 points, starting due east."""
    points = pl.DataFrame(
        {
            "date": [dt.datetime(2024, 6, 30, 19, 20), dt.datetime(2024, 6, 2, 7, 5)],
            "primary_type": ["THEFT", "THEFT"],
            "arrest": [False, False],
            "block": ["000XX W MADISON ST", "001XX N STATE ST"],
            "latitude": [41.88, 41.89],
            "longitude": [-87.63, -87.62],
        }
    ).with_columns(id=pl.Series([2, 1]))
    (trace,) = figures.points_map(points.select(MAP_POINTS_SCHEMA.names()), "white-bg")["data"]
    assert trace["customdata"] == ["30 Jun 19:20", "02 Jun 07:05"]
    assert trace["hovertemplate"].startswith("<b>THEFT</b><br>%{customdata} · no arrest")
    circle = figures.circle_trace((41.88, -87.63), 1.0, "within 1 mile")
    # East of the point: 1 mile / (69.055 cos 41.88°) = 1 / 51.4152 = 0.0194495° of longitude.
    assert (len(circle["lat"]), circle["lat"][0], circle["lon"][0]) == (73, 41.88, -87.61055)
    assert circle["lat"][18] == round(41.88 + 1 / 69.055, 6)
