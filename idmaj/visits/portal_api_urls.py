"""The family portal's API (for the mobile app): ``/api/v1/portal/...``."""

from .api import portal_accounts, portal_bookings, portal_lists

urlpatterns = [
    *portal_accounts.urlpatterns,
    *portal_lists.urlpatterns,
    *portal_bookings.urlpatterns,
]
