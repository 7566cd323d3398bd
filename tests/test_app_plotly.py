"""The dashboard's plotly.js in-process: without chicrime's build (an install without npm),
Dash's own. (Its own module: Dash refuses to build an app while another module's test client
holds a request open.)"""

from __future__ import annotations

import logging
from pathlib import Path

import plotly
import pytest

import chicrime.app
from chicrime.app import create_app
from chicrime.settings import Settings


def test_without_the_plotly_bundle_dash_serves_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An install without chicrime's plotly.js build (no npm) still draws: the address serves
    Dash's full plotly.js, and the server says why the first visit is slower."""
    monkeypatch.setattr(chicrime.app, "PLOTLY_BUNDLE", tmp_path / "missing.min.js")
    with caplog.at_level(logging.WARNING, logger="chicrime.app"):
        app = create_app(Settings(data_dir=tmp_path / "data", map_style="white-bg"))
    served = app.server.test_client().get(
        "/_dash-component-suites/plotly/package_data/plotly.min.js",
        headers={"Accept-Encoding": "identity"},
    )
    assert served.status_code == 200
    dash_plotly = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert served.get_data() == dash_plotly.read_bytes()
    assert [r.getMessage() for r in caplog.records] == [
        f"no plotly.js bundle at {tmp_path / 'missing.min.js'}: the dashboard loads Dash's full "
        "plotly.js (4.8 MB); `make install` builds the smaller one (needs npm)"
    ]
