"""Registry pages: population."""

urlpatterns: list = []
