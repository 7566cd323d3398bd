"""Chart builders: a selection in, a figure out (None when nothing matches). Pages wire them."""

from __future__ import annotations

from typing import Any

import flask
import polars as pl

from chicrime.analytics import MAP_POINTS_LIMIT, MAP_POINTS_MAX_DAYS, Filters
from chicrime.app import figures
from chicrime.app.context import current
from chicrime.app.figures import Figure
from chicrime.store.geo import read_geo_file

__all__ = [
    "area_rates_map",
    "arrest_rates",
    "clicked_incident",
    "incidents_over_time",
    "map_view",
    "top_types",
    "weekday_hour",
]


def incidents_over_time(filters: Filters) -> Figure | None:
    series = current().analytics.incidents_over_time(filters)
    if series.is_empty() or series.get_column("incidents").sum() == 0:
        return None
    return figures.incidents_line(series, "day" if filters.days <= 120 else "week")


def top_types(filters: Filters) -> Figure | None:
    types = current().analytics.top_types(filters)
    return None if types.is_empty() else figures.top_types_bar(types)


def weekday_hour(filters: Filters) -> Figure | None:
    cells = current().analytics.weekday_hour(filters)
    if cells.get_column("incidents").sum() == 0:
        return None
    return figures.weekday_hour_heatmap(cells, filters.hours)


def arrest_rates(filters: Filters) -> Figure | None:
    rates = current().analytics.arrest_rates(filters)
    return None if rates.is_empty() else figures.arrest_rate_bar(rates)


# Where the browser fetches the cached community-area boundaries (a route of the app).
OUTLINES_PATH = "geo/community-areas.geojson"


def _outlines_url() -> str:
    """The boundaries' absolute URL (MapLibre fetches it from a worker, which cannot resolve a
    relative one); relative outside a request."""
    root = flask.request.url_root if flask.has_request_context() else "/"
    return root + OUTLINES_PATH


def map_view(filters: Filters) -> tuple[Figure | None, str]:
    """The map and its note, with the circle of an "around a place" selection drawn on it."""
    figure, note = _map_of(filters)
    if figure is not None and filters.near is not None:
        label = f"within {figures.radius_text(filters.radius)}"
        figure["data"].append(figures.circle_trace(filters.near, filters.radius, label))
    return figure, note


def _map_of(filters: Filters) -> tuple[Figure | None, str]:
    """Points for short ranges, over the community-area outlines when they are cached;
    otherwise an aggregate (areas by rate, else hexagons), with the note that says so."""
    context = current()
    analytics, style = context.analytics, context.settings.map_style
    areas = read_geo_file(context.settings.layout.community_areas)
    if filters.days <= MAP_POINTS_MAX_DAYS:
        points = analytics.map_points(filters)
        note = f"One dot per incident with coordinates ({points.height:,} shown)."
        if points.height == MAP_POINTS_LIMIT:
            note = (
                f"One dot per incident with coordinates: the newest {MAP_POINTS_LIMIT:,} are "
                "shown. Narrow the filters to see all of them."
            )
        if points.is_empty():
            return None, note
        return figures.points_map(points, style, _outlines_url() if areas else None), note
    if areas is not None:
        rates = analytics.community_area_rates(filters)
        note = (
            f"The range is longer than {MAP_POINTS_MAX_DAYS} days, so incidents are counted per "
            "community area. Narrow the dates to see individual incidents; click an area to "
            "select it."
        )
        return area_rates_map(rates), note
    cells = analytics.map_hexagons(filters)
    note = (
        f"The range is longer than {MAP_POINTS_MAX_DAYS} days, so incidents are counted in "
        "hexagons. Narrow the dates to see individual incidents."
    )
    if cells.is_empty():
        return None, note
    return figures.hexagon_map(cells, analytics.hexagon_geojson(cells), style), note


def area_rates_map(rates: pl.DataFrame) -> Figure | None:
    """The community areas of `rates` (`Analytics.community_area_rates`) on the cached
    boundaries; None without boundaries or when no area has an incident."""
    context = current()
    areas = read_geo_file(context.settings.layout.community_areas)
    if areas is None or rates.get_column("incidents").sum() == 0:
        return None
    return figures.community_area_map(rates, _outlines_url(), context.settings.map_style)


def clicked_incident(click: object, filters: Filters) -> dict[str, Any] | None:
    """The incident a click on the points map of `filters` landed on, as a row dict; None for
    no click, a click on anything else, or a value no click makes (a crafted request)."""
    points = click.get("points") if isinstance(click, dict) else None
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    curve, number = points[0].get("curveNumber"), points[0].get("pointNumber")
    if type(curve) is not int or type(number) is not int:  # bool is an int, not a number here
        return None
    if filters.days > MAP_POINTS_MAX_DAYS:
        return None
    groups = figures.map_point_groups(current().analytics.map_points(filters))
    if not 0 <= curve < len(groups) or not 0 <= number < groups[curve][2].height:
        return None
    row: dict[str, Any] = groups[curve][2].row(number, named=True)
    return row
