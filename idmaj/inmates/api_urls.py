from django.urls import path

from . import api

urlpatterns = [
    path("", api.InmateListCreate.as_view(), name="api-inmate-list"),
    path("<uuid:uuid>/", api.InmateDetail.as_view(), name="api-inmate-detail"),
]
