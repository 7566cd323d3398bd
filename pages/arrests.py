"""`/arrests` — how often incidents lead to an arrest, by primary type."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, html

from chicrime.app import charts, ids
from chicrime.app.context import chart_callback, current, selection
from chicrime.app.widgets import chart, kpi_cards, page_heading


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Arrests"),
            html.Div(id=ids.ARRESTS_KPIS, className="mb-3"),
            chart(ids.ARRESTS_RATES, 520),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/arrests", name="Arrests", order=3, title="chicrime · arrests", layout=layout
)


@callback(Output(ids.ARRESTS_KPIS, "children"), Input(ids.FILTERS, "data"))
def show_kpis(query: object) -> object:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    return kpi_cards(current().analytics.kpis(filters))[1]


chart_callback(ids.ARRESTS_RATES, "Arrest rate by primary type", charts.arrest_rates, "type")
