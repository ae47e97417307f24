"""The visits domain follows the registry: a prisoner who leaves an institution takes their
visitor list along (transfer) and their bookings there are cancelled (``services.changes``)."""

from django.dispatch import receiver

from idmaj.inmates.signals import custody_left


@receiver(custody_left, dispatch_uid="visits.custody_left")
def _custody_left(sender, *, custody, successor, actor, **kwargs):
    from .services.changes import visits_on_custody_left

    visits_on_custody_left(custody=custody, successor=successor, actor=actor)
