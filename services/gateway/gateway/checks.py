"""Input no service should ever see, refused at the door with a 4xx (API.md: never a 5xx for bad input).

- Text that no service can store or even send on: a NUL character (PostgreSQL refuses it) or a lone
  surrogate (not Unicode: the RPC serializer refuses it). One check walks every string of a JSON body,
  the query string, the path parameters and a form's text fields, and answers 422 naming each field.
- JSON nested deeper than any of our bodies (`[` x 100,000 overflowed the parser): 400.
- A query parameter given twice: 400, never silently one of the two.

Field names follow marshmallow's nesting, so `errors` looks the same whoever refused the request:
`{"emails": {"1": ["..."]}}` for the second address of a list.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.errors import BadRequest, ValidationFailed

# Our deepest body (bulk access: object, list, object) is three levels; 32 leaves room for any to come.
MAX_JSON_DEPTH = 32
NUL_MESSAGE = "Contains a NUL character."
SURROGATE_MESSAGE = "Contains a lone surrogate, which is not valid Unicode."


def problem(text: str) -> str | None:
    """What is wrong with `text`, or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def shown(name: str) -> str:
    """A name as an answer may carry it: NUL and lone surrogates replaced by U+FFFD."""
    return "".join("\ufffd" if char == "\x00" or "\ud800" <= char <= "\udfff" else char for char in name)


def _add(errors: dict, path: tuple[str, ...], message: str) -> None:
    *parents, leaf = path or ("_schema",)
    node = errors
    for key in parents:
        node = node.setdefault(key, {})
    node.setdefault(leaf, []).append(message)


def check_json(document: Any) -> None:
    """Every string and key of a parsed JSON body; iterative, so no depth can overflow the stack."""
    errors: dict = {}
    pending: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while pending:
        value, path = pending.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, str):
            if message := problem(value):
                _add(errors, path, message)
        elif isinstance(value, dict):
            for key, item in value.items():
                if message := problem(key):
                    _add(errors, (*path, shown(key)), message)
                else:
                    pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, str(index))) for index, item in enumerate(value))
    if errors:
        raise ValidationFailed("Some fields hold characters no text may hold.", errors)


def check_fields(fields: Iterable[tuple[str, Any]]) -> None:
    """Flat name/value pairs (query and path parameters, form fields): each string value and name."""
    errors: dict = {}
    for name, value in fields:
        values = value if isinstance(value, list) else [value]
        for message in filter(None, [problem(name), *(problem(v) for v in values if isinstance(v, str))]):
            errors.setdefault(shown(name), []).append(message)
    if errors:
        raise ValidationFailed("Some fields hold characters no text may hold.", errors)


def check_query(params: Mapping[str, Any]) -> None:
    repeated = sorted(shown(name) for name, value in params.items() if isinstance(value, list))
    if repeated:
        raise BadRequest(f"Give each query parameter once: {', '.join(f'`{name}`' for name in repeated)} came "
                         "more than once.")
    check_fields(params.items())
