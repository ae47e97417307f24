"""Registry pages: legal."""

urlpatterns: list = []
