from django.urls import path

from . import views

app_name = "facilities"

urlpatterns = [
    path("", views.facility_list, name="list"),
    path("capacity/", views.capacity, name="capacity"),
    path("projects/", views.project_list, name="projects"),
    path("installations/", views.installation_list, name="installations"),
    path("<str:code>/", views.facility_detail, name="detail"),
]
