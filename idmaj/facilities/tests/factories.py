import factory

from idmaj.facilities.constants import AgeGroup, FacilityKind, FacilityStatus, Regime, Sex
from idmaj.facilities.models import Building, Cell, Facility, Region, Wing


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"REG{n}")
    name_ar = factory.Sequence(lambda n: f"الجهة {n}")
    name_fr = factory.Sequence(lambda n: f"Région {n}")


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"FAC{n}")
    name_ar = factory.Sequence(lambda n: f"السجن المحلي {n}")
    name_fr = factory.Sequence(lambda n: f"Prison locale {n}")
    kind = FacilityKind.LOCAL_PRISON
    region = factory.SubFactory(RegionFactory)
    city = "Oujda"
    current_status = FacilityStatus.OPERATING


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    facility = factory.SubFactory(FacilityFactory)
    name = factory.Sequence(lambda n: f"B{n}")


class WingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wing

    building = factory.SubFactory(BuildingFactory)
    facility = factory.SelfAttribute("building.facility")
    name = factory.Sequence(lambda n: f"W{n}")
    sex = Sex.MALE
    age_group = AgeGroup.ADULT
    regime = Regime.CONVICTED


class CellFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cell

    wing = factory.SubFactory(WingFactory)
    facility = factory.SelfAttribute("wing.facility")
    number = factory.Sequence(lambda n: f"C{n}")
    beds = 4
    operational_max = 6


class InstallationTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "facilities.InstallationType"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"type{n}")
    name_ar = factory.Sequence(lambda n: f"تجهيز {n}")
    name_fr = factory.Sequence(lambda n: f"Installation {n}")


class StatusPeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "facilities.FacilityStatusPeriod"

    facility = factory.SubFactory(FacilityFactory)
    status = FacilityStatus.OPERATING
    since = factory.Faker("date_between", start_date="-30y", end_date="-10y")
