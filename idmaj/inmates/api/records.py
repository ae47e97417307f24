"""Registry API: records."""

urlpatterns: list = []
