"""Which counts of a table to hide: small counts, and the cells that would let one be found by subtraction.

Contract: ``suppress(values, equations, small=5) -> {key: PRIMARY | SECONDARY}`` over the integer cells of one
or more tables (any hashable key) and the additive relations between them (``(total, parts)``: the total cell is
the sum of the part cells, e.g. a column and its ``Total`` row, or ``received = automatic + through triage``).
- Primary: a count from 1 to ``small - 1`` (shown ``"< 5"``).
- Secondary (complementary) suppression: a relation must not pin down any hidden cell. A reader who knows the
  shown cells and what each marker means (a primary cell is 1 to 4, a secondary one at least ``small``, since
  every shown count that is not 0 is at least ``small``) bounds each hidden cell of a relation by the bounds of
  the others; while some relation leaves a hidden cell a single possible value (one hidden cell among shown
  ones is the common case), the smallest non-zero shown cell of that relation is hidden too (parts before the
  total), and every relation is checked again. It ends: each round hides one more cell.
Each relation is checked on its own (the classic row/column rule); combining several relations at once (a
linear program over the whole table) is not attempted. Zeros are never hidden: a 0 tells nothing about a person.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

PRIMARY = "primary"
SECONDARY = "secondary"


def suppress(values: Mapping[K, int], equations: Sequence[tuple[K, Sequence[K]]], small: int = 5
             ) -> dict[K, str]:
    hidden: dict[K, str] = {k: PRIMARY for k, v in values.items() if 0 < v < small}
    changed = True
    while changed:
        changed = False
        for total, parts in equations:
            if not _pins_a_cell(values, hidden, total, parts, small):
                continue
            shown = [k for k in (*parts, total) if k not in hidden and values[k] > 0]
            if shown:
                hidden[min(shown, key=lambda k: values[k])] = SECONDARY
                changed = True
    return hidden


def _bounds(values: Mapping[K, int], hidden: Mapping[K, str], key: K, small: int) -> tuple[float, float]:
    state = hidden.get(key)
    if state == PRIMARY:
        return 1.0, float(small - 1)
    if state == SECONDARY:
        return float(small), math.inf
    return float(values[key]), float(values[key])


def _pins_a_cell(values: Mapping[K, int], hidden: Mapping[K, str], total: K, parts: Sequence[K], small: int) -> bool:
    """True when the relation ``total - sum(parts) = 0`` leaves some hidden cell one possible value."""
    terms = [(total, 1), *((p, -1) for p in parts)]
    spans = [(k, sign, _bounds(values, hidden, k, small)) for k, sign in terms]
    for i, (key, sign, (low, high)) in enumerate(spans):
        if key not in hidden:
            continue
        # sign * x = -(sum of the other terms): bound the others' sum, then x
        rest_low = sum(min(s * lo, s * hi) for j, (_, s, (lo, hi)) in enumerate(spans) if j != i)
        rest_high = sum(max(s * lo, s * hi) for j, (_, s, (lo, hi)) in enumerate(spans) if j != i)
        at_least, at_most = (-rest_high, -rest_low) if sign == 1 else (rest_low, rest_high)
        if max(low, at_least) >= min(high, at_most):
            return True
    return False
