"""Dashboard widgets of the facilities domain (registered in ``FacilitiesConfig.ready``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from idmaj.core.dashboard import register
from idmaj.core.scoping import access_for

from . import selectors
from .constants import FacilityStatus


@register(100)
def capacity_widget(request) -> dict | None:
    """Institutions, those operating and their beds today, over what the user sees:
    the whole country, a regional directorate or one institution."""
    access = access_for(request.user)
    if not access.has_perm("facilities.view"):
        return None
    report = selectors.capacity_at(fetched_by=request.user, on=timezone.localdate())
    rows = report["facilities"]
    nation = report["nation"]
    widget = {
        "template": "facilities/_widget_capacity.html",
        "institutions": nation["facilities"],
        "operating": sum(1 for r in rows if r["status"] == FacilityStatus.OPERATING),
        "beds": nation["beds"],
        "occupancy": nation["occupancy"],
        "url": reverse("facilities:capacity"),
        "link_label": _("Capacity by regional directorate"),
    }
    if access.is_national:
        widget["title"] = _("National capacity")
    elif len(rows) == 1:
        facility = rows[0]["facility"]
        widget["title"] = _("Capacity of the institution")
        widget["subtitle"] = facility.name
        widget["url"] = reverse("facilities:detail", args=[facility.code])
        widget["link_label"] = _("Open the institution")
    else:
        regions = report["regions"]
        widget["title"] = _("Regional capacity")
        widget["subtitle"] = ", ".join(r["region"].name for r in regions)
        if len(regions) == 1:
            widget["url"] += f"?region={regions[0]['region'].code}"
            widget["link_label"] = _("Institutions of the regional directorate")
    return widget
