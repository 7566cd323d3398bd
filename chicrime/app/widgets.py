"""Small layout pieces the pages share: KPI cards and a chart in a card."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from chicrime.analytics import Kpis

__all__ = ["GRAPH_CONFIG", "chart", "kpi_cards", "kpi_row", "page_heading", "table_column"]


# A spinner only for an update slower than this; a quicker one replaces the chart in place.
_SPINNER_DELAY_MS = 400
# Nothing leaves the machine: no "edit in Chart Studio" or upload button; and no box or lasso
# selection, which no chart acts on.
GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio", "select2d", "lasso2d"],
}


def chart(graph_id: str, height: int = 380) -> dbc.Card:
    """A graph in a card. While a slow update runs, the previous chart stays in view, dimmed,
    under a spinner; a quick one is never covered."""
    return dbc.Card(
        dbc.CardBody(
            dcc.Loading(
                dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style={"minHeight": height}),
                type="circle",
                delay_show=_SPINNER_DELAY_MS,
                overlay_style={"visibility": "visible", "opacity": 0.5},
            )
        ),
        className="mb-3",
    )


def table_column(key: str, name: str, number: str | None) -> Any:
    """A DataTable column: text, or a number shown with d3 format `number` (e.g. ",")."""
    if number is None:
        return {"name": name, "id": key, "type": "text"}
    return {"name": name, "id": key, "type": "numeric", "format": {"specifier": number}}


def page_heading(text: str) -> html.H1:
    """The page's one level-one heading, sized as a section title."""
    return html.H1(text, className="h4 mb-3")


def kpi_row(*card_ids: str) -> dbc.Row:
    """A row of KPI card placeholders, filled by a page callback."""
    return dbc.Row(
        [dbc.Col(html.Div(id=card_id), md=12 // len(card_ids)) for card_id in card_ids],
        className="mb-3",
    )


def _card(title: str, value: str, note: str = "") -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(title, className="text-muted small"),
                html.Div(value, className="fs-3 fw-bold kpi-value"),
                html.Div(note, className="small text-muted"),
            ]
        )
    )


def kpi_cards(kpis: Kpis) -> tuple[dbc.Card, dbc.Card, dbc.Card]:
    """Incidents, arrest rate, and change against the previous period of equal length."""
    rate = "–" if kpis.arrest_rate is None else f"{kpis.arrest_rate:.1%}"
    change = "–" if kpis.change is None else f"{kpis.change:+.1%}"
    return (
        _card("Incidents", f"{kpis.incidents:,}"),
        _card("Arrest rate", rate, f"{kpis.arrests:,} arrests"),
        _card("Change vs previous period", change, f"previous: {kpis.previous_incidents:,}"),
    )
