from django.db import models
from django.utils.translation import gettext_lazy as _


class PersonSex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class LegalStatus(models.TextChoices):
    REMAND = "remand", _("on remand")
    CONVICTED = "convicted", _("convicted")
    APPEALING = "appealing", _("appealing")


class CustodyStatus(models.TextChoices):
    IN_CUSTODY = "in_custody", _("in custody")
    RELEASED = "released", _("released")
    TRANSFERRED_OUT = "transferred_out", _("transferred out")
