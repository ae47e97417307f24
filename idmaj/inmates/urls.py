from django.urls import path

from .views import housing, imports, legal, movements, population, records, registry

app_name = "inmates"

urlpatterns = [
    path("", registry.search, name="search"),
    path("admit/", registry.admit, name="admit"),
    path("<uuid:uuid>/", registry.detail, name="detail"),
    *records.urlpatterns,
    *legal.urlpatterns,
    *housing.urlpatterns,
    *movements.urlpatterns,
    *population.urlpatterns,
    *imports.urlpatterns,
]
