"""What every page of the family portal needs in its context.

The portal's base template (``visits/portal/base.html``) shows the navigation when ``family``
(the signed-in ``FamilyAccount``) is set: portal views build their context with
``portal_context(request)`` (``render(request, t, {**portal_context(request), ...})``).
"""

from __future__ import annotations

from .portal_auth import current_family


def portal_context(request) -> dict:
    return {"family": current_family(request)}
