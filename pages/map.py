"""`/map` — incidents on a map: dots for ranges up to 90 days, aggregated beyond."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html

from chicrime.analytics import MAP_POINTS_MAX_DAYS, Filters
from chicrime.app import charts, ids
from chicrime.app.context import drill_callback, render_figure, selection
from chicrime.app.figures import Figure, radius_text
from chicrime.app.widgets import chart, page_heading


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Map of incidents"),
            dbc.Alert(id=ids.MAP_NOTE, color="light", className="py-2"),
            chart(ids.MAP_GRAPH, 620),
            html.Div(id=ids.MAP_DETAIL, className="mb-3"),
        ]
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


drill_callback(ids.MAP_GRAPH, "area")


@callback(
    Output(ids.MAP_DETAIL, "children"),
    Input(ids.MAP_GRAPH, "clickData"),
    State(ids.FILTERS, "data"),
)
def show_incident(click: object, query: object) -> object:
    """The clicked incident's details (the hover shows its type, day, time and arrest), and a link
    to the incidents around it."""
    filters = selection(query)
    if filters is None or filters.days > MAP_POINTS_MAX_DAYS:
        return None
    incident = charts.clicked_incident(click, filters)
    if incident is None:
        return html.P("Click a dot for the incident's details.", className="small text-muted")
    arrest = "arrest made" if incident["arrest"] else "no arrest"
    here = replace(filters, near=(incident["latitude"], incident["longitude"]))
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(incident["primary_type"] or "unknown type", className="h6 card-title"),
                html.Div(f"{incident['date']:%a %d %b %Y, %H:%M} (Chicago time) · {arrest}"),
                html.Div(f"Block: {incident['block'] or 'not given'}"),
                html.Div(
                    f"Location: {incident['latitude']:.5f}, {incident['longitude']:.5f}",
                    className="small text-muted",
                ),
                dbc.Button(
                    f"Incidents within {radius_text(here.radius)} of here",
                    id=ids.MAP_AROUND,
                    href="/map?" + urlencode(here.to_query()),
                    color="secondary",
                    outline=True,
                    size="sm",
                    className="mt-2",
                ),
            ]
        )
    )
