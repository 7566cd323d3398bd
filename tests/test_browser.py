"""The dashboard in a real headless Chromium (Playwright), served by `chicrime serve`.

The lake is a small synthetic one made by `chicrime demo`; expected numbers are computed from
its Parquet files with polars, independently of the DuckDB queries the dashboard runs. The
server sends its Content-Security-Policy, so every page also proves it needs nothing the policy
refuses. Waits pass functions, not expression strings: Playwright polls an expression string
with `eval`, which that policy (rightly) blocks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import polars as pl
import pytest

from chicrime.analytics import CSV_ROW_CAP
from chicrime.analytics.filters import MILES_PER_DEGREE
from chicrime.app import PLOTLY_BUNDLE
from chicrime.app.security import security_headers
from chicrime.app.shell import PAGES
from chicrime.settings import Settings
from tests.conftest import needs_plotly_bundle, read_lake
from tests.dash_requests import inline_script_hashes
from tests.dashboard_server import BROWSER_ARGS, CHICRIME, running_dashboard

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
END = dt.date(2024, 6, 30)
CHROMIUM = shutil.which("chromium")

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI needs Debian's chromium for the browser tests: apt-get install chromium"
        )
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import (  # noqa: E402
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dashboard") / "data"
    env = {**os.environ, "DATA_DIR": str(directory)}
    subprocess.run(
        [CHICRIME, "demo", "--years", "1", "--end", END.isoformat(), "--seed", "7"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return directory


@pytest.fixture(scope="module")
def lake(data_dir: Path) -> pl.DataFrame:
    return read_lake(data_dir)


@pytest.fixture(scope="module")
def base_url(data_dir: Path) -> Iterator[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "server.log").open("w") as log, running_dashboard(data_dir, log) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page plus everything it asked for and complained about.

    `errors` holds console errors and uncaught exceptions; `violations` every console message
    about the Content-Security-Policy, whatever its level.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.hosts: set[str] = set()
        self.errors: list[str] = []
        self.violations: list[str] = []
        page.on("request", self._note_host)
        page.on("console", self._note_message)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _note_message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def _note_host(self, request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss"):  # data: and blob: never leave the page
            self.hosts.add(url.hostname or "")


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    spy = Watched(page)
    yield spy
    context.close()
    assert spy.hosts <= {"127.0.0.1"}, f"requests left the machine: {spy.hosts}"


def wait_for_charts(page: Page, count: int) -> None:
    """Wait until `count` Plotly charts are drawn and no callback is pending."""
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=count
    )
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def kpi(page: Page) -> int:
    """The incidents KPI, once its callback has filled it (the page's charts may be drawn first,
    or still be the previous page's after a navbar click)."""
    value = page.locator("#kpi-incidents .kpi-value")
    expect(value).to_have_text(re.compile(r"^[\d,]+$"))
    return int(value.inner_text().replace(",", ""))


def expected_incidents(lake: pl.DataFrame, start: dt.date, end: dt.date, **equal: object) -> int:
    frame = lake.filter(pl.col("date").dt.date().is_between(start, end))
    for column, value in equal.items():
        frame = frame.filter(pl.col(column) == value)
    return frame.height


ROUTES = [
    ("/", 2),
    ("/trends", 3),
    ("/map", 1),
    ("/arrests", 1),
    ("/compare", 0),
    ("/areas", 2),
    ("/changes", 2),
    ("/data", 0),
]


def open_route(page: Page, url: str, charts: int) -> None:
    """Open `url` and wait until its `charts` charts (or its table) are drawn."""
    page.goto(url)
    page.wait_for_selector("#filter-types", state="attached")
    if charts:
        wait_for_charts(page, charts)
    else:
        table = "#compare-table" if "/compare" in url else "#data-table"
        page.wait_for_selector(f"{table} .dash-spreadsheet, {table} .alert")
    if "/map" in url:  # MapLibre draws on its canvas after Plotly's SVG is in place
        page.wait_for_selector("#map-graph canvas")
        page.wait_for_timeout(2000)


# [type asked for, type drawn] of every trace on the page: plotly.js draws a type it has not
# registered as a scatter, with only a console warning.
TRACE_TYPES = """() => Array.from(document.querySelectorAll(".js-plotly-plot")).flatMap(
    (gd) => gd.data.map((trace, n) => [trace.type || "scatter", gd._fullData[n].type]),
)"""


def grown_margins(page: Page) -> list[str]:
    """The chart sides whose margin plotly.js had to grow to fit labels, colour bars or
    legends, which costs a chart a second drawing pass: the server sizes them up front."""
    return page.locator(".js-plotly-plot").evaluate_all(
        """plots => plots.flatMap((gd) => ["l", "r", "t", "b"]
            .filter((side) => gd._fullLayout._size[side] !== gd._fullLayout.margin[side])
            .map((side) => gd.parentElement.id + " " + side))"""
    )


@pytest.mark.parametrize(("path", "charts"), ROUTES)
def test_every_page_renders_without_console_errors(
    watched: Watched, base_url: str, path: str, charts: int
) -> None:
    """Each route draws its charts, logs no error or CSP violation, and is saved as a screenshot."""
    page = watched.page
    open_route(page, base_url + path, charts)
    name = "overview" if path == "/" else path.strip("/")
    # `make screenshots` refreshes the README's images; plain test runs leave them alone.
    folders = [ARTIFACTS, SCREENSHOTS] if os.environ.get("UPDATE_SCREENSHOTS") else [ARTIFACTS]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"{name}.png", full_page=True)
    assert watched.errors == []
    assert watched.violations == []
    assert [pair for pair in page.evaluate(TRACE_TYPES) if pair[0] != pair[1]] == []
    assert grown_margins(page) == []


def test_the_dashboard_loads_its_own_plotly_bundle(watched: Watched, base_url: str) -> None:
    """The graphs run chicrime's plotly.js build (only the trace types the pages draw), not
    Dash's full one: a first visit compiles a third less script. It is sent as the build
    compressed it, in each encoding offered."""
    needs_plotly_bundle()
    page = watched.page
    open_route(page, base_url + "/", 2)
    traces = page.evaluate("() => Object.keys(window.Plotly.PlotSchema.get().traces).sort()")
    assert traces == ["bar", "choroplethmap", "heatmap", "scatter", "scattermap"]
    address = base_url + "/_dash-component-suites/plotly/package_data/plotly.min.js"
    for encoding, sent in (("br", "br"), ("gzip", "gzip"), ("identity", None)):
        served = httpx.get(address, headers={"Accept-Encoding": encoding})
        assert served.headers.get("content-encoding") == sent
        assert served.content == PLOTLY_BUNDLE.read_bytes()  # as decoded by httpx


def test_the_policy_refuses_an_injected_inline_script(watched: Watched, base_url: str) -> None:
    """A script the app did not ship does not run, and the watcher reports the violation."""
    page = watched.page
    page.goto(base_url + "/data")
    page.wait_for_selector("#filter-types")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true;";
            document.body.appendChild(script);
        }"""
    )
    assert page.evaluate("() => window.injected === undefined")
    assert len(watched.violations) == 1
    assert watched.violations[0].startswith(
        "Executing inline script violates the following Content Security Policy directive"
    )


def _response_kind(response: Response) -> str | None:
    path = urlsplit(response.url).path
    if path.startswith("/_dash-component-suites/"):
        return "bundle"
    if path in ("/", "/_dash-update-component", "/download/incidents.csv"):
        return path
    return None


def test_every_kind_of_response_carries_the_security_headers(
    watched: Watched, base_url: str
) -> None:
    """The page, a JS bundle, a callback answer and the CSV download carry the exact headers."""
    page = watched.page
    seen: dict[str, dict[str, str]] = {}

    def note(response: Response) -> None:
        kind = _response_kind(response)
        if kind is not None:
            seen.setdefault(kind, response.all_headers())

    page.on("response", note)
    page.goto(f"{base_url}/?start=2024-06-01&end={END}")
    wait_for_charts(page, 2)
    seen["/download/incidents.csv"] = dict(
        httpx.get(f"{base_url}/download/incidents.csv?start=2024-06-29&end={END}").headers
    )
    hashes = inline_script_hashes(httpx.get(base_url + "/").text)
    expected = {
        name.lower(): value
        for name, value in security_headers(Settings(map_style="white-bg"), hashes).items()
    }
    found = {kind: {name: headers.get(name) for name in expected} for kind, headers in seen.items()}
    assert found == dict.fromkeys(
        ["/", "bundle", "/_dash-update-component", "/download/incidents.csv"], expected
    )


def test_default_view_is_the_last_30_days(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """Without a query the dashboard shows the 30 days up to the newest incident."""
    page = watched.page
    page.goto(base_url + "/")
    wait_for_charts(page, 2)
    newest = lake.get_column("date").max().date()
    start = newest - dt.timedelta(days=29)
    assert kpi(page) == expected_incidents(lake, start, newest)
    # The address bar follows with the shell's own answer, which may land after the KPIs.
    page.wait_for_url(f"**start={start.isoformat()}*")


def test_changing_a_filter_updates_the_charts(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """Searching the types lists the exact match first; ticking it recomputes the KPIs and
    charts for it."""
    page = watched.page
    start, end = dt.date(2024, 6, 1), END
    page.goto(f"{base_url}/?start={start}&end={end}")
    wait_for_charts(page, 2)
    assert kpi(page) == expected_incidents(lake, start, end)

    page.locator("#filter-types-search").fill("theft")
    assert page.locator("#filter-types label").all_inner_texts() == ["Theft", "Motor Vehicle Theft"]
    page.get_by_role("checkbox", name="Theft", exact=True).check()
    expected = expected_incidents(lake, start, end, primary_type="THEFT")
    wait_for_kpi(page, expected)
    page.wait_for_url("**types=THEFT*")  # the shell's answer may land after the KPIs


def test_filters_survive_navigation(watched: Watched, base_url: str, lake: pl.DataFrame) -> None:
    """The selection follows the user from page to page through the navbar."""
    page = watched.page
    page.goto(f"{base_url}/?start=2024-05-01&end=2024-06-30&types=BATTERY&arrest=true")
    wait_for_charts(page, 2)
    page.get_by_role("link", name="Trends").click()
    page.wait_for_url("**/trends?**")
    wait_for_charts(page, 3)
    assert "types=BATTERY" in page.url
    assert "arrest=true" in page.url
    page.get_by_role("link", name="Overview").click()
    page.wait_for_url(re.compile(r"/\?.*types=BATTERY"))
    wait_for_charts(page, 2)
    assert kpi(page) == expected_incidents(
        lake, dt.date(2024, 5, 1), END, primary_type="BATTERY", arrest=True
    )


def test_a_link_reproduces_the_view(watched: Watched, base_url: str, lake: pl.DataFrame) -> None:
    """Opening a URL with query parameters sets the panel and the numbers from it."""
    page = watched.page
    page.goto(f"{base_url}/arrests?start=2024-03-01&end=2024-03-31&domestic=true")
    wait_for_charts(page, 1)
    page.goto(f"{base_url}/?start=2024-03-01&end=2024-03-31&domestic=true")
    wait_for_charts(page, 2)
    assert kpi(page) == expected_incidents(
        lake, dt.date(2024, 3, 1), dt.date(2024, 3, 31), domestic=True
    )
    assert page.locator("#filter-domestic input[value='true']").is_checked()


def test_csv_download_returns_the_filtered_rows(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """The Data page counts the matching incidents and its download holds exactly them, in a
    file named after the dates and the type."""
    page = watched.page
    start, end = dt.date(2024, 6, 20), END
    page.goto(f"{base_url}/data?start={start}&end={end}&types=ROBBERY")
    page.wait_for_selector("#download-csv")
    matching = expected_incidents(lake, start, end, primary_type="ROBBERY")
    assert (
        page.locator("#data-matching").inner_text() == f"{matching:,} incidents match the filters."
    )
    with page.expect_download() as download_info:
        page.locator("#download-csv").click()
    assert download_info.value.suggested_filename == (
        "chicago-incidents-2024-06-20-2024-06-30-types-robbery.csv"
    )
    path = download_info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    expected = lake.filter(
        pl.col("date").dt.date().is_between(start, end) & (pl.col("primary_type") == "ROBBERY")
    )
    assert sorted(int(r["id"]) for r in rows) == sorted(expected.get_column("id").to_list())
    assert {r["primary_type"] for r in rows} == {"ROBBERY"}
    # The preview lists the same rows, newest first (ties by id, descending).
    newest = expected.sort(["date", "id"], descending=True).get_column("id").head(3).to_list()
    shown = table_cells(page, "#data-table-grid", ["id"])[:3]
    assert shown == [[str(n)] for n in newest]


def test_a_selection_beyond_the_csv_cap_is_warned_of_and_named(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """The whole year holds more than the cap: the page says the file keeps the newest rows,
    and the file name says so too."""
    page = watched.page
    page.goto(f"{base_url}/data?start=2023-07-01&end={END}")
    page.wait_for_selector("#download-csv")
    assert lake.height > CSV_ROW_CAP
    assert page.get_by_text(
        f"this file will have the newest {CSV_ROW_CAP:,} of the {lake.height:,}"
    ).is_visible()
    assert page.locator("#data-download code").inner_text() == (
        f"chicago-incidents-{lake.get_column('date').min().date()}-{END}-newest-{CSV_ROW_CAP}.csv"
    )


def test_map_switches_to_an_aggregate_for_long_ranges(watched: Watched, base_url: str) -> None:
    """Beyond 90 days the map aggregates and says so."""
    page = watched.page
    page.goto(f"{base_url}/map?start=2023-07-01&end={END}")
    wait_for_charts(page, 1)
    assert "longer than 90 days" in page.locator("#map-note").inner_text()


# Every label Plotly draws around a cartesian plot: tick labels (the heatmap's weekdays too),
# axis titles, the colorbar's ticks, the chart title.
CHART_LABELS = "g.xtick text, g.ytick text, text.xtitle, text.ytitle, .colorbar text, text.gtitle"
LONG_TYPES = (
    "INTERFERENCE WITH PUBLIC OFFICER|CONCEALED CARRY LICENSE VIOLATION|"
    "OFFENSE INVOLVING CHILDREN|CRIMINAL SEXUAL ASSAULT|DECEPTIVE PRACTICE"
)


def labels_outside_their_chart(page: Page) -> list[str]:
    """Each drawn chart label whose bounding box is not wholly inside its chart's SVG."""
    outside: list[str] = page.evaluate(
        """selector => {
        const lines = label => Array.from(label.childNodes, node => node.textContent).join(' ');
        return Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(plot => {
            const box = plot.querySelector('.main-svg').getBoundingClientRect();
            const graph = plot.closest('.dash-graph')?.id ?? '?';
            return Array.from(plot.querySelectorAll(selector))
                .filter(label => label.textContent.trim() !== '')
                .map(label => [label, label.getBoundingClientRect()])
                .filter(([, r]) => r.width > 0 && r.height > 0)  // hidden: not drawn
                .filter(([, r]) => r.left < box.left || r.top < box.top
                    || r.right > box.right || r.bottom > box.bottom)
                .map(([label, r]) => `${graph}: "${lines(label)}" spans`
                    + ` x ${r.left.toFixed(1)}..${r.right.toFixed(1)},`
                    + ` y ${r.top.toFixed(1)}..${r.bottom.toFixed(1)}; chart is`
                    + ` x ${box.left.toFixed(1)}..${box.right.toFixed(1)},`
                    + ` y ${box.top.toFixed(1)}..${box.bottom.toFixed(1)}`);
        });
        }""",
        CHART_LABELS,
    )
    return outside


@pytest.mark.parametrize(("path", "charts"), [("/", 2), ("/trends", 3), ("/arrests", 1)])
@pytest.mark.parametrize(
    "query",
    [
        "",
        f"start=2023-07-01&end={END}",
        f"start=2023-07-01&end={END}&types={LONG_TYPES}",
    ],
    ids=["last-30-days", "a-year-weekly", "long-type-names"],
)
def test_chart_labels_lie_inside_their_charts(
    watched: Watched, base_url: str, path: str, charts: int, query: str
) -> None:
    """No tick label, axis title or colorbar label is cut off at a chart's edge."""
    page = watched.page
    page.goto(f"{base_url}{path}?{query}")
    wait_for_charts(page, charts)
    drawn = page.locator(".js-plotly-plot").evaluate_all(
        f"plots => plots.map(p => p.querySelectorAll('{CHART_LABELS}').length)"
    )
    assert len(drawn) == charts
    assert 0 not in drawn, f"a chart drew no labels: {drawn}"
    # Automargins take a second layout pass; give it a moment before judging the final layout.
    outside = labels_outside_their_chart(page)
    for _ in range(10):
        if not outside:
            break
        page.wait_for_timeout(200)
        outside = labels_outside_their_chart(page)
    assert outside == [], "labels cut off:\n" + "\n".join(outside)
    assert grown_margins(page) == []


VIOLENT_CODES = ["01A", "02", "03", "04A", "04B"]


def table_cells(page: Page, table: str, columns: list[str]) -> list[list[str]]:
    """The text of `columns` in every row of a DataTable, top to bottom."""
    rows = page.locator(f"{table} tr:has(td)")
    return [
        [rows.nth(n).locator(f"td[data-dash-column={c}]").inner_text() for c in columns]
        for n in range(rows.count())
    ]


def test_the_compare_page_counts_each_period_and_category_from_the_lake(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """Each period's violent count and its total are the lake's; a year earlier, before the
    demo lake's first day, is left blank, not counted as none."""
    page = watched.page
    page.goto(f"{base_url}/compare?start=2024-06-01&end={END}")
    page.wait_for_selector("#compare-table .dash-spreadsheet")
    cells = table_cells(page, "#compare-table", ["period", "category", "now", "before"])
    firsts = {"Year to date": dt.date(2024, 1, 1), "Last 28 days": dt.date(2024, 6, 3)}
    firsts["Last 7 days"] = dt.date(2024, 6, 24)
    expected = []
    for period, first in firsts.items():
        rows = lake.filter(pl.col("date").dt.date().is_between(first, END))
        violent = rows.filter(pl.col("fbi_code").is_in(VIOLENT_CODES)).height
        expected += [[period, "All incidents", f"{rows.height:,}", ""]]
        expected += [[period, "Violent (Part I)", f"{violent:,}", ""]]
    chosen = [row for row in cells if row[1] in ("All incidents", "Violent (Part I)")]
    assert chosen == expected
    assert len(cells) == 12
    assert watched.errors == []


def test_the_category_filter_counts_by_fbi_code(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """A link with category=violent selects the Part I violent offenses, and says so."""
    page = watched.page
    page.goto(f"{base_url}/?start=2024-05-01&end={END}&category=violent")
    wait_for_charts(page, 2)
    violent = lake.filter(
        pl.col("date").dt.date().is_between(dt.date(2024, 5, 1), END)
        & pl.col("fbi_code").is_in(VIOLENT_CODES)
    )
    assert kpi(page) == violent.height
    assert page.locator("#filter-category option:checked").inner_text() == "Violent (Part I)"


def test_charts_offer_no_upload_and_no_selection_tools(watched: Watched, base_url: str) -> None:
    """The modebar keeps the PNG download and zoom, and offers nothing that sends a chart to
    Plotly's cloud, nor box or lasso selection."""
    page = watched.page
    page.goto(f"{base_url}/trends")
    wait_for_charts(page, 3)
    titles = page.eval_on_selector_all(
        "#trends-series .modebar-btn", "buttons => buttons.map(b => b.dataset.title)"
    )
    assert "Download plot as a PNG" in titles
    assert not {"Box Select", "Lasso Select", "Edit in Chart Studio"} & set(titles)


def wait_for_kpi(page: Page, expected: int) -> None:
    """Wait until the incidents KPI shows `expected` (the page may be re-rendered meanwhile)."""
    page.wait_for_function(
        "n => document.querySelector('#kpi-incidents .kpi-value')?.innerText.replace(/,/g, '')"
        " == String(n)",
        arg=expected,
    )


def click_plot(page: Page, graph: str, x: object, y: object) -> None:
    """Click graph `graph` at data coordinates (x, y), where a user's mouse would."""
    point = page.evaluate(
        """([graph, x, y]) => {
            const plot = document.querySelector('#' + graph + ' .js-plotly-plot');
            const {xaxis, yaxis} = plot._fullLayout;
            const box = plot.getBoundingClientRect();
            const px = (axis, value) => axis._offset + axis.d2p(value);
            return [box.left + px(xaxis, x), box.top + px(yaxis, y)];
        }""",
        [graph, x, y],
    )
    page.mouse.click(point[0], point[1])


def test_back_undoes_a_filter_change_and_forward_redoes_it(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """A preset is a new history entry: Back restores the 30 days before it, Forward the
    preset's 7 days, each with its own numbers."""
    page = watched.page
    page.goto(f"{base_url}/?start=2024-06-01&end={END}")
    wait_for_charts(page, 2)
    month = expected_incidents(lake, dt.date(2024, 6, 1), END)
    week = expected_incidents(lake, END - dt.timedelta(days=6), END)
    assert kpi(page) == month
    page.get_by_text("Last 7 days", exact=True).click()
    wait_for_kpi(page, week)
    page.wait_for_url(f"{base_url}/?start=2024-06-24&end=2024-06-30")
    page.go_back()
    wait_for_kpi(page, month)
    assert page.url == f"{base_url}/?start=2024-06-01&end=2024-06-30"
    page.wait_for_function(
        "() => document.querySelector('#filter-summary').innerText"
        " === '01 Jun 2024 – 30 Jun 2024 (30 days)'"
    )
    page.go_forward()
    wait_for_kpi(page, week)


def test_clicking_a_type_bar_filters_by_that_type_and_back_undoes_it(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """The top bar of the overview's types is the most frequent type: a click selects it."""
    page = watched.page
    start = dt.date(2024, 6, 1)
    page.goto(f"{base_url}/?start={start}&end={END}")
    wait_for_charts(page, 2)
    month = lake.filter(pl.col("date").dt.date().is_between(start, END))
    top = (
        month.group_by("primary_type").len().sort(["len", "primary_type"], descending=[True, False])
    )
    kind = top.item(0, "primary_type")
    click_plot(page, "overview-types", top.item(0, "len") / 2, kind)
    wait_for_kpi(page, expected_incidents(lake, start, END, primary_type=kind))
    page.wait_for_url(f"**types={kind.replace(' ', '+')}")
    assert page.locator("#filter-summary").inner_text().endswith("· " + kind.title())
    page.go_back()
    wait_for_kpi(page, month.height)


def test_clicking_a_heatmap_column_filters_by_its_hour(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """A click on Wednesday 14:00 sets hours 14-14; the series then counts that hour only."""
    page = watched.page
    start = dt.date(2024, 6, 1)
    page.goto(f"{base_url}/trends?start={start}&end={END}")
    wait_for_charts(page, 3)
    click_plot(page, "trends-heatmap", 14, "Wed")
    page.wait_for_url("**hours=14-14")
    page.wait_for_function(
        "() => document.querySelector('#filter-summary').innerText.endsWith('14:00–14:59')"
    )
    wait_for_charts(page, 3)
    hour = lake.filter(
        pl.col("date").dt.date().is_between(start, END) & (pl.col("date").dt.hour() == 14)
    )
    plot = "document.querySelector('#trends-series .js-plotly-plot')"
    page.wait_for_function(
        f"n => {plot}.data[0].y.reduce((a, b) => a + b, 0) === n", arg=hour.height
    )


def test_an_overnight_link_counts_across_midnight_and_a_bad_one_says_what_changed(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """hours=22-4 counts 22:00–04:59; reversed dates and an unknown type are named in a notice."""
    page = watched.page
    page.goto(f"{base_url}/?start=2024-06-01&end={END}&hours=22-4")
    wait_for_charts(page, 2)
    night = lake.filter(
        pl.col("date").dt.date().is_between(dt.date(2024, 6, 1), END)
        & ((pl.col("date").dt.hour() >= 22) | (pl.col("date").dt.hour() <= 4))
    )
    assert kpi(page) == night.height
    assert page.locator("#url-notice").inner_text() == ""
    assert page.locator("#filter-hour-from option:checked").inner_text() == "22:00"
    assert page.locator("#filter-hour-to option:checked").inner_text() == "04:59"

    page.goto(f"{base_url}/?start=2024-06-30&end=2024-06-01&types=NOPE")
    wait_for_charts(page, 2)
    assert kpi(page) == expected_incidents(lake, dt.date(2024, 6, 1), END)
    notice = page.locator("#url-notice").inner_text()
    assert "The dates were given end first (2024-06-30 to 2024-06-01): swapped." in notice
    assert "No primary type “NOPE” in the lake: ignored." in notice


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Run axe-core on the whole document; its violations as (rule, impact, first targets).
RUN_AXE = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map((v) => [v.id, v.impact, v.nodes.slice(0, 3).map((n) => n.target)]);
}"""


@pytest.mark.parametrize(("path", "charts"), ROUTES)
def test_every_route_is_accessible_to_axe_and_titled(
    browser: Browser, base_url: str, path: str, charts: int
) -> None:
    """axe-core (from npm) finds no serious or critical violation; the page is in English, has
    one main landmark and one h1, and its own title."""
    if not AXE.exists():
        assert not os.environ.get("CI"), "CI needs axe-core: npm ci (make test runs it)"
        pytest.skip("axe-core is not installed: npm ci")
    # axe is injected as a script the app did not ship, which the app's policy would refuse.
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    try:
        page = context.new_page()
        open_route(page, f"{base_url}{path}?start=2024-06-01&end={END}", charts)
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(RUN_AXE)
        serious = [v for v in violations if v[1] in ("serious", "critical")]
        assert serious == []
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("main").count() == 1
        assert page.locator("h1").count() == 1
        name = dict(PAGES)[path].lower()
        assert page.title() == f"chicrime · {name}"
    finally:
        context.close()


def test_a_phone_folds_the_filters_and_stacks_the_charts(browser: Browser, base_url: str) -> None:
    """At 390 px the panel starts folded behind its button, the charts sit one above the other
    and no page is wider than the screen."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        open_route(page, f"{base_url}/?start=2024-06-01&end={END}", 2)
        page.wait_for_selector("#filter-types", state="hidden")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        series = page.locator("#overview-series").bounding_box()
        types = page.locator("#overview-types").bounding_box()
        assert series is not None
        assert types is not None
        assert types["y"] >= series["y"] + series["height"]
        page.get_by_role("button", name="Filters").click()
        page.wait_for_selector("#filter-types", state="visible")
        page.get_by_text("Last 7 days", exact=True).click()
        page.wait_for_url(f"{base_url}/?start=2024-06-24&end=2024-06-30")
        for path, charts in ROUTES[1:]:  # wide tables scroll inside their card, not the page
            open_route(page, f"{base_url}{path}?start=2024-06-24&end={END}", charts)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        context.close()


def test_the_areas_page_ranks_areas_by_rate_and_a_click_selects_one(
    watched: Watched, base_url: str, lake: pl.DataFrame, data_dir: Path
) -> None:
    """The table's first row is the area with the most incidents per 100,000 (the demo's own
    residents); clicking it on the map selects it, and Back clears it. The map names its
    boundaries by URL (the browser fetches the file once) instead of carrying them."""
    page = watched.page
    start = dt.date(2024, 6, 1)
    page.goto(f"{base_url}/areas?start={start}&end={END}")
    wait_for_charts(page, 2)
    page.wait_for_selector("#areas-map canvas")
    trace = page.evaluate("() => document.querySelector('#areas-map .js-plotly-plot').data[0]")
    assert trace["geojson"] == f"{base_url}/geo/community-areas.geojson"
    residents = json.loads((data_dir / "geo" / "population.json").read_text())["residents"]
    boundaries = json.loads((data_dir / "geo" / "community_areas.geojson").read_text())
    names = {
        f["properties"]["area_numbe"]: f["properties"]["community"] for f in boundaries["features"]
    }
    counts = (
        lake.filter(pl.col("date").dt.date().is_between(start, END))
        .group_by("community_area")
        .len()
        .rows()
    )
    rates = sorted(
        ((n * 100_000 / residents[names[area]], area, n) for area, n in counts if area in names),
        reverse=True,
    )
    _rate, top, incidents = rates[0]
    first = page.locator("#areas-table tr:has(td)").first
    cells = [
        first.locator(f"td[data-dash-column={c}]").inner_text()
        for c in ("rank", "community_area", "incidents")
    ]
    assert cells == ["1", top, f"{incidents:,}"]

    ring = boundaries["features"][
        [f["properties"]["area_numbe"] for f in boundaries["features"]].index(top)
    ]
    lon, lat = ring["geometry"]["coordinates"][0][0][0]
    corner = page.evaluate(
        """([lon, lat]) => {
            const plot = document.querySelector('#areas-map .js-plotly-plot');
            const map = plot._fullLayout.map._subplot.map;
            const inside = map.project([lon, lat]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + inside.x, box.top + inside.y];
        }""",
        [lon + 0.002, lat + 0.002],
    )
    page.mouse.click(corner[0], corner[1])
    page.wait_for_url(f"**area={top}")
    page.wait_for_function(
        "area => document.querySelector('#filter-summary').innerText.endsWith('area ' + area)",
        arg=top,
    )
    page.go_back()
    page.wait_for_url(f"{base_url}/areas?start={start}&end={END}")


def test_the_dots_map_draws_the_area_outlines_from_one_cached_file(
    watched: Watched, base_url: str, data_dir: Path
) -> None:
    """The points map asks the browser for the boundaries once, as a layer under the dots;
    the route serves the cached file as it is."""
    page = watched.page
    page.goto(f"{base_url}/map?start=2024-06-24&end={END}")
    wait_for_charts(page, 1)
    layers = page.evaluate(
        "() => document.querySelector('#map-graph .js-plotly-plot').layout.map.layers"
    )
    assert [(layer["type"], layer["source"]) for layer in layers] == [
        ("line", f"{base_url}/geo/community-areas.geojson")
    ]
    served = page.request.get(f"{base_url}/geo/community-areas.geojson")
    assert served.status == 200
    assert served.body() == (data_dir / "geo" / "community_areas.geojson").read_bytes()


def within(lake: pl.DataFrame, near: tuple[float, float], miles: float) -> pl.DataFrame:
    """Rows within `miles` of `near`: distance on the plane tangent at the point, chicrime's
    definition (within 0.1 % of the great-circle distance at these ranges)."""
    lat, lon = near
    east = MILES_PER_DEGREE * math.cos(math.radians(lat))
    north = (pl.col("latitude") - lat) * MILES_PER_DEGREE
    across = (pl.col("longitude") - lon) * east
    return lake.filter(north**2 + across**2 <= miles**2)


def test_a_place_typed_in_the_panel_narrows_every_number_to_its_circle(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """Latitude and longitude of the Loop and a 1-mile radius: the KPI counts the incidents in
    that circle, the URL and summary carry it, and the map draws it."""
    page = watched.page
    start = dt.date(2024, 6, 1)
    page.goto(f"{base_url}/?start={start}&end={END}")
    wait_for_charts(page, 2)
    page.locator("#filter-radius").select_option("1")
    page.locator("#filter-near-lat").fill("41.8781")
    page.locator("#filter-near-lon").fill("-87.6298")
    page.locator("#filter-near-lon").press("Enter")
    month = lake.filter(pl.col("date").dt.date().is_between(start, END))
    wait_for_kpi(page, within(month, (41.8781, -87.6298), 1.0).height)
    page.wait_for_url("**near=41.87810%2C-87.62980&radius=1")
    page.wait_for_function(
        "() => document.querySelector('#filter-summary').innerText"
        ".endsWith('within 1 mile of 41.87810, -87.62980')"
    )
    page.get_by_role("link", name="Map").click()
    page.wait_for_url("**/map?**")
    page.locator("#map-graph .js-plotly-plot .main-svg").first.wait_for()  # not the Overview's
    wait_for_charts(page, 1)
    traces = page.evaluate("() => document.querySelector('#map-graph .js-plotly-plot').data")
    assert traces[-1]["name"] == "within 1 mile"
    assert len(traces[-1]["lat"]) == 73


def test_a_dot_on_the_map_leads_to_the_incidents_around_it(
    watched: Watched, base_url: str, lake: pl.DataFrame
) -> None:
    """Clicking a dot shows its details and a link to the incidents within ½ mile of it, which
    the map then shows (its title counts them)."""
    page = watched.page
    start = dt.date(2024, 6, 24)
    page.goto(f"{base_url}/map?start={start}&end={END}&types=HOMICIDE")
    wait_for_charts(page, 1)
    page.wait_for_selector("#map-graph canvas")
    page.wait_for_timeout(1500)
    point = page.evaluate(
        """() => {
            const plot = document.querySelector('#map-graph .js-plotly-plot');
            const map = plot._fullLayout.map._subplot.map;
            const trace = plot.calcdata[plot.calcdata.length - 1][0].trace;
            const at = map.project([trace.lon[0], trace.lat[0]]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + at.x, box.top + at.y];
        }"""
    )
    page.mouse.click(point[0], point[1])
    link = page.locator("#map-around")
    link.wait_for()
    shown = page.locator("#map-detail").inner_text()
    lat, lon = (float(v) for v in shown.split("Location: ")[1].split("\n")[0].split(", "))
    link.click()
    page.wait_for_url("**near=*")
    week = lake.filter(
        pl.col("date").dt.date().is_between(start, END) & (pl.col("primary_type") == "HOMICIDE")
    )
    expected = within(week, (lat, lon), 0.5).height
    assert expected >= 1
    page.wait_for_function(
        "n => document.querySelector('#map-graph .js-plotly-plot')?.layout?.title?.text"
        " === n.toLocaleString('en-US') + ' incidents'",
        arg=expected,
    )


def test_the_map_never_goes_blank_while_a_filter_changes(watched: Watched, base_url: str) -> None:
    """From a filter change until the new dots are drawn, the map keeps the previous ones: its
    centre, captured again and again for two seconds, never turns into an empty canvas (an
    all-white PNG of the same size is ~0.5 kB; a patch of dots is tens of kB)."""
    page = watched.page
    page.goto(f"{base_url}/map?start=2024-06-01&end={END}")
    wait_for_charts(page, 1)
    page.wait_for_selector("#map-graph canvas")
    page.wait_for_timeout(2000)
    box = page.locator("#map-graph .js-plotly-plot").bounding_box()
    assert box is not None
    centre = {
        "x": box["x"] + box["width"] / 2 - 80,
        "y": box["y"] + box["height"] / 2 - 80,
        "width": 160,
        "height": 160,
    }
    corner = {**centre, "x": box["x"] + box["width"] - 170, "y": box["y"] + box["height"] - 170}
    blank = len(page.screenshot(clip=corner))
    page.evaluate(
        "() => window.dash_clientside.set_props('filter-date-from', {value: '2024-06-10'})"
    )
    sizes = []
    deadline = dt.datetime.now() + dt.timedelta(seconds=2)
    while dt.datetime.now() < deadline:
        sizes.append(len(page.screenshot(clip=centre)))
    assert len(sizes) >= 5
    assert min(sizes) > 10 * blank, sizes


def test_the_changes_page_counts_the_demo_revisions_from_the_history(
    watched: Watched, base_url: str, data_dir: Path
) -> None:
    """/changes for one week of incidents: the reclassification matrix, the violent share and
    the exported list of revisions hold exactly what the history files say; the matrix is as
    tall as the whole history's, so it keeps its size whatever the selection."""
    start, end = dt.date(2024, 5, 6), dt.date(2024, 5, 12)
    history = pl.read_parquet(sorted((data_dir / "lake" / "revisions").glob("*/*.parquet")))
    week = history.filter(pl.col("date").dt.date().is_between(start, end))
    changed = week.filter((pl.col("kind") == "changed") & (pl.col("field") != "updated_on"))
    removed = week.filter((pl.col("kind") == "removed") & (pl.col("field") == "primary_type"))
    seen = pl.col("observed_at").dt.convert_time_zone("America/Chicago").dt.replace_time_zone(None)
    late = week.filter((pl.col("kind") == "added") & (seen - pl.col("date") > dt.timedelta(30)))
    violent = (
        week.filter(pl.col("kind").is_in(["changed", "removed"]))
        .filter(pl.col("fbi_code").is_in(VIOLENT_CODES))
        .get_column("id")
        .n_unique()
    )
    reclassified = changed.filter(pl.col("field") == "primary_type").height
    assert reclassified > 0
    assert removed.height > 0

    page = watched.page
    page.goto(f"{base_url}/changes?start={start}&end={end}")
    wait_for_charts(page, 2)
    page.wait_for_selector("#changes-table .dash-spreadsheet td")
    matrix = page.evaluate(
        "() => document.querySelector('#changes-matrix .js-plotly-plot').data[0].z"
        ".flat().reduce((a, b) => a + (b || 0), 0)"
    )
    assert matrix == reclassified
    shares = table_cells(page, "#changes-shares", ["category", "revised"])
    assert shares[0] == ["Violent (Part I)", f"{violent:,}"]
    with page.expect_download() as download_info:
        page.locator("#changes-table .export").click()
    exported = download_info.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert exported[0] == ("Run,Seen (UTC),Revision,Id,Case,Incident date,Field,Before,After")
    assert len(exported) - 1 == min(changed.height + removed.height + late.height, 500)

    # One day with a reclassification has fewer types reclassified than the whole history: the
    # matrix keeps the height of the history's.
    retyped = history.filter((pl.col("kind") == "changed") & (pl.col("field") == "primary_type"))
    sources = retyped.get_column("before").n_unique()
    day = retyped.get_column("date").min().date()
    assert retyped.filter(pl.col("date").dt.date() == day).get_column("before").n_unique() < sources
    height = "() => document.querySelector('#changes-matrix .js-plotly-plot')._fullLayout.height"
    assert page.evaluate(height) == max(320, 26 * sources + 160)
    page.goto(f"{base_url}/changes?start={day}&end={day}")
    wait_for_charts(page, 2)
    assert page.evaluate(height) == max(320, 26 * sources + 160)
    assert watched.errors == []
