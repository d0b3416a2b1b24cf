"""Hostile MIME shapes get a clear refusal before the costly parse, not minutes of work.

Contract: ``refusal(raw, max_parts, max_depth)`` returns the SMTP reply refusing ``raw`` (``552 5.3.4`` too many
MIME parts, ``554 5.6.0`` nested too deep; the text says why, in French, and that nothing was kept), or None when
the message may be parsed. It reads the bytes once with a regular expression (part headers and multipart
boundaries), so a 25 MB message of tiny parts costs milliseconds. It is CPU work all the same: the handler runs
it, like the parse itself, in a worker thread. The reply is given before any ``250``: the sender's server keeps
the message and tells its author, nothing is silently dropped.
"""

from __future__ import annotations

import re

MAX_PARTS = 500
MAX_DEPTH = 10
PART_HEADER = re.compile(rb"^content-type:[ \t]*([^\r\n;]*)(?:;[^\r\n]*)?", re.IGNORECASE | re.MULTILINE)
TOKENS = re.compile(rb'boundary[ \t]*=[ \t]*"?([^";\r\n]+)"?|^--([^\r\n]+?)(--)?[ \t]*\r?$',
                    re.IGNORECASE | re.MULTILINE)


def count_parts(raw: bytes) -> int:
    """Content-Type headers at the start of a line: one per MIME entity (a bound, not an exact parse)."""
    return sum(1 for _ in PART_HEADER.finditer(raw))


def nesting_depth(raw: bytes, limit: int) -> int:
    """How deep multipart bodies nest: one pass over boundary declarations and delimiter lines, with a stack of
    the boundaries open at that point (stops past ``limit``)."""
    declared: set[bytes] = set()
    stack: list[bytes] = []
    deepest = 0
    for match in TOKENS.finditer(raw):
        if match.group(1) is not None:
            declared.add(match.group(1).strip())
            continue
        boundary, closing = match.group(2).strip(), match.group(3) is not None
        if boundary.endswith(b"--") and boundary[:-2] in declared:
            boundary, closing = boundary[:-2], True
        if boundary not in declared:
            continue
        if closing:
            if boundary in stack:
                del stack[stack.index(boundary):]
        elif boundary not in stack:
            stack.append(boundary)
            deepest = max(deepest, len(stack))
            if deepest > limit:
                break
    return deepest


def refusal(raw: bytes, max_parts: int = MAX_PARTS, max_depth: int = MAX_DEPTH) -> str | None:
    parts = count_parts(raw)
    if parts > max_parts:
        return (f"552 5.3.4 Message refuse : {parts} parties MIME, {max_parts} au plus. Rien n'a ete "
                "enregistre ; envoyez moins de pieces jointes par message.")
    depth = nesting_depth(raw, max_depth)
    if depth > max_depth:
        return (f"554 5.6.0 Message refuse : parties MIME imbriquees sur plus de {max_depth} niveaux. Rien n'a "
                "ete enregistre ; renvoyez le message sans transferts en cascade.")
    return None
