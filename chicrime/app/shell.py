"""The page frame shared by every route: navbar, filter panel, and the filter ↔ URL wiring.

The filter panel is the one source of the selection. In the browser, its values are gathered
into a query dict in the `filters` store (a clientside callback: no round trip), which every
page's charts take as input, so a filter change costs one round of requests. Each callback
validates the dict on the server (`chicrime.app.context.selection`). Alongside the charts,
`describe` answers the canonical query, which is mirrored into the address bar with
`history.replaceState` (no navigation, no re-render), the navbar links that keep it, and a
summary. Opening a link, or following a navbar link that carries the query string, sets the
panel from the URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc, html

from chicrime.analytics import Filters
from chicrime.analytics.categories import CATEGORY_CHOICES, CATEGORY_LABELS
from chicrime.app import ids
from chicrime.app.context import current, selection

__all__ = ["PAGES", "empty_lake_message", "register_callbacks", "shell_layout"]

PAGES = (
    ("/", "Overview"),
    ("/trends", "Trends"),
    ("/map", "Map"),
    ("/arrests", "Arrests"),
    ("/compare", "Compare"),
    ("/data", "Data"),
)
_TRI_STATE = [
    {"label": "all", "value": "all"},
    {"label": "yes", "value": "true"},
    {"label": "no", "value": "false"},
]


def empty_lake_message() -> dbc.Alert:
    """What the dashboard says before any data exists, naming the commands that make some."""
    return dbc.Alert(
        [
            html.H4("No data yet", className="alert-heading"),
            html.P(
                [
                    "The lake under ",
                    html.Code(str(current().settings.data_dir)),
                    " is empty. Run ",
                    html.Code("chicrime ingest --once"),
                    " to pull the City of Chicago data, or ",
                    html.Code("chicrime demo"),
                    " for a synthetic demo lake, then reload this page.",
                ]
            ),
        ],
        color="info",
        id="empty-lake",
    )


def _navbar() -> dbc.Navbar:
    links = [
        dbc.NavItem(dbc.NavLink(label, href=path, id={"type": ids.NAV_LINK, "path": path}))
        for path, label in PAGES
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("chicrime", href="/"),
                dbc.Nav(links, navbar=True),
                html.Span(id=ids.SUMMARY, className="navbar-text small text-light"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
    )


def _filter_panel() -> dbc.Card:
    analytics = current().analytics
    span = analytics.date_range()
    dimensions = analytics.dimensions()
    first, last = (span[0].isoformat(), span[1].isoformat()) if span else (None, None)
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5("Filters", className="card-title"),
                dbc.Label("Dates", html_for=ids.DATE_RANGE),
                dcc.DatePickerRange(
                    id=ids.DATE_RANGE,
                    min_date_allowed=first,
                    max_date_allowed=last,
                    display_format="YYYY-MM-DD",
                    first_day_of_week=1,
                    className="mb-3 d-block",
                ),
                dbc.Label("Primary types", html_for=ids.TYPES),
                dcc.Dropdown(
                    id=ids.TYPES,
                    options=list(dimensions.primary_types),
                    multi=True,
                    placeholder="all types",
                    className="mb-3",
                ),
                dbc.Label("Category", html_for=ids.CATEGORY),
                dcc.Dropdown(
                    id=ids.CATEGORY,
                    options=[
                        {"label": CATEGORY_LABELS[choice], "value": choice}
                        for choice in CATEGORY_CHOICES
                    ],
                    placeholder="all categories",
                    className="mb-3",
                ),
                dbc.Label("District", html_for=ids.DISTRICT),
                dcc.Dropdown(
                    id=ids.DISTRICT,
                    options=list(dimensions.districts),
                    placeholder="all districts",
                    className="mb-3",
                ),
                dbc.Label("Arrest made"),
                dbc.RadioItems(id=ids.ARREST, options=_TRI_STATE, inline=True, className="mb-2"),
                dbc.Label("Domestic"),
                dbc.RadioItems(id=ids.DOMESTIC, options=_TRI_STATE, inline=True, className="mb-3"),
                dbc.Label("Hour of day (Chicago time)", html_for=ids.HOURS),
                dcc.RangeSlider(
                    id=ids.HOURS,
                    min=0,
                    max=23,
                    step=1,
                    marks={h: str(h) for h in range(0, 24, 6)},
                    allow_direct_input=False,
                ),
                dbc.Button(
                    "Reset",
                    id=ids.RESET,
                    color="secondary",
                    outline=True,
                    size="sm",
                    className="mt-3",
                ),
            ]
        ),
        className="mb-3",
    )


def shell_layout() -> html.Div:
    """The layout of every request: built per page load, so it reflects the current lake."""
    has_data = current().analytics.date_range() is not None
    body = (
        dbc.Row(
            [
                dbc.Col(_filter_panel(), lg=3),
                dbc.Col(dash.page_container, lg=9),
            ]
        )
        if has_data
        else dbc.Row(dbc.Col([empty_lake_message(), html.Div(dash.page_container, hidden=True)]))
    )
    return html.Div(
        [
            dcc.Location(id=ids.URL),
            dcc.Store(id=ids.FILTERS),
            dcc.Store(id=ids.URL_QUERY),
            dcc.Store(id=ids.URL_WRITER),
            _navbar(),
            dbc.Container(body, fluid=True),
        ]
    )


def _panel_values(filters: Filters) -> tuple[Any, ...]:
    def tri(value: bool | None) -> str:
        return "all" if value is None else str(value).lower()

    return (
        filters.start.isoformat(),
        filters.end.isoformat(),
        list(filters.primary_types),
        filters.category,
        filters.districts[0] if filters.districts else None,
        tri(filters.arrest),
        tri(filters.domestic),
        [filters.hour_from, filters.hour_to],
    )


# The panel's (component, property) pairs, in the order `_panel_values` and `_GATHER` use.
_PANEL = (
    (ids.DATE_RANGE, "start_date"),
    (ids.DATE_RANGE, "end_date"),
    (ids.TYPES, "value"),
    (ids.CATEGORY, "value"),
    (ids.DISTRICT, "value"),
    (ids.ARREST, "value"),
    (ids.DOMESTIC, "value"),
    (ids.HOURS, "value"),
)
_NAV_LINKS = {"type": ids.NAV_LINK, "path": ALL}
_PAGE_PATHS = frozenset(path for path, _label in PAGES)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _link_paths(links: object) -> list[str]:
    """The page path of each navbar link id; "/" for an id that names no page."""
    paths = [link.get("path") if isinstance(link, dict) else None for link in _items(links)]
    return [path if isinstance(path, str) and path in _PAGE_PATHS else "/" for path in paths]


def _items(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def apply_url(search: object, _reset: object) -> tuple[Any, ...]:
    """Set the panel from the URL (page load, link, navigation) or back to defaults on Reset."""
    text = "" if dash.ctx.triggered_id == ids.RESET else _text(search)
    filters = selection(dict(parse_qsl(text.lstrip("?"))))
    if filters is None:
        raise dash.exceptions.PreventUpdate
    return _panel_values(filters)


def describe(query: object, links: object) -> tuple[dict[str, str], list[str], str]:
    """The canonical query of the `filters` store (for the address bar), navbar links that
    keep it, and a summary. No update until the store holds a dict with both dates."""
    if not (isinstance(query, dict) and _text(query.get("start")) and _text(query.get("end"))):
        raise dash.exceptions.PreventUpdate  # the panel is filled from the URL first
    filters = selection(query)
    if filters is None:
        raise dash.exceptions.PreventUpdate
    canonical = filters.to_query()
    search = "?" + urlencode(canonical)
    hrefs = [path + search for path in _link_paths(links)]
    return canonical, hrefs, _summary(filters)


def _summary(filters: Filters) -> str:
    days = filters.days
    span = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({days:,} day{'s' * (days != 1)})"
    extra = len(filters.to_query()) - 2
    return span + (f" · {extra} more filter{'s' * (extra != 1)}" if extra else "")


def mark_active(pathname: object, links: object) -> list[bool]:
    """Highlight the navbar entry of the current page."""
    current_path = _text(pathname) or "/"
    return [path == current_path for path in _link_paths(links)]


# The panel's values as the query dict the server reads (`Filters.from_query`): text only, a
# list of choices joined with "|", "all" as unset, the hour slider as "from-to". Nothing until
# both dates are set (the panel is filled from the URL first).
_GATHER = """
    function (start, end, types, category, district, arrest, domestic, hours) {
        const text = (value) => (typeof value === "string" ? value : "");
        if (!text(start) || !text(end)) { return window.dash_clientside.no_update; }
        const choices = (value) => (
            Array.isArray(value)
                ? value.filter((item) => typeof item === "string").join("|")
                : text(value)
        );
        const chosen = (value) => (text(value) === "all" ? "" : text(value));
        const whole = Array.isArray(hours) && hours.length === 2
            && hours.every((hour) => Number.isInteger(hour));
        return {
            start: text(start).slice(0, 10),
            end: text(end).slice(0, 10),
            types: choices(types),
            category: text(category),
            district: choices(district),
            arrest: chosen(arrest),
            domestic: chosen(domestic),
            hours: whole ? hours[0] + "-" + hours[1] : "",
        };
    }
"""

_WRITE_URL = """
    function (query) {
        if (!query) { return window.dash_clientside.no_update; }
        const search = "?" + new URLSearchParams(query).toString();
        if (window.location.search !== search) {
            const target = window.location.pathname + search;
            window.history.replaceState(window.history.state, "", target);
        }
        return search;
    }
"""


def register_callbacks(app: dash.Dash) -> None:
    """Wire the panel, the `filters` store, the navbar and the address bar on `app`.

    Registered per app (not globally at import), so every app built in a process gets them.
    """
    app.callback(
        *(Output(component, prop) for component, prop in _PANEL),
        Input(ids.URL, "search"),
        Input(ids.RESET, "n_clicks"),
    )(apply_url)
    # Dash leaves `Dash.clientside_callback` unannotated.
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _GATHER,
        Output(ids.FILTERS, "data"),
        *(Input(component, prop) for component, prop in _PANEL),
    )
    app.callback(
        Output(ids.URL_QUERY, "data"),
        Output(_NAV_LINKS, "href"),
        Output(ids.SUMMARY, "children"),
        Input(ids.FILTERS, "data"),
        State(_NAV_LINKS, "id"),
    )(describe)
    app.callback(
        Output(_NAV_LINKS, "active"),
        Input(ids.URL, "pathname"),
        State(_NAV_LINKS, "id"),
    )(mark_active)
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _WRITE_URL, Output(ids.URL_WRITER, "data"), Input(ids.URL_QUERY, "data")
    )
