"""Helpers of the sessions tests (the ``vs`` scenario plus a few more places and people)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from idmaj.core.models import AuditEntry
from idmaj.facilities.tests.factories import CellFactory, WingFactory
from idmaj.inmates.models import CustodyPeriod
from idmaj.inmates.tests.factories import CustodyPeriodFactory

from ..models import (
    ExcludedDate,
    OnlineBookingPause,
    SessionTemplate,
    VisitPolicy,
    VisitRoom,
    VisitSession,
)


def next_weekday(day: dt.date, weekday: int) -> dt.date:
    """The first date on or after ``day`` falling on ``weekday`` (0 = Monday)."""
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def in_cell(custody, wing) -> CustodyPeriod:
    """Put ``custody`` in a new cell of ``wing`` (housing itself is the registry's)."""
    cell = CellFactory(facility=wing.facility, wing=wing)
    CustodyPeriod.objects.filter(pk=custody.pk).update(cell=cell)
    return CustodyPeriod.objects.get(pk=custody.pk)


def prisoner(facility, **kw) -> CustodyPeriod:
    return CustodyPeriodFactory(facility=facility, **kw)


def other_wing(facility, **kw):
    return WingFactory(facility=facility, building__facility=facility, **kw)


def state(facility) -> tuple:
    """Everything configuration writes, to assert that a refusal changed nothing (the audit
    entries on the institution's chain: sign-ins go to the national one)."""
    policy = VisitPolicy.objects.filter(facility=facility).values_list().first()
    return (
        policy,
        list(VisitRoom.objects.filter(facility=facility).values_list()),
        list(SessionTemplate.objects.filter(facility=facility).values_list()),
        list(ExcludedDate.objects.filter(facility=facility).values_list()),
        list(OnlineBookingPause.objects.filter(facility=facility).values_list()),
        list(VisitSession.objects.filter(facility=facility).order_by("pk").values_list()),
        AuditEntry.objects.filter(chain=facility.pk).count(),
    )


def today() -> dt.date:
    return timezone.localdate()
