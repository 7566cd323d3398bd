"""The page frame shared by every route: navbar, filter panel, and the filter ↔ URL wiring.

The filter panel is the one source of the selection. In the browser, its values are gathered
into a query dict in the `filters` store (a clientside callback: no round trip), which every
page's charts take as input, so a filter change costs one round of requests. Each callback
validates the dict on the server (`chicrime.app.context.selection`). Alongside the charts,
`describe` answers the canonical query, the navbar links that keep it, and a summary naming
the filters; the query goes into the address bar as a new history entry, so Back undoes a
filter change. Opening a link, going Back, or a chart click that sets a filter (which writes
the address bar) sets the panel from the URL, and says in the page what in the link could not
be shown as written (`chicrime.app.corrections`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc, html

from chicrime.analytics import Filters
from chicrime.analytics.categories import CATEGORY_CHOICES, CATEGORY_LABELS
from chicrime.analytics.filters import COMMUNITY_AREA_NUMBERS, RADII
from chicrime.analytics.presets import PRESETS, preset_range
from chicrime.app import ids
from chicrime.app.context import current, selection
from chicrime.app.corrections import link_corrections
from chicrime.app.figures import radius_text

__all__ = [
    "PAGES",
    "empty_lake_message",
    "register_callbacks",
    "shell_layout",
    "summary",
]

PAGES = (
    ("/", "Overview"),
    ("/trends", "Trends"),
    ("/map", "Map"),
    ("/arrests", "Arrests"),
    ("/compare", "Compare"),
    ("/areas", "Areas"),
    ("/changes", "Changes"),
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
            html.H1("No data yet", className="h4 alert-heading"),
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
                dbc.Nav(links, navbar=True, className="flex-row flex-wrap column-gap-3"),
                html.Span(id=ids.SUMMARY, className="navbar-text small text-light"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
    )


def _preset_id(name: str) -> str:
    return f"{ids.PRESET}-{name}"


def _choice(component: str, options: list[dict[str, str]]) -> dbc.Select:
    """A native select (keyboard and screen-reader friendly, a picker on phones)."""
    return dbc.Select(id=component, options=options, size="sm")


def _filter_panel() -> dbc.Card:
    analytics = current().analytics
    span = analytics.date_range()
    dimensions = analytics.dimensions()
    first, last = (span[0].isoformat(), span[1].isoformat()) if span else (None, None)
    types = sorted(dimensions.primary_types)
    names = analytics.community_area_names()
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Filters", className="h5 card-title"),
                html.Div("Dates", className="form-label mb-1"),
                dbc.Row(
                    [
                        dbc.Col(_date_choice(ids.DATE_FROM, "From", first, last)),
                        dbc.Col(_date_choice(ids.DATE_TO, "To", first, last)),
                    ],
                    className="g-2 mb-2",
                ),
                html.Div(
                    [
                        dbc.Button(
                            label,
                            id=_preset_id(name),
                            color="secondary",
                            outline=True,
                            size="sm",
                        )
                        for name, label in PRESETS
                    ],
                    className="mb-3 d-flex flex-wrap gap-1",
                ),
                dbc.Label("Primary types", html_for=ids.TYPES_SEARCH),
                dbc.Input(
                    id=ids.TYPES_SEARCH,
                    type="search",
                    placeholder="search types (all when none is ticked)",
                    size="sm",
                    debounce=False,
                    autocomplete="off",
                ),
                dcc.Store(id=ids.TYPE_CHOICES, data=[[kind, kind.title()] for kind in types]),
                html.Div(
                    dbc.Checklist(
                        id=ids.TYPES,
                        options=[{"label": kind.title(), "value": kind} for kind in types],
                        value=[],
                    ),
                    className="border rounded px-2 py-1 mb-3 small",
                    style={"maxHeight": "11rem", "overflowY": "auto"},
                ),
                dbc.Label("Category", html_for=ids.CATEGORY),
                _choice(
                    ids.CATEGORY,
                    [
                        {"label": "all categories", "value": "all"},
                        *(
                            {"label": CATEGORY_LABELS[choice], "value": choice}
                            for choice in CATEGORY_CHOICES
                        ),
                    ],
                ),
                dbc.Label("District", html_for=ids.DISTRICT, className="mt-3"),
                _choice(
                    ids.DISTRICT,
                    [
                        {"label": "all districts", "value": "all"},
                        *({"label": d, "value": d} for d in dimensions.districts),
                    ],
                ),
                dbc.Label("Community area", html_for=ids.AREA, className="mt-3"),
                _choice(
                    ids.AREA,
                    [
                        {"label": "all areas", "value": "all"},
                        *(
                            {"label": f"{number} · {names[number].title()}", "value": number}
                            if number in names
                            else {"label": number, "value": number}
                            for number in sorted(COMMUNITY_AREA_NUMBERS, key=int)
                        ),
                    ],
                ),
                html.Div("Around a place", className="form-label mt-3 mb-1"),
                dbc.Row(
                    [
                        dbc.Col(_coordinate(ids.NEAR_LAT, "Latitude", "41.8781")),
                        dbc.Col(_coordinate(ids.NEAR_LON, "Longitude", "-87.6298")),
                    ],
                    className="g-2",
                ),
                dbc.Label("Within", html_for=ids.RADIUS, className="small mb-0"),
                _choice(
                    ids.RADIUS,
                    [{"label": f"{radius_text(r)} of it", "value": f"{r:g}"} for r in RADII],
                ),
                html.Div(
                    "Or click a dot on the map for “Incidents around here”.",
                    className="form-text",
                ),
                html.Div("Arrest made", className="form-label mt-3 mb-1"),
                dbc.RadioItems(id=ids.ARREST, options=_TRI_STATE, inline=True, className="mb-2"),
                html.Div("Domestic", className="form-label mb-1"),
                dbc.RadioItems(id=ids.DOMESTIC, options=_TRI_STATE, inline=True, className="mb-3"),
                html.Div("Hours of the day (Chicago time)", className="form-label mb-1"),
                dbc.Row(
                    [
                        dbc.Col(_hour_choice(ids.HOUR_FROM, "From", ":00")),
                        dbc.Col(_hour_choice(ids.HOUR_TO, "To", ":59")),
                    ],
                    className="g-2",
                ),
                html.Div(
                    "From later than To runs overnight (22 to 4: 22:00–04:59).",
                    className="form-text",
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


def _labelled(component: str, label: str, field: Any) -> html.Div:
    """`field` under its small label (which names it for screen readers)."""
    return html.Div([dbc.Label(label, html_for=component, className="small mb-0"), field])


def _coordinate(component: str, label: str, example: str) -> html.Div:
    """A labelled number field for a latitude or longitude (applied when it loses focus)."""
    field = dbc.Input(
        id=component, type="number", step="any", debounce=True, placeholder=example, size="sm"
    )
    return _labelled(component, label, field)


def _date_choice(component: str, label: str, first: str | None, last: str | None) -> html.Div:
    """A labelled native date field (typed as text, or picked from the browser's calendar; a
    date wheel on phones), limited to the lake's days. Dash types `dcc.Input.type` without
    "date", but the component renders any input type and reports the value as YYYY-MM-DD."""
    kind: Any = "date"
    field = dcc.Input(
        id=component, type=kind, min=first, max=last, className="form-control form-control-sm"
    )
    return _labelled(component, label, field)


def _hour_choice(component: str, label: str, minutes: str) -> html.Div:
    """A labelled choice of hour 0..23, shown as a time of day ("22:00", or "04:59" for To)."""
    options = [{"label": f"{hour:02d}{minutes}", "value": str(hour)} for hour in range(24)]
    return _labelled(component, label, _choice(component, options))


_FILTERS_LANDMARK: dict[str, Any] = {"aria-label": "Filters"}


def shell_layout() -> html.Div:
    """The layout of every request: built per page load, so it reflects the current lake.

    Landmarks: the navbar, the filter panel (an aside, folded away on narrow screens behind a
    "Filters" button) and the page's own content (main, which starts with the page's h1)."""
    has_data = current().analytics.date_range() is not None
    notice = html.Div(id=ids.URL_NOTICE)
    body = (
        dbc.Row(
            [
                dbc.Col(
                    html.Aside(
                        [
                            dbc.Button(
                                "Filters",
                                id=ids.PANEL_TOGGLE,
                                color="secondary",
                                outline=True,
                                size="sm",
                                className="d-lg-none mb-2",
                            ),
                            dbc.Collapse(_filter_panel(), id=ids.PANEL, is_open=True),
                        ],
                        **_FILTERS_LANDMARK,
                    ),
                    lg=3,
                ),
                dbc.Col(html.Main([notice, dash.page_container]), lg=9),
            ]
        )
        if has_data
        else html.Main([empty_lake_message(), notice, html.Div(dash.page_container, hidden=True)])
    )
    return html.Div(
        [
            # The address bar: written by callbacks without a page load (refresh=False); a
            # new search is pushed as a history entry.
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.FILTERS),
            dcc.Store(id=ids.URL_QUERY),
            dcc.Store(id=ids.URL_SEARCH),
            dcc.Store(id=ids.URL_APPLIED),
            dcc.Store(id=ids.URL_DRILLED),
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
        filters.category or "all",
        filters.districts[0] if filters.districts else "all",
        filters.community_areas[0] if filters.community_areas else "all",
        None if filters.near is None else filters.near[0],
        None if filters.near is None else filters.near[1],
        f"{filters.radius:g}",
        tri(filters.arrest),
        tri(filters.domestic),
        str(filters.hour_from),
        str(filters.hour_to),
    )


# The panel's (component, property) pairs, in the order `_panel_values` and `_GATHER` use.
_PANEL = (
    (ids.DATE_FROM, "value"),
    (ids.DATE_TO, "value"),
    (ids.TYPES, "value"),
    (ids.CATEGORY, "value"),
    (ids.DISTRICT, "value"),
    (ids.AREA, "value"),
    (ids.NEAR_LAT, "value"),
    (ids.NEAR_LON, "value"),
    (ids.RADIUS, "value"),
    (ids.ARREST, "value"),
    (ids.DOMESTIC, "value"),
    (ids.HOUR_FROM, "value"),
    (ids.HOUR_TO, "value"),
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


def apply_url(search: object, _reset: object, *presets_and_dates: object) -> Any:
    """Set the panel from the URL (page load, link, Back, a chart click), to defaults on
    Reset, or its dates to a preset (a button per preset, then the panel's two dates). A URL
    also marks the panel as set from the address bar (so the query is not pushed as a new
    entry) and gets a notice of what it could not show."""
    trigger = dash.ctx.triggered_id
    start, end = presets_and_dates[-2:]
    for name, _label in PRESETS:
        if trigger == _preset_id(name):
            # The two dates; the rest of the panel, the URL mark and the notice stay.
            return (*_preset_dates(name, start, end), *(dash.no_update,) * len(_PANEL))
    params = {} if trigger == ids.RESET else dict(parse_qsl(_text(search).lstrip("?")))
    filters = selection(params)
    span = current().analytics.date_range()
    if filters is None or span is None:
        raise dash.exceptions.PreventUpdate
    if trigger == ids.RESET:
        return (*_panel_values(filters), dash.no_update, None)
    return (*_panel_values(filters), uuid.uuid4().hex, _notice(params, filters, span))


def _preset_dates(preset: str, start: object, end: object) -> tuple[str, str]:
    """The dates of `preset` for the panel's dates `start`..`end`, moved into the lake."""
    span = current().analytics.date_range()
    current_filters = selection({"start": start, "end": end})
    if span is None or current_filters is None:
        raise dash.exceptions.PreventUpdate
    dates = preset_range(preset, span[1], (current_filters.start, current_filters.end))
    if dates is None:
        raise dash.exceptions.PreventUpdate
    chosen = replace(current_filters, start=dates[0], end=dates[1]).within(*span)
    return chosen.start.isoformat(), chosen.end.isoformat()


def _notice(params: dict[str, str], filters: Filters, span: tuple[Any, Any]) -> object:
    notes = link_corrections(params, filters, span)
    if not notes:
        return None
    return dbc.Alert(
        [html.Strong("This link was adjusted: "), *(html.Div(note) for note in notes)],
        color="warning",
        dismissable=True,
        className="py-2 small",
    )


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
    return canonical, hrefs, summary(filters)


def _hours_text(filters: Filters) -> str:
    overnight = " (overnight)" if filters.hour_to < filters.hour_from else ""
    return f"{filters.hour_from:02d}:00–{filters.hour_to:02d}:59{overnight}"


def summary(filters: Filters) -> str:
    """The selection in words: the dates, then every filter that is set."""
    days = filters.days
    parts = [f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({days:,} day{'s' * (days != 1)})"]
    types = filters.primary_types
    if types:
        more = f" +{len(types) - 2} more" if len(types) > 2 else ""
        parts.append(", ".join(t.title() for t in types[:2]) + more)
    if filters.category is not None:
        parts.append(CATEGORY_LABELS[filters.category])
    if filters.districts:
        parts.append("district " + ", ".join(filters.districts))
    if filters.community_areas:
        parts.append("area " + ", ".join(filters.community_areas))
    if filters.near is not None:
        lat, lon = filters.near
        parts.append(f"within {radius_text(filters.radius)} of {lat:.5f}, {lon:.5f}")
    for name, value in (("arrest", filters.arrest), ("domestic", filters.domestic)):
        if value is not None:
            parts.append(f"{name}: {'yes' if value else 'no'}")
    if filters.hours != frozenset(range(24)):
        parts.append(_hours_text(filters))
    return " · ".join(parts)


def mark_active(pathname: object, links: object) -> list[bool]:
    """Highlight the navbar entry of the current page."""
    current_path = _text(pathname) or "/"
    return [path == current_path for path in _link_paths(links)]


# The panel's values as the query dict the server reads (`Filters.from_query`): text only, a
# list of choices joined with "|", "all" as unset, the hour choices as "from-to", the place as
# "lat,lon". Nothing until both dates are set (the panel is filled from the URL first).
_GATHER = """
    function (
        start, end, types, category, district, area, lat, lon, radius,
        arrest, domestic, hourFrom, hourTo
    ) {
        const text = (value) => (typeof value === "string" ? value : "");
        if (!text(start) || !text(end)) { return window.dash_clientside.no_update; }
        const choices = (value) => (
            Array.isArray(value)
                ? value.filter((item) => typeof item === "string").join("|")
                : text(value)
        );
        const chosen = (value) => (text(value) === "all" ? "" : text(value));
        const hour = (value) => /^[0-9]{1,2}$/.test(text(value));
        const whole = hour(hourFrom) && hour(hourTo);
        return {
            start: text(start).slice(0, 10),
            end: text(end).slice(0, 10),
            types: choices(types),
            category: chosen(category),
            district: chosen(district),
            area: chosen(area),
            near: Number.isFinite(lat) && Number.isFinite(lon) ? lat + "," + lon : "",
            radius: text(radius),
            arrest: chosen(arrest),
            domestic: chosen(domestic),
            hours: whole ? hourFrom + "-" + hourTo : "",
        };
    }
"""

# The address bar follows the URL, without another round of callbacks: a search that is
# already the canonical query of the `filters` store goes no further.
_READ_URL = """
    function (search, query) {
        const text = typeof search === "string" ? search : "";
        if (query && text === "?" + new URLSearchParams(query).toString()) {
            return window.dash_clientside.no_update;
        }
        return text;
    }
"""

# The canonical query into the address bar, as the `url` location's search and href (given
# together, or the location takes its stale href for a change and pushes that). The first
# query after the panel was set from the URL replaces the current history entry (a link is
# tidied, not added to history); any other is pushed by the location as a new entry, so Back
# undoes it.
_WRITE_URL = """
    function (query, applied) {
        if (!query) { return window.dash_clientside.no_update; }
        const search = "?" + new URLSearchParams(query).toString();
        const href = window.location.origin + window.location.pathname + search;
        if (applied && applied !== window.chicrimeAppliedUrl) {
            window.chicrimeAppliedUrl = applied;
            if (window.location.search !== search) {
                window.history.replaceState(window.history.state, "", href);
            }
        }
        return [search, href];
    }
"""

# Types matching the search: an exact name first, then names that start with it, then names
# that contain it, each alphabetically; ticked types always stay listed, on top.
_LIST_TYPES = """
    function (search, ticked, choices) {
        const query = (typeof search === "string" ? search : "").trim().toUpperCase();
        const chosen = Array.isArray(ticked) ? ticked : [];
        const rank = (name) => (
            name === query ? 0 : name.startsWith(query) ? 1 : name.includes(query) ? 2 : 3
        );
        return (Array.isArray(choices) ? choices : [])
            .filter(([name]) => chosen.includes(name) || rank(name) < 3)
            .sort(([a], [b]) => (chosen.includes(b) - chosen.includes(a))
                || (rank(a) - rank(b)) || a.localeCompare(b))
            .map(([name, label]) => ({label: label, value: name}));
    }
"""

# On a narrow screen (below Bootstrap's lg) the panel starts folded; its button toggles it.
_FOLD_PANEL = """
    function (clicks, _path, open) {
        const ctx = window.dash_clientside.callback_context;
        const clicked = ctx.triggered.some((t) => t.prop_id.startsWith("filter-panel-toggle."));
        return clicked ? !open : window.innerWidth >= 992;
    }
"""

# A chart click's narrowed search (`chicrime.app.context.drill_search`) into the address bar,
# pushed as a new entry; the panel then follows the URL.
_GO_TO = """
    function (search) {
        if (typeof search !== "string") { return window.dash_clientside.no_update; }
        return [search, window.location.origin + window.location.pathname + search];
    }
"""


def register_callbacks(app: dash.Dash) -> None:
    """Wire the panel, the `filters` store, the navbar and the address bar on `app`.

    Registered per app (not globally at import), so every app built in a process gets them.
    """
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _READ_URL,
        Output(ids.URL_SEARCH, "data"),
        Input(ids.URL, "search"),
        State(ids.URL_QUERY, "data"),
    )
    app.callback(
        *(Output(component, prop) for component, prop in _PANEL),
        Output(ids.URL_APPLIED, "data"),
        Output(ids.URL_NOTICE, "children"),
        Input(ids.URL_SEARCH, "data"),
        Input(ids.RESET, "n_clicks"),
        *(Input(_preset_id(name), "n_clicks") for name, _label in PRESETS),
        State(ids.DATE_FROM, "value"),
        State(ids.DATE_TO, "value"),
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
    address_bar = (
        Output(ids.URL, "search", allow_duplicate=True),
        Output(ids.URL, "href", allow_duplicate=True),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _WRITE_URL,
        *address_bar,
        Input(ids.URL_QUERY, "data"),
        State(ids.URL_APPLIED, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _GO_TO, *address_bar, Input(ids.URL_DRILLED, "data"), prevent_initial_call=True
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _LIST_TYPES,
        Output(ids.TYPES, "options"),
        Input(ids.TYPES_SEARCH, "value"),
        Input(ids.TYPES, "value"),
        State(ids.TYPE_CHOICES, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _FOLD_PANEL,
        Output(ids.PANEL, "is_open"),
        Input(ids.PANEL_TOGGLE, "n_clicks"),
        Input(ids.URL, "pathname"),
        State(ids.PANEL, "is_open"),
    )
