"""What every page needs at request time: the settings and the analytics over the lake.

`create_app` installs one context per process. The `Analytics` object opens DuckDB connections
lazily, per thread, so a context created before gunicorn forks holds no connection.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar
from urllib.parse import urlencode

from dash import Input, Output, State, callback, no_update
from dash.exceptions import PreventUpdate

from chicrime.analytics import Analytics, Filters, time_grain
from chicrime.app.figures import Figure, message_figure
from chicrime.app.ids import FILTERS, URL_DRILLED
from chicrime.settings import Settings

__all__ = [
    "NO_MATCH",
    "AppContext",
    "Part",
    "current",
    "drill_callback",
    "drill_search",
    "figure_part",
    "in_background",
    "install",
    "page_callback",
    "render_figure",
    "selection",
]

T = TypeVar("T")

NO_MATCH = "No incidents match this selection: widen the filters or press Reset."


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    analytics: Analytics


_context: AppContext | None = None


def install(context: AppContext) -> None:
    global _context
    _context = context


def current() -> AppContext:
    """The installed context; raises RuntimeError if `create_app` has not run in this process."""
    if _context is None:
        raise RuntimeError("chicrime.app.create_app() must run before the dashboard serves")
    return _context


def selection(query: object) -> Filters | None:
    """The filters a query dict describes, validated against the lake; None when it is empty.

    `query` is whatever a request sent: anything but a mapping counts as no query, values that
    do not parse fall back to the default view, types and districts the lake does not hold are
    dropped, and both dates are moved into the lake's own date range. Never raises for a value.
    """
    analytics = current().analytics
    default = analytics.default_filters()
    span = analytics.date_range()
    if default is None or span is None:
        return None
    dimensions = analytics.dimensions()
    params = query if isinstance(query, Mapping) else {}
    filters = Filters.from_query(params, (default.start, default.end))
    return filters.with_choices(dimensions.primary_types, dimensions.districts).within(*span)


def render_figure(query: object, title: str, build: Callable[[Filters], Figure | None]) -> Figure:
    """Build a chart for the selection, or a chart that says why there is nothing to show.

    `build` returns None when the selection matches no incidents; `query` is as `selection` takes.
    """
    filters = selection(query)
    if filters is None:
        return message_figure(
            "No data yet: run `chicrime ingest --once` or `chicrime demo`.", title
        )
    figure = build(filters)
    if figure is None:
        return message_figure(NO_MATCH, title)
    return figure


@dataclass(frozen=True)
class Part:
    """Some of a page's outputs and what fills them from the `filters` store's query (a tuple,
    one value per output; raising PreventUpdate leaves them as they are)."""

    outputs: tuple[Output, ...]
    fill: Callable[[object], tuple[object, ...]]


def figure_part(
    graph_id: str, title: str, build: Callable[[Filters], Figure | None], drill: str = ""
) -> Part:
    """Graph `graph_id` drawn by `build` for the selection (see `render_figure`); with a
    `drill` kind (see `drill_search`), the callback that turns a click into a filter is
    registered too."""
    if drill:
        drill_callback(graph_id, drill)
    return Part((Output(graph_id, "figure"),), lambda query: (render_figure(query, title, build),))


# Threads that do a request's independent work side by side, made in the process that serves
# (after gunicorn's fork). Each has its own DuckDB cursor (`Connections`) and, once it has
# allocated, its own malloc arena: as many as the cores chicrime is measured on (two) keep a
# worker's memory down where more would only queue for the cores.
_THREADS = 2
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def in_background(task: Callable[[], T]) -> Future[T]:
    """`task()` started on another thread with this request's context (Flask's request, Dash's
    callback context). Only from a request's own thread: a task that waited for another task
    could wait for a thread that is waiting for it."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = ThreadPoolExecutor(_THREADS, "chicrime-task"), os.getpid()
        pool = _pool
    return pool.submit(contextvars.copy_context().run, task)


def _filled(part: Part, query: object) -> tuple[object, ...]:
    try:
        return part.fill(query)
    except PreventUpdate:
        return (no_update,) * len(part.outputs)


def page_callback(*parts: Part) -> None:
    """Register the one callback that updates all of `parts` when the selection changes.

    One request and one answer per change: Dash's renderer handles every answer in a pass of
    its own (on /trends three answers cost ~12 ms more of it per change than one). The parts
    are filled side by side (`in_background`), so a cold change waits for the slowest part
    rather than their sum.
    """
    outputs = [output for part in parts for output in part.outputs]

    @callback(outputs, Input(FILTERS, "data"))
    def update(query: object) -> list[object]:
        futures = [in_background(partial(_filled, part, query)) for part in parts]
        # All left as they are: Dash answers "no update" (204) by itself.
        return [value for future in futures for value in future.result()]


def drill_search(kind: str, click: object, query: object) -> str | None:
    """The URL search of the selection `query` narrowed to what a chart click picked: a
    primary type (`kind` "type": a bar's label), an hour ("hour": a heatmap column), a
    community area ("area": a map area's location), or a period ("period": the day, or the
    week clipped to the selection, of a time-series point).
    None for no click, a click that narrows nothing, or values no chart sends (a crafted
    request)."""
    filters = selection(query)
    points = click.get("points") if isinstance(click, dict) else None
    if filters is None or not isinstance(points, list) or not points:
        return None
    point = points[0] if isinstance(points[0], dict) else {}
    narrowed = _narrowed(kind, point, filters)
    picked = None if narrowed is None else selection(narrowed.to_query())
    if picked is None or picked == filters:  # nothing the lake holds, or nothing narrowed
        return None
    return "?" + urlencode(picked.to_query())


def _narrowed(kind: str, point: Mapping[str, object], filters: Filters) -> Filters | None:
    label, x, location = point.get("y"), point.get("x"), point.get("location")
    if kind == "type" and isinstance(label, str):
        return replace(filters, primary_types=(label,))
    if kind == "area" and isinstance(location, str):
        return replace(filters, community_areas=(location,))
    if kind == "hour" and type(x) is int and 0 <= x <= 23:
        return replace(filters, hour_from=x, hour_to=x)
    if kind == "period" and isinstance(x, str):
        try:
            day = dt.date.fromisoformat(x[:10])
        except ValueError:
            return None
        last = day + dt.timedelta(days=6) if time_grain(filters) == "week" else day
        return replace(filters, start=max(day, filters.start), end=min(last, filters.end))
    return None


def drill_callback(graph_id: str, kind: str) -> None:
    """Register the callback that sets the filter a click on graph `graph_id` picks (see
    `drill_search`): the shell writes it to the address bar, so Back undoes it."""

    @callback(
        Output(URL_DRILLED, "data", allow_duplicate=True),
        Input(graph_id, "clickData"),
        State(FILTERS, "data"),
        prevent_initial_call=True,
    )
    def drill(click: object, query: object) -> str:
        search = drill_search(kind, click, query)
        if search is None:
            raise PreventUpdate
        return search
