"""`/trends` — incidents per day/week, the weekday × hour rhythm, and the type mix."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from chicrime.app import charts, ids
from chicrime.app.context import render_figure
from chicrime.app.figures import Figure
from chicrime.app.widgets import chart

dash.register_page(__name__, path="/trends", name="Trends", order=1, title="chicrime · trends")


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            chart(ids.TRENDS_SERIES),
            dbc.Row(
                [
                    dbc.Col(chart(ids.TRENDS_HEATMAP), lg=7),
                    dbc.Col(chart(ids.TRENDS_TYPES), lg=5),
                ]
            ),
        ]
    )


@callback(Output(ids.TRENDS_SERIES, "figure"), Input(ids.FILTERS, "data"))
def show_series(query: dict[str, str] | None) -> Figure:
    return render_figure(query, "Incidents over time", charts.incidents_over_time)


@callback(Output(ids.TRENDS_HEATMAP, "figure"), Input(ids.FILTERS, "data"))
def show_heatmap(query: dict[str, str] | None) -> Figure:
    return render_figure(query, "When incidents happen", charts.weekday_hour)


@callback(Output(ids.TRENDS_TYPES, "figure"), Input(ids.FILTERS, "data"))
def show_types(query: dict[str, str] | None) -> Figure:
    return render_figure(query, "Top primary types", charts.top_types)
