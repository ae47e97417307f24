"""Registry pages: records."""

urlpatterns: list = []
