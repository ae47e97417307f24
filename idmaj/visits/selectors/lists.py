"""Reads of visitor lists: the officers' queue of requests and the lists of their
institutions; the family's own prisoners and requests; active restrictions.

Staff reads are scoped on each row's ``facility_id`` with ``visits.view``; single objects
answer 404 alike for missing and out of scope. A family reaches only its own approved adult
entries (``Visitor`` with its account) whose prisoner is in custody now, and its own
requests: any other identifier answers 404.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import get_language

from idmaj.core import audit
from idmaj.core.scoping import access_for
from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.models import CustodyPeriod

from ..constants import RequestStatus, VisitorStatus
from ..models import FamilyAccount, Visitor, VisitorRequest, VisitorRestriction, VisitPolicy

__all__ = [
    "FamilyPrisoner",
    "active_restriction_q",
    "custody_for_visits_or_404",
    "family_pending_children",
    "family_prisoners",
    "family_requests",
    "get_family_prisoner_or_404",
    "get_family_request_or_404",
    "get_restriction_for_user_or_404",
    "get_visitor_for_user_or_404",
    "get_visitor_request_for_user_or_404",
    "person_name",
    "policy_or_default",
    "restrictions_active_for",
    "visitor_active_restrictions",
    "visitor_list_for_custody",
    "visitor_request_document_response",
    "visitor_request_list",
    "visitor_restriction_list",
]

VIEW = "visits.view"


def _key(value) -> uuid_lib.UUID:
    try:
        return value if isinstance(value, uuid_lib.UUID) else uuid_lib.UUID(str(value))
    except ValueError as exc:
        raise Http404 from exc


def _scoped(qs: QuerySet, user, perm: str = VIEW) -> QuerySet:
    access = access_for(user)
    qs = access.filter(qs)
    allowed = access.perm_facility_ids(perm)
    if allowed is not None:
        qs = qs.filter(facility_id__in=allowed)
    return qs


def person_name(person) -> str:
    """A person's name in the script of the active language (the other one when missing)."""
    if person is None:
        return ""
    ar, latin = person.full_name_ar, person.full_name_latin
    if (get_language() or "ar")[:2] == "ar":
        return ar or latin
    return latin or ar


def policy_or_default(facility) -> VisitPolicy:
    """The institution's visit rules for display; the defaults (not saved) when none."""
    policy = VisitPolicy.objects.filter(facility_id=facility.pk).first()
    return policy if policy is not None else VisitPolicy(facility=facility)


# -- restrictions ------------------------------------------------------------------------------
def active_restriction_q(on: date, prefix: str = "") -> Q:
    """Restrictions in force on ``on``: started, not lifted, not ended (``ends_on`` is the
    last day it applies)."""
    return Q(**{f"{prefix}lifted_at__isnull": True, f"{prefix}starts_on__lte": on}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": on})
    )


def _in_force(r: VisitorRestriction, on: date) -> bool:
    return r.lifted_at is None and r.starts_on <= on and (r.ends_on is None or r.ends_on >= on)


def visitor_active_restrictions(visitor: Visitor, on: date) -> list[VisitorRestriction]:
    """The restrictions of ``visitor`` in force on ``on`` (an ended or lifted one no longer
    applies). Uses the prefetched ``restrictions`` when there are some."""
    cache = getattr(visitor, "_prefetched_objects_cache", {})
    if "restrictions" in cache:
        return [r for r in cache["restrictions"] if _in_force(r, on)]
    return list(
        VisitorRestriction.objects.filter(visitor=visitor)
        .filter(active_restriction_q(on))
        .select_related("child")
    )


def restrictions_active_for(
    visitors: Iterable[Visitor], on: date
) -> dict[int, list[VisitorRestriction]]:
    """Restrictions in force on ``on`` for several visitors at once (one query), by visitor
    id; visitors without any are absent."""
    ids = [v.pk for v in visitors]
    out: dict[int, list[VisitorRestriction]] = {}
    if not ids:
        return out
    for r in VisitorRestriction.objects.filter(visitor_id__in=ids).filter(active_restriction_q(on)):
        out.setdefault(r.visitor_id, []).append(r)
    return out


# -- staff: requests ---------------------------------------------------------------------------
def _committal_number():
    return Subquery(
        CustodyPeriod.objects.filter(
            detention_id=OuterRef("detention_id"), status=CustodyStatus.IN_CUSTODY
        ).values("committal_number")[:1]
    )


def visitor_request_list(
    *, fetched_by, facility=None, status: str | None = None
) -> QuerySet[VisitorRequest]:
    """Requests of the institutions where the user holds ``visits.view``, oldest pending
    first (a queue), then the decided ones, most recent first; each with the prisoner, the
    current committal number and the number of visitors asked for."""
    qs = _scoped(VisitorRequest.objects.all(), fetched_by)
    if facility is not None:
        qs = qs.filter(facility_id=getattr(facility, "pk", facility))
    if status:
        qs = qs.filter(status=status)
    qs = qs.select_related("account", "facility", "detention__person").annotate(
        committal_number=_committal_number(),
        visitor_count=Count("visitors"),
    )
    if status == RequestStatus.PENDING:
        return qs.order_by("created_at", "pk")
    return qs.order_by("-created_at", "-pk")


def get_visitor_request_for_user_or_404(*, user, uuid) -> VisitorRequest:
    obj = (
        _scoped(VisitorRequest.objects.all(), user)
        .select_related("account", "facility", "detention__person", "decided_by")
        .annotate(committal_number=_committal_number())
        .filter(uuid=_key(uuid))
        .first()
    )
    if obj is None:
        raise Http404
    return obj


def visitor_request_document_response(*, fetched_by, request: VisitorRequest) -> FileResponse:
    """The request's supporting document as a download, to a user who may see the request
    (``request`` comes from ``get_visitor_request_for_user_or_404``); the read is audited."""
    if not access_for(fetched_by).has_perm(VIEW, request.facility_id) or not request.document:
        raise Http404
    try:
        fh = request.document.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    audit.record_read(
        actor=fetched_by, obj=request, facility_id=request.facility_id, verb="visitor_document"
    )
    ext = request.document.name.rsplit(".", 1)[-1]
    response = FileResponse(
        fh,
        content_type=request.document_type or "application/octet-stream",
        as_attachment=True,
        filename=f"document-{request.uuid}.{ext}",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- staff: lists and visitors -----------------------------------------------------------------
def custody_for_visits_or_404(*, user, uuid) -> CustodyPeriod:
    """A custody period by UUID for the visits pages: 404 unless the user holds
    ``visits.view`` at its institution."""
    custody = (
        CustodyPeriod.objects.select_related("person", "facility").filter(uuid=_key(uuid)).first()
    )
    if custody is None or not access_for(user).has_perm(VIEW, custody.facility_id):
        raise Http404
    if not access_for(user).sees_facility(custody.facility_id):
        raise Http404
    return custody


def visitor_list_for_custody(*, fetched_by, custody: CustodyPeriod) -> list[Visitor]:
    """Everyone on the prisoner's list (and refused or removed, last), adults each followed
    by their children, with the restrictions (all of them, newest first) prefetched. Two
    queries."""
    on = _scoped(Visitor.objects.filter(detention_id=custody.detention_id), fetched_by)
    rows = list(
        on.select_related("account", "request")
        .prefetch_related(
            Prefetch(
                "restrictions",
                queryset=VisitorRestriction.objects.select_related("child").order_by(
                    "-starts_on", "-pk"
                ),
            )
        )
        .order_by("full_name", "pk")
    )
    rank = {VisitorStatus.APPROVED: 0, VisitorStatus.PENDING: 1}
    adults = [v for v in rows if v.guardian_id is None]
    adults.sort(key=lambda v: (rank.get(v.status, 2), v.full_name.lower()))
    kids: dict[int, list[Visitor]] = {}
    for v in rows:
        if v.guardian_id is not None:
            kids.setdefault(v.guardian_id, []).append(v)
    out: list[Visitor] = []
    for a in adults:
        out.append(a)
        out.extend(kids.pop(a.pk, []))
    for rest in kids.values():  # a child whose adult is out of scope (should not happen)
        out.extend(rest)
    today = timezone.localdate()
    for v in out:
        v.active = [r for r in v.restrictions.all() if _in_force(r, today)]
    return out


def get_visitor_for_user_or_404(*, user, uuid) -> Visitor:
    obj = (
        _scoped(Visitor.objects.all(), user)
        .select_related("account", "guardian", "facility", "request", "detention__person")
        .filter(uuid=_key(uuid))
        .first()
    )
    if obj is None:
        raise Http404
    return obj


def visitor_restriction_list(*, fetched_by, visitor: Visitor) -> QuerySet[VisitorRestriction]:
    """Every restriction of a visitor (history), newest first."""
    return (
        _scoped(VisitorRestriction.objects.filter(visitor=visitor), fetched_by)
        .select_related("child", "created_by")
        .order_by("-starts_on", "-pk")
    )


def get_restriction_for_user_or_404(*, user, uuid) -> VisitorRestriction:
    obj = (
        _scoped(VisitorRestriction.objects.all(), user)
        .select_related("visitor", "child")
        .filter(uuid=_key(uuid))
        .first()
    )
    if obj is None:
        raise Http404
    return obj


# -- family ------------------------------------------------------------------------------------
@dataclass
class FamilyPrisoner:
    """One prisoner a family is approved for, as the portal shows it."""

    adult: Visitor  # the family's own entry on the list: its uuid identifies the prisoner
    custody: CustodyPeriod
    policy: VisitPolicy
    visitors: list[Visitor] = field(default_factory=list)  # the adult, then their children

    @property
    def uuid(self) -> uuid_lib.UUID:
        return self.adult.uuid

    @property
    def person(self):
        return self.custody.person

    @property
    def name(self) -> str:
        return person_name(self.custody.person)

    @property
    def facility(self):
        return self.custody.facility

    @property
    def detention_id(self) -> int:
        return self.custody.detention_id

    def _localised(self, base: str) -> str:
        ar, fr = getattr(self.policy, f"{base}_ar"), getattr(self.policy, f"{base}_fr")
        if (get_language() or "ar")[:2] == "ar":
            return ar or fr
        return fr or ar

    @property
    def rules(self) -> str:
        return self._localised("rules")

    @property
    def allowed_items(self) -> str:
        return self._localised("allowed_items")


def _family_prisoners(account: FamilyAccount, uuid=None) -> list[FamilyPrisoner]:
    adults_qs = Visitor.objects.filter(
        account=account, guardian__isnull=True, status=VisitorStatus.APPROVED
    )
    if uuid is not None:
        adults_qs = adults_qs.filter(uuid=uuid)
    adults = list(adults_qs.order_by("created_at", "pk"))
    if not adults:
        return []
    custodies = {
        c.detention_id: c
        for c in CustodyPeriod.objects.filter(
            detention_id__in={a.detention_id for a in adults}, status=CustodyStatus.IN_CUSTODY
        ).select_related("person", "facility", "facility__visit_policy")
    }
    adults = [a for a in adults if a.detention_id in custodies]
    if not adults:
        return []
    children: dict[int, list[Visitor]] = {}
    for child in Visitor.objects.filter(
        guardian_id__in=[a.pk for a in adults], status=VisitorStatus.APPROVED
    ).order_by("full_name", "pk"):
        children.setdefault(child.guardian_id, []).append(child)
    out = []
    for a in adults:
        custody = custodies[a.detention_id]
        facility = custody.facility
        try:
            policy = facility.visit_policy
        except VisitPolicy.DoesNotExist:
            policy = VisitPolicy(facility=facility)  # the defaults, not saved
        out.append(
            FamilyPrisoner(
                adult=a, custody=custody, policy=policy, visitors=[a, *children.get(a.pk, [])]
            )
        )
    return out


def family_prisoners(*, account: FamilyAccount) -> list[FamilyPrisoner]:
    """The prisoners a family is approved for and who are in custody now: the family's own
    adult entry, the current custody, institution and rules, and the approved children who
    come with them. Three queries."""
    return _family_prisoners(account)


def get_family_prisoner_or_404(*, account: FamilyAccount, uuid) -> FamilyPrisoner:
    """One of them by the family's own ``Visitor.uuid``: 404 for anything else (someone
    else's entry, a child's, a request's, a prisoner's own identifiers)."""
    found = _family_prisoners(account, uuid=_key(uuid))
    if not found:
        raise Http404
    return found[0]


def family_pending_children(*, account: FamilyAccount, adult: Visitor) -> list[Visitor]:
    """Children the family added to its own entry that await the officer's decision."""
    if adult.account_id != account.pk:
        return []
    return list(
        Visitor.objects.filter(guardian=adult, status=VisitorStatus.PENDING).order_by("full_name")
    )


def family_requests(*, account: FamilyAccount) -> QuerySet[VisitorRequest]:
    """The family's own requests, newest first, with the prisoner and institution."""
    return (
        VisitorRequest.objects.filter(account=account)
        .select_related("facility", "detention__person")
        .annotate(committal_number=_committal_number(), visitor_count=Count("visitors"))
        .order_by("-created_at", "-pk")
    )


def get_family_request_or_404(*, account: FamilyAccount, uuid) -> VisitorRequest:
    obj = family_requests(account=account).filter(uuid=_key(uuid)).first()
    if obj is None:
        raise Http404
    return obj
