"""Plotly figures from analytics results: pure functions, data in, figure out.

Figures are plain `{"data": [...], "layout": {...}}` dicts, which `dcc.Graph` takes as they
are. Building them skips `plotly.graph_objects` validation, which costs more than a cached
query (tens of milliseconds for a map of 20,000 points).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import polars as pl

from chicrime.analytics.filters import MILES_PER_DEGREE, miles_per_degree_east

__all__ = [
    "WEEKDAYS",
    "Figure",
    "arrest_rate_bar",
    "circle_trace",
    "community_area_map",
    "hexagon_map",
    "incidents_line",
    "map_point_groups",
    "message_figure",
    "points_map",
    "radius_text",
    "reclassification_heatmap",
    "revisions_bars",
    "top_types_bar",
    "weekday_hour_heatmap",
]

Figure = dict[str, Any]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CHICAGO_CENTER = {"lat": 41.8336, "lon": -87.7319}
_COLOR = "#2c7fb8"
# Colours for the most frequent primary types on the points map (the rest share _OTHER):
# ColorBrewer's "Paired" without its palest pair, distinct on white and on each other.
_PALETTE = (
    "#1f78b4",
    "#e31a1c",
    "#33a02c",
    "#ff7f00",
    "#6a3d9a",
    "#b15928",
    "#a6cee3",
    "#fb9a99",
    "#b2df8a",
    "#fdbf6f",
)
_OTHER = "#9e9e9e"
# The legend entry of the types beyond the palette, drawn in _OTHER.
_OTHER_TYPES = "other types"
# plotly.js ignores a template *name* (only plotly.py expands one), and a full template object
# adds ~6.5 kB to every callback answer, so the look is spelled out here instead.
_STYLE = {
    "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#343a40"},
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
    "hoverlabel": {"align": "left"},
}
# Room for numeric tick labels and an axis title on the left and at the bottom. Charts with
# long labels or a colour bar ask for more (`_label_px`). plotly.js's automargins grow a
# margin that is still too small, but only by drawing the chart a second time once it has
# measured the labels (15-35 ms a chart, whenever its labels changed): margins sized up front
# leave it nothing to grow.
_CARTESIAN_MARGIN = {"l": 70, "r": 20, "t": 44, "b": 50}
_COLORBAR_ROOM = 130  # a colour bar with its title, to the right of the plot
# Tick labels are 12 px system-ui text: upper-case type names measure 6.9 px a character.
_CHAR_PX = 7.5
_AXIS = {
    "automargin": True,
    "gridcolor": "#e9ecef",
    "linecolor": "#ced4da",
    "zerolinecolor": "#ced4da",
    "ticks": "",
}


def _figure(
    data: list[dict[str, Any]],
    title: str,
    height: int = 360,
    margin: dict[str, int] = _CARTESIAN_MARGIN,
    **layout: Any,
) -> Figure:
    return {
        "data": data,
        "layout": {
            "title": {"text": title, "x": 0.01, "font": {"size": 15}},
            "margin": margin,
            "height": height,
            **_STYLE,
            **layout,
        },
    }


def _label_px(labels: list[str]) -> int:
    """Room for the longest of `labels` as tick labels, in pixels (a little to spare)."""
    return round(_CHAR_PX * max((len(label) for label in labels), default=0))


def _margin(**sides: int) -> dict[str, int]:
    return {**_CARTESIAN_MARGIN, **sides}


def _axis(title: str = "", **options: Any) -> dict[str, Any]:
    """A cartesian axis in the house style; plotly.js 3 draws `title.text`, not a bare string."""
    titled = {"title": {"text": title, "standoff": 10}} if title else {}
    return {**_AXIS, **titled, **options}


def message_figure(message: str, title: str = "") -> Figure:
    """An empty chart that says why it is empty (no data, nothing selected)."""
    hidden = _axis(visible=False)
    annotation = {
        "text": message,
        "showarrow": False,
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "font": {"size": 14, "color": "#666"},
    }
    return _figure([], title, xaxis=hidden, yaxis=hidden, annotations=[annotation])


def incidents_line(series: pl.DataFrame, grain: str) -> Figure:
    """Incidents per day or ISO week (`period`, `incidents`, `days`).

    A week the selection covers only in part (`days` < 7, at either end) is not drawn on the
    line, where its smaller count would read as a drop: it is a hollow marker of its own,
    whose hover says how many of its days are selected.
    """
    weekly = grain == "week"
    whole = series.filter(pl.col("days") == 7) if weekly else series
    label = "week of %{x|%a %d %b %Y}" if weekly else "%{x|%a %d %b %Y}"
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"incidents per {grain}",
            "showlegend": False,
            "x": [d.isoformat() for d in whole.get_column("period").to_list()],
            "y": whole.get_column("incidents").to_list(),
            "line": {"color": _COLOR, "width": 2},
            "hovertemplate": label + ": %{y:,} incidents<extra></extra>",
        }
    ]
    partial = series.filter(pl.col("days") < 7) if weekly else series.clear()
    if not partial.is_empty():
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "partial week (not all 7 days selected)",
                "x": [d.isoformat() for d in partial.get_column("period").to_list()],
                "y": partial.get_column("incidents").to_list(),
                "customdata": partial.get_column("days").to_list(),
                "marker": {"color": _COLOR, "symbol": "circle-open", "size": 9},
                "hovertemplate": label
                + ": %{y:,} incidents in the %{customdata} selected days<extra></extra>",
            }
        )
    return _figure(
        traces,
        f"Incidents per {grain}",
        margin=_margin(b=70, r=40),  # dates take two lines; the last one overhangs the plot
        xaxis=_axis("week (from Monday)" if weekly else "day"),
        yaxis=_axis("incidents", rangemode="tozero"),
        legend={"orientation": "h", "x": 1, "y": 1.0, "yanchor": "bottom", "xanchor": "right"},
    )


def _horizontal_bars(frame: pl.DataFrame, label: str, value: str) -> dict[str, Any]:
    return {
        "type": "bar",
        "orientation": "h",
        "x": frame.get_column(value).to_list(),
        "y": frame.get_column(label).to_list(),
    }


def top_types_bar(types: pl.DataFrame) -> Figure:
    """The most frequent primary types, largest on top."""
    trace = _horizontal_bars(types.reverse(), "primary_type", "incidents")
    trace.update(marker={"color": _COLOR}, hovertemplate="%{y}: %{x:,}<extra></extra>")
    return _figure(
        [trace],
        "Top primary types",
        height=max(300, 28 * types.height + 80),
        margin=_margin(l=30 + _label_px(trace["y"])),
        xaxis=_axis("incidents"),
        yaxis=_axis(),
    )


# ColorBrewer's sequential YlOrRd, pale for few incidents, dark red for many.
_SEQUENTIAL = [
    [0.0, "#ffffcc"],
    [0.25, "#fed976"],
    [0.5, "#fd8d3c"],
    [0.75, "#e31a1c"],
    [1.0, "#800026"],
]


def weekday_hour_heatmap(cells: pl.DataFrame, hours: frozenset[int] | None = None) -> Figure:
    """Incidents by day of week × hour of day (Chicago wall-clock hours), darker = more.

    Hours outside `hours` (the hour filter; None = all) are left empty, not drawn as 0.
    """
    grid: list[list[int | None]] = [
        [0 if hours is None or hour in hours else None for hour in range(24)] for _ in WEEKDAYS
    ]
    for weekday, hour, incidents in cells.select("weekday", "hour", "incidents").iter_rows():
        if grid[weekday][hour] is not None:
            grid[weekday][hour] = incidents
    trace = _heatmap(grid, list(range(24)), list(WEEKDAYS), "incidents", "%{y} %{x}:00–%{x}:59")
    return _figure(
        [trace],
        "When incidents happen",
        margin=_margin(r=_COLORBAR_ROOM),
        xaxis=_axis("hour of day (Chicago time)", dtick=2),
        yaxis=_axis("day of week", autorange="reversed"),
    )


def _heatmap(
    grid: list[list[int | None]], x: list[Any], y: list[str], unit: str, where: str
) -> dict[str, Any]:
    """A sequential heatmap of counts in `unit`; empty cells (None) stay blank, not 0."""
    return {
        "type": "heatmap",
        "z": grid,
        "x": x,
        "y": y,
        "colorscale": _SEQUENTIAL,
        "zmin": 0,
        "hoverongaps": False,
        "colorbar": {"title": {"text": unit}},
        "hovertemplate": f"{where}: %{{z:,}} {unit}<extra></extra>",
    }


def revisions_bars(weekly: pl.DataFrame, labels: tuple[str, ...]) -> Figure:
    """Revisions per week they were seen, stacked by label (`labels` in legend order)."""
    traces = []
    for label, color in zip(labels, _PALETTE, strict=False):
        rows = weekly.filter(pl.col("label") == label)
        if rows.is_empty():
            continue
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": [d.isoformat() for d in rows.get_column("week")],
                "y": rows.get_column("revisions").to_list(),
                "marker": {"color": color},
                "hovertemplate": f"week of %{{x}}: %{{y:,}} {label}<extra></extra>",
            }
        )
    return _figure(
        traces,
        "Revisions per week",
        margin=_margin(b=100),  # and the legend under the plot
        barmode="stack",
        xaxis=_axis("week seen (from Monday)", type="date"),
        yaxis=_axis("records revised"),
        legend={"orientation": "h", "y": -0.25},
    )


def reclassification_heatmap(matrix: pl.DataFrame, rows: int) -> Figure:
    """How many records moved from one primary type (row) to another (column), as tall as
    `rows` rows (at least its own): a height that does not change with the selection spares
    the page a redraw when the chart would otherwise resize."""
    sources = sorted(set(matrix.get_column("from_type")))
    targets = sorted(set(matrix.get_column("to_type")))
    grid: list[list[int | None]] = [[None] * len(targets) for _ in sources]
    for source, target, count in matrix.iter_rows():
        grid[sources.index(source)][targets.index(target)] = count
    trace = _heatmap(grid, targets, sources, "records", "%{y} → %{x}")
    # The column labels are turned 35°: their height is sin 35° ≈ 0.57 of their length.
    bottom = 55 + round(0.58 * _label_px(targets))
    return _figure(
        [trace],
        "Reclassified: from one primary type to another",
        height=max(320, 26 * max(rows, len(sources)) + 160),
        margin=_margin(l=50 + _label_px(sources), b=bottom, r=_COLORBAR_ROOM),
        xaxis=_axis("now", tickangle=-35),
        yaxis=_axis("before", autorange="reversed"),
    )


def arrest_rate_bar(rates: pl.DataFrame) -> Figure:
    """Arrest rate (%) per primary type, most frequent types, highest rate on top."""
    ordered = rates.sort("arrest_rate")
    trace = _horizontal_bars(ordered, "primary_type", "arrest_rate")
    trace.update(
        marker={"color": "#d95f0e"},
        customdata=[list(row) for row in ordered.select("arrests", "incidents").rows()],
        hovertemplate="%{y}: %{x:.1f}% (%{customdata[0]:,} of %{customdata[1]:,})<extra></extra>",
    )
    return _figure(
        [trace],
        "Arrest rate by primary type",
        height=max(300, 28 * rates.height + 80),
        margin=_margin(l=30 + _label_px(trace["y"]), r=30),  # and half of the last "100"
        xaxis=_axis("arrest rate (%)", range=[0, 100]),
        yaxis=_axis(),
    )


def _map(data: list[dict[str, Any]], title: str, style: str, outlines: str | None = None) -> Figure:
    """A map figure; `outlines` is the URL of community-area boundaries (GeoJSON) to draw as
    thin lines under the traces, fetched once by the browser rather than sent in the figure.
    A choropleth's colour bar gets its room up front."""
    coloured = any(trace["type"] == "choroplethmap" for trace in data)
    layers = [
        {
            "sourcetype": "geojson",
            "source": outlines,
            "type": "line",
            "color": "#6c757d",
            "line": {"width": 0.8},
            "below": "traces",
        }
    ]
    return _figure(
        data,
        title,
        height=620,
        margin={"l": 0, "r": _COLORBAR_ROOM if coloured else 0, "t": 44, "b": 0},
        showlegend=False,
        map={
            "style": style,
            "center": CHICAGO_CENTER,
            "zoom": 9.3,
            **({"layers": layers} if outlines else {}),
        },
    )


def map_point_groups(points: pl.DataFrame) -> list[tuple[str | None, bool, pl.DataFrame]]:
    """`points` split by colour and arrest: one group per primary type for the commonest types
    (as many as the palette has colours; ties by name) and one group, kind None, for all other
    types together. The other types come first, then the named ones least frequent first (the
    commonest last, so its dots are drawn on top); no arrest before arrest; rows in their given
    order. The points map draws one trace per group, in this order, so a clicked (trace, point)
    names its row; few traces keep a redraw quick (MapLibre's cost grows faster than the
    number of layers: 46 traces took ~8 times as long as 22 to draw in Chromium here)."""
    known = points.with_columns(
        pl.col("primary_type").fill_null("UNKNOWN"), pl.col("arrest").fill_null(False)
    )
    commonest = (
        known.group_by("primary_type")
        .len()
        .sort(["len", "primary_type"], descending=[True, False])
        .get_column("primary_type")
        .head(len(_PALETTE))
        .to_list()
    )
    named = pl.col("primary_type").is_in(commonest)
    parts = known.with_columns(
        _group=pl.when(named).then(pl.col("primary_type")).otherwise(None)
    ).partition_by("_group", "arrest", as_dict=True, maintain_order=True)
    return [
        (kind, arrest, parts[(kind, arrest)].drop("_group"))
        for kind in [None, *reversed(commonest)]
        for arrest in (False, True)
        if (kind, arrest) in parts
    ]


def _float32(values: pl.Series) -> dict[str, str]:
    """A plotly.js float32 typed array: raw bytes in base64, about a third of the size of the
    same numbers as JSON text."""
    array = values.to_numpy().astype("<f4")
    return {"dtype": "f4", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def points_map(points: pl.DataFrame, style: str, outlines: str | None = None) -> Figure:
    """One marker per incident: a colour and legend entry for each of the commonest primary
    types (most frequent first) and one, grey, for all others. Coordinates go as float32 typed
    arrays (~1 m) and only the day and time ("30 Jun 19:20", 15 bytes) as text per point, and
    an other type's name: hovering shows the type, when and whether there was an arrest, and a
    click asks the server for the rest (`chicrime.app.charts.clicked_incident`), which keeps
    20,000 points under 600 kB before compression."""
    groups = map_point_groups(points)
    ranked = list(
        dict.fromkeys(kind for kind, _arrest, _rows in reversed(groups) if kind is not None)
    )
    colours = dict(zip(ranked, _PALETTE, strict=False))
    traces: list[dict[str, Any]] = []
    for kind, arrest, rows in groups:
        outcome = "arrest made" if arrest else "no arrest"
        name = _OTHER_TYPES if kind is None else kind.title()
        trace: dict[str, Any] = {
            "type": "scattermap",
            "mode": "markers",
            "name": name,
            "legendgroup": name,
            # A group's no-arrest and arrest traces share one legend entry.
            "showlegend": not traces or traces[-1]["legendgroup"] != name,
            "lat": _float32(rows.get_column("latitude")),
            "lon": _float32(rows.get_column("longitude")),
            "customdata": rows.get_column("date").dt.strftime("%d %b %H:%M").to_list(),
            "marker": {
                "size": 6,
                "color": _OTHER if kind is None else colours[kind],
                "opacity": 0.7,
            },
            "hovertemplate": f"<b>{'%{text}' if kind is None else kind}</b><br>%{{customdata}} · "
            f"{outcome}<br>click for the block and more<extra></extra>",
        }
        if kind is None:  # each dot names its own type
            trace["text"] = rows.get_column("primary_type").to_list()
        traces.append(trace)
    figure = _map(traces, f"{points.height:,} incidents", style, outlines)
    figure["layout"].update(
        showlegend=True,
        legend={
            "title": {"text": "primary type"},
            "traceorder": "reversed",  # the most frequent type (drawn last) on top
            "bgcolor": "rgba(255,255,255,0.85)",
            "x": 0.01,
            "y": 0.99,
            "font": {"size": 11},
        },
    )
    return figure


def _choropleth(
    geojson: dict[str, object] | str, locations: list[str], counts: list[int], hover: str
) -> dict[str, Any]:
    return {
        "type": "choroplethmap",
        "geojson": geojson,
        "locations": locations,
        "z": counts,
        "colorscale": _SEQUENTIAL,
        "zmin": 0,
        "colorbar": {"title": {"text": "incidents"}},
        "marker": {"opacity": 0.65, "line": {"width": 0}},
        "hovertemplate": hover,
    }


def hexagon_map(cells: pl.DataFrame, geojson: dict[str, object], style: str) -> Figure:
    """Incidents counted in hexagons (server-side binning)."""
    trace = _choropleth(
        geojson,
        [f"{q}:{r}" for q, r in cells.select("hex_q", "hex_r").iter_rows()],
        cells.get_column("incidents").to_list(),
        "%{z:,} incidents<extra></extra>",
    )
    return _map([trace], "Incidents per hexagon", style)


def radius_text(radius: float) -> str:
    """A radius in miles as people say it: "½ mile", "1 mile", "2 miles"."""
    words = {0.25: "¼ mile", 0.5: "½ mile", 1.0: "1 mile"}
    return words.get(radius, f"{radius:g} miles")


def circle_trace(near: tuple[float, float], radius: float, label: str) -> dict[str, Any]:
    """The outline of the circle of `radius` miles around `near` (lat, lon), for a map."""
    lat, lon = near
    east = miles_per_degree_east(lat)
    turns = [2 * math.pi * step / 72 for step in range(73)]
    return {
        "type": "scattermap",
        "mode": "lines",
        "name": label,
        "showlegend": False,
        "lat": [round(lat + radius * math.sin(t) / MILES_PER_DEGREE, 6) for t in turns],
        "lon": [round(lon + radius * math.cos(t) / east, 6) for t in turns],
        "line": {"color": "#212529", "width": 2},
        "hoverinfo": "skip",
    }


def community_area_map(rates: pl.DataFrame, boundaries_url: str, style: str) -> Figure:
    """Community areas on the portal's boundaries, coloured by incidents per 100,000 residents
    (by incidents when no area has a population), named on hover; a click picks an area.

    The boundaries are named by their URL, which plotly.js fetches once per page and keeps:
    the portal's file is 2 MB, which every answer would otherwise carry."""
    per_resident = rates.get_column("rate").is_not_null().any()
    measure = "rate" if per_resident else "incidents"
    names = [
        (name or f"area {number}").title()
        for number, name in rates.select("community_area", "name").iter_rows()
    ]
    trace = _choropleth(
        boundaries_url,
        rates.get_column("community_area").to_list(),
        rates.get_column(measure).to_list(),
        "<b>%{customdata[0]}</b> (%{location})<br>%{customdata[1]:,} incidents"
        + ("<br>%{z:,.0f} per 100,000 residents" if per_resident else "")
        + "<extra></extra>",
    )
    trace.update(
        featureidkey="properties.area_numbe",
        customdata=[[name, n] for name, n in zip(names, rates["incidents"].to_list(), strict=True)],
        colorbar={"title": {"text": "per 100,000<br>residents" if per_resident else "incidents"}},
    )
    title = "Incidents per 100,000 residents" if per_resident else "Incidents per community area"
    return _map([trace], title, style)
