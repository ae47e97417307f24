"""Sections of the custody record page, contributed by each area of the registry.

A section is a function ``(request, custody) -> dict | None`` returning the template to
include and its context (``{"template": ..., **context}``), or None when it has nothing to
show this user. Areas register theirs at import with ``@register(order)``; ``views``
imports every area module, so the page shows them all, in order.
"""

from __future__ import annotations

from collections.abc import Callable

_SECTIONS: list[tuple[int, Callable]] = []


def register(order: int):
    def deco(fn):
        _SECTIONS.append((order, fn))
        _SECTIONS.sort(key=lambda x: x[0])
        return fn

    return deco


def sections_for(request, custody) -> list[dict]:
    out = []
    for _order, fn in _SECTIONS:
        section = fn(request, custody)
        if section:
            out.append(section)
    return out
