"""The OpenAPI document (laura_bot/web/openapi.yaml, served at /api/v1/openapi.json) against
the code (issue #23): it lists exactly the server's routes, its enums are the code's, and the
error codes are one enum that holds every code Laura answers with and nothing else.

No Synapse: the app is built without a domain, and nothing here reaches one."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from aiohttp.test_utils import TestClient, TestServer

from laura_bot.errors import ErrorCode
from laura_bot.status import Status
from laura_bot.texts import available_languages
from laura_bot.web.dashboard import Dashboard
from laura_bot.web.openapi import openapi_document
from laura_bot.web.server import build_app
from tests.helpers import parse_sources
from tests.test_config import load

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "laura_bot"
WIDGET = ROOT / "widget" / "laura-widget.js"
METHODS = {"get", "put", "post", "delete", "patch"}


async def routes_and_document(tmp_path: Path) -> tuple[set[tuple[str, str]], dict[str, Any]]:
    """(method, path) of every route the app has under /api/v1/ (less HEAD and OPTIONS, which
    aiohttp and the CORS middleware add), and the document the app serves."""
    config = load(tmp_path)
    app = build_app(
        cast(Any, None),
        cast(Any, None),
        cast(Any, None),
        config,
        cast(Any, None),
        appointments=cast(Any, object()),
        dashboard=Dashboard(config, cast(Any, None), cast(Any, None), None),
    )
    c: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await c.start_server()
    try:
        resp = await c.get("/api/v1/openapi.json")
        assert resp.status == 200
        doc = await resp.json()
    finally:
        await c.close()
    assert doc == openapi_document(config["web.public_url"])
    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method not in ("HEAD", "OPTIONS")
    }
    return routes, doc


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


async def test_the_document_has_exactly_the_servers_routes(tmp_path: Path) -> None:
    routes, doc = await routes_and_document(tmp_path)
    documented = {(method, path) for method, path, _ in operations(doc)}
    assert routes, "no routes found: the test would pass for nothing"
    assert routes - documented == set(), "routes the document does not describe"
    assert documented - routes == set(), "operations the server does not have"


def test_enums_are_the_codes() -> None:
    doc = openapi_document("https://laura.example")
    schemas = doc["components"]["schemas"]
    assert schemas["Status"]["enum"] == [status.value for status in Status]
    assert schemas["ErrorCode"]["enum"] == [code.value for code in ErrorCode]
    assert schemas["Language"]["enum"] == list(available_languages())
    # Both are used where the values go: a session's status, an event's, an error's code.
    ref = {"$ref": "#/components/schemas/ErrorCode"}
    assert schemas["Error"]["properties"]["error"]["properties"]["code"] == ref
    assert schemas["Session"]["properties"]["status"] == {"$ref": "#/components/schemas/Status"}
    assert schemas["Event"]["properties"]["status"]["$ref"] == "#/components/schemas/Status"
    language = {"$ref": "#/components/schemas/Language"}
    start = doc["paths"]["/api/v1/sessions"]["post"]["requestBody"]["content"]
    assert start["application/json"]["schema"]["properties"]["language"] == language
    assert schemas["Widget"]["properties"]["languages"]["items"] == language


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_what_every_call_shares_is_documented() -> None:
    """Every $ref points at something; every call with a JSON body documents 413 (a body over
    web.max_body_size), and every call under /api/v1/ but a GET documents 403 (a browser on a
    site that is not allowed: web/server.py's CORS middleware)."""
    doc = openapi_document("https://laura.example")
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} points at nothing"
            node = node[part]
    for method, path, operation in operations(doc):
        responses = operation["responses"]
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert "413" in responses, f"{method} {path}: no 413"
        if method != "get" and path.startswith("/api/v1/"):
            assert "403" in responses, f"{method} {path}: no 403"


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    for path, tree in parse_sources(paths).items():
        yield path.relative_to(ROOT), tree


def test_every_error_code_is_used() -> None:
    """No dead codes: each member is named (ErrorCode.X) somewhere in laura_bot/."""
    used = {
        node.attr
        for _, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ErrorCode"
    }
    assert set(ErrorCode.__members__) - used == set()
    assert used - set(ErrorCode.__members__) == set()


def _is_text(node: ast.expr | None) -> bool:
    """A string written out (or an f-string): a code that is not an ErrorCode member."""
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(
        node, ast.JoinedStr
    )


def _uses_media_refused(path: Path, tree: ast.Module) -> bool:
    """Whether `Refused` in this module is media.Refused (commands/canned.py has a Refused of
    its own, whose argument is a text's id, not an error code)."""
    if path.as_posix() == "laura_bot/media.py":
        return True
    return any(
        isinstance(node, ast.ImportFrom)
        and (node.module or "").split(".")[-1] == "media"
        and any(alias.name == "Refused" for alias in node.names)
        for node in ast.walk(tree)
    )


def bare_codes() -> list[str]:
    """Where an error's code is written as a string: code="..." (LauraError and its
    subclasses), a class's `code = "..."`, media.Refused("...", ...), and
    error_response(status, "...", ...)."""
    found = []
    for path, tree in _modules():
        media_refused = _uses_media_refused(path, tree)
        for node in ast.walk(tree):
            where = f"{path}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.keyword) and node.arg == "code" and _is_text(node.value):
                found.append(f"{where}: code={ast.unparse(node.value)}")
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (
                        isinstance(item, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in item.targets)
                        and _is_text(item.value)
                    ):
                        found.append(f"{path}:{item.lineno}: class {node.name}: code = ...")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                args = node.args
                if node.func.id == "Refused" and media_refused and args and _is_text(args[0]):
                    found.append(f"{where}: Refused({ast.unparse(args[0])}, ...)")
                if node.func.id == "error_response" and len(args) > 1 and _is_text(args[1]):
                    found.append(f"{where}: error_response(..., {ast.unparse(args[1])}, ...)")
    return found


def test_no_error_code_is_a_bare_string() -> None:
    assert bare_codes() == []


def _known_codes(source: str) -> set[str]:
    """The error codes laura-widget.js acts on: `.code === "x"` (or !==), and the keys of its
    `var known = {...}` tables (code → the text to show)."""
    codes = set(re.findall(r'\.code\s*[!=]==?\s*"([a-z_]+)"', source))
    for match in re.finditer(r"\bvar known\s*=\s*\{", source):
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(source[end], 0)
            end += 1
        table = source[match.end() : end - 1]
        # Calls and nested objects out (t("fileTooLarge", {max: ...})): the table's keys remain.
        while (flat := re.sub(r"\([^()]*\)|\{[^{}]*\}", "", table)) != table:
            table = flat
        codes |= set(re.findall(r"(\w+)\s*:", table))
    return codes


def test_the_widget_acts_on_codes_that_exist() -> None:
    """A renamed code would silently turn the widget's own text for it into the server's
    English message: every code the widget knows is an ErrorCode."""
    known = _known_codes(WIDGET.read_text(encoding="utf-8"))
    assert {"bad_name", "chat_not_ended", "too_many_listening", "file_too_large"} <= known
    assert known - {code.value for code in ErrorCode} == set()
