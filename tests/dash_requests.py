"""Talking to the Dash app in tests: callback requests shaped as the browser sends them, and
the Content-Security-Policy hashes of the inline scripts a page runs."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import dash
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from chicrime.analytics.presets import PRESETS
from chicrime.app import ids
from chicrime.app.shell import PAGES

CALLBACK_PATH = "/_dash-update-component"
# The components the navbar's pattern id {"type": NAV_LINK, "path": ALL} matches.
NAV_LINK_IDS = [{"type": ids.NAV_LINK, "path": path} for path, _label in PAGES]
# The n_clicks of the panel's date preset buttons, none clicked (inputs of the panel callback).
PRESETS_UNCLICKED = [None] * len(PRESETS)


def output_of(app: dash.Dash, output: str) -> str:
    """The `callback_map` key of the server callback that has `output` (as id.property) among
    its outputs."""
    return next(
        key
        for key, entry in app.callback_map.items()
        if "callback" in entry and output in key.strip(".").split("...")
    )


def _dependency(declared: Mapping[str, str], value: object = None, *, sent: bool = True) -> object:
    """One dependency as requested: with its `value` if `sent`; a pattern one lists the nav
    links, `value` then holding one value per link."""
    if declared["id"].startswith("{"):
        values = value if isinstance(value, list) else [None] * len(NAV_LINK_IDS)
        return [
            _entry(link, declared["property"], link_value, sent)
            for link, link_value in zip(NAV_LINK_IDS, values, strict=True)
        ]
    return _entry(declared["id"], declared["property"], value, sent)


def _entry(component: object, prop: str, value: object, sent: bool) -> dict[str, object]:
    entry = {"id": component, "property": prop}
    return {**entry, "value": value} if sent else entry


def callback_body(
    app: dash.Dash, output: str, inputs: Sequence[object], state: Sequence[object] = ()
) -> dict[str, Any]:
    """The request for callback `output` with these input (and state) values, in order.

    A pattern dependency takes a list with one value per navbar link.
    """
    entry = app.callback_map[output]
    declared = entry["output"]
    outputs = [
        _dependency(o.to_dict(), sent=False)
        for o in (declared if isinstance(declared, list) else [declared])
    ]
    body: dict[str, Any] = {
        "output": output,
        "outputs": outputs if isinstance(declared, list) else outputs[0],
        "inputs": [_dependency(d, v) for d, v in zip(entry["inputs"], inputs, strict=True)],
        "changedPropIds": [f"{entry['inputs'][0]['id']}.{entry['inputs'][0]['property']}"],
    }
    if entry["state"]:
        body["state"] = [_dependency(d, v) for d, v in zip(entry["state"], state, strict=True)]
    return body


def post_callback(client: FlaskClient, body: object) -> TestResponse:
    return client.post(CALLBACK_PATH, json=body)


def callback_result(client: FlaskClient, body: object) -> dict[str, dict[str, Any]]:
    """What the callback answered, per component id and property; fails unless 200."""
    response = post_callback(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, dict[str, Any]] = response.get_json()["response"]
    return result


def inline_script_hashes(html: str) -> list[str]:
    """The CSP hash of each inline script the page runs (not JSON data, not in an HTML comment),
    in page order."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, flags=re.S)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for attributes, body in scripts
        if "application/json" not in attributes
    ]


def overview_request(start: str, end: str) -> dict[str, object]:
    """The overview's callback (three KPIs' values and notes, the 28-day comparison line, the
    freshness note and the two charts) for the selection `start`..`end`."""
    outputs = [
        *(
            (f"{card}-{part}", "children")
            for card in ("kpi-incidents", "kpi-arrest-rate", "kpi-change")
            for part in ("value", "note")
        ),
        ("overview-compare", "children"),
        ("overview-freshness", "children"),
        ("overview-series", "figure"),
        ("overview-types", "figure"),
    ]
    return {
        "output": "".join(f"..{k}.{p}." for k, p in outputs) + ".",
        "outputs": [{"id": k, "property": p} for k, p in outputs],
        "inputs": [{"id": "filters", "property": "data", "value": {"start": start, "end": end}}],
        "changedPropIds": ["filters.data"],
    }
