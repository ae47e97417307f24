"""HTML pages of the inmate registry, one module per area; each module lists its
``urlpatterns`` (gathered by ``inmates.urls``) and may register sections of the custody
record page (``inmates.sections``)."""
