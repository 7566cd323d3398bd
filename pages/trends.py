"""`/trends` — incidents per day/week, the weekday × hour rhythm, and the type mix."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from chicrime.app import charts, ids
from chicrime.app.context import figure_part, page_callback
from chicrime.app.widgets import chart, page_heading


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Trends: when incidents happen"),
            chart(ids.TRENDS_SERIES),
            dbc.Row(
                [
                    dbc.Col(chart(ids.TRENDS_HEATMAP), lg=7),
                    dbc.Col(chart(ids.TRENDS_TYPES), lg=5),
                ]
            ),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/trends", name="Trends", order=1, title="chicrime · trends", layout=layout
)


page_callback(
    figure_part(ids.TRENDS_SERIES, "Incidents over time", charts.incidents_over_time, "period"),
    figure_part(ids.TRENDS_HEATMAP, "When incidents happen", charts.weekday_hour, "hour"),
    figure_part(ids.TRENDS_TYPES, "Top primary types", charts.top_types, "type"),
)
