"""`/arrests` — how often incidents lead to an arrest, by primary type."""

from __future__ import annotations

import dash
from dash import html

from chicrime.app import charts, ids
from chicrime.app.context import (
    Part,
    current,
    figure_part,
    page_callback,
    selection,
)
from chicrime.app.widgets import chart, kpi_card, kpi_outputs, kpi_texts, page_heading


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Arrests"),
            html.Div(kpi_card(ids.ARRESTS_KPIS, "arrest_rate"), className="mb-3"),
            chart(ids.ARRESTS_RATES, 520),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/arrests", name="Arrests", order=3, title="chicrime · arrests", layout=layout
)


def show_kpis(query: object) -> tuple[str, ...]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    return kpi_texts(current().analytics.kpis(filters), "arrest_rate")


page_callback(
    Part(kpi_outputs(ids.ARRESTS_KPIS), show_kpis),
    figure_part(ids.ARRESTS_RATES, "Arrest rate by primary type", charts.arrest_rates, "type"),
)
