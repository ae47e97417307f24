"""Helpers of the changes and retention tests: bookings made through the booking service,
past bookings made directly, registry movements with real arguments, the SMS outbox."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from idmaj.core.models import AuditEntry, Notification
from idmaj.inmates.constants import DetentionEnd
from idmaj.inmates.services import (
    inmate_death_record,
    inmate_escape_record,
    inmate_release,
    inmate_transfer,
)

from ..constants import BookingChannel, BookingStatus
from ..models import AllowanceCounter, Booking, BookingVisitor, Visitor, VisitSession
from ..services import visit_book
from ..services._common import week_start
from .factories import session_at

ALL_TICKED = [
    "identity_verified",
    "order_checked",
    "no_other_detention_order",
    "property_returned",
    "documents_handed_over",
]


def ago(**kw) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kw)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def book(vs, session, visitors=None, *, account=None, actor=None, channel="online"):
    """A booking through ``services.visit_book`` (the family's when ``account`` is given)."""
    visitors = visitors if visitors is not None else [vs.adult, vs.child]
    if actor is not None:
        channel = channel if channel != "online" else BookingChannel.DESK
        return visit_book(
            session=session,
            detention=vs.custody.detention,
            visitors=visitors,
            actor=actor,
            channel=channel,
        )
    return visit_book(
        session=session,
        detention=vs.custody.detention,
        visitors=visitors,
        account=account or vs.account,
    )


def past_booking(vs, *, days_ago=7, status=BookingStatus.COMPLETED, visitors=None) -> Booking:
    """A visit that already took place (made directly: the service books the future only)."""
    today = timezone.localdate()
    session = session_at(vs.room, today - dt.timedelta(days=days_ago))
    visitors = visitors if visitors is not None else [vs.adult, vs.child]
    booking = Booking.objects.create(
        facility_id=vs.facility.pk,
        session=session,
        detention_id=vs.custody.detention_id,
        custody=vs.custody,
        account=vs.account,
        channel=BookingChannel.ONLINE,
        status=status,
        week_start=week_start(session.date),
        adults=sum(1 for v in visitors if v.guardian_id is None),
        children=sum(1 for v in visitors if v.guardian_id is not None),
    )
    BookingVisitor.objects.bulk_create(
        [
            BookingVisitor(
                booking=booking,
                visitor=v,
                facility_id=vs.facility.pk,
                is_child=v.guardian_id is not None,
            )
            for v in visitors
        ]
    )
    VisitSession.objects.filter(pk=session.pk).update(
        booked_visits=1, booked_visitors=len(visitors)
    )
    return booking


def transfer(vs, *, actor=None, to=None):
    return inmate_transfer(
        actor=actor or vs.director,
        custody=vs.custody,
        to_facility=to or vs.other_facility,
        at=ago(hours=2),
        reason="Rapprochement familial",
        escort="Gendarmerie royale",
        authority_reference="DGAPR/T/2026/118",
    )


def release(vs, *, actor=None):
    return inmate_release(
        actor=actor or vs.director,
        custody=vs.custody,
        reason=DetentionEnd.ACQUITTAL,
        at=ago(hours=1),
        authority="Tribunal de première instance d'Oujda",
        decision_reference="JUG-2026-55",
        checklist=ALL_TICKED,
        note="",
    )


def _incident(**extra):
    return {
        "occurred_at": ago(hours=2),
        "place": "Cour de promenade",
        "circumstances": "Constaté à l'appel.",
        "authority_notified": "Procureur du Roi près le TPI d'Oujda",
        "authority_notified_at": ago(hours=1),
        **extra,
    }


def escape(vs):
    return inmate_escape_record(actor=vs.director, custody=vs.custody, **_incident())


def death(vs):
    return inmate_death_record(
        actor=vs.director,
        custody=vs.custody,
        **_incident(
            cause="Arrêt cardiaque apparent",
            family_notified_at=ago(minutes=30),
            investigation_reference="ENQ-2026-12",
            autopsy_requested=True,
        ),
    )


LEAVE = {"release": release, "escape": escape, "death": death}


def outbox(settings, kind="sms") -> list[dict]:
    path = settings.NOTIFY_OUTBOX_DIR / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sms(template_prefix: str = "") -> list[Notification]:
    return list(
        Notification.objects.filter(channel="sms", template__startswith=template_prefix).order_by(
            "pk"
        )
    )


def counters(session: VisitSession) -> tuple[int, int]:
    s = fresh(session)
    return s.booked_visits, s.booked_visitors


def allowance_used(vs, day: dt.date) -> int:
    row = AllowanceCounter.objects.filter(
        detention_id=vs.custody.detention_id, week_start=week_start(day)
    ).first()
    return row.used if row else 0


def state(vs) -> tuple:
    """What the changes may write; equal before and after an action that does nothing."""
    return (
        tuple(Booking.objects.order_by("pk").values_list("pk", "status", "flag_reason")),
        tuple(Visitor.objects.order_by("pk").values_list("pk", "facility_id", "status")),
        tuple(
            VisitSession.objects.order_by("pk").values_list(
                "pk", "cancelled_at", "booked_visits", "booked_visitors"
            )
        ),
        AuditEntry.objects.count(),
        Notification.objects.count(),
    )
