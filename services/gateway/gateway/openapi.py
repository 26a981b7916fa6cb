"""The OpenAPI document, generated from the routes the app serves and the services' schemas."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from gateway.middleware import required_auth

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
ERROR_TEXT = {
    400: "Malformed body, or a query parameter given twice", 401: "No or bad token",
    402: "The card was declined (nothing was charged or recorded)", 403: "Not allowed",
    404: "Unknown, or another firm's",
    409: "Conflict", 410: "Link expired or revoked", 413: "Too large", 414: "URL too long", 415: "Bad media type",
    416: "Range not satisfiable",
    422: "Validation failed", 429: "Throttled", 502: "A service failed", 503: "A service is unavailable",
    504: "A service did not answer in time",
}


def operation(
    summary: str,
    *,
    body: type[Schema] | None = None,
    response: type[Schema] | None = None,
    status: int = 200,
    query: type[Schema] | None = None,
    errors: Iterable[int] = (),
    description: str = "",
    files: bool = False,
    binary_response: bool = False,
    html: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Describe a responder for the OpenAPI document; undocumented responders fail a test.

    `files`: the body is a file, raw (`?filename=`) or `multipart/form-data`; `binary_response`:
    the answer is a file's bytes in the file's own media type (with `Range`); `html`: a page, and
    its `errors` are pages too."""

    def describe(responder: Callable[..., Any]) -> Callable[..., Any]:
        responder.openapi = {  # type: ignore[attr-defined]
            "summary": summary, "body": body, "response": response, "status": status, "query": query,
            "errors": tuple(errors), "description": description, "files": files,
            "binary_response": binary_response, "html": html,
        }
        return responder

    return describe


INFO = """The HTTP contract of Porta's gateway (see API.md).

Errors are JSON `{title, description}`, with `errors` (messages per field, see FieldErrors) on a 422. Besides
the answers each operation lists, any request may be answered 414 (URL longer than 4,094 bytes) or 431 (more
than 100 header fields, or one over 8,190 bytes), in the same JSON. A 401 carries `WWW-Authenticate: Bearer`,
a 429 `Retry-After`. Strings may hold no NUL character and no lone surrogate (422 naming the field); a query
parameter may be given once (400). Booleans in JSON bodies are `true` or `false`; in a query string, the words
`true` and `false`."""

HTML = {"text/html": {"schema": {"type": "string"}}}
_PARAM = re.compile(r"{(\w+)(?::(\w+))?[^}]*}")


def openapi_path(template: str) -> tuple[str, list[tuple[str, str]]]:
    """`/accounts/{account_id:uuid}/access/{email}` -> `/accounts/{account_id}/access/{email}`, with
    each parameter's name and falcon converter ("" when none)."""
    return _PARAM.sub(r"{\1}", template), _PARAM.findall(template)


def build_spec(routes: Iterable[tuple[str, Any]], *, title: str = "Porta API", version: str = "1.0.0") -> dict:
    spec = APISpec(
        title=title, version=version, openapi_version="3.1.0", plugins=[MarshmallowPlugin()],
        info={"description": INFO},
    )
    spec.components.schema("FieldErrors", {
        "type": "object",
        "description": "Messages per field. A field of a nested object or of a list holds the same shape again, "
                       "keyed by the nested field's name or the item's index (`{\"rights\": {\"0\": [\"...\"]}}`: "
                       "the first item of `rights`); `_schema` holds messages about the body as a whole.",
        "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}},
                                           {"$ref": "#/components/schemas/FieldErrors"}]},
    })
    spec.components.schema("Error", {
        "type": "object", "required": ["title"],
        "properties": {
            "title": {"type": "string"}, "description": {"type": "string"},
            "errors": {"$ref": "#/components/schemas/FieldErrors"},
        },
    })
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for template, resource in routes:
        path, params = openapi_path(template)
        operations = {}
        for method in HTTP_METHODS:
            responder = getattr(resource, f"on_{method}", None)
            if responder is None:
                continue
            operations[method] = _operation(responder, required_auth(resource), params)
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(responder: Any, auth: str | None, params: list[tuple[str, str]]) -> dict:
    doc = getattr(responder, "openapi", None)
    if doc is None:
        raise LookupError(f"{responder.__qualname__} has no @operation description")
    op: dict[str, Any] = {"summary": doc["summary"], "responses": {}}
    if doc["description"]:
        op["description"] = doc["description"]
    parameters: list[Any] = [
        {"in": "path", "name": name, "required": True,
         "schema": {"type": "string", "format": "uuid"} if converter == "uuid" else {"type": "string"}}
        for name, converter in params
    ]
    if doc["query"] is not None:
        parameters.append({"in": "query", "schema": doc["query"]})
    if parameters:
        op["parameters"] = parameters
    if doc["body"] is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc["body"]}}}
    if doc["files"]:
        binary = {"type": "string", "format": "binary"}
        op["requestBody"] = {"required": True, "content": {
            "application/octet-stream": {"schema": binary},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "array", "items": binary}}}},
        }}
    ok: dict[str, Any] = {"description": "OK" if doc["status"] != 204 else "No content"}
    if doc["response"] is not None:
        ok["content"] = {"application/json": {"schema": doc["response"]}}
    if doc["html"]:
        ok["content"] = HTML
    if doc["binary_response"]:
        ok["description"] = "The file's bytes, in the file's own media type"
        ok["content"] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        op["responses"]["206"] = {"description": "The requested byte range (`Range`)",
                                  "content": ok["content"]}
        doc_errors = {416}
    else:
        doc_errors = set()
    op["responses"][str(doc["status"])] = ok
    errors = set(doc["errors"]) | doc_errors
    if doc["files"]:
        errors |= {400, 413, 415, 422}
    if auth:
        op["security"] = [{"bearer": []}]
        errors |= {401, 403}
    if doc["body"] is not None:
        errors |= {400, 413, 415, 422}
    if params:
        errors.add(404)
    if doc["query"] is not None:
        errors |= {400, 414, 422}  # a parameter given twice; too long a query string; a value refused
    if any(converter != "uuid" for _, converter in params):
        errors.add(422)  # text no service may see (gateway.checks)
    for code in sorted(errors):
        page = doc["html"] and code in (404, 410, 429)
        op["responses"][str(code)] = {
            "description": ERROR_TEXT.get(code, "Error") + (": a page saying so" if page else ""),
            "content": HTML if page else {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if code == 401:
            op["responses"]["401"]["headers"] = {"WWW-Authenticate": {
                "required": True, "schema": {"type": "string"}, "description": "`Bearer`"}}
        if code == 429:
            op["responses"]["429"]["headers"] = {"Retry-After": {
                "required": True, "schema": {"type": "string"}, "description": "Seconds until a retry may work"}}
    return op
