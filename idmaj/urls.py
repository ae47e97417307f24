from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from idmaj.core.api import TokenView

api_v1 = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("accounts/", include("idmaj.core.api_accounts")),
    path("facilities/", include("idmaj.facilities.api_urls")),
    path("inmates/", include("idmaj.inmates.api_urls")),
    path("visits/", include("idmaj.visits.api_urls")),
    path("portal/", include("idmaj.visits.portal_api_urls")),
]

urlpatterns = [
    path("", include("idmaj.core.urls")),
    path("facilities/", include("idmaj.facilities.urls")),
    path("inmates/", include("idmaj.inmates.urls")),
    path("visits/", include("idmaj.visits.urls")),
    path("family/", include("idmaj.visits.portal_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
]
