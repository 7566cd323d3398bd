"""`/changes` — what upstream revised in records the lake already held: revisions per week by
kind, primary-type reclassifications from → to, the share of each category revised and how
long after the incident, and every revision (with CSV export)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import polars as pl
from dash import Input, Output, callback, html
from dash.dash_table.DataTable import DataTable

from chicrime.analytics import TABLE_ROW_CAP, Filters, revision_shares
from chicrime.analytics.categories import CATEGORY_LABELS
from chicrime.analytics.changes import LABELS, LATE_DAYS
from chicrime.app import figures, ids
from chicrime.app.context import current, in_background, selection
from chicrime.app.figures import Figure, message_figure
from chicrime.app.widgets import chart, page_heading, table_column

_SHARE_COLUMNS = (
    ("category", "Category", None),
    ("incidents", "Incidents", ","),
    ("revised", "Revised", ","),
    ("share", "Share (%)", ".2f"),
    ("median_lag_days", "Median days later", ",.1f"),
)
_LIST_COLUMNS = (
    ("run_id", "Run", None),
    ("seen", "Seen (UTC)", None),
    ("label", "Revision", None),
    ("id", "Id", None),
    ("case_number", "Case", None),
    ("date", "Incident date", None),
    ("field", "Field", None),
    ("before", "Before", None),
    ("after", "After", None),
)


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Changes: what upstream revised"),
            html.P(id=ids.CHANGES_NOTE, className="small text-muted"),
            chart(ids.CHANGES_WEEKLY),
            dbc.Row(
                [
                    dbc.Col(chart(ids.CHANGES_MATRIX, 420), lg=6),
                    dbc.Col(
                        [
                            html.H2("Share of each category revised", className="h5"),
                            html.P(
                                "Incidents changed or removed after they were first seen, as a "
                                "share of the incidents the lake holds now, and the median days "
                                "from the incident to the revision.",
                                className="small text-muted",
                            ),
                            _table(ids.CHANGES_SHARES, _SHARE_COLUMNS, long=False),
                        ],
                        lg=6,
                    ),
                ],
                className="mb-3",
            ),
            html.H2(f"Revisions (newest {TABLE_ROW_CAP})", className="h5"),
            _table(ids.CHANGES_TABLE, _LIST_COLUMNS, long=True),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/changes", name="Changes", order=6, title="chicrime · changes", layout=layout
)


def _table(
    table_id: str, columns: tuple[tuple[str, str, str | None], ...], *, long: bool
) -> DataTable:
    """A table whose rows a callback fills (the table itself stays from change to change); a
    `long` one draws only the rows in view and exports them all as CSV."""
    return DataTable(
        id=table_id,
        data=[],
        columns=[table_column(k, name, n) for k, name, n in columns],
        sort_action="native",
        page_action="none",
        virtualization=long,
        style_table={"maxHeight": "32rem", "overflowY": "auto", "overflowX": "auto"},
        style_cell={"fontSize": 13, "textAlign": "left"},
        style_header={"whiteSpace": "normal"},
        export_format="csv" if long else "none",
        export_headers="display",
    )


def note(begins: int | None) -> str:
    """What the page counts, and from when."""
    if begins is None:
        return (
            "No record history yet: it is written by every ingestion run from this version "
            "of chicrime on."
        )
    return (
        f"Revisions of the incidents dated in the selection, as ingestion runs saw them (the "
        f"record history begins with run {begins}). Late-added: first seen more than "
        f"{LATE_DAYS} days after the incident. Filters on arrest, domestic, hours and place "
        "do not apply here: an arrest or a location is what a revision may change."
    )


def share_rows(shares: pl.DataFrame) -> list[dict[str, object]]:
    return [
        {
            "category": CATEGORY_LABELS[row["category"]],
            "incidents": row["incidents"],
            "revised": row["revised"],
            "share": None if row["share"] is None else round(100 * row["share"], 2),
            "median_lag_days": None
            if row["median_lag_days"] is None
            else round(row["median_lag_days"], 1),
        }
        for row in shares.iter_rows(named=True)
    ]


def list_rows(revisions: pl.DataFrame) -> list[dict[str, object]]:
    return [
        {
            "run_id": row["run_id"],
            "seen": f"{row['observed_at']:%Y-%m-%d %H:%M}",
            "label": row["label"],
            "id": row["id"],
            "case_number": row["case_number"],
            "date": None if row["date"] is None else f"{row['date']:%Y-%m-%d %H:%M}",
            "field": row["field"],
            "before": row["before"],
            "after": row["after"],
        }
        for row in revisions.iter_rows(named=True)
    ]


@callback(
    Output(ids.CHANGES_WEEKLY, "figure"),
    Output(ids.CHANGES_MATRIX, "figure"),
    Output(ids.CHANGES_SHARES, "data"),
    Output(ids.CHANGES_TABLE, "data"),
    Output(ids.CHANGES_NOTE, "children"),
    Input(ids.FILTERS, "data"),
)
def show_changes(
    query: object,
) -> tuple[Figure, Figure, list[dict[str, object]], list[dict[str, object]], str]:
    filters = selection(query)
    analytics = current().analytics
    span = analytics.date_range()
    if filters is None or span is None:
        raise dash.exceptions.PreventUpdate
    # The matrix is as tall as the whole history's (memoised per lake version), whatever the
    # selection: Dash redraws a graph whose size changed (~150 ms), and the page stays still.
    whole = Filters(start=span[0], end=span[1])
    history = in_background(lambda: analytics.revisions(whole)) if filters != whole else None
    counted = in_background(lambda: analytics.category_counts(filters))
    revisions = analytics.revisions(filters)
    weekly, matrix = revisions.weekly, revisions.matrix
    everything = (history.result() if history else revisions).matrix
    rows = everything.get_column("from_type").n_unique()
    nothing = "No revisions of incidents in this selection."
    return (
        figures.revisions_bars(weekly, LABELS)
        if weekly.height
        else message_figure(nothing, "Revisions per week"),
        figures.reclassification_heatmap(matrix, rows)
        if matrix.height
        else message_figure("No reclassifications in this selection.", "Reclassified"),
        share_rows(revision_shares(counted.result(), revisions.revised)),
        list_rows(revisions.listed),
        note(analytics.history_begins()),
    )
