"""Registry API: movements."""

urlpatterns: list = []
