"""Registry pages: movements."""

urlpatterns: list = []
