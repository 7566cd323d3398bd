"""The Dash app in-process (Flask test client): empty-lake message, vendored CSS, CSV route."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import dash
import polars as pl
import pytest
from flask.testing import FlaskClient

from chicrime.app import create_app, ids
from chicrime.ingest.records import normalise
from chicrime.settings import Settings
from chicrime.store.lake import Lake
from chicrime.store.staging import Staging
from tests.conftest import api_row, observed
from tests.dash_requests import callback_body, callback_result, output_of


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app") / "data"


@pytest.fixture(scope="module")
def app(data_dir: Path) -> dash.Dash:
    return create_app(Settings(data_dir=data_dir, map_style="white-bg"))


@pytest.fixture(scope="module")
def client(app: dash.Dash) -> Iterator[FlaskClient]:
    with app.server.test_client() as test_client:
        yield test_client


def fill_lake(data_dir: Path, rows: list[dict[str, object]]) -> None:
    staging = Staging(data_dir / "staging" / "t")
    raw = [{k: str(v).lower() if isinstance(v, bool) else v for k, v in r.items()} for r in rows]
    staging.add(normalise(pl.DataFrame(raw)).rows)
    lake = Lake(data_dir / "lake")
    lake.commit(staging, lake.plan_merge(staging, []), label="t", observation=observed())


def test_empty_lake_says_which_command_to_run(client: FlaskClient) -> None:
    """Before any data exists the layout explains itself instead of drawing empty charts."""
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "No data yet" in layout
    assert "chicrime ingest --once" in layout
    assert "chicrime demo" in layout
    assert client.get("/download/incidents.csv").status_code == 404


def test_a_page_answers_what_it_can_and_leaves_the_rest(
    client: FlaskClient, app: dash.Dash
) -> None:
    """Empty lake: the overview's one callback draws its charts as the message and leaves the
    KPIs (whose part has nothing to say) as they are."""
    body = callback_body(app, output_of(app, f"{ids.OVERVIEW_SERIES}.figure"), [{}])
    answer = callback_result(client, body)
    assert sorted(answer) == [ids.OVERVIEW_SERIES, ids.OVERVIEW_TYPES]
    title = answer[ids.OVERVIEW_SERIES]["figure"]["layout"]["annotations"][0]["text"]
    assert title.startswith("No data yet")


def test_bootstrap_is_served_locally(client: FlaskClient) -> None:
    """The stylesheet comes from the installed package, not a CDN."""
    response = client.get("/vendor/bootstrap.min.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert b"Bootstrap" in response.get_data()[:300]


def test_csv_route_streams_filtered_rows_and_neutralises_formulas(
    client: FlaskClient, data_dir: Path
) -> None:
    """The download holds the selection only, says whether it was capped, and defuses `=`."""
    fill_lake(
        data_dir,
        [
            api_row(1, "2024-05-01T10:00:00", primary_type="THEFT", block='=HYPERLINK("x")'),
            api_row(2, "2024-05-02T11:00:00", primary_type="BATTERY"),
            api_row(3, "2024-04-02T11:00:00", primary_type="THEFT"),
            # The lake must reach 31 May: the route clamps dates to the lake's own range.
            api_row(4, "2024-05-31T11:00:00", primary_type="BATTERY"),
        ],
    )
    response = client.get("/download/incidents.csv?start=2024-05-01&end=2024-05-31&types=THEFT")
    assert response.status_code == 200
    assert response.headers["X-Chicrime-Capped"] == "false"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="chicago-incidents-2024-05-01-2024-05-31-types-theft.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["id"], r["primary_type"], r["block"]) for r in rows] == [
        ("1", "THEFT", '\'=HYPERLINK("x")')
    ]
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "No data yet" not in layout


def test_responses_are_compressed_for_browsers_that_accept_it(client: FlaskClient) -> None:
    """The scripts Dash serves (plotly.js alone is ~4.8 MB) and the CSS go out compressed for
    what Chromium accepts; a client that accepts no encoding gets the bytes as they are."""
    index = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+[.]js)"', index)
    (components,) = [path for path in scripts if "dash_core_components.v" in path]
    sizes = {}
    for path in (components, "/vendor/bootstrap.min.css"):
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        assert plain.headers.get("Content-Encoding") is None
        sizes[path] = (
            packed.headers["Content-Encoding"],
            len(packed.get_data()) * 3 < len(plain.get_data()),
        )
    assert sizes == {components: ("zstd", True), "/vendor/bootstrap.min.css": ("zstd", True)}
