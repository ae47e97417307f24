"""Registry pages: housing."""

urlpatterns: list = []
