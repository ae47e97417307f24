from django.db import models
from django.utils.translation import gettext_lazy as _


class ScopeLevel(models.TextChoices):
    NATIONAL = "national", _("national")
    REGION = "region", _("regional directorate")
    FACILITY = "facility", _("institution")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-mail")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
