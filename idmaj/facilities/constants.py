from django.db import models
from django.utils.translation import gettext_lazy as _


class FacilityKind(models.TextChoices):
    LOCAL_PRISON = "local_prison", _("local prison")
    CENTRAL_PRISON = "central_prison", _("central prison")
    AGRICULTURAL_PRISON = "agricultural_prison", _("agricultural prison")
    REFORM_EDUCATION_CENTRE = "reform_education_centre", _("reform and education centre")


class FacilityStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    UNDER_CONSTRUCTION = "under_construction", _("under construction")
    OPERATING = "operating", _("operating")
    UNDER_RENOVATION = "under_renovation", _("under renovation")
    CLOSED = "closed", _("closed")


# Statuses in which an institution holds prisoners and its beds count.
HOUSING_STATUSES = (FacilityStatus.OPERATING, FacilityStatus.UNDER_RENOVATION)


class Sex(models.TextChoices):
    MALE = "M", _("men")
    FEMALE = "F", _("women")


class AgeGroup(models.TextChoices):
    ADULT = "adult", _("adults")
    JUVENILE = "juvenile", _("juveniles")


class Regime(models.TextChoices):
    REMAND = "remand", _("remand")
    CONVICTED = "convicted", _("convicted")
    MIXED = "mixed", _("remand and convicted (separate cells)")


class SpecialUse(models.TextChoices):
    NONE = "", _("ordinary")
    MEDICAL = "medical", _("medical")
    ISOLATION = "isolation", _("isolation")
    MOTHER_CHILD = "mother_child", _("mother and child")
    DISCIPLINARY = "disciplinary", _("disciplinary")


class ProjectKind(models.TextChoices):
    NEW_CONSTRUCTION = "new_construction", _("new construction")
    EXTENSION = "extension", _("extension")
    REFURBISHMENT = "refurbishment", _("refurbishment")
    REPAIR = "repair", _("repair and restoration")


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    UNDER_WAY = "under_way", _("under way")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")
