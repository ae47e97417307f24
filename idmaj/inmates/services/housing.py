"""Registry services: housing (cell allocation under the separation rules and the
operational maximum, moves inside an institution)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from ..models import CellAssignment, CellOccupancy, CustodyPeriod

__all__ = ["cell_vacate"]


def cell_vacate(*, custody: CustodyPeriod, at: datetime) -> CellAssignment | None:
    """End the person's current cell assignment at ``at`` and free the place.

    Not a service of its own: called inside the transaction of the services that end a
    custody period here (transfer, release, escape, death) or move the person, which have
    already checked permissions and locked the custody period. Returns the assignment it
    ended, or None when the person had no cell. Clears ``custody.cell`` (saved here).
    """
    assignment = CellAssignment.objects.filter(custody=custody, ended_at__isnull=True).first()
    if assignment is None:
        return None
    assignment.ended_at = max(at, assignment.started_at)
    assignment.save(update_fields=["ended_at"])
    CellOccupancy.objects.filter(cell_id=assignment.cell_id, occupants__gt=0).update(
        occupants=F("occupants") - 1
    )
    if custody.cell_id is not None:
        custody.cell = None
        custody.save(update_fields=["cell"])
    return assignment
