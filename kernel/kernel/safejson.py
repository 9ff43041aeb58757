"""JSON and text from requests that every service can store: too deep, a NUL or a lone surrogate is the caller's error.

Python's json module turns "\\ud800" into a lone surrogate, which cannot be encoded as UTF-8 (hashes, the database,
the reply all fail), and "\\u0000" into NUL, which PostgreSQL text and jsonb refuse; deep nesting raises RecursionError.
`loads` reports all three as a ValueError, so callers' existing `except ValueError` answers them with a 4xx.
"""
import json
import math
import re
from typing import Any

from fastapi import Request
from fastapi.datastructures import UploadFile

from kernel.errors import ApiError

_ESCAPE = re.compile(rb"(\\+)u([0-9a-fA-F]{4})")
_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")


class UnsafeJson(ValueError):
    """JSON that parses in Python but cannot be stored or encoded: a NUL, a lone surrogate, or nesting too deep."""


def unsafe_escape(raw: bytes) -> bool:
    """Whether JSON text escapes a NUL or a surrogate that is not half of a pair (a regex pass, no parsing)."""
    if b"\\u" not in raw:
        return False  # the usual case: nothing escaped
    high_end = -1  # where a high surrogate's escape ended, while its low half is awaited
    for match in _ESCAPE.finditer(raw):
        if len(match.group(1)) % 2 == 0:
            continue  # "\\\\u0000" is an escaped backslash followed by the text "u0000"
        code, start = int(match.group(2), 16), match.end(1) - 1
        if high_end >= 0:
            if start != high_end or not 0xDC00 <= code <= 0xDFFF:
                return True
            high_end = -1
        elif code == 0 or 0xDC00 <= code <= 0xDFFF:
            return True
        elif 0xD800 <= code <= 0xDBFF:
            high_end = match.end()
    return high_end >= 0


def loads(raw: bytes | str) -> Any:
    """json.loads that raises ValueError (UnsafeJson) instead of RecursionError, and refuses NUL and lone surrogates."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if unsafe_escape(data):
        raise UnsafeJson("The JSON holds a NUL character or a lone surrogate escape.")
    try:
        return json.loads(data)
    except RecursionError:
        raise UnsafeJson("The JSON is nested too deeply.") from None


def unsafe_text(value: Any) -> bool:
    """Whether any string in a parsed value (keys included) holds a NUL or cannot be encoded as UTF-8."""
    pending = [value]
    while pending:  # a loop, not recursion: the value may be nested as deep as its parser allowed
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item or (not item.isascii() and not _encodable(item)):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def refuse_unsafe_body(request: Request) -> None:
    """App-wide dependency: a body FastAPI parsed for the route (JSON or form) may not carry NUL or lone surrogates.

    Routes that read their body themselves (no body parameter) are left alone: they bound and parse it with `loads`.
    """
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None:
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()  # already parsed for the route: Starlette keeps it
        unsafe = unsafe_text([value for value in form.values() if not isinstance(value, UploadFile)])
    elif not content_type or _JSON_TYPE.match(content_type):
        unsafe = unsafe_escape(await request.body())  # already read for the route: Starlette keeps it
    else:
        return
    if unsafe:
        raise ApiError(400, "invalid_characters", "The request holds a NUL character or a lone surrogate, which cannot be stored.",
                       details=[{"field": "body", "reason": "NUL character or lone surrogate"}])


def load_yaml(text: bytes | str) -> Any:
    """YAML as yaml.safe_load reads it, but refusing aliases: a document has no use for them, and refused they cannot
    expand into a billion-laughs bomb here or where it is sent on. Raises yaml.YAMLError (and RecursionError for
    nesting deeper than the composer goes). PyYAML is imported here, by the services that take YAML, not by the kernel."""
    import yaml

    class WithoutAliases(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted", self.peek_event().start_mark)
            return super().compose_node(parent, index)

    return yaml.load(text, Loader=WithoutAliases)  # noqa: S506 (a SafeLoader)


def finite(value) -> bool:
    """Whether a parsed JSON value is free of NaN and infinity: Python's parser accepts them and reads 1e400 as infinity,
    and they cannot be stored as JSON (PostgreSQL refuses them, JSON columns on SQLite keep null) nor sent on."""
    pending = [value]
    while pending:  # a loop, not recursion: the value may be nested as deep as its parser allowed
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True
