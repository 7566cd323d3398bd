"""`/areas` — where incidents happen: community areas ranked by incidents per 100,000
residents (a table and a map), the selection's trend, and districts and wards ranked."""

from __future__ import annotations

from typing import Literal

import dash
import dash_bootstrap_components as dbc
import polars as pl
from dash import Output, html
from dash.dash_table.DataTable import DataTable

from chicrime.analytics import Filters
from chicrime.analytics.areas import Population
from chicrime.app import charts, ids
from chicrime.app.context import (
    Part,
    current,
    drill_callback,
    figure_part,
    page_callback,
    selection,
)
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


def _place_columns(place: Literal["district", "ward"]) -> list[object]:
    return [
        table_column(place, _PLACE_NAMES[place], None),
        table_column("incidents", "Incidents", ","),
        table_column("share", "Share (%)", ".1f"),
        table_column("arrest_rate", "Arrest rate (%)", ".1f"),
    ]


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Community areas, districts and wards"),
            html.P(id=ids.AREAS_NOTE, className="small text-muted"),
            dbc.Row(
                [
                    dbc.Col(chart(ids.AREAS_MAP, 620), lg=6),
                    dbc.Col(
                        html.Div(
                            _table(
                                ids.AREAS_TABLE,
                                [table_column(k, name, n) for k, name, n in _AREA_COLUMNS],
                            ),
                            id=ids.AREAS_TABLE,
                            className="mb-3",
                        ),
                        lg=6,
                    ),
                ]
            ),
            chart(ids.AREAS_SERIES),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.H2("Districts", className="h5"),
                            _table(ids.DISTRICTS, _place_columns("district")),
                        ]
                    ),
                    dbc.Col(
                        [
                            html.H2("Wards", className="h5"),
                            _table(ids.WARDS, _place_columns("ward")),
                        ]
                    ),
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


def _table(table_id: str, columns: list[object]) -> DataTable:
    """A ranking table, filled by a callback: its rows change with the selection, the table
    itself stays (re-creating it per change costs more than the new rows)."""
    return DataTable(
        id=table_id + "-grid",
        data=[],
        columns=columns,  # type: ignore[arg-type]
        sort_action="native",
        export_format="csv",
        export_headers="display",
        page_action="none",
        virtualization=True,  # only the rows in view are in the page: a long table draws fast
        style_table={"maxHeight": "34rem", "overflowY": "auto"},
        style_cell={"fontSize": 13, "textAlign": "left"},
    )


def show_areas(query: object) -> tuple[Figure, list[dict[str, object]], str]:
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
    return figure, area_rows(rates), population_note(analytics.population())


def _place_rows(filters: Filters, place: Literal["district", "ward"]) -> list[dict[str, object]]:
    counts = current().analytics.place_counts(filters, place)
    total = max(int(counts.get_column("incidents").sum()), 1)
    return [
        {
            place: value,
            "incidents": incidents,
            "share": round(100 * incidents / total, 1),
            "arrest_rate": round(100 * arrests / incidents, 1),
        }
        for value, incidents, arrests in counts.iter_rows()
    ]


def show_places(query: object) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    return _place_rows(filters, "district"), _place_rows(filters, "ward")


page_callback(
    Part(
        (
            Output(ids.AREAS_MAP, "figure"),
            Output(ids.AREAS_TABLE + "-grid", "data"),
            Output(ids.AREAS_NOTE, "children"),
        ),
        show_areas,
    ),
    Part(
        (Output(ids.DISTRICTS + "-grid", "data"), Output(ids.WARDS + "-grid", "data")), show_places
    ),
    figure_part(ids.AREAS_SERIES, "Incidents over time", charts.incidents_over_time, "period"),
)
drill_callback(ids.AREAS_MAP, "area")
