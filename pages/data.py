"""`/data` — the filtered rows (preview + CSV download), data freshness and recent runs."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html
from dash.dash_table.DataTable import DataTable

from chicrime.analytics import CSV_ROW_CAP, TABLE_ROW_CAP, TABLE_SCHEMA
from chicrime.analytics.export import csv_filename
from chicrime.app import ids
from chicrime.app.context import NO_MATCH, current, selection
from chicrime.app.widgets import page_heading
from chicrime.redaction import Redactor

# The preview table, one for the page's life; the callbacks replace its rows.
_PREVIEW = ids.DATA_TABLE + "-grid"
_RUN_COLUMNS = (
    "run_id",
    "kind",
    "status",
    "started_at",
    "finished_at",
    "rows_fetched",
    "rows_written",
    "rows_deleted",
    "watermark_after",
    "error",
)


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            page_heading("Data: the incidents, their freshness and ingestion runs"),
            dbc.Row(
                [
                    dbc.Col(dbc.Card(dbc.CardBody(id=ids.DATA_FRESHNESS)), lg=6),
                    dbc.Col(dbc.Card(dbc.CardBody(id=ids.DATA_DOWNLOAD)), lg=6),
                ],
                className="mb-3",
            ),
            html.H2(f"Preview (newest {TABLE_ROW_CAP} rows)", className="h5"),
            html.Div(
                [
                    _table(_PREVIEW, [], list(TABLE_SCHEMA)),
                    dbc.Alert(NO_MATCH, id=ids.DATA_EMPTY, color="light", is_open=False),
                ],
                id=ids.DATA_TABLE,
                className="mb-4",
            ),
            html.H2("Recent ingestion runs", className="h5"),
            html.Div(id=ids.DATA_RUNS),
        ]
    )


dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/data", name="Data", order=7, title="chicrime · data", layout=layout
)


def _table(table_id: str, rows: list[dict[str, object]], columns: list[str]) -> DataTable:
    """Every row in a scrolling box (no pager, whose buttons have no accessible names; only
    the rows in view are drawn), each column sortable by a click on its header."""
    return DataTable(
        id=table_id,
        # Dash's generated type for `data` admits no null cells; the lake has them.
        data=rows,  # type: ignore[arg-type]
        columns=[{"name": c.replace("_", " "), "id": c} for c in columns],
        page_action="none",
        virtualization=True,  # only the rows in view are in the page: a long table draws fast
        sort_action="native",
        style_table={"overflowX": "auto", "maxHeight": "32rem", "overflowY": "auto"},
        style_cell={
            "fontSize": 13,
            "textAlign": "left",
            "maxWidth": 260,
            "overflow": "hidden",
            "textOverflow": "ellipsis",
        },
    )


@callback(
    Output(_PREVIEW, "data"),
    Output(ids.DATA_EMPTY, "is_open"),
    Output(ids.DATA_DOWNLOAD, "children"),
    Input(ids.FILTERS, "data"),
)
def show_rows(query: object) -> tuple[list[dict[str, object]], bool, object]:
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    analytics = current().analytics
    frame = analytics.table(filters)
    rows = [
        {k: (v.isoformat(sep=" ") if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in frame.to_dicts()
    ]
    matching = analytics.kpis(filters).incidents
    capped = matching > CSV_ROW_CAP
    download = [
        html.H2("Download", className="h6"),
        html.P(
            f"{matching:,} incident{'s' * (matching != 1)} match the filters.",
            id=ids.DATA_MATCHING,
        ),
        dbc.Alert(
            f"The CSV holds at most {CSV_ROW_CAP:,} rows: this file will have the newest "
            f"{CSV_ROW_CAP:,} of the {matching:,}. Narrow the dates or filters for all of them.",
            color="warning",
            className="py-2 small",
        )
        if capped
        else None,
        html.P(
            [
                "Saved as ",
                html.Code(csv_filename(filters, CSV_ROW_CAP if capped else None)),
                ". Cells that a spreadsheet would run as a formula are prefixed with '.",
            ],
            className="small text-muted",
        ),
        dbc.Button(
            "Download CSV",
            href="/download/incidents.csv?" + urlencode(filters.to_query()),
            external_link=True,
            id="download-csv",
            color="primary",
        ),
    ]
    return rows, not rows, download


# On opening the page (not on every filter change: nothing here depends on the filters).
@callback(
    Output(ids.DATA_FRESHNESS, "children"),
    Output(ids.DATA_RUNS, "children"),
    Input(ids.URL, "pathname"),
)
def show_freshness(_path: object) -> tuple[object, object]:
    analytics = current().analytics
    fresh = analytics.freshness()
    synthetic = " (synthetic demo data)" if fresh.synthetic else ""
    facts = [
        html.H2("Freshness" + synthetic, className="h6"),
        html.Div(f"Last successful ingestion: {fresh.last_success_at or 'never'} (UTC)"),
        html.Div(f"Newest incident in the lake: {fresh.newest_date or '–'} (Chicago time)"),
        html.Div(f"Incidents in the lake: {fresh.rows:,}"),
    ]
    if fresh.store_problem is not None:
        facts.append(html.Div(f"This host {fresh.store_problem}.", className="text-danger"))
    # Errors are stored masked; masking again covers rows written before chicrime masked them.
    redact = Redactor(current().settings.secrets)
    runs = [
        {k: redact(v) if isinstance(v := getattr(run, k), str) else v for k in _RUN_COLUMNS}
        for run in analytics.recent_runs(10)
    ]
    table = (
        _table(ids.DATA_RUNS + "-grid", runs, list(_RUN_COLUMNS))
        if runs
        else html.P("No runs recorded yet.")
    )
    return facts, table
