"""Small layout pieces the pages share: KPI cards and a chart in a card."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Output, dcc, html

from chicrime.analytics import Kpis

__all__ = [
    "GRAPH_CONFIG",
    "chart",
    "kpi_card",
    "kpi_outputs",
    "kpi_row",
    "kpi_texts",
    "page_heading",
    "table_column",
]


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


# The KPI cards a page may show, by the Kpis figure each reports: its title.
_KPI_TITLES = {
    "incidents": "Incidents",
    "arrest_rate": "Arrest rate",
    "change": "Change vs previous period",
}


def kpi_card(card_id: str, kind: str) -> dbc.Card:
    """A KPI card (`kind` of `_KPI_TITLES`) whose value and note, `{card_id}-value` and
    `{card_id}-note`, a page callback fills with text (`kpi_outputs`, `kpi_texts`): only the
    text changes with the filters, so the browser redraws no card."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(_KPI_TITLES[kind], className="text-muted small"),
                html.Div(id=f"{card_id}-value", className="fs-3 fw-bold kpi-value"),
                html.Div(id=f"{card_id}-note", className="small text-muted"),
            ]
        ),
        id=card_id,
        className="h-100",  # as tall as its neighbours in a row, a note or not
    )


def kpi_row(*cards: tuple[str, str]) -> dbc.Row:
    """A row of KPI cards, (card id, kind) each."""
    return dbc.Row(
        [dbc.Col(kpi_card(*card), md=12 // len(cards)) for card in cards],
        className="mb-3",
    )


def kpi_outputs(*card_ids: str) -> tuple[Output, ...]:
    """The value and note of each card, in order: the outputs `kpi_texts` fills."""
    return tuple(
        Output(f"{card}-{part}", "children") for card in card_ids for part in ("value", "note")
    )


def kpi_texts(kpis: Kpis, *kinds: str) -> tuple[str, ...]:
    """Value and note of each card `kind` (of `_KPI_TITLES`), in order, for `kpi_outputs`."""
    rate = "–" if kpis.arrest_rate is None else f"{kpis.arrest_rate:.1%}"
    change = "–" if kpis.change is None else f"{kpis.change:+.1%}"
    texts = {
        "incidents": (f"{kpis.incidents:,}", ""),
        "arrest_rate": (rate, f"{kpis.arrests:,} arrests"),
        "change": (change, f"previous: {kpis.previous_incidents:,}"),
    }
    return tuple(text for kind in kinds for text in texts[kind])
