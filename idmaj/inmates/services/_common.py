"""Helpers shared by the registry's services (not part of the public service API)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core.constants import ScopeLevel
from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import RoleAssignment, User
from idmaj.core.roles import ALL, ROLES
from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility

from ..constants import CustodyStatus
from ..models import CustodyPeriod

# The permission of those alerted when something grave happens to a prisoner (injuries or
# ill-treatment seen at admission, escape, death): the institution's director.
ALERT_PERMISSION = "inmates.alerts"
# Roles granting every permission (system administrators) are not alerted: they would get a
# message for every institution of the country.
_STAR_ROLES = tuple(code for code, spec in ROLES.items() if ALL in spec["permissions"])

# A moment entered by an officer may run this much ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)


def require_perm(actor, perm_code: str, facility_id: int) -> None:
    """``PermissionDenied`` unless ``actor`` holds ``perm_code`` for the institution;
    ``actor=None`` is the system itself (imports, demo data) and may do anything."""
    if actor is None:
        return
    if not access_for(actor).has_perm(perm_code, facility_id):
        raise PermissionDenied("forbidden", _("You are not allowed to do this here."))


def clean_or_raise(
    obj: models.Model, *, exclude: list[str] | None = None, validate_constraints: bool = True
) -> None:
    """``full_clean`` with Django's ValidationError turned into a DomainError (first field)."""
    try:
        obj.full_clean(exclude=exclude, validate_constraints=validate_constraints)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            name, errors = next(iter(exc.error_dict.items()))
            first = errors[0]
            code = "duplicate" if first.code in ("unique", "unique_together") else "invalid"
            raise DomainError(
                code, " ".join(first.messages), field=None if name == NON_FIELD_ERRORS else name
            ) from exc
        raise DomainError("invalid", " ".join(exc.messages)) from exc


def aware(moment: datetime) -> datetime:
    """``moment`` as an aware datetime (naive means the server's local time)."""
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def not_in_future(moment: datetime, *, field: str) -> datetime:
    """``moment`` made aware; a DomainError on ``field`` when it lies in the future."""
    moment = aware(moment)
    if moment > timezone.now() + CLOCK_SKEW:
        raise DomainError("invalid", _("This date and time cannot be in the future."), field=field)
    return moment


def lock_open_custody(custody: CustodyPeriod) -> CustodyPeriod:
    """Re-read ``custody`` under a row lock (inside the caller's ``transaction.atomic``) and
    refuse (409 ``not_in_custody``) when the person is no longer held under it: released,
    transferred, escaped or dead since the page was shown. Two officers acting on the same
    prisoner at once are serialised here."""
    locked = (
        CustodyPeriod.objects.select_for_update(of=("self",))
        .select_related("person", "facility", "detention")
        .get(pk=custody.pk)
    )
    if locked.status != CustodyStatus.IN_CUSTODY:
        raise ConflictError(
            "not_in_custody",
            _("This person is no longer in custody here (%(status)s).")
            % {"status": locked.get_status_display()},
        )
    return locked


def alert_recipients(facility: Facility) -> list[User]:
    """Active users holding ``inmates.alerts`` for ``facility`` today, through a role held
    for that institution, its regional directorate or nationally (roles granting "*" left
    out, see ``_STAR_ROLES``)."""
    today = timezone.localdate()
    user_ids = (
        RoleAssignment.objects.filter(role__permissions__code=ALERT_PERMISSION)
        .exclude(role__code__in=_STAR_ROLES)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .filter(
            Q(level=ScopeLevel.FACILITY, facility_id=facility.pk)
            | Q(level=ScopeLevel.REGION, region_id=facility.region_id)
            | Q(level=ScopeLevel.NATIONAL)
        )
        .values("user_id")
    )
    return list(User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk"))
