from django.urls import path

from .api import housing, imports, legal, movements, population, records, registry

urlpatterns = [
    path("", registry.InmateListCreate.as_view(), name="api-inmate-list"),
    path("<uuid:uuid>/", registry.InmateDetail.as_view(), name="api-inmate-detail"),
    *records.urlpatterns,
    *legal.urlpatterns,
    *housing.urlpatterns,
    *movements.urlpatterns,
    *population.urlpatterns,
    *imports.urlpatterns,
]
