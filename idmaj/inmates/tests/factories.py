import datetime as dt

import factory
from django.utils import timezone

from idmaj.core.models import Permission, Role
from idmaj.facilities.tests.factories import FacilityFactory
from idmaj.inmates.constants import CustodyStatus, LegalStatus, PersonSex
from idmaj.inmates.models import CustodyPeriod, Detention, LegalStatusPeriod, Offence, Person
from idmaj.inmates.names import search_key
from idmaj.inmates.services import CommittalData, PersonData

# Roles of the tests' own, so that each permission combination is explicit; the staff roles
# of core.roles hold these codes too. ``test_facility_only`` sees institutions, not inmates.
TEST_ROLES = {
    "test_registry": ["inmates.view", "inmates.admit", "inmates.edit"],
    "test_registry_viewer": ["inmates.view"],
    "test_facility_only": ["facilities.view"],
}


def registry_roles() -> None:
    """Create the test roles holding the registry's permission codes."""
    for code, perms in TEST_ROLES.items():
        role, _ = Role.objects.get_or_create(code=code, defaults={"label": code})
        role.permissions.set(Permission.objects.filter(code__in=perms))


class OffenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offence
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"OFF{n}")
    name_ar = factory.Sequence(lambda n: f"جريمة {n}")
    name_fr = factory.Sequence(lambda n: f"Infraction {n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    first_name_ar = "محمد"
    family_name_ar = factory.Sequence(lambda n: f"العلوي{n}")
    first_name_latin = "Mohamed"
    family_name_latin = factory.Sequence(lambda n: f"Alaoui{n}")
    birth_date = dt.date(1990, 5, 17)
    sex = PersonSex.MALE
    name_key_ar = factory.LazyAttribute(
        lambda o: search_key(f"{o.first_name_ar} {o.family_name_ar}")
    )
    name_key_latin = factory.LazyAttribute(
        lambda o: search_key(f"{o.first_name_latin} {o.family_name_latin}")
    )


class DetentionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Detention

    person = factory.SubFactory(PersonFactory)
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=10))


class CustodyPeriodFactory(factory.django.DjangoModelFactory):
    """A custody period with its detention and its legal status history, as admission
    leaves them (for tests that need many prisoners without going through admission)."""

    class Meta:
        model = CustodyPeriod
        skip_postgeneration_save = True

    person = factory.SubFactory(PersonFactory)
    detention = factory.SubFactory(
        DetentionFactory,
        person=factory.SelfAttribute("..person"),
        started_at=factory.SelfAttribute("..committed_at"),
    )
    facility = factory.SubFactory(FacilityFactory)
    committal_number = factory.Sequence(lambda n: f"TEST-2026-{n:06d}")
    committed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=10))
    committing_authority = "Procureur du Roi, TPI Oujda"
    warrant_reference = factory.Sequence(lambda n: f"W-{n}")
    legal_status = LegalStatus.REMAND
    status = CustodyStatus.IN_CUSTODY

    @factory.post_generation
    def legal_status_history(obj, create, extracted, **kwargs):
        if create:
            LegalStatusPeriod.objects.create(
                custody=obj,
                facility_id=obj.facility_id,
                status=obj.legal_status,
                valid_from=obj.committed_at,
                valid_to=obj.released_at,
            )


def person_data(**overrides) -> PersonData:
    values = {
        "sex": PersonSex.MALE,
        "first_name_ar": "محمد",
        "family_name_ar": "العلوي",
        "first_name_latin": "Mohamed",
        "family_name_latin": "El Alaoui",
        "father_name_ar": "أحمد",
        "mother_name_ar": "فاطمة",
        "birth_date": dt.date(1990, 5, 17),
        "birth_place": "Oujda",
        "cin": "F123456",
    }
    values.update(overrides)
    return PersonData(**values)


def committal_data(**overrides) -> CommittalData:
    values = {
        "committed_at": timezone.now() - dt.timedelta(hours=2),
        "committing_authority": "Procureur du Roi près le TPI d'Oujda",
        "court": "Tribunal de première instance d'Oujda",
        "warrant_reference": "MD-2026-4411",
        "case_number": "2026/2103/118",
        "legal_status": LegalStatus.REMAND,
        "escort": "Sûreté nationale, Oujda",
    }
    values.update(overrides)
    return CommittalData(**values)


# -- registry import files (tests of the imports area) ----------------------------------------
IMPORT_HEADER = [
    "legacy_reference",
    "facility",
    "first_name_ar",
    "family_name_ar",
    "first_name_latin",
    "family_name_latin",
    "birth_date",
    "sex",
    "cin",
    "committed_at",
    "committing_authority",
    "court",
    "warrant_reference",
    "case_number",
    "legal_status",
    "offence_codes",
    "released_at",
]


def import_row(n: int = 1, **overrides) -> dict:
    """One valid committal row of an import file (``n`` makes it distinct)."""
    values = {
        "legacy_reference": f"LEG-{n}",
        "facility": "OUJDA2",
        "first_name_ar": "كريم",
        "family_name_ar": f"بناني{n}",
        "first_name_latin": "Karim",
        "family_name_latin": f"Bennani{n}",
        "birth_date": "1990-05-17",
        "sex": "M",
        "cin": f"K{100000 + n}",
        "committed_at": "2024-03-01 10:30",
        "committing_authority": "Procureur du Roi, TPI Oujda",
        "court": "TPI Oujda",
        "warrant_reference": f"MD-{n}",
        "case_number": f"2024/{n}",
        "legal_status": "remand",
        "offence_codes": "",
        "released_at": "",
    }
    values.update(overrides)
    return values


def import_csv(
    rows: list[dict],
    *,
    header: list[str] | None = None,
    delimiter: str = ",",
    bom: bool = False,
    names: dict[str, str] | None = None,
) -> bytes:
    """A CSV import file (UTF-8); ``names`` renames columns in the header row."""
    import csv
    import io

    header = header or IMPORT_HEADER
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([(names or {}).get(h, h) for h in header])
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def import_xlsx(rows: list[dict], *, header: list[str] | None = None) -> bytes:
    """An XLSX import file (values may be dates or datetimes: they become date cells)."""
    import io

    from openpyxl import Workbook

    header = header or IMPORT_HEADER
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h) if row.get(h) != "" else None for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- records (family, property) ---------------------------------------------------------------
class FamilyMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inmates.FamilyMember"

    person = factory.SubFactory(PersonFactory)
    relationship = "spouse"
    full_name = factory.Sequence(lambda n: f"Fatima Zahra {n}")
    phone = "+212612345678"
    language = "ar"


class PropertyItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inmates.PropertyItem"

    detention = factory.SubFactory(DetentionFactory)
    facility = factory.SubFactory(FacilityFactory)
    description = factory.Sequence(lambda n: f"Item {n}")
    quantity = 1
    received_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
