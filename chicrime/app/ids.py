"""Every Dash component id the app shares between the shell, the filter panel and the pages."""

URL = "url"
FILTERS = "filters"
URL_WRITER = "url-writer"

DATE_RANGE = "filter-dates"
TYPES = "filter-types"
DISTRICT = "filter-district"
ARREST = "filter-arrest"
DOMESTIC = "filter-domestic"
HOURS = "filter-hours"
RESET = "filter-reset"
SUMMARY = "filter-summary"

NAV_LINK = "nav-link"  # pattern-matched: {"type": NAV_LINK, "path": "/trends"}

KPI_INCIDENTS = "kpi-incidents"
KPI_ARREST_RATE = "kpi-arrest-rate"
KPI_CHANGE = "kpi-change"

OVERVIEW_SERIES = "overview-series"
OVERVIEW_TYPES = "overview-types"
TRENDS_SERIES = "trends-series"
TRENDS_HEATMAP = "trends-heatmap"
TRENDS_TYPES = "trends-types"
MAP_GRAPH = "map-graph"
MAP_NOTE = "map-note"
ARRESTS_RATES = "arrests-rates"
ARRESTS_KPIS = "arrests-kpis"
DATA_TABLE = "data-table"
DATA_DOWNLOAD = "data-download"
DATA_FRESHNESS = "data-freshness"
DATA_RUNS = "data-runs"
