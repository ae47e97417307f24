"""Registry API: housing."""

urlpatterns: list = []
