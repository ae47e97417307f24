"""Registry pages: imports."""

urlpatterns: list = []
