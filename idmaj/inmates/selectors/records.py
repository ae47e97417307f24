"""Reads of the registry's records area: admission alerts, family and contacts, personal
property, notices to the family.

Everything here is reached through a custody period the caller may see
(``get_custody_for_user_or_404``), except the admission alerts, which are scoped on the
institutions where the caller holds ``inmates.alerts``. Reading the family list is a read
of third parties' personal data: ``family_member_list`` records it in the audit trail.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError
from idmaj.core.scoping import access_for

from ..constants import CustodyStatus
from ..models import AdmissionAlert, AdmissionNotice, CustodyPeriod, FamilyMember, PropertyItem

__all__ = [
    "admission_alert_list",
    "get_admission_alert_for_user_or_404",
    "family_member_list",
    "get_family_member_for_user_or_404",
    "property_item_list",
    "get_property_item_for_user_or_404",
    "admission_notice_list",
    "may_see_admission_findings",
    "may_keep_records",
]

ALERTS = "inmates.alerts"
# Who may read the injuries and complaint recorded at admission (Mandela rule 7): those who
# record them, correct the record, or act on the alert.
FINDINGS_READERS = ("inmates.admit", "inmates.edit", ALERTS)


def _key(value) -> uuid_lib.UUID:
    try:
        return value if isinstance(value, uuid_lib.UUID) else uuid_lib.UUID(str(value))
    except ValueError as exc:
        raise Http404 from exc


def may_see_admission_findings(user, custody: CustodyPeriod) -> bool:
    """Whether ``user`` may read the injuries and complaint recorded at the admission of
    ``custody`` (the custody period itself was fetched through the scoped helper)."""
    access = access_for(user)
    return any(access.has_perm(code, custody.facility_id) for code in FINDINGS_READERS)


def may_keep_records(user, custody: CustodyPeriod) -> bool:
    """Whether ``user`` may add to the record of ``custody`` (family, property, notices):
    ``inmates.admit`` or ``inmates.edit`` at its institution, while the person is held
    there. The services decide; pages use this to offer the forms."""
    if custody.status != CustodyStatus.IN_CUSTODY:
        return False
    access = access_for(user)
    return access.has_perm("inmates.admit", custody.facility_id) or access.has_perm(
        "inmates.edit", custody.facility_id
    )


# -- admission alerts ------------------------------------------------------------------------
def admission_alert_list(*, fetched_by, open_only: bool = False) -> QuerySet[AdmissionAlert]:
    """Admission alerts of the institutions where the user holds ``inmates.alerts``: open
    ones first, then acknowledged ones; most recent first within each."""
    access = access_for(fetched_by)
    qs = access.filter(AdmissionAlert.objects.all())
    allowed = access.perm_facility_ids(ALERTS)
    if allowed is not None:
        qs = qs.filter(facility_id__in=allowed)
    if open_only:
        qs = qs.filter(acknowledged_at__isnull=True)
    return qs.select_related("custody", "custody__person", "facility", "acknowledged_by").order_by(
        Case(
            When(acknowledged_at__isnull=True, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "-raised_at",
        "-pk",
    )


def get_admission_alert_for_user_or_404(*, user, uuid) -> AdmissionAlert:
    """One alert by UUID: 404 alike for missing, malformed and not the user's."""
    obj = admission_alert_list(fetched_by=user).filter(uuid=_key(uuid)).first()
    if obj is None:
        raise Http404
    return obj


# -- family and contacts ---------------------------------------------------------------------
def _require_current(custody: CustodyPeriod) -> None:
    if custody.status != CustodyStatus.IN_CUSTODY:
        raise ConflictError(
            "not_in_custody",
            _("Family and contacts are shown while the person is in custody here."),
        )


def family_member_list(*, fetched_by, custody: CustodyPeriod) -> list[FamilyMember]:
    """The family and contacts of the person held under ``custody`` (fetched through the
    scoped helper), and one ``read`` entry in the audit trail on the institution's chain.

    Shown only while the person is in custody there (409 ``not_in_custody`` otherwise): an
    institution the person has left no longer reads the family's current details.
    """
    _require_current(custody)
    members = list(FamilyMember.objects.filter(person_id=custody.person_id).order_by("pk"))
    audit.record_read(
        actor=fetched_by,
        obj=custody.person,
        facility_id=custody.facility_id,
        verb="family_members",
    )
    return members


def get_family_member_for_user_or_404(*, user, custody: CustodyPeriod, uuid) -> FamilyMember:
    """One family member of the person of ``custody`` (fetched through the scoped helper),
    while in custody there; 404 when missing or someone else's."""
    if custody.status != CustodyStatus.IN_CUSTODY:
        raise Http404
    obj = FamilyMember.objects.filter(person_id=custody.person_id, uuid=_key(uuid)).first()
    if obj is None:
        raise Http404
    return obj


# -- personal property -----------------------------------------------------------------------
def property_item_list(*, fetched_by, custody: CustodyPeriod) -> QuerySet[PropertyItem]:
    """The property of the detention of ``custody`` (fetched through the scoped helper).

    Items follow the prisoner on transfer; for a custody period that has ended here, the
    list stops at the items received before it ended (the institution the person left does
    not follow the current file)."""
    qs = PropertyItem.objects.filter(detention_id=custody.detention_id).select_related("facility")
    if custody.released_at is not None:
        qs = qs.filter(received_at__lte=custody.released_at)
    return qs.order_by("pk")


def get_property_item_for_user_or_404(*, user, custody: CustodyPeriod, uuid) -> PropertyItem:
    obj = property_item_list(fetched_by=user, custody=custody).filter(uuid=_key(uuid)).first()
    if obj is None:
        raise Http404
    return obj


# -- notices to the family -------------------------------------------------------------------
def admission_notice_list(
    *, fetched_by, custody: CustodyPeriod, record_read: bool = True
) -> list[AdmissionNotice]:
    """How the family was told of this admission (custody fetched through the scoped
    helper), most recent first. When a notice names a family member, the read is recorded
    in the audit trail (``record_read=False`` when the caller has just recorded the read of
    the family list for the same page)."""
    notices = list(
        AdmissionNotice.objects.filter(custody_id=custody.pk)
        .select_related("family_member", "notification", "recorded_by")
        .order_by("-notified_at", "-pk")
    )
    if record_read and any(n.family_member_id for n in notices):
        audit.record_read(
            actor=fetched_by,
            obj=custody.person,
            facility_id=custody.facility_id,
            verb="admission_notices",
        )
    return notices
