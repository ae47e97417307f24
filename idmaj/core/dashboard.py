"""The home dashboard: each domain registers widgets, shown to the users who may see them.

A widget is a function ``(request) -> dict | None`` returning ``{"title", "template",
...context}``; it returns None when it has nothing for this user. Domains register theirs in
``AppConfig.ready`` with ``register``.
"""

from __future__ import annotations

from collections.abc import Callable

_WIDGETS: list[tuple[int, Callable]] = []


def register(order: int):
    def deco(fn):
        _WIDGETS.append((order, fn))
        _WIDGETS.sort(key=lambda x: x[0])
        return fn

    return deco


def widgets_for(request) -> list[dict]:
    out = []
    for _order, fn in _WIDGETS:
        w = fn(request)
        if w:
            out.append(w)
    return out
