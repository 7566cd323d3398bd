"""The security headers: one policy per map style, allowing the app's origin and that style only."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

import plotly
import pytest

from chicrime.app.security import MAP_STYLE_HOSTS, security_headers
from chicrime.settings import MAP_STYLES, Settings

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
HASHES = ["'sha256-one='", "'sha256-two='"]


def directives(map_style: str) -> dict[str, str]:
    policy = security_headers(Settings(map_style=map_style), HASHES)["Content-Security-Policy"]
    return dict(part.split(" ", 1) for part in policy.split("; "))


def test_every_configurable_map_style_has_a_policy() -> None:
    """Each style MAP_STYLE accepts has its host list, and no other style is listed."""
    assert sorted(MAP_STYLE_HOSTS) == sorted(MAP_STYLES)


def test_white_bg_allows_nothing_but_the_apps_own_origin() -> None:
    """The offline style: the exact header set, no other origin anywhere."""
    assert security_headers(Settings(map_style="white-bg"), HASHES) == {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self' 'sha256-one=' 'sha256-two='; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src blob:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


@pytest.mark.parametrize(
    ("map_style", "hosts"),
    [
        (
            "carto-positron",
            "https://basemaps.cartocdn.com https://*.basemaps.cartocdn.com"
            " https://fonts.openmaptiles.org",
        ),
        ("open-street-map", "https://tile.openstreetmap.org https://fonts.openmaptiles.org"),
        (
            "satellite",
            "https://server.arcgisonline.com https://tilemaps.icgc.cat https://geoserveis.icgc.cat",
        ),
    ],
)
def test_a_network_style_adds_exactly_its_hosts(map_style: str, hosts: str) -> None:
    """Tiles, styles and glyphs are fetched (connect-src) and drawn (img-src) from those hosts."""
    found = directives(map_style)
    assert found["connect-src"] == f"'self' {hosts}"
    assert found["img-src"] == f"'self' data: blob: {hosts}"
    assert found["script-src"] == "'self' 'sha256-one=' 'sha256-two='"


def test_every_map_host_plotly_js_names_is_allowed() -> None:
    """Every host plotly.js's built-in map styles load from is allowed for some style."""
    bundle = PLOTLY_JS.read_text()
    pattern = r'"(https://[^"/]+)/[^"]*(?:style\.json|\{z\}|\.pbf|sprite|basemap\.json)'
    origins = set(re.findall(pattern, bundle))
    allowed = {source for hosts in MAP_STYLE_HOSTS.values() for source in hosts}
    assert len(origins) == 6
    assert {o for o in origins if not any(fnmatchcase(o, source) for source in allowed)} == set()


def test_an_unknown_map_style_is_refused() -> None:
    """A style without a policy raises instead of serving a map the policy would break."""
    with pytest.raises(ValueError, match="no content security policy for map style 'nope'"):
        security_headers(Settings(map_style="nope"), HASHES)
