from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InmatesConfig(AppConfig):
    name = "idmaj.inmates"
    label = "inmates"
    verbose_name = _("Inmate registry")

    def ready(self):
        # The facilities capacity pages count the population through the registry.
        from idmaj.facilities import selectors as facility_selectors

        from .selectors import population_at
        from .views import records  # noqa: F401  (registers the admission alerts widget)

        if hasattr(facility_selectors, "register_population_provider"):
            facility_selectors.register_population_provider(population_at)
