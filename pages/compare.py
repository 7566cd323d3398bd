"""`/compare` — this year, the last 28 days and the last 7 days against the same dates a year
earlier, per crime category: counts, change, percent change and a significance measure."""

from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
import polars as pl
from dash import Input, Output, callback, html
from dash.dash_table.DataTable import DataTable

from chicrime.analytics.categories import CATEGORY_LABELS
from chicrime.analytics.compare import ALL_CATEGORIES, PERIODS, SMALL_COUNT
from chicrime.app import ids
from chicrime.app.context import current, selection
from chicrime.app.widgets import page_heading, table_column

_PERIOD_LABELS = dict(PERIODS)
_CATEGORY_NAMES = {
    ALL_CATEGORIES: "All incidents",
    **{key: label for key, label in CATEGORY_LABELS.items() if key != "index"},
}
# Each column: key, header, and the d3 format of a number (None: text).
_COLUMNS = (
    ("period", "Period", None),
    ("dates", "Dates", None),
    ("category", "Category", None),
    ("now", "Incidents", ","),
    ("before", "A year earlier", ","),
    ("change", "Change", "+,"),
    ("percent", "Change (%)", "+.1f"),
    ("z", "z", "+.1f"),
)


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Compared with a year earlier"),
            html.P(id=ids.COMPARE_NOTE, className="small text-muted"),
            html.Div(id=ids.COMPARE_TABLE, className="mb-3"),
            html.P(
                [
                    "z = 2(√now - √a year earlier) judges a change against chance for counts: "
                    "beyond ±2 it is unlikely as chance alone (about 1 in 20). A percent change "
                    f"on fewer than {SMALL_COUNT} incidents a year earlier says little and is "
                    "shown in grey; a blank year earlier is one the lake does not reach back "
                    "to. Categories follow the FBI's Part I (index) offenses: see "
                    "the README."
                ],
                className="small text-muted",
            ),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/compare", name="Compare", order=4, title="chicrime · compare", layout=layout
)


def _span(start: dt.date, end: dt.date) -> str:
    return f"{start:%d %b %Y} – {end:%d %b %Y}"


def _rows(frame: pl.DataFrame) -> list[dict[str, object]]:
    """Table rows: readable labels, the change in percent rounded, z to one decimal."""
    return [
        {
            "period": _PERIOD_LABELS[row["period"]],
            "dates": _span(row["start"], row["end"]),
            "category": _CATEGORY_NAMES[row["category"]],
            "now": row["now"],
            "before": row["before"],
            "change": row["change"],
            "percent": None if row["percent_change"] is None else round(row["percent_change"], 1),
            "z": None if row["z"] is None else round(row["z"], 1),
            "small": row["small"],
        }
        for row in frame.iter_rows(named=True)
    ]


def comparison_table(frame: pl.DataFrame) -> DataTable:
    """The comparison as a sortable table with a CSV export (made in the browser)."""
    return DataTable(
        id=ids.COMPARE_TABLE + "-grid",
        data=_rows(frame),  # type: ignore[arg-type]
        columns=[table_column(key, name, number) for key, name, number in _COLUMNS],
        sort_action="native",
        export_format="csv",
        export_headers="display",
        style_table={"overflowX": "auto"},  # scrolls inside its card on a phone
        style_cell={"fontSize": 13, "textAlign": "left"},
        style_data_conditional=[
            {"if": {"filter_query": "{small} eq true", "column_id": "percent"}, "color": "#6c757d"},
            {"if": {"filter_query": "{z} >= 2", "column_id": "z"}, "fontWeight": "bold"},
            {"if": {"filter_query": "{z} <= -2", "column_id": "z"}, "fontWeight": "bold"},
        ],
    )


@callback(
    Output(ids.COMPARE_TABLE, "children"),
    Output(ids.COMPARE_NOTE, "children"),
    Input(ids.FILTERS, "data"),
)
def show_comparison(query: object) -> tuple[object, str]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    analytics = current().analytics
    frame = analytics.compare(filters)
    end = analytics.comparison_end(filters)
    if frame.is_empty() or end is None:
        return dbc.Alert("No incidents to compare.", color="light"), ""
    note = (
        f"Periods end on {end:%d %b %Y}: the selection's last day, or the newest full day in "
        "the lake. The other filters of the panel apply; its start date does not."
    )
    return comparison_table(frame), note
