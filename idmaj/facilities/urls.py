from django.urls import path

from . import views

app_name = "facilities"

urlpatterns = [
    path("", views.facility_list, name="list"),
    # fixed paths first: "<str:code>/" would match them
    path("capacity/", views.capacity, name="capacity"),
    path("projects/", views.project_list, name="projects"),
    path("installations/", views.installation_list, name="installations"),
    path("cells/<uuid:uuid>/edit/", views.cell_edit, name="cell_edit"),
    path("projects/<uuid:uuid>/edit/", views.project_edit, name="project_edit"),
    path(
        "installations/<uuid:uuid>/remove/",
        views.installation_remove,
        name="installation_remove",
    ),
    path("<str:code>/", views.facility_detail, name="detail"),
    path("<str:code>/edit/", views.facility_edit, name="edit"),
    path("<str:code>/status/add/", views.status_add, name="status_add"),
    path("<str:code>/buildings/add/", views.building_add, name="building_add"),
    path("<str:code>/wings/add/", views.wing_add, name="wing_add"),
    path("<str:code>/cells/add/", views.cell_add, name="cell_add"),
    path("<str:code>/projects/add/", views.project_add, name="project_add"),
    path("<str:code>/installations/add/", views.installation_add, name="installation_add"),
]
