"""Reads of the core domain that depend on who asks."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from .constants import ScopeLevel
from .errors import PermissionDenied
from .models import AuditEntry, RoleAssignment, User
from .scoping import AccountScope, access_for, account_scope


def audit_entry_list(
    *,
    fetched_by,
    actor: str = "",
    facility_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """The audit trail as the user may read it: auditors see the institutions they cover."""
    access = access_for(fetched_by)
    ids = access.perm_facility_ids("audit.view")
    if ids is not None and not ids:
        raise Http404
    qs = AuditEntry.objects.all()
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    if actor:
        qs = qs.filter(Q(actor_username__iexact=actor))
    if facility_id:
        qs = qs.filter(facility_id=facility_id)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    return qs.order_by("-at", "-id")


def record_history(*, fetched_by, object_type: str, object_id: str) -> list[dict]:
    """Who changed which field when, for one record (read from the audit trail).

    The caller has already fetched the record through its domain's scoped helper, so the
    history is that record's and needs no further scoping.
    """
    from .audit import changed_fields

    entries = AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id))
    out = []
    for e in entries.exclude(action=AuditEntry.Action.READ).order_by("at", "id"):
        out.append({"entry": e, "changes": changed_fields(e.before, e.after)})
    return out


# -- staff accounts ----------------------------------------------------------------------------
def _account_scope_or_403(user) -> AccountScope:
    """Staff accounts are an administrators' function: others are refused (403), whatever
    account they ask for, so that the answer says nothing about which accounts exist."""
    scope = account_scope(user)
    if scope is None:
        raise PermissionDenied("forbidden", _("You are not allowed to do this here."))
    return scope


def _with_assignments(qs: QuerySet[User]) -> QuerySet[User]:
    return qs.prefetch_related(
        Prefetch(
            "assignments",
            queryset=RoleAssignment.objects.select_related("role", "region", "facility").order_by(
                "role__code", "level", "region__code", "facility__code"
            ),
        )
    )


def user_list(
    *,
    fetched_by,
    q: str = "",
    role: str = "",
    facility=None,
    region=None,
    active: bool | None = None,
) -> QuerySet[User]:
    """The staff accounts ``fetched_by`` may manage, with their role assignments.

    ``q`` looks in the user name, the names and the e-mail; ``role`` (a role code),
    ``facility`` and ``region`` keep the users holding such an assignment (the same one when
    combined): ``facility`` an assignment for that institution, ``region`` one for that
    regional directorate or for one of its institutions. ``active`` True or False keeps the
    active or the deactivated accounts.
    """
    scope = _account_scope_or_403(fetched_by)
    qs = scope.users(User.objects.all())
    q = (q or "").strip()
    if q:
        qs = qs.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(full_name_ar__icontains=q)
            | Q(email__icontains=q)
        )
    held = Q()
    if role:
        held &= Q(role__code=role)
    if facility is not None:
        held &= Q(level=ScopeLevel.FACILITY, facility=facility)
    if region is not None:
        held &= Q(level=ScopeLevel.REGION, region=region) | Q(
            level=ScopeLevel.FACILITY, facility__region=region
        )
    if held:
        qs = qs.filter(Exists(RoleAssignment.objects.filter(held, user=OuterRef("pk"))))
    if active is not None:
        qs = qs.filter(is_active=active)
    return _with_assignments(qs).order_by("username")


def get_user_for_admin_or_404(*, fetched_by, username: str) -> User:
    """One account for its administrator: 403 for a user who manages no account at all, 404
    alike for a missing account and one outside the administrator's scope."""
    scope = _account_scope_or_403(fetched_by)
    user = _with_assignments(scope.users(User.objects.filter(username=username))).first()
    if user is None:
        raise Http404
    return user


def user_lockout_state(*, username: str) -> dict:
    """A user name's failed sign-ins (django-axes, per address) and whether they lock it out
    now. Shown on the account's page, which only its administrators reach."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.utils import timezone

    attempts = list(AccessAttempt.objects.filter(username=username).order_by("-attempt_time"))
    cool_off = get_cool_off()
    now = timezone.now()
    locked = any(
        a.failures_since_start >= settings.AXES_FAILURE_LIMIT
        and (cool_off is None or a.attempt_time + cool_off > now)
        for a in attempts
    )
    return {"attempts": attempts, "locked": locked, "limit": settings.AXES_FAILURE_LIMIT}
