"""Rate limits of the family portal (registration, sign-in, codes, booking).

``hit(scope, key)`` counts one attempt in a fixed window and raises ``RateLimited`` (a
``DomainError``, HTTP 429) once the limit of ``settings.PORTAL_RATE_LIMITS[scope]`` is
passed, with the number of minutes to wait. Counts live in the cache: Redis in production
(shared by every worker), the process's memory in the embedded default.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from idmaj.core.errors import DomainError


class RateLimited(DomainError):
    status = 429


def client_address(request) -> str:
    """The client's address (behind the reverse proxy of production: its first hop)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "USE_X_FORWARDED_FOR", False):
        return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(scope: str, key: str, *, limits: dict | None = None) -> None:
    """Count one attempt of ``scope`` (e.g. ``"signin:phone"``) for ``key``."""
    if not settings.PORTAL_RATE_LIMITS_ON or not key:
        return
    limit, period = (limits or settings.PORTAL_RATE_LIMITS)[scope]
    now = time.time()
    window = int(now // period)
    digest = hashlib.sha256(f"{scope}|{key}".encode()).hexdigest()[:32]
    cache_key = f"rl:{scope}:{digest}:{window}"
    if cache.add(cache_key, 1, timeout=period + 5):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=period + 5)
            count = 1
    if count > limit:
        wait = max(1, math.ceil(((window + 1) * period - now) / 60))
        raise RateLimited(
            "rate_limited",
            _("Too many attempts. Try again in %(wait)s.")
            % {"wait": ngettext("%(n)d minute", "%(n)d minutes", wait) % {"n": wait}},
        )
