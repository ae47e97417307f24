"""The inmate registry JSON API, one module per area; each lists its ``urlpatterns``
(gathered by ``inmates.api_urls``). Thin views over the selectors and services."""
