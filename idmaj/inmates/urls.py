from django.urls import path

from . import views

app_name = "inmates"

urlpatterns = [
    path("", views.search, name="search"),
    path("admit/", views.admit, name="admit"),
    path("<uuid:uuid>/", views.detail, name="detail"),
]
