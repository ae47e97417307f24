from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "idmaj.visits"
    label = "visits"
    verbose_name = _("Visits (Ziyara) and the family portal")

    def ready(self):
        # When a prisoner leaves an institution the registry says so; the bookings and visitor
        # lists held there follow (``services.changes``).
        from . import receivers, sections  # noqa: F401
