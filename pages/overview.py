"""`/` — the overview: KPIs, incidents over time, top primary types."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import polars as pl
from dash import Output, dcc, html

from chicrime.analytics import Freshness
from chicrime.analytics.compare import ALL_CATEGORIES
from chicrime.app import charts, ids
from chicrime.app.context import (
    Part,
    current,
    figure_part,
    page_callback,
    selection,
)
from chicrime.app.widgets import chart, kpi_outputs, kpi_row, kpi_texts, page_heading
from chicrime.clock import utc_shown

_KPIS = (ids.KPI_INCIDENTS, ids.KPI_ARREST_RATE, ids.KPI_CHANGE)
_KINDS = ("incidents", "arrest_rate", "change")
_NAMES = {ALL_CATEGORIES: "all", "violent": "violent", "property": "property", "other": "other"}


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Overview"),
            html.P(id=ids.OVERVIEW_FRESHNESS, className="small text-muted mb-2"),
            kpi_row(*zip(_KPIS, _KINDS, strict=True)),
            html.P(id=ids.OVERVIEW_COMPARE, className="small"),
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


def show_kpis(query: object) -> tuple[object, ...]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    analytics = current().analytics
    return (
        *kpi_texts(analytics.kpis(filters), *_KINDS),
        compare_summary(analytics.compare(filters)),
        freshness_note(analytics.freshness()),
    )


def freshness_note(fresh: Freshness) -> list[object]:
    """When the data was last refreshed, and how many records that run revised (a link to
    /changes)."""
    when = utc_shown(fresh.last_success_at)
    note: list[object] = [
        f"Data refreshed {when}; newest incident {fresh.newest_date:%d %b %Y %H:%M}."
        if fresh.newest_date
        else f"Data refreshed {when}."
    ]
    if fresh.revised_last_run is not None:
        count = fresh.revised_last_run
        note += [
            " ",
            dcc.Link(
                f"{count:,} record{'s' * (count != 1)} changed in the last run",
                href="/changes",
            ),
            ".",
        ]
    if fresh.store_problem is not None:
        note.append(f" This host {fresh.store_problem}.")
    return note


def compare_summary(frame: pl.DataFrame) -> list[object]:
    """One line: the last 28 days per category against a year earlier, and a link to more."""
    rows = frame.filter(pl.col("period") == "28d")
    if rows.is_empty():
        return []
    parts = []
    for row in rows.iter_rows(named=True):
        percent = row["percent_change"]
        if row["before"] is None:
            change = "the lake does not reach back a year"
        else:
            change = "none a year earlier" if percent is None else f"{percent:+.1f} %"
        parts.append(f"{_NAMES[row['category']]} {row['now']:,} ({change})")
    end = rows.item(0, "end")
    return [
        f"Last 28 days to {end:%d %b %Y} against a year earlier: ",
        " · ".join(parts),
        " — ",
        dcc.Link("compare by period and category", href="/compare"),
    ]


page_callback(
    Part(
        (
            *kpi_outputs(*_KPIS),
            Output(ids.OVERVIEW_COMPARE, "children"),
            Output(ids.OVERVIEW_FRESHNESS, "children"),
        ),
        show_kpis,
    ),
    figure_part(ids.OVERVIEW_SERIES, "Incidents over time", charts.incidents_over_time, "period"),
    figure_part(ids.OVERVIEW_TYPES, "Top primary types", charts.top_types, "type"),
)
