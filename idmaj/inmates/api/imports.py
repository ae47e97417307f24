"""Registry API: imports."""

urlpatterns: list = []
