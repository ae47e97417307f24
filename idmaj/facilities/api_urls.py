from django.urls import path

from . import api

urlpatterns = [
    path("", api.FacilityList.as_view(), name="api-facility-list"),
    path("<str:code>/", api.FacilityDetail.as_view(), name="api-facility-detail"),
]
