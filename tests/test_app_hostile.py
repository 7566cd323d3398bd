"""The dashboard under hostile or absurd input (Flask test client over a real demo lake).

Crafted callback values and query strings get the nearest valid view, malformed requests a 4xx
with one line of text, and every response the security headers; nothing answers 500.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dash
import polars as pl
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chicrime.app import create_app, ids
from chicrime.app.guards import MAX_REQUEST_BYTES
from chicrime.app.shell import PAGES
from chicrime.demo import write_demo_lake
from chicrime.settings import Settings
from tests.conftest import read_lake
from tests.dash_requests import (
    CALLBACK_PATH,
    NAV_LINK_IDS,
    PRESETS_UNCLICKED,
    callback_body,
    callback_result,
    inline_script_hashes,
    output_of,
    post_callback,
)
from tests.test_filters import JSON_VALUES

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2024, 6, 30)  # the demo window
UNKNOWN_TYPES = [f"NO SUCH TYPE {i}" for i in range(10_000)]


def days(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def mondays(first: dt.date, last: dt.date) -> list[str]:
    monday = first - dt.timedelta(days=first.weekday())
    return days(monday, last)[::7]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hostile") / "data"
    write_demo_lake(Settings(data_dir=directory), start=FIRST, end=LAST, seed=3)
    dates = read_lake(directory).get_column("date").dt.date()
    assert (dates.min(), dates.max()) == (FIRST, LAST)  # what every expected range below assumes
    return directory


@pytest.fixture(scope="module")
def lake(data_dir: Path) -> pl.DataFrame:
    return read_lake(data_dir)


@pytest.fixture(scope="module")
def app(data_dir: Path) -> dash.Dash:
    return create_app(Settings(data_dir=data_dir, map_style="white-bg"))


@pytest.fixture(scope="module")
def client(app: dash.Dash) -> Iterator[FlaskClient]:
    with app.server.test_client() as test_client:
        yield test_client


def describe_body(app: dash.Dash, store: object) -> dict[str, Any]:
    """A `describe` request for this `filters` store value."""
    return callback_body(app, output_of(app, f"{ids.URL_QUERY}.data"), [store], [NAV_LINK_IDS])


def described(client: FlaskClient, app: dash.Dash, store: object) -> dict[str, Any]:
    """The canonical query `describe` answers for this `filters` store value."""
    query: dict[str, Any] = callback_result(client, describe_body(app, store))[ids.URL_QUERY][
        "data"
    ]
    return query


def series_key(app: dash.Dash) -> str:
    """The callback that draws the overview's time series (with the rest of the page)."""
    return output_of(app, f"{ids.OVERVIEW_SERIES}.figure")


def series(client: FlaskClient, app: dash.Dash, store: object) -> dict[str, Any]:
    """The overview's incidents-over-time figure for this `filters` store value."""
    figure: dict[str, Any] = callback_result(client, callback_body(app, series_key(app), [store]))[
        ids.OVERVIEW_SERIES
    ]["figure"]
    return figure


# -- hostile values in well-formed callback requests ------------------------------------------


@pytest.mark.parametrize(
    "store",
    [
        None,
        [1, 2],
        5,
        "x",
        True,
        {"start": 5, "end": ["a"]},
        {"start": {"year": 2024}, "end": None},
        {"start": "2024-02-30", "end": "2024-13-01"},
        {"types": ["THEFT"], "district": 4, "hours": 7, "arrest": [True]},
    ],
    ids=["null", "list", "number", "text", "bool", "wrong types", "dict", "impossible", "lists"],
)
def test_crafted_store_values_draw_the_default_view(
    client: FlaskClient, app: dash.Dash, store: object
) -> None:
    """A store that is not a dict of text (or names no real day) shows the last 30 days."""
    assert series(client, app, store)["data"][0]["x"] == days(LAST - dt.timedelta(days=29), LAST)


def test_year_1_to_9999_draws_the_lakes_weeks_only(client: FlaskClient, app: dash.Dash) -> None:
    """An all-time request is clamped to the lake: one point per ISO week it holds, not 520,000."""
    figure = series(client, app, {"start": "0001-01-01", "end": "9999-12-31"})
    assert figure["data"][0]["x"] == mondays(FIRST, LAST)
    assert len(figure["data"][0]["x"]) == 26
    assert figure["layout"]["title"]["text"] == "Incidents per week"


def test_a_range_from_year_1_starts_at_the_lakes_first_day(
    client: FlaskClient, app: dash.Dash
) -> None:
    """Only the impossible end of a range moves: year 1 to 10 January is 1 to 10 January 2024."""
    figure = series(client, app, {"start": "0001-01-01", "end": "2024-01-10"})
    assert figure["data"][0]["x"] == days(FIRST, dt.date(2024, 1, 10))


def test_ten_thousand_unknown_types_draw_the_same_figure_as_no_type_filter(
    client: FlaskClient, app: dash.Dash
) -> None:
    """Types the lake does not hold are dropped, however many are sent."""
    dates = {"start": "2024-05-01", "end": "2024-05-31"}
    crafted = series(client, app, {**dates, "types": "|".join(UNKNOWN_TYPES)})
    assert crafted == series(client, app, dates)
    whole_lake = {"start": FIRST.isoformat(), "end": LAST.isoformat()}
    assert described(client, app, {**whole_lake, "types": "|".join(UNKNOWN_TYPES)}) == whole_lake


def test_describe_swaps_reversed_dates(client: FlaskClient, app: dash.Dash) -> None:
    """End before start is described the right way round, links and summary too."""
    result = callback_result(
        client, describe_body(app, {"start": "2024-03-20", "end": "2024-03-05"})
    )
    query = "?start=2024-03-05&end=2024-03-20"
    assert result[ids.URL_QUERY]["data"] == {"start": "2024-03-05", "end": "2024-03-20"}
    assert [result[f'{{"path":"{p}","type":"{ids.NAV_LINK}"}}']["href"] for p, _ in PAGES] == [
        path + query for path, _label in PAGES
    ]
    assert result[ids.SUMMARY]["children"] == "05 Mar 2024 – 20 Mar 2024 (16 days)"


def test_describe_clamps_year_1_to_9999_to_the_lake(client: FlaskClient, app: dash.Dash) -> None:
    """Absurd years are described as the lake's own first and last day."""
    assert described(client, app, {"start": "0001-01-01", "end": "9999-12-31"}) == {
        "start": FIRST.isoformat(),
        "end": LAST.isoformat(),
    }


@pytest.mark.parametrize(
    ("values", "extra"),
    [
        ({"types": "THEFT"}, {"types": "THEFT"}),
        ({"types": "THEFT|5|ARSON)"}, {"types": "THEFT"}),
        ({"types": ["THEFT"]}, {}),
        ({"types": {"THEFT": True}}, {}),
        ({"district": "004"}, {"district": "004"}),
        ({"district": 4}, {}),
        ({"district": "999"}, {}),
        ({"hours": "a-b"}, {}),
        ({"hours": "5"}, {}),
        ({"hours": [3, 7]}, {}),
        ({"hours": "3-30"}, {"hours": "3-23"}),
        ({"hours": "22-3"}, {"hours": "22-3"}),
        ({"arrest": 1, "domestic": ["true"]}, {}),
        ({"arrest": "true", "domestic": "FALSE"}, {"arrest": "true", "domestic": "false"}),
    ],
    ids=repr,
)
def test_describe_reads_hostile_store_values_as_the_nearest_valid_selection(
    client: FlaskClient, app: dash.Dash, values: dict[str, object], extra: dict[str, str]
) -> None:
    """Wrong types count as unset and unknown values are dropped."""
    whole_lake = {"start": FIRST.isoformat(), "end": LAST.isoformat()}
    assert described(client, app, {**whole_lake, **values}) == {**whole_lake, **extra}


@pytest.mark.parametrize(
    "store",
    [None, 5, [], {"end": "2024-03-01"}, {"start": ["2024-03-01"], "end": "2024-03-02"}],
    ids=repr,
)
def test_describe_without_both_dates_changes_nothing(
    client: FlaskClient, app: dash.Dash, store: object
) -> None:
    """Until the store holds two dates (the panel is filled from the URL first): 204."""
    assert post_callback(client, describe_body(app, store)).status_code == 204


def apply_url_result(client: FlaskClient, app: dash.Dash, search: object) -> dict[str, Any]:
    """What the panel is set to for the address bar's `search` (read, not Reset or a preset)."""
    output = output_of(app, f"{ids.DATE_FROM}.value")
    body = callback_body(app, output, [search, None, *PRESETS_UNCLICKED], [None, None])
    return callback_result(client, body)


@pytest.mark.parametrize(
    ("search", "start", "end", "notice"),
    [
        (5, "2024-06-01", "2024-06-30", None),
        (["?start=2024-03-01"], "2024-06-01", "2024-06-30", None),
        (
            "?start=0001-01-01&end=9999-12-31&hours=a-b",
            "2024-01-01",
            "2024-06-30",
            [
                "The lake holds incidents from 01 Jan 2024 to 30 Jun 2024: the dates were moved "
                "into that range.",
                "hours=“a-b” is not a range of hours 0–23 such as 8-17 (or 22-4 overnight): "
                "showing 0-23.",
            ],
        ),
        (
            "?start=2024-03-10&end=2024-03-01&types=%00",
            "2024-03-01",
            "2024-03-10",
            [
                "The dates were given end first (2024-03-10 to 2024-03-01): swapped.",
                "No primary type “\x00” in the lake: ignored.",
            ],
        ),
    ],
)
def test_the_panel_follows_a_hostile_url_to_the_nearest_valid_view(
    client: FlaskClient,
    app: dash.Dash,
    search: object,
    start: str,
    end: str,
    notice: list[str] | None,
) -> None:
    """A search that is not text means none; absurd or reversed dates are clamped and swapped,
    and the page says so."""
    result = apply_url_result(client, app, search)
    assert (result[ids.DATE_FROM]["value"], result[ids.DATE_TO]["value"]) == (start, end)
    assert (result[ids.HOUR_FROM]["value"], result[ids.HOUR_TO]["value"]) == ("0", "23")
    assert result[ids.TYPES]["value"] == []
    shown = result[ids.URL_NOTICE]["children"]
    lines = (
        None
        if shown is None
        else [div["props"]["children"] for div in shown["props"]["children"][1:]]
    )
    assert lines == notice


def test_an_overnight_link_sets_the_hour_choices_as_written(
    client: FlaskClient, app: dash.Dash
) -> None:
    """hours=22-4 is a meaningful range: From 22, To 4, and no notice."""
    result = apply_url_result(client, app, "?start=2024-06-01&end=2024-06-30&hours=22-4")
    assert (result[ids.HOUR_FROM]["value"], result[ids.HOUR_TO]["value"]) == ("22", "4")
    assert result[ids.URL_NOTICE]["children"] is None


def test_navbar_marks_overview_for_a_pathname_that_is_not_text(
    client: FlaskClient, app: dash.Dash
) -> None:
    """A crafted pathname or link id highlights nothing but the overview's link."""
    crafted_links = [
        5,
        {"path": []},
        None,
        {"path": "/trends"},
        "x",
        {"path": 7},
        {"path": "/areas"},
        {"path": "/changes"},
    ]
    body = callback_body(
        app, f'{{"path":["ALL"],"type":"{ids.NAV_LINK}"}}.active', [[1]], [crafted_links]
    )
    result = callback_result(client, body)
    assert [result[f'{{"path":"{p}","type":"{ids.NAV_LINK}"}}']["active"] for p, _ in PAGES] == [
        True,
        True,
        True,
        False,
        True,
        True,
        False,
        False,
    ]


# -- malformed requests -------------------------------------------------------------------------


def _with(body: dict[str, Any], **changes: object) -> dict[str, Any]:
    return {**body, **changes}


MALFORMED: list[tuple[str, Callable[[dash.Dash], object], str]] = [
    ("a list", lambda app: [1, 2], "the body must be a JSON object"),
    (
        "inputs as text",
        lambda app: {"output": series_key(app), "inputs": "x"},
        "outputs must be a list of 10",
    ),
    (
        "inputs as text, otherwise whole",
        lambda app: _with(callback_body(app, series_key(app), [{}]), inputs="x"),
        "inputs must be a list of 1",
    ),
    (
        "no such output",
        lambda app: _with(callback_body(app, series_key(app), [{}]), output="nope.figure"),
        "output names no server callback",
    ),
    (
        "a clientside output",
        lambda app: _with(
            callback_body(app, series_key(app), [{}]), output=f"{ids.URL_SEARCH}.data"
        ),
        "output names no server callback",
    ),
    (
        "no changedPropIds",
        lambda app: {
            k: v
            for k, v in callback_body(app, series_key(app), [{}]).items()
            if k != "changedPropIds"
        },
        "changedPropIds must list some of the inputs as id.property",
    ),
    (
        "changedPropIds naming no input",
        lambda app: _with(
            callback_body(app, series_key(app), [{}]), changedPropIds=["{bad.search"]
        ),
        "changedPropIds must list some of the inputs as id.property",
    ),
    (
        "changedPropIds holding an object",
        lambda app: _with(callback_body(app, series_key(app), [{}]), changedPropIds=[{"a": 1}]),
        "changedPropIds must list some of the inputs as id.property",
    ),
    (
        "an input for another component",
        lambda app: _with(
            callback_body(app, series_key(app), [{}]),
            inputs=[{"id": ids.URL, "property": "data", "value": {}}],
        ),
        f"inputs: an entry's id is not {ids.FILTERS}",
    ),
    (
        "an input without its property",
        lambda app: _with(callback_body(app, series_key(app), [{}]), inputs=[{"id": ids.FILTERS}]),
        "inputs: every entry must be an object with property data",
    ),
    (
        "two inputs for one",
        lambda app: _with(
            callback_body(app, series_key(app), [{}]),
            inputs=callback_body(app, series_key(app), [{}])["inputs"] * 2,
        ),
        "inputs must be a list of 1",
    ),
    (
        "another callback's output",
        lambda app: _with(
            callback_body(app, series_key(app), [{}]),
            outputs=[
                *callback_body(app, series_key(app), [{}])["outputs"][:-1],
                {"id": ids.TRENDS_TYPES, "property": "figure"},
            ],
        ),
        f"outputs: an entry's id is not {ids.OVERVIEW_TYPES}",
    ),
    (
        "pattern output as one object",
        lambda app: _with(
            describe_body(app, {}),
            outputs=[
                {"id": ids.URL_QUERY, "property": "data"},
                {"id": NAV_LINK_IDS[0], "property": "href"},
                {"id": ids.SUMMARY, "property": "children"},
            ],
        ),
        'outputs: {"path":["ALL"],"type":"nav-link"} must be a list of components',
    ),
    (
        "state naming other links than the outputs",
        lambda app: _with(
            describe_body(app, {}),
            state=[[{"id": link, "property": "id", "value": link} for link in NAV_LINK_IDS[:2]]],
        ),
        'state: the entries for {"path":["ALL"],"type":"nav-link"} disagree',
    ),
    (
        "router pathname as a number",
        lambda app: callback_body(app, output_of(app, "_pages_content.children"), [5, ""]),
        "inputs: _pages_location.pathname must be text",
    ),
    (
        "router pathname outside the app",
        lambda app: callback_body(app, output_of(app, "_pages_content.children"), ["x", ""]),
        "inputs: _pages_location.pathname must start with /",
    ),
]


@pytest.mark.parametrize(
    ("build", "problem"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_callback_requests_get_400_and_one_line(
    client: FlaskClient, app: dash.Dash, build: Callable[[dash.Dash], object], problem: str
) -> None:
    """A request Dash would choke on is refused with 400 and a line naming what to do."""
    response = post_callback(client, build(app))
    assert (response.status_code, response.mimetype) == (400, "text/plain")
    assert response.get_data(as_text=True) == (
        f"Malformed callback request ({problem}): reload the page.\n"
    )


def test_a_body_that_is_not_json_gets_400(client: FlaskClient) -> None:
    """Bytes that do not parse as JSON are refused like any other malformed request."""
    response = client.post(CALLBACK_PATH, data=b"{not json", content_type="application/json")
    assert (response.status_code, response.get_data(as_text=True)) == (
        400,
        "Malformed callback request (the body must be a JSON object): reload the page.\n",
    )


def test_an_oversized_callback_request_gets_413(client: FlaskClient) -> None:
    """A body over the size limit is refused before anything parses it."""
    response = client.post(
        CALLBACK_PATH,
        data=b"[" + b"1," * MAX_REQUEST_BYTES + b"1]",
        content_type="application/json",
    )
    assert (response.status_code, response.get_data(as_text=True)) == (
        413,
        f"Request over {MAX_REQUEST_BYTES:,} bytes: reload the page.\n",
    )


@pytest.mark.parametrize("path", ["dash/nope.js", "dash/../../etc/passwd", "nope/x.js"])
def test_a_bundle_dash_does_not_serve_gets_404(client: FlaskClient, path: str) -> None:
    """Unknown script paths are a plain 404, not Dash's 500."""
    response = client.get(f"/_dash-component-suites/{path}")
    assert (response.status_code, response.get_data(as_text=True)) == (
        404,
        "No such script: reload the page.\n",
    )


# -- the CSV route ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "dates"),
    [
        ("start=0001-01-01&end=9999-12-31", "2024-01-01-2024-06-30-newest-100000"),
        ("start=2024-03-10&end=2024-03-01", "2024-03-01-2024-03-10"),
        ("start=2024-02-30&end=%00", "2024-06-01-2024-06-30"),
        ("start=1999-01-01&end=1999-12-31", "2024-01-01-2024-01-01"),
        (
            "start=2024-06-29&hours=a-b&arrest=maybe&types=" + "|".join(UNKNOWN_TYPES[:500]),
            "2024-06-29-2024-06-30",
        ),
    ],
)
def test_csv_route_answers_hostile_params_with_the_clamped_selection(
    client: FlaskClient, lake: pl.DataFrame, query: str, dates: str
) -> None:
    """200, named after the clamped dates (and the cap, when it cut the file), holding exactly
    the rows of that range."""
    response = client.get(f"/download/incidents.csv?{query}", buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="chicago-incidents-{dates}.csv"'
    )
    first, last = dt.date.fromisoformat(dates[:10]), dt.date.fromisoformat(dates[11:21])
    expected = lake.filter(pl.col("date").dt.date().is_between(first, last)).height
    rows = response.get_data(as_text=True).count("\n") - 1
    assert rows == min(expected, int(response.headers["X-Chicrime-Row-Cap"]))
    assert response.headers["X-Chicrime-Capped"] == str(expected > rows).lower()


# -- security headers ---------------------------------------------------------------------------


def test_every_inline_script_of_the_page_is_allowed_by_a_hash(
    client: FlaskClient, app: dash.Dash
) -> None:
    """The policy lists a hash for each inline script Dash renders, and nothing else."""
    assert inline_script_hashes(client.get("/").get_data(as_text=True)) == app.csp_hashes()


def test_every_kind_of_response_carries_the_exact_security_headers(
    client: FlaskClient, app: dash.Dash
) -> None:
    """Pages, bundles, callbacks (answered or refused), CSV, CSS and 404s: the same headers."""
    expected = {
        "Content-Security-Policy": (
            "default-src 'self'; "
            f"script-src 'self' {' '.join(app.csp_hashes())}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            "worker-src blob:; "
            "connect-src 'self'; "
            "frame-ancestors 'none'; "
            "base-uri 'self'; "
            "form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    page = client.get("/trends?start=x")
    bundle = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page.get_data(as_text=True))[0]
    responses = {
        "page": page,
        "bundle": client.get(bundle),
        "callback": post_callback(client, callback_body(app, series_key(app), [{}])),
        "refused callback": post_callback(client, [1, 2]),
        "csv": client.get("/download/incidents.csv?start=2024-06-30", buffered=True),
        "css": client.get("/vendor/bootstrap.min.css"),
        "layout": client.get("/_dash-layout"),
        "missing bundle": client.get("/_dash-component-suites/dash/nope.js"),
    }
    statuses = {name: response.status_code for name, response in responses.items()}
    assert statuses == {
        "page": 200,
        "bundle": 200,
        "callback": 200,
        "refused callback": 400,
        "csv": 200,
        "css": 200,
        "layout": 200,
        "missing bundle": 404,
    }
    for name, response in responses.items():
        assert {header: response.headers.get(header) for header in expected} == expected, name


# -- any JSON value at all ------------------------------------------------------------------------


# A store value: anything at all, or a dict under the keys the app reads with anything in them.
STORES = JSON_VALUES | st.dictionaries(
    st.sampled_from(["start", "end", "types", "district", "arrest", "domestic", "hours"]),
    JSON_VALUES | st.dates().map(dt.date.isoformat),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    store=STORES,
    damaged=st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds"]),
    damage=JSON_VALUES,
)
def test_no_json_value_makes_the_app_answer_500(
    client: FlaskClient, app: dash.Dash, store: object, damaged: str, damage: object
) -> None:
    """Any JSON as the `filters` store gets 200/204 from every callback that takes it; any
    JSON in place of a key, 400."""
    filter_callbacks = [
        key
        for key, entry in app.callback_map.items()
        if "callback" in entry
        and entry["inputs"] == [{"id": ids.FILTERS, "property": "data"}]
        and not entry["state"]
    ]
    assert len(filter_callbacks) == 8  # one per page that follows the selection
    requests = [callback_body(app, key, [store]) for key in filter_callbacks]
    describe = describe_body(app, store)
    requests.append(describe)
    assert {post_callback(client, body).status_code for body in requests} <= {200, 204}
    assert post_callback(client, {**describe, damaged: damage}).status_code in {200, 204, 400}


def incident_card(client: FlaskClient, app: dash.Dash, click: object, store: object) -> str:
    """The text of the map's incident details for this click and `filters` store value."""
    body = callback_body(app, f"{ids.MAP_DETAIL}.children", [click], [store])
    return " ".join(texts(callback_result(client, body)[ids.MAP_DETAIL]["children"]))


def texts(component: object) -> list[str]:
    """Every text in a serialised component tree, in document order."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list):
        return [text for child in component for text in texts(child)]
    if isinstance(component, dict):
        return texts(component.get("props", {}).get("children"))
    return []


WEEK = {"start": "2024-06-24", "end": "2024-06-30"}


def test_a_click_on_the_points_map_shows_that_incident(
    client: FlaskClient, app: dash.Dash, lake: pl.DataFrame
) -> None:
    """Traces run from the other types to the commonest, no arrest before arrest: the second
    dot of the commonest type's no-arrest trace is the second newest located such incident of
    the week, and its card names it and offers the incidents around it."""
    week = lake.filter(
        (pl.col("date").dt.date() >= dt.date(2024, 6, 24)) & pl.col("latitude").is_not_null()
    )
    ranked = (
        week.group_by("primary_type")
        .len()
        .sort(["len", "primary_type"], descending=[True, False])
        .get_column("primary_type")
    )
    commonest = ranked[0]
    # The ten commonest types have traces of their own, the others share theirs.
    group = pl.when(pl.col("primary_type").is_in(ranked.head(10).implode()))
    traces = week.select(group.then("primary_type").otherwise(None), "arrest").unique().height
    curve = traces - 1 - int(week.filter(pl.col("primary_type") == commonest)["arrest"].any())
    expected = (
        week.filter((pl.col("primary_type") == commonest) & ~pl.col("arrest"))
        .sort(["date", "id"], descending=True)
        .row(1, named=True)
    )
    click = {"points": [{"curveNumber": curve, "pointNumber": 1}]}
    card = incident_card(client, app, click, WEEK)
    assert card == (
        f"{commonest} {expected['date']:%a %d %b %Y, %H:%M} (Chicago time) · no arrest "
        f"Block: {expected['block']} "
        f"Location: {expected['latitude']:.5f}, {expected['longitude']:.5f} "
        "Incidents within ½ mile of here"
    )


@pytest.mark.parametrize(
    "click",
    [
        None,
        5,
        {"points": []},
        {"points": [{"curveNumber": True, "pointNumber": 0}]},
        {"points": [{"curveNumber": 0, "pointNumber": 10**9}]},
        {"points": [{"curveNumber": -1, "pointNumber": 0}]},
        {"points": [{"curveNumber": "0", "pointNumber": 0}]},
    ],
    ids=repr,
)
def test_a_crafted_click_shows_the_hint_not_an_error(
    client: FlaskClient, app: dash.Dash, click: object
) -> None:
    """Anything a click on a dot would not send gets the hint to click one."""
    assert incident_card(client, app, click, WEEK) == "Click a dot for the incident's details."
