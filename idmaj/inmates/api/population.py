"""Registry API: population."""

urlpatterns: list = []
