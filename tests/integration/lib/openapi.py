"""Every answer the integration tests get from the API, checked against
docs/openapi.yaml: the route and method must be described, the status
listed for that operation, and a JSON body valid under its schema
(JSON Schema 2020-12, as OpenAPI 3.1 has it). Server.http() calls check()
on each answer, so a route or a field the description lacks fails the
test that met it."""
import json
import os
import re
import threading

import yaml
from jsonschema import Draft202012Validator

_lock = threading.Lock()
_spec = None
_routes = None  # [(regex, path template, {method: operation})]
_validators = {}

# Answers a path that no operation describes may still get: the router's
# refusals, which say nothing about any resource.
UNDESCRIBED_OK = {401, 404, 405, 413}


EDGE_CODES = {403: ("https_required", "cross_origin", "org_not_approved"), 415: ("unsupported_media_type",),
              500: ("internal",)}


def _edge_answer(status, body):
    """What any path may get before its operation runs, as the
    description's introduction says: 308 to HTTPS, 403 https_required or
    cross_origin, 415 unsupported_media_type, 500 internal."""
    if status == 308:
        return not body
    if status in EDGE_CODES and body:
        try:
            return json.loads(body)["error"]["code"] in EDGE_CODES[status]
        except (ValueError, KeyError, TypeError):
            return False
    return False


def _source_dir():
    return os.environ.get("INVITED_SOURCE_DIR") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def spec():
    global _spec, _routes
    with _lock:
        if _spec is None:
            with open(os.path.join(_source_dir(), "docs", "openapi.yaml")) as f:
                _spec = yaml.safe_load(f)
            _routes = []
            for template, item in _spec["paths"].items():
                pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
                ops = {m.upper(): op for m, op in item.items()
                       if m in ("get", "put", "post", "delete", "patch", "head")}
                _routes.append((re.compile(pattern), template, ops))
        return _spec


def described(path):
    """Whether path (without its query) is one the description has."""
    spec()
    return any(rx.match(path) for rx, _, _ in _routes)


def _validator(schema):
    key = json.dumps(schema, sort_keys=True)
    v = _validators.get(key)
    if v is None:
        # References are "#/components/...": resolve them against a root
        # that carries the components beside the schema itself.
        root = dict(schema, components=spec()["components"])
        v = _validators[key] = Draft202012Validator(root)
    return v


def _resolve(obj):
    while isinstance(obj, dict) and "$ref" in obj and obj["$ref"].startswith("#/components/"):
        node = spec()
        for part in obj["$ref"][2:].split("/"):
            node = node[part]
        obj = node
    return obj


def validate_body(body, schema):
    errors = sorted(_validator(schema).iter_errors(body), key=lambda e: list(e.path))
    if not errors:
        return True, ""
    return False, "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
                            for e in errors[:5])


def check(method, path, status, headers, body):
    """Raise AssertionError when the answer is not what the description
    says. path may carry a query; HEAD is checked as GET without a body."""
    spec()
    path = path.split("?", 1)[0]
    if not (path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics")
            or path.startswith("/.well-known/invited/")):
        return  # pages, the console and static files are not the API
    what = f"{method} {path} -> {status}"
    if _edge_answer(status, body):
        ok, why = (True, "") if not body else validate_body(
            json.loads(body), {"$ref": "#/components/schemas/Error"})
        assert ok, f"{what}: the error is not an Error: {why}"
        return
    route = next(((t, ops) for rx, t, ops in _routes if rx.match(path)), None)
    op = route[1].get("GET" if method == "HEAD" else method) if route else None
    if op is None:
        if status not in UNDESCRIBED_OK:
            raise AssertionError(f"{what}: not in docs/openapi.yaml "
                                 f"({'no such path' if route is None else 'no such method'})")
        if body:
            ok, why = validate_body(json.loads(body), {"$ref": "#/components/schemas/Error"})
            assert ok, f"{what}: the error is not an Error: {why}"
        return
    responses = op["responses"]
    answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") \
        or responses.get("default")
    if answer is None:
        raise AssertionError(f"{what}: status {status} is not listed for "
                             f"{op['operationId']} in docs/openapi.yaml")
    answer = _resolve(answer)
    content = answer.get("content")
    if method == "HEAD" or not content:
        assert not body or method == "HEAD", f"{what}: a body where the description has none"
        return
    ctype = (headers.get("content-type") or "").split(";")[0].strip()
    if ctype not in content:
        raise AssertionError(f"{what}: Content-Type {ctype!r}, the description has "
                             f"{sorted(content)}")
    if ctype != "application/json":
        return
    try:
        doc = json.loads(body)
    except ValueError:
        raise AssertionError(f"{what}: not JSON: {body[:200]!r}")
    ok, why = validate_body(doc, content[ctype]["schema"])
    if not ok:
        raise AssertionError(f"{what} ({op['operationId']}): the body does not match "
                             f"docs/openapi.yaml: {why}\n{json.dumps(doc)[:1500]}")
