from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "idmaj.facilities"
    label = "facilities"
    verbose_name = _("Institutions")

    def ready(self) -> None:
        from . import widgets  # noqa: F401  (registers the dashboard widgets)
