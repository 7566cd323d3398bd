"""`/map` — incidents on a map: dots for ranges up to 90 days, aggregated beyond."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from chicrime.analytics import Filters
from chicrime.app import charts, ids
from chicrime.app.context import render_figure
from chicrime.app.figures import Figure
from chicrime.app.widgets import chart


def layout(**_query: str) -> html.Div:
    return html.Div(
        [dbc.Alert(id=ids.MAP_NOTE, color="light", className="py-2"), chart(ids.MAP_GRAPH, 620)]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/map", name="Map", order=2, title="chicrime · map", layout=layout
)


@callback(
    Output(ids.MAP_GRAPH, "figure"),
    Output(ids.MAP_NOTE, "children"),
    Input(ids.FILTERS, "data"),
)
def show_map(query: object) -> tuple[Figure, str]:
    notes: list[str] = []

    def build(filters: Filters) -> Figure | None:
        figure, note = charts.map_view(filters)
        notes.append(note)
        return figure

    figure = render_figure(query, "Map", build)
    return figure, notes[0] if notes else ""
