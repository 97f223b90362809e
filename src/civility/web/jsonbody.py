"""Request bodies parsed as JSON without trusting their shape: invalid JSON, invalid UTF-8 and
nesting deeper than any real request (which makes Python's parser raise RecursionError from
about a thousand levels) are one clear ValueError each, never a 500."""

from __future__ import annotations

import json

# Perspective's deepest real request (requestedAttributes.X.scoreThreshold) is 3 levels.
MAX_DEPTH = 32


class JsonBodyError(ValueError):
    pass


def parse_json(body: bytes | str, max_depth: int = MAX_DEPTH) -> object:
    try:
        data = json.loads(body)
    except RecursionError:
        raise JsonBodyError(f"JSON nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, ValueError):
        raise JsonBodyError("invalid JSON") from None
    if _deeper_than(data, max_depth):
        raise JsonBodyError(f"JSON nested deeper than {max_depth} levels")
    return data


def _deeper_than(value: object, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
