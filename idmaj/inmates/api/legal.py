"""Registry API: legal."""

urlpatterns: list = []
