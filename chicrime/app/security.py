"""The security headers every dashboard response carries, built once from the settings.

The Content-Security-Policy allows the app's own origin only, plus the hashes of Dash's inline
scripts and, for a map style that loads from the network, exactly the hosts that style uses.
Styles may be inline because plotly.js injects `<style>` elements and React sets `style`
attributes; Bootstrap draws its form controls with `data:` SVG images; MapLibre runs its
workers from `blob:` URLs (and may decode tile images through `blob:` ones). Nothing needs
'unsafe-eval': plotly.js, MapLibre and Dash run without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import dash
from flask import Response

from chicrime.settings import Settings

__all__ = ["MAP_STYLE_HOSTS", "install_security_headers", "security_headers"]

_CARTO = (
    "https://basemaps.cartocdn.com",
    "https://*.basemaps.cartocdn.com",
    # plotly.js rewrites the carto "Open Sans Extrabold" glyph URLs to this host.
    "https://fonts.openmaptiles.org",
)
_SATELLITE = (
    "https://server.arcgisonline.com",
    "https://tilemaps.icgc.cat",
    "https://geoserveis.icgc.cat",
)

# The hosts each plotly.js 7 map style loads style JSON, tiles, sprites and glyphs from
# (read from plotly.min.js: `basic`, `streets` and `outdoors` are carto-voyager, `light` is
# carto-positron, `dark` carto-darkmatter). `white-bg` draws nothing from the network.
MAP_STYLE_HOSTS: Mapping[str, tuple[str, ...]] = {
    "basic": _CARTO,
    "carto-darkmatter": _CARTO,
    "carto-darkmatter-nolabels": _CARTO,
    "carto-positron": _CARTO,
    "carto-positron-nolabels": _CARTO,
    "carto-voyager": _CARTO,
    "carto-voyager-nolabels": _CARTO,
    "dark": _CARTO,
    "light": _CARTO,
    "open-street-map": ("https://tile.openstreetmap.org", "https://fonts.openmaptiles.org"),
    "outdoors": _CARTO,
    "satellite": _SATELLITE,
    "satellite-streets": _SATELLITE,
    "streets": _CARTO,
    "white-bg": (),
}


def _map_hosts(map_style: str) -> tuple[str, ...]:
    try:
        return MAP_STYLE_HOSTS[map_style]
    except KeyError:
        raise ValueError(f"no content security policy for map style {map_style!r}") from None


def security_headers(settings: Settings, inline_script_hashes: Iterable[str]) -> dict[str, str]:
    """The header set for every response, given the CSP sources of Dash's inline scripts.

    Raises ValueError for a map style this module does not know the hosts of.
    """
    map_hosts = _map_hosts(settings.map_style)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *inline_script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *map_hosts],
        "worker-src": ["blob:"],
        "connect-src": ["'self'", *map_hosts],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
    return {
        "Content-Security-Policy": "; ".join(
            f"{name} {' '.join(sources)}" for name, sources in directives.items()
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


def install_security_headers(app: dash.Dash, settings: Settings) -> None:
    """Add `security_headers` to every response of `app`, error responses included.

    The set is built at the first response, once Dash has registered every inline script (Dash
    Pages adds one while setting up). Raises ValueError at once for an unknown map style.
    """
    _map_hosts(settings.map_style)

    @cache
    def headers() -> dict[str, str]:
        return security_headers(settings, app.csp_hashes())

    def add_headers(response: Response) -> Response:
        response.headers.update(headers())
        return response

    app.server.after_request(add_headers)
