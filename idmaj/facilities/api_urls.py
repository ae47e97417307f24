from django.urls import path

from . import api

urlpatterns = [
    path("", api.FacilityList.as_view(), name="api-facility-list"),
    path("capacity/", api.CapacityView.as_view(), name="api-facility-capacity"),
    path(
        "installations/count/",
        api.InstallationCountView.as_view(),
        name="api-installation-count",
    ),
    path("<str:code>/", api.FacilityDetail.as_view(), name="api-facility-detail"),
]
