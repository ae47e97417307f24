"""The staff API of visits: ``/api/v1/visits/...``."""

from .api import bookings, figures, gate, lists, sessions

urlpatterns = [
    *lists.urlpatterns,
    *sessions.urlpatterns,
    *bookings.urlpatterns,
    *gate.urlpatterns,
    *figures.urlpatterns,
]
