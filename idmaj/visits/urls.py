from django.urls import path  # noqa: F401

from .views import bookings, figures, gate, lists, settings

app_name = "visits"

urlpatterns = [
    *gate.urlpatterns,
    *lists.urlpatterns,
    *settings.urlpatterns,
    *bookings.urlpatterns,
    *figures.urlpatterns,
]
