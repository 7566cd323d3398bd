"""`/areas` — where incidents happen: community areas ranked by incidents per 100,000
residents (a table and a map), the selection's trend, and districts and wards ranked."""

from __future__ import annotations

from typing import Literal

import dash
import dash_bootstrap_components as dbc
import polars as pl
from dash import Input, Output, callback, html
from dash.dash_table.DataTable import DataTable

from chicrime.analytics import Filters
from chicrime.analytics.areas import Population
from chicrime.app import charts, ids
from chicrime.app.context import chart_callback, current, drill_callback, selection
from chicrime.app.figures import Figure, message_figure
from chicrime.app.widgets import chart, page_heading, table_column

_AREA_COLUMNS = (
    ("rank", "Rank", None),
    ("community_area", "Area", None),
    ("name", "Name", None),
    ("incidents", "Incidents", ","),
    ("population", "Residents", ","),
    ("rate", "Per 100,000 residents", ",.1f"),
)
_PLACE_NAMES = {"district": "District", "ward": "Ward"}


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Community areas, districts and wards"),
            html.P(id=ids.AREAS_NOTE, className="small text-muted"),
            dbc.Row(
                [
                    dbc.Col(chart(ids.AREAS_MAP, 620), lg=6),
                    dbc.Col(html.Div(id=ids.AREAS_TABLE, className="mb-3"), lg=6),
                ]
            ),
            chart(ids.AREAS_SERIES),
            dbc.Row(
                [
                    dbc.Col([html.H2("Districts", className="h5"), html.Div(id=ids.DISTRICTS)]),
                    dbc.Col([html.H2("Wards", className="h5"), html.Div(id=ids.WARDS)]),
                ],
                className="mb-3",
            ),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/areas", name="Areas", order=5, title="chicrime · areas", layout=layout
)


def population_note(population: Population | None) -> str:
    """Where the residents come from, and how far to trust rates made with them."""
    if population is None:
        return (
            "No population is cached yet (it is fetched from the portal's ACS table after a "
            "successful ingestion), so areas are ranked by incidents."
        )
    if population.synthetic:
        return "Residents are synthetic, made by chicrime demo to match its synthetic areas."
    return (
        f"Residents: American Community Survey 5-year estimate ending {population.acs_year} "
        "(the portal's t68z-cikk). Estimates carry a margin of error, largest for the "
        "smallest areas, so rates a few percent apart are best read as equal. A rate counts "
        "incidents where they happened, per resident: places people visit in numbers (the "
        "Loop) rank high for that reason."
    )


def area_rows(rates: pl.DataFrame) -> list[dict[str, object]]:
    """Table rows, ranked as ordered, names in title case, rates to one decimal."""
    return [
        {
            "rank": str(rank),
            "community_area": row["community_area"],
            "name": (row["name"] or "").title(),
            "incidents": row["incidents"],
            "population": row["population"],
            "rate": None if row["rate"] is None else round(row["rate"], 1),
        }
        for rank, row in enumerate(rates.iter_rows(named=True), start=1)
    ]


def _table(table_id: str, rows: list[dict[str, object]], columns: list[object]) -> DataTable:
    return DataTable(
        id=table_id + "-grid",
        data=rows,  # type: ignore[arg-type]
        columns=columns,  # type: ignore[arg-type]
        sort_action="native",
        export_format="csv",
        export_headers="display",
        page_action="none",
        virtualization=True,  # only the rows in view are in the page: a long table draws fast
        style_table={"maxHeight": "34rem", "overflowY": "auto"},
        style_cell={"fontSize": 13, "textAlign": "left"},
    )


@callback(
    Output(ids.AREAS_MAP, "figure"),
    Output(ids.AREAS_TABLE, "children"),
    Output(ids.AREAS_NOTE, "children"),
    Input(ids.FILTERS, "data"),
)
def show_areas(query: object) -> tuple[Figure, object, str]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    analytics = current().analytics
    rates = analytics.community_area_rates(filters)
    figure = charts.area_rates_map(rates) or message_figure(
        "Community-area boundaries are not cached yet: they are fetched after the next "
        "successful ingestion.",
        "Community areas",
    )
    columns = [table_column(key, name, number) for key, name, number in _AREA_COLUMNS]
    table = _table(ids.AREAS_TABLE, area_rows(rates), columns)
    return figure, table, population_note(analytics.population())


def _place_table(filters: Filters, place: Literal["district", "ward"]) -> DataTable:
    counts = current().analytics.place_counts(filters, place)
    total = max(int(counts.get_column("incidents").sum()), 1)
    rows = [
        {
            place: value,
            "incidents": incidents,
            "share": round(100 * incidents / total, 1),
            "arrest_rate": round(100 * arrests / incidents, 1),
        }
        for value, incidents, arrests in counts.iter_rows()
    ]
    columns = [
        table_column(place, _PLACE_NAMES[place], None),
        table_column("incidents", "Incidents", ","),
        table_column("share", "Share (%)", ".1f"),
        table_column("arrest_rate", "Arrest rate (%)", ".1f"),
    ]
    return _table(ids.DISTRICTS if place == "district" else ids.WARDS, rows, columns)


@callback(
    Output(ids.DISTRICTS, "children"),
    Output(ids.WARDS, "children"),
    Input(ids.FILTERS, "data"),
)
def show_places(query: object) -> tuple[object, object]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    return _place_table(filters, "district"), _place_table(filters, "ward")


drill_callback(ids.AREAS_MAP, "area")
chart_callback(ids.AREAS_SERIES, "Incidents over time", charts.incidents_over_time, "period")
