"""Helpers of the booking tests (``test_bookings_*``)."""

from __future__ import annotations

import datetime as dt
import threading

from django.db import connections
from django.utils import timezone

from ..models import AllowanceCounter, Booking, BookingVisitor, VisitSession
from .factories import FamilyAccountFactory, approve_on_list


def run_threads(n, target):
    """Run ``target(i)`` in ``n`` threads released at the same moment, each with its own
    database connection; returns (results, errors)."""
    barrier = threading.Barrier(n)
    results, errors = [], []
    lock = threading.Lock()

    def run(i):
        try:
            barrier.wait(timeout=20)
            value = target(i)
            with lock:
                results.append(value)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def state(session=None):
    """What a refused booking must leave unchanged."""
    return (
        list(
            VisitSession.objects.order_by("pk").values_list(
                "pk", "booked_visits", "booked_visitors", "extra_visits", "extra_visitors"
            )
        ),
        list(AllowanceCounter.objects.order_by("pk").values_list("pk", "week_start", "used")),
        list(Booking.objects.order_by("pk").values_list("pk", "status", "replaced_by_id")),
        BookingVisitor.objects.count(),
    )


def other_family(vs, *, children=()):
    """A second family approved on the same prisoner's list."""
    account = FamilyAccountFactory(first_name="Khadija")
    adult, kids = approve_on_list(account, vs.custody, relationship="sister", children=children)
    return account, adult, kids


def born_years_ago(years: int, days: int = 30) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=int(365.25 * years) + days)
