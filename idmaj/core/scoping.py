"""The one scoping rule: a user sees the institutions their roles cover.

``access_for(user)`` reads the user's role assignments once per request and answers two
questions that every domain asks:

* which institutions may this user see at all (``facility_ids`` / ``filter(qs)``);
* does this user hold permission ``code`` for institution ``facility_id``.

Every domain's ``visible_to(user)`` queryset method and ``get_<x>_for_user_or_404`` helper
goes through here, so that a record outside the user's scope answers 404 like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from .constants import ScopeLevel
from .roles import ALL, ROLES

_STAR_ROLES = frozenset(code for code, spec in ROLES.items() if ALL in spec["permissions"])


@dataclass
class _Grant:
    national: bool = False
    region_ids: set[int] = field(default_factory=set)
    facility_ids: set[int] = field(default_factory=set)

    def add(self, level: str, region_id: int | None, facility_id: int | None) -> None:
        if level == ScopeLevel.NATIONAL:
            self.national = True
        elif level == ScopeLevel.REGION and region_id:
            self.region_ids.add(region_id)
        elif level == ScopeLevel.FACILITY and facility_id:
            self.facility_ids.add(facility_id)


class Access:
    """What one user may see and do, computed from their role assignments."""

    def __init__(self, user, today: date | None = None):
        self.user = user
        self.roles: set[str] = set()
        self.read_only = True
        self._visible = _Grant()
        self._by_perm: dict[str, _Grant] = {}
        self._facility_ids: frozenset[int] | None = None
        if not (user and user.is_authenticated and user.is_active):
            return
        today = today or timezone.localdate()
        RoleAssignment = apps.get_model("core", "RoleAssignment")
        rows = (
            RoleAssignment.objects.filter(user=user)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
            .select_related("role")
            .prefetch_related("role__permissions")
        )
        for a in rows:
            self.roles.add(a.role.code)
            if not a.role.read_only:
                self.read_only = False
            self._visible.add(a.level, a.region_id, a.facility_id)
            for p in a.role.permissions.all():
                self._by_perm.setdefault(p.code, _Grant()).add(a.level, a.region_id, a.facility_id)
            if a.role.code in _STAR_ROLES:
                # "*": every permission, also one declared after the last ``sync_roles``
                self._by_perm.setdefault(ALL, _Grant()).add(a.level, a.region_id, a.facility_id)
        if user.is_superuser:
            self.roles.add("system_admin")
            self._visible.national = True
            self.read_only = False
            self._by_perm.setdefault(ALL, _Grant()).national = True

    # -- institutions ---------------------------------------------------------------------
    @property
    def is_national(self) -> bool:
        return self._visible.national

    def _resolve(self, grant: _Grant) -> frozenset[int] | None:
        """Facility ids of a grant; ``None`` means every institution."""
        if grant.national:
            return None
        ids = set(grant.facility_ids)
        if grant.region_ids:
            Facility = apps.get_model("facilities", "Facility")
            ids.update(
                Facility.objects.filter(region_id__in=grant.region_ids).values_list("id", flat=True)
            )
        return frozenset(ids)

    def facility_ids(self) -> frozenset[int] | None:
        """The institutions this user sees (``None``: all of them)."""
        if self._facility_ids is None and not self._visible.national:
            self._facility_ids = self._resolve(self._visible)
        return None if self._visible.national else self._facility_ids

    def filter(self, qs: QuerySet, field_name: str = "facility_id") -> QuerySet:
        """Restrict an institution-scoped queryset to what this user sees."""
        ids = self.facility_ids()
        if ids is None:
            return qs
        return qs.filter(**{f"{field_name}__in": ids})

    def sees_facility(self, facility_id: int | None) -> bool:
        ids = self.facility_ids()
        return ids is None or facility_id in ids

    # -- permissions ----------------------------------------------------------------------
    def has_perm(self, code: str, facility_id: int | None = None) -> bool:
        """Whether a role covering ``facility_id`` (or any, when None) grants ``code``."""
        for key in (code, ALL):
            grant = self._by_perm.get(key)
            if grant is None:
                continue
            if facility_id is None or grant.national:
                return True
            if facility_id in grant.facility_ids:
                return True
            if grant.region_ids:
                ids = self._resolve(grant)
                if ids is None or facility_id in ids:
                    return True
        return False

    def perm_grant(self, code: str) -> tuple[bool, frozenset[int], frozenset[int]] | None:
        """Where the user holds ``code``: (nationally, regional directorates, institutions
        named one by one); ``None`` when nowhere."""
        grants = [g for k, g in self._by_perm.items() if k in (code, ALL)]
        if not grants:
            return None
        return (
            any(g.national for g in grants),
            frozenset().union(*(g.region_ids for g in grants)),
            frozenset().union(*(g.facility_ids for g in grants)),
        )

    def perm_facility_ids(self, code: str) -> frozenset[int] | None:
        """Institutions for which the user holds ``code`` (``None``: all)."""
        grants = [g for k, g in self._by_perm.items() if k in (code, ALL)]
        if any(g.national for g in grants):
            return None
        ids: set[int] = set()
        for g in grants:
            ids |= self._resolve(g) or set()
        return frozenset(ids)


@dataclass(frozen=True)
class AccountScope:
    """Whose staff accounts a holder of ``accounts.manage`` may manage.

    A national holder manages everyone. A holder for some regional directorates or
    institutions manages the users who are not superusers and whose every role assignment
    (current, past or future) lies within: a regional assignment for one of the holder's
    directorates, an institution assignment for one of the holder's institutions (those of
    the holder's directorates included). A user holding no role at all lies within every
    scope. A role can be given only for a scope that lies within too.
    """

    national: bool
    region_ids: frozenset[int] = frozenset()
    facility_ids: frozenset[int] = frozenset()

    def covers(self, level: str, region_id: int | None, facility_id: int | None) -> bool:
        """Whether an assignment at this level and place lies within the scope."""
        if self.national:
            return True
        if level == ScopeLevel.REGION:
            return region_id in self.region_ids
        if level == ScopeLevel.FACILITY:
            return facility_id in self.facility_ids
        return False

    def outside(self) -> Q:
        """Role assignments that do not lie within the scope."""
        return (
            Q(level=ScopeLevel.NATIONAL)
            | (Q(level=ScopeLevel.REGION) & ~Q(region_id__in=self.region_ids))
            | (Q(level=ScopeLevel.FACILITY) & ~Q(facility_id__in=self.facility_ids))
        )

    def users(self, qs: QuerySet) -> QuerySet:
        """Restrict a queryset of users to those this scope manages."""
        if self.national:
            return qs
        RoleAssignment = apps.get_model("core", "RoleAssignment")
        foreign = RoleAssignment.objects.filter(user=OuterRef("pk")).filter(self.outside())
        return qs.filter(is_superuser=False).exclude(Exists(foreign))

    def manages(self, user) -> bool:
        if self.national:
            return True
        if user.is_superuser:
            return False
        return not user.assignments.filter(self.outside()).exists()


MANAGE_ACCOUNTS = "accounts.manage"


def account_scope(user) -> AccountScope | None:
    """Whose accounts ``user`` may manage; ``None`` when they hold no ``accounts.manage``.
    ``user=None`` is the system itself (demo data, commands): it manages everyone."""
    if user is None:
        return AccountScope(national=True)
    access = access_for(user)
    if not hasattr(access, "_account_scope"):  # once per request, like the access itself
        access._account_scope = _account_scope(access)
    return access._account_scope


def _account_scope(access: Access) -> AccountScope | None:
    grant = access.perm_grant(MANAGE_ACCOUNTS)
    if grant is None:
        return None
    national, region_ids, facility_ids = grant
    if national:
        return AccountScope(national=True)
    ids = set(facility_ids)
    if region_ids:
        Facility = apps.get_model("facilities", "Facility")
        ids.update(Facility.objects.filter(region_id__in=region_ids).values_list("id", flat=True))
    return AccountScope(national=False, region_ids=region_ids, facility_ids=frozenset(ids))


def access_for(user) -> Access:
    """The ``Access`` of a user, computed once and kept on the user object for the request."""
    cached = getattr(user, "_idmaj_access", None)
    if cached is None:
        cached = Access(user)
        try:
            user._idmaj_access = cached
        except AttributeError:  # AnonymousUser may refuse attributes in some setups
            pass
    return cached


def require_perm(user, code: str, facility_id: int | None = None) -> None:
    """Raise 404 when the user lacks ``code`` there: not ours looks like missing."""
    if not access_for(user).has_perm(code, facility_id):
        raise Http404


def get_for_user_or_404(qs: QuerySet, user, field_name: str = "facility_id", **lookup):
    """One object of an institution-scoped queryset, 404 alike for missing and not yours."""
    obj = access_for(user).filter(qs, field_name).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj
