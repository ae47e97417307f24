"""Events of the registry that other domains follow.

``custody_left`` is sent inside the registry's transaction when a prisoner leaves an
institution (transfer out, release, escape, death), after the registry's own writes and before
its audit entries: receivers lock their rows (visit sessions, programme places) before the
institution's audit chain head, in the order every booking or enrolment takes them, so that
the two never wait for each other. Receivers (visits, programmes, ...) apply their own services in the same transaction,
so that nothing is left booked or enrolled for someone who is no longer there; a receiver that
fails rolls the movement back.

Arguments: ``custody`` (the period that ended, status and ``released_at`` set), ``successor``
(the new custody period at the destination of a transfer, else ``None``) and ``actor``.
"""

from django.dispatch import Signal

custody_left = Signal()
