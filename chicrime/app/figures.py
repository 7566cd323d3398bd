"""Plotly figures from analytics results: pure functions, data in, `go.Figure` out."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

__all__ = [
    "WEEKDAYS",
    "arrest_rate_bar",
    "community_area_map",
    "hexagon_map",
    "incidents_line",
    "message_figure",
    "points_map",
    "top_types_bar",
    "weekday_hour_heatmap",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CHICAGO_CENTER = {"lat": 41.8336, "lon": -87.7319}
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
_COLOR = "#2c7fb8"


def _layout(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        margin=_MARGIN,
        height=height,
        template="plotly_white",
    )
    return figure


def message_figure(message: str, title: str = "") -> go.Figure:
    """An empty chart that says why it is empty (no data, nothing selected)."""
    figure = go.Figure()
    figure.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 14, "color": "#666"},
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure, title)


def incidents_line(series: pl.DataFrame, grain: str) -> go.Figure:
    """Incidents per day or week (`period`, `incidents`)."""
    figure = go.Figure(
        go.Scatter(
            x=series.get_column("period").to_list(),
            y=series.get_column("incidents").to_list(),
            mode="lines",
            line={"color": _COLOR, "width": 2},
            hovertemplate="%{x|%a %d %b %Y}: %{y:,} incidents<extra></extra>",
        )
    )
    figure.update_yaxes(rangemode="tozero", title="incidents")
    return _layout(figure, f"Incidents per {grain}")


def top_types_bar(types: pl.DataFrame) -> go.Figure:
    """The most frequent primary types, largest on top."""
    ordered = types.reverse()
    figure = go.Figure(
        go.Bar(
            x=ordered.get_column("incidents").to_list(),
            y=ordered.get_column("primary_type").to_list(),
            orientation="h",
            marker_color=_COLOR,
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    figure.update_xaxes(title="incidents")
    return _layout(figure, "Top primary types", height=max(300, 28 * types.height + 80))


def weekday_hour_heatmap(cells: pl.DataFrame) -> go.Figure:
    """Incidents by day of week × hour of day (Chicago wall-clock hours)."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    for weekday, hour, incidents in cells.select("weekday", "hour", "incidents").iter_rows():
        grid[weekday][hour] = incidents
    figure = go.Figure(
        go.Heatmap(
            z=grid,
            x=list(range(24)),
            y=list(WEEKDAYS),
            colorscale="YlOrRd",
            hovertemplate="%{y} %{x}:00–%{x}:59: %{z:,}<extra></extra>",
        )
    )
    figure.update_xaxes(title="hour of day (Chicago time)", dtick=2)
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, "When incidents happen")


def arrest_rate_bar(rates: pl.DataFrame) -> go.Figure:
    """Arrest rate (%) per primary type, most frequent types, highest rate on top."""
    ordered = rates.sort("arrest_rate")
    figure = go.Figure(
        go.Bar(
            x=ordered.get_column("arrest_rate").to_list(),
            y=ordered.get_column("primary_type").to_list(),
            orientation="h",
            marker_color="#d95f0e",
            customdata=ordered.select("arrests", "incidents").rows(),
            hovertemplate="%{y}: %{x:.1f}% (%{customdata[0]:,} of %{customdata[1]:,})"
            "<extra></extra>",
        )
    )
    figure.update_xaxes(title="arrest rate (%)", range=[0, 100])
    return _layout(figure, "Arrest rate by primary type", height=max(300, 28 * rates.height + 80))


def _map_layout(figure: go.Figure, title: str, style: str) -> go.Figure:
    figure.update_layout(
        map={"style": style, "center": CHICAGO_CENTER, "zoom": 9.3},
        showlegend=False,
    )
    return _layout(figure, title, height=620)


def points_map(points: pl.DataFrame, style: str) -> go.Figure:
    """One marker per incident."""
    figure = go.Figure(
        go.Scattermap(
            lat=points.get_column("latitude").to_list(),
            lon=points.get_column("longitude").to_list(),
            mode="markers",
            marker={"size": 6, "color": _COLOR, "opacity": 0.6},
            text=[
                f"{t} · {b} · {d:%Y-%m-%d %H:%M}"
                for t, b, d in points.select("primary_type", "block", "date").iter_rows()
            ],
            hoverinfo="text",
        )
    )
    return _map_layout(figure, f"{points.height:,} incidents", style)


def hexagon_map(cells: pl.DataFrame, geojson: dict[str, object], style: str) -> go.Figure:
    """Incidents counted in hexagons (server-side binning)."""
    figure = go.Figure(
        go.Choroplethmap(
            geojson=geojson,
            locations=[f"{q}:{r}" for q, r in cells.select("hex_q", "hex_r").iter_rows()],
            z=cells.get_column("incidents").to_list(),
            colorscale="YlOrRd",
            marker_opacity=0.65,
            marker_line_width=0,
            hovertemplate="%{z:,} incidents<extra></extra>",
        )
    )
    return _map_layout(figure, "Incidents per hexagon", style)


def community_area_map(counts: pl.DataFrame, geojson: dict[str, object], style: str) -> go.Figure:
    """Incidents per community area, on the portal's boundaries."""
    figure = go.Figure(
        go.Choroplethmap(
            geojson=geojson,
            featureidkey="properties.area_numbe",
            locations=counts.get_column("community_area").to_list(),
            z=counts.get_column("incidents").to_list(),
            colorscale="YlOrRd",
            marker_opacity=0.65,
            hovertemplate="area %{location}: %{z:,} incidents<extra></extra>",
        )
    )
    return _map_layout(figure, "Incidents per community area", style)
