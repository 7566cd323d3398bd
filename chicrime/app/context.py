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

__all__ = ["AppContext", "chart_callback", "current", "install", "render_figure", "selection"]


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


def selection(query: Mapping[str, str | None] | None) -> Filters | None:
    """The filters a query dict describes, validated against the lake; None when it is empty."""
    analytics = current().analytics
    default = analytics.default_filters()
    if default is None:
        return None
    dimensions = analytics.dimensions()
    filters = Filters.from_query(query or {}, (default.start, default.end))
    return filters.with_choices(dimensions.primary_types, dimensions.districts)


def render_figure(
    query: Mapping[str, str | None] | None,
    title: str,
    build: Callable[[Filters], Figure | None],
) -> Figure:
    """Build a chart for the selection, or a chart that says why there is nothing to show.

    `build` returns None when the selection matches no incidents.
    """
    filters = selection(query)
    if filters is None:
        return message_figure(
            "No data yet: run `chicrime ingest --once` or `chicrime demo`.", title
        )
    figure = build(filters)
    if figure is None:
        return message_figure("No incidents match this selection.", title)
    return figure


def chart_callback(graph_id: str, title: str, build: Callable[[Filters], Figure | None]) -> None:
    """Register the callback that redraws graph `graph_id` whenever the selection changes."""

    @callback(Output(graph_id, "figure"), Input(FILTERS, "data"))
    def redraw(query: dict[str, str] | None) -> Figure:
        return render_figure(query, title, build)
