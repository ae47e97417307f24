from .portal import accounts, bookings, lists

app_name = "portal"

urlpatterns = [
    *accounts.urlpatterns,
    *lists.urlpatterns,
    *bookings.urlpatterns,
]
