"""The visits section of the registry's custody record page: how many visitors are on the
prisoner's list, requests awaiting a decision, restrictions in force, and the link to the
list. Shown to users holding ``visits.view`` at the institution, while the person is in
custody there. Registered at import (``VisitsConfig.ready`` imports this module)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from idmaj.core.scoping import access_for
from idmaj.inmates import sections
from idmaj.inmates.constants import CustodyStatus

from .constants import RequestStatus, VisitorStatus
from .models import Visitor, VisitorRequest, VisitorRestriction
from .selectors.lists import active_restriction_q, policy_or_default


@sections.register(70)
def visits_section(request, custody) -> dict | None:
    if custody.status != CustodyStatus.IN_CUSTODY:
        return None
    if not access_for(request.user).has_perm("visits.view", custody.facility_id):
        return None
    counts = Visitor.objects.filter(detention_id=custody.detention_id).aggregate(
        approved=Count("pk", filter=Q(status=VisitorStatus.APPROVED)),
    )
    pending = VisitorRequest.objects.filter(
        detention_id=custody.detention_id, status=RequestStatus.PENDING
    ).count()
    restricted = (
        VisitorRestriction.objects.filter(
            visitor__detention_id=custody.detention_id,
            visitor__status=VisitorStatus.APPROVED,
        )
        .filter(active_restriction_q(timezone.localdate()))
        .values("visitor_id")
        .distinct()
        .count()
    )
    return {
        "template": "visits/lists/_section.html",
        "custody": custody,
        "approved": counts["approved"],
        "pending": pending,
        "restricted": restricted,
        "max_size": policy_or_default(custody.facility).max_list_size,
    }
