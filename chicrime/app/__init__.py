"""The Dash app: `create_app(settings)` wires the shell, `chicrime.pages` and two routes.

Routes besides Dash's own: `/vendor/bootstrap.min.css` (Bootstrap 5 served from the installed
`bootstrap-wrapper` package, so the dashboard needs no CDN), `/download/incidents.csv` (the
filtered rows, streamed from DuckDB, capped), `/geo/community-areas.geojson` (the cached
boundaries, which the map draws under its dots), and chicrime's own plotly.js build at the
address Dash's graphs load plotly.js from (see `PLOTLY_BUNDLE`). Every response carries the
headers of `chicrime.app.security`; malformed requests are refused by `chicrime.app.guards`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path

import bootstrap_wrapper
import dash
from flask import Flask, Response, request, send_file, send_from_directory, stream_with_context

import chicrime.pages
from chicrime.analytics import CSV_ROW_CAP, Analytics
from chicrime.analytics.export import csv_filename
from chicrime.app.charts import OUTLINES_PATH
from chicrime.app.context import AppContext, current, install, selection
from chicrime.app.guards import install_request_guards
from chicrime.app.security import install_security_headers
from chicrime.settings import Settings

__all__ = ["PLOTLY_BUNDLE", "create_app"]

_BOOTSTRAP_CSS = Path(bootstrap_wrapper.get_bootstrap_css_dir())
# plotly.js with only the trace types the dashboard draws (3.1 MB instead of Dash's 4.8 MB with
# every type; a first visit compiles and runs it before the first chart), built by `make` from
# npm (js/build-plotly.mjs) and shipped in the wheel. Dash's graphs fetch plotly.js from
# _PLOTLY_PATH when the first one mounts; this file is served there instead. A checkout built
# without npm has none, and the dashboard loads Dash's full plotly.js.
PLOTLY_BUNDLE = Path(__file__).parent / "static" / "plotly.min.js"
_PLOTLY_PATH = "/_dash-component-suites/plotly/package_data/plotly.min.js"
# The bundle as js/build-plotly.mjs compressed it, in the order they are offered.
_PLOTLY_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def _run_pages() -> None:
    """Run every module of `chicrime.pages` afresh, so its page and callbacks join the new app.

    Dash hands the callbacks declared with `dash.callback` to the next app that starts serving,
    so each app needs the modules run again (as Dash does for a `pages_folder`). They run under
    their own names, whether chicrime is installed or editable, so no page is registered twice.
    """
    for page in pkgutil.iter_modules(chicrime.pages.__path__, prefix="chicrime.pages."):
        sys.modules.pop(page.name, None)
        importlib.import_module(page.name)


def create_app(settings: Settings, *, clock: Callable[[], dt.datetime] | None = None) -> dash.Dash:
    """Build the dashboard for the lake under `settings.data_dir` (nothing is read until asked).

    `clock` (aware, UTC; default the system clock) tells the analytics which day it is, for the
    default view. Raises ValueError for a map style `chicrime.app.security` has no policy for.
    """
    analytics = Analytics(
        settings.data_dir,
        cache_url=settings.cache_url,
        follows_store=settings.lake_url is not None,
        clock=clock,
    )
    install(AppContext(settings=settings, analytics=analytics))
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        external_stylesheets=["/vendor/bootstrap.min.css"],
        title="chicrime",
        update_title="",
        suppress_callback_exceptions=True,
        # Brotli or gzip for every response a browser accepts it for: plotly.js alone is 4.8 MB.
        compress=True,
    )
    # The pages are in English: say so, for screen readers and translation.
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)
    _run_pages()
    from chicrime.app import shell

    shell.register_callbacks(app)
    app.layout = shell.shell_layout
    server = app.server
    install_request_guards(app)
    install_security_headers(app, settings)

    def bootstrap_css() -> Response:
        return send_from_directory(_BOOTSTRAP_CSS, "bootstrap.min.css", max_age=86_400)

    def download_csv() -> Response:
        filters = selection(request.args.to_dict())
        if filters is None:
            return Response("no data in the lake yet\n", status=404, mimetype="text/plain")
        chunks, capped = current().analytics.csv(filters, cap=CSV_ROW_CAP)
        name = csv_filename(filters, CSV_ROW_CAP if capped else None)
        return Response(
            stream_with_context(chunks),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Chicrime-Row-Cap": str(CSV_ROW_CAP),
                "X-Chicrime-Capped": str(capped).lower(),
            },
        )

    def community_areas() -> Response:
        path = settings.layout.community_areas
        if not path.is_file():
            return Response("no community-area boundaries cached\n", 404, mimetype="text/plain")
        return send_from_directory(path.parent, path.name, max_age=3600)

    server.add_url_rule("/vendor/bootstrap.min.css", view_func=bootstrap_css)
    server.add_url_rule("/" + OUTLINES_PATH, view_func=community_areas)
    server.add_url_rule("/download/incidents.csv", view_func=download_csv)
    _serve_plotly_bundle(server)
    # Dash registers the JS bundles it may serve while rendering the index page, per process.
    # Render it once now, so a worker whose first request is for a bundle can serve it too.
    server.test_client().get("/")
    return app


def _serve_plotly_bundle(server: Flask) -> None:
    """Answer Dash's plotly.js address with `PLOTLY_BUNDLE` (a rule without variables wins over
    Dash's `<package_name>/<path>` one), as the brotli or gzip file the build compressed when
    the browser takes one; revalidated by ETag on every visit, as Dash serves it, so an upgrade
    is never stale."""
    if not PLOTLY_BUNDLE.is_file():
        logging.getLogger("chicrime.app").warning(
            "no plotly.js bundle at %s: the dashboard loads Dash's full plotly.js (4.8 MB); "
            "`make install` builds the smaller one (needs npm)",
            PLOTLY_BUNDLE,
        )
        return

    def plotly_bundle() -> Response:
        for encoding, suffix in _PLOTLY_ENCODINGS:
            if request.accept_encodings[encoding]:
                compressed = PLOTLY_BUNDLE.with_name(PLOTLY_BUNDLE.name + suffix)
                response = send_file(compressed, "text/javascript", max_age=0, conditional=True)
                # flask-compress leaves a response that names its encoding alone.
                response.headers["Content-Encoding"] = encoding
                break
        else:
            response = send_file(PLOTLY_BUNDLE, "text/javascript", max_age=0, conditional=True)
        response.vary.add("Accept-Encoding")
        return response

    server.add_url_rule(_PLOTLY_PATH, view_func=plotly_bundle)
