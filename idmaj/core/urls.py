from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_accounts

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/otp/", views.otp_view, name="otp"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("audit/", views.audit_list, name="audit"),
    path("admin-tools/lockouts/", views.lockouts, name="lockouts"),
    *views_accounts.urlpatterns,
]
