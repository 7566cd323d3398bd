"""Malformed requests to Dash's own routes get a 4xx and one line of plain text, not a 500.

Dash trusts the body of `POST /_dash-update-component`: a list where an object belongs, an
output no server callback has, or inputs that do not match the callback's definition make it
raise, which Flask answers with a 500 and a traceback in the log. The shape check here runs
first and answers such requests with a 400. Only the shape is checked; the values inside a
well-formed request are the callbacks' own business, except for the router callback of Dash
Pages, which is not chicrime's to change: it raises unless the location it is sent is text,
with a path under the app's prefix, as a browser sends it. Likewise a request for a JS bundle
Dash does not serve gets a 404 instead of Dash's 500, and an oversized body a 413.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dash
from dash.exceptions import DependencyException
from flask import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

__all__ = ["MAX_REQUEST_BYTES", "callback_request_problem", "install_request_guards"]

MAX_REQUEST_BYTES = 2**20  # a real callback request is a few kilobytes

# Pattern ids as `callback_map` spells them. ALL and ALLSMALLER stand for a list of components
# (the browser sends one entry per component); MATCH for one.
_LIST_WILDCARDS = (["ALL"], ["ALLSMALLER"])
_WILDCARDS = (*_LIST_WILDCARDS, ["MATCH"])
_ID_VALUE_TYPES = (str, int, float, bool)
_ROUTER_LOCATION = "_pages_location"


def _router_value_problem(prop: str, value: object, path_prefix: str) -> str | None:
    """Why Dash Pages' router would raise on location `prop` = `value`, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{_ROUTER_LOCATION}.{prop} must be text"
    if prop == "pathname" and not value.startswith(path_prefix.rstrip("/") or "/"):
        return f"{_ROUTER_LOCATION}.pathname must start with {path_prefix}"
    return None


def _declared_id(raw: str) -> str | dict[str, Any]:
    """A dependency id as declared: text, or the dict a pattern id's JSON text stands for."""
    parsed = json.loads(raw) if raw.startswith("{") else raw
    return parsed if isinstance(parsed, dict) else raw


def _same_id(sent: object, declared: str | dict[str, Any]) -> bool:
    if not isinstance(declared, dict):
        return sent == declared
    if not isinstance(sent, dict) or set(sent) != set(declared):
        return False
    return all(
        isinstance(sent[key], _ID_VALUE_TYPES) if value in _WILDCARDS else sent[key] == value
        for key, value in declared.items()
    )


def _property(entry: Mapping[str, object]) -> object:
    """The entry's property without the `@…` suffix Dash adds to duplicate outputs."""
    prop = entry.get("property")
    return prop.split("@")[0] if isinstance(prop, str) else prop


def _dependency_problem(
    sent: object,
    declared: Mapping[str, str],
    matched: dict[str, list[object]],
    path_prefix: str,
) -> str | None:
    """Why `sent` is not the request form of dependency `declared`, or None if it is.

    A list pattern's entries are recorded in `matched`: every dependency on the same pattern
    must name the same components in the same order, as the browser sends them.
    """
    declared_id = _declared_id(declared["id"])
    is_list = isinstance(declared_id, dict) and any(
        value in _LIST_WILDCARDS for value in declared_id.values()
    )
    entries = sent if is_list else [sent]
    if not isinstance(entries, list):
        return f"{declared['id']} must be a list of components"
    for entry in entries:
        if not isinstance(entry, dict) or _property(entry) != declared["property"]:
            return f"every entry must be an object with property {declared['property']}"
        if not _same_id(entry.get("id"), declared_id):
            return f"an entry's id is not {declared['id']}"
        if declared["id"] == _ROUTER_LOCATION:
            problem = _router_value_problem(declared["property"], entry.get("value"), path_prefix)
            if problem is not None:
                return problem
    if is_list:
        ids = [entry["id"] for entry in entries]
        if matched.setdefault(declared["id"], ids) != ids:
            return f"the entries for {declared['id']} disagree"
    return None


def _dependencies_problem(
    name: str,
    sent: object,
    declared: Sequence[Mapping[str, str]],
    matched: dict[str, list[object]],
    path_prefix: str,
) -> str | None:
    if not isinstance(sent, list) or len(sent) != len(declared):
        return f"{name} must be a list of {len(declared)}"
    for item, dependency in zip(sent, declared, strict=True):
        problem = _dependency_problem(item, dependency, matched, path_prefix)
        if problem is not None:
            return f"{name}: {problem}"
    return None


def _prop_id(entry: Mapping[str, Any]) -> str:
    """An input entry as Dash names it in `changedPropIds`: `id.property`."""
    component = entry["id"]
    if not isinstance(component, str):  # a pattern-matched id, spelled as Dash spells it
        component = json.dumps(component, sort_keys=True, separators=(",", ":"))
    return f"{component}.{entry['property']}"


def callback_request_problem(
    body: object, callback_map: Mapping[str, Any], path_prefix: str = "/"
) -> str | None:
    """What is wrong with the shape of callback request `body`, or None when Dash can run it.

    `body` must be a JSON object whose `output` names a server-side callback in `callback_map`,
    whose `outputs`, `inputs` and `state` (absent means none) match that callback's definition
    (ids and properties; values only for the router's location, whose paths start with
    `path_prefix`), and whose `changedPropIds` lists some of those inputs as `id.property`.
    """
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    entry = callback_map.get(output) if isinstance(output, str) else None
    if entry is None or "callback" not in entry:
        return "output names no server callback"
    matched: dict[str, list[object]] = {}
    if not entry["no_output"]:
        declared = entry["output"]
        multi = isinstance(declared, list | tuple)
        outputs = [o.to_dict() for o in (declared if multi else [declared])]
        sent = body.get("outputs")
        problem = _dependencies_problem(
            "outputs", sent if multi else [sent], outputs, matched, path_prefix
        )
        if problem is not None:
            return problem
    problem = _dependencies_problem(
        "inputs", body.get("inputs"), entry["inputs"], matched, path_prefix
    ) or _dependencies_problem("state", body.get("state", []), entry["state"], matched, path_prefix)
    if problem is not None:
        return problem
    inputs = {
        _prop_id(e) for item in body["inputs"] for e in (item if isinstance(item, list) else [item])
    }
    changed = body.get("changedPropIds")
    if not isinstance(changed, list) or not all(
        isinstance(c, str) and c in inputs for c in changed
    ):
        return "changedPropIds must list some of the inputs as id.property"
    return None


def _plain(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def install_request_guards(app: dash.Dash) -> None:
    """Answer malformed callback requests to `app` with 400, bodies over `MAX_REQUEST_BYTES`
    with 413 and requests for JS bundles it does not serve with 404."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    path = app.config.routes_pathname_prefix + "_dash-update-component"

    def check_callback_request() -> Response | None:
        if request.path != path or request.method != "POST":
            return None
        problem = callback_request_problem(
            request.get_json(silent=True), app.callback_map, app.config.requests_pathname_prefix
        )
        if problem is None:
            return None
        return _plain(f"Malformed callback request ({problem}): reload the page.", 400)

    def refuse_large_request(_error: RequestEntityTooLarge) -> Response:
        return _plain(f"Request over {MAX_REQUEST_BYTES:,} bytes: reload the page.", 413)

    def refuse_unknown_bundle(_error: DependencyException) -> Response:
        return _plain("No such script: reload the page.", 404)

    server.before_request(check_callback_request)
    server.register_error_handler(RequestEntityTooLarge, refuse_large_request)
    server.register_error_handler(DependencyException, refuse_unknown_bundle)
