"""What every page needs at request time: the settings and the analytics over the lake.

`create_app` installs one context per process. The `Analytics` object opens DuckDB connections
lazily, per thread, so a context created before gunicorn forks holds no connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dash import Input, Output, callback

from chicrime.analytics import Analytics, Filters
from chicrime.app.figures import Figure, message_figure
from chicrime.app.ids import FILTERS
from chicrime.settings import Settings

__all__ = [
    "NO_MATCH",
    "AppContext",
    "chart_callback",
    "current",
    "install",
    "render_figure",
    "selection",
]

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


def chart_callback(graph_id: str, title: str, build: Callable[[Filters], Figure | None]) -> None:
    """Register the callback that redraws graph `graph_id` whenever the selection changes."""

    @callback(Output(graph_id, "figure"), Input(FILTERS, "data"))
    def redraw(query: object) -> Figure:
        return render_figure(query, title, build)
