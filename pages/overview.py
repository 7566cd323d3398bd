"""`/` — the overview: KPIs, incidents over time, top primary types."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from chicrime.app import charts, ids
from chicrime.app.context import chart_callback, current, selection
from chicrime.app.widgets import chart, kpi_cards, kpi_row


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            kpi_row(ids.KPI_INCIDENTS, ids.KPI_ARREST_RATE, ids.KPI_CHANGE),
            dbc.Row(
                [
                    dbc.Col(chart(ids.OVERVIEW_SERIES), lg=7),
                    dbc.Col(chart(ids.OVERVIEW_TYPES), lg=5),
                ]
            ),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/", name="Overview", order=0, title="chicrime · overview", layout=layout
)


@callback(
    Output(ids.KPI_INCIDENTS, "children"),
    Output(ids.KPI_ARREST_RATE, "children"),
    Output(ids.KPI_CHANGE, "children"),
    Input(ids.FILTERS, "data"),
)
def show_kpis(query: object) -> tuple[object, object, object]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    return kpi_cards(current().analytics.kpis(filters))


chart_callback(ids.OVERVIEW_SERIES, "Incidents over time", charts.incidents_over_time)
chart_callback(ids.OVERVIEW_TYPES, "Top primary types", charts.top_types)
