"""Registry import services: dry run and import of CSV/XLSX files, every error at once with
its row and column, all or nothing, idempotent, persons linked by CIN or names, scoping."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from idmaj.core.errors import PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates.constants import CustodyStatus, DetentionEnd, ImportStatus, LegalStatus
from idmaj.inmates.models import (
    CommittalCounter,
    CustodyPeriod,
    ImportBatch,
    LegalStatusPeriod,
    Person,
)
from idmaj.inmates.services import (
    registry_import_apply,
    registry_import_issue_message,
    registry_import_template,
    registry_import_validate,
)

from .factories import (
    IMPORT_HEADER,
    CustodyPeriodFactory,
    OffenceFactory,
    PersonFactory,
    import_csv,
    import_row,
    import_xlsx,
)


@pytest.fixture
def world(two_facilities):
    w = two_facilities
    OffenceFactory(code="VOL", name_ar="سرقة", name_fr="Vol")
    OffenceFactory(code="ESCR", name_ar="نصب", name_fr="Escroquerie")
    w["officer_a"] = w["users"]["registry.oujda2"]
    w["officer_b"] = w["users"]["registry.sale2"]
    return w


def registry_counts() -> dict[str, int]:
    """Rows of every table of the registry (but the import batches), the committal counters'
    values and the audit trail: what an import may write."""
    from django.apps import apps

    counts = {}
    for model in apps.get_app_config("inmates").get_models(include_auto_created=True):
        if model is not ImportBatch:
            counts[model._meta.label] = model.objects.count()
    counts["counters"] = sum(CommittalCounter.objects.values_list("last_number", flat=True))
    counts["audit"] = AuditEntry.objects.count()
    return counts


def same(n: int) -> dict:
    """The names of ``import_row(n)``: another row of the same person."""
    return {"family_name_ar": f"بناني{n}", "family_name_latin": f"Bennani{n}"}


def issues(batch: ImportBatch, level: str = "error") -> set[tuple]:
    return {(i["row"], i["column"], i["code"]) for i in batch.errors if i["level"] == level}


# -- valid files ------------------------------------------------------------------------------
def test_valid_csv_dry_run_then_import(world):
    rows = [
        import_row(1, committed_at="2024-03-02 09:00", offence_codes="VOL|ESCR"),
        import_row(2, committed_at="2024-03-01", released_at="2024-06-30 16:00"),
        import_row(
            3,
            first_name_latin="",
            family_name_latin="",
            cin="",
            legal_status="convicted",
            committed_at="15/01/2023 08:15",
        ),
    ]
    data = import_csv(rows)
    before = registry_counts()

    batch = registry_import_validate(actor=world["officer_a"], file=data, filename="legacy.csv")
    assert batch.status == ImportStatus.VALIDATED
    assert (batch.rows_total, batch.rows_created, batch.rows_skipped) == (3, 3, 0)
    assert batch.errors == []
    assert batch.sha256 == hashlib.sha256(data).hexdigest()
    assert batch.facility == world["a"] and batch.created_by == world["officer_a"]
    assert registry_counts() == before  # a dry run writes nothing but its batch

    batch = registry_import_apply(actor=world["officer_a"], file=data, filename="legacy.csv")
    assert batch.status == ImportStatus.APPLIED
    assert (batch.rows_total, batch.rows_created, batch.rows_skipped) == (3, 3, 0)
    after = registry_counts()
    grown = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert grown == {
        "inmates.Person": 3,
        "inmates.Detention": 3,
        "inmates.CustodyPeriod": 3,
        "inmates.CustodyPeriod_offences": 2,
        "inmates.LegalStatusPeriod": 3,
        "inmates.CommittalCounter": 2,
        "counters": 3,
        "audit": 1,
    }

    c1, c2, c3 = (
        CustodyPeriod.objects.select_related("person", "detention").get(legacy_reference=f"LEG-{n}")
        for n in (1, 2, 3)
    )
    # committal numbers from the counters, in order of committal, per year
    assert c3.committal_number == "OUJDA2-2023-000001"
    assert c2.committal_number == "OUJDA2-2024-000001"
    assert c1.committal_number == "OUJDA2-2024-000002"
    assert CommittalCounter.objects.get(facility=world["a"], year=2024).last_number == 2
    tz = timezone.get_current_timezone()
    assert c1.committed_at == dt.datetime(2024, 3, 2, 9, 0, tzinfo=tz)
    assert c2.committed_at == dt.datetime(2024, 3, 1, 0, 0, tzinfo=tz)
    assert c3.committed_at == dt.datetime(2023, 1, 15, 8, 15, tzinfo=tz)
    assert c1.status == CustodyStatus.IN_CUSTODY and c1.released_at is None
    assert c1.detention.ended_at is None and c1.detention.end_reason == ""
    assert sorted(o.code for o in c1.offences.all()) == ["ESCR", "VOL"]
    assert c1.person.cin == "K100001" and c1.person.name_key_latin
    # a committal already ended: released, its detention ended (other release decision)
    assert c2.status == CustodyStatus.RELEASED
    assert c2.released_at == dt.datetime(2024, 6, 30, 16, 0, tzinfo=tz)
    assert c2.detention.ended_at == c2.released_at
    assert c2.detention.end_reason == DetentionEnd.OTHER_RELEASE
    ls = LegalStatusPeriod.objects.get(custody=c2)
    assert (ls.status, ls.valid_from, ls.valid_to) == ("remand", c2.committed_at, c2.released_at)
    assert c3.legal_status == LegalStatus.CONVICTED
    assert c3.person.full_name_latin == "" and c3.person.name_key_ar
    assert c1.committing_authority == "Procureur du Roi, TPI Oujda"
    assert (c1.court, c1.warrant_reference, c1.case_number) == ("TPI Oujda", "MD-1", "2024/1")

    # one audit entry on the institution's chain: the file, the counts, the references
    entry = AuditEntry.objects.get(verb="registry_import")
    assert entry.chain == world["a"].id and entry.facility_id == world["a"].id
    assert entry.object_id == str(batch.uuid) and entry.actor == world["officer_a"]
    assert entry.after["sha256"] == batch.sha256
    assert entry.after["rows_created"] == 3 and entry.after["rows_skipped"] == 0
    assert sorted(entry.after["legacy_references"]) == ["LEG-1", "LEG-2", "LEG-3"]


def test_valid_xlsx_with_date_cells_and_numbers(world):
    rows = [
        import_row(
            1,
            legacy_reference=1001,  # a number cell
            birth_date=dt.date(1985, 2, 3),
            committed_at=dt.datetime(2024, 2, 1, 14, 5),
            released_at=dt.datetime(2024, 4, 1, 10, 0),
        ),
        import_row(2, legacy_reference=1002.0, birth_date="03/02/1986", committed_at="2024-02-02"),
    ]
    data = import_xlsx(rows)
    batch = registry_import_apply(actor=world["officer_a"], file=data, filename="LEGACY.XLSX")
    assert batch.status == ImportStatus.APPLIED, batch.errors
    c1 = CustodyPeriod.objects.get(legacy_reference="1001")
    c2 = CustodyPeriod.objects.get(legacy_reference="1002")
    tz = timezone.get_current_timezone()
    assert c1.person.birth_date == dt.date(1985, 2, 3)
    assert c1.committed_at == dt.datetime(2024, 2, 1, 14, 5, tzinfo=tz)
    assert c1.status == CustodyStatus.RELEASED
    assert c2.person.birth_date == dt.date(1986, 2, 3)
    assert c2.status == CustodyStatus.IN_CUSTODY


def test_semicolon_csv_with_bom_and_french_column_names(world):
    french = {
        "legacy_reference": "Référence ancienne",
        "facility": "Établissement",
        "first_name_ar": "prenom_ar",
        "family_name_ar": "nom_ar",
        "first_name_latin": "Prénom latin",
        "family_name_latin": "Nom latin",
        "birth_date": "Date de naissance",
        "sex": "Sexe",
        "cin": "CNIE",
        "committed_at": "Date d'écrou",
        "committing_authority": "autorite_ecrou",
        "court": "Tribunal",
        "warrant_reference": "reference_mandat",
        "case_number": "Numéro de dossier",
        "legal_status": "Situation pénale",
        "offence_codes": "codes_infractions",
        "released_at": "date_liberation",
    }
    rows = [
        import_row(1, legal_status="prévenu", sex="Homme", offence_codes="VOL"),
        import_row(2, legal_status="condamné", sex="F", committed_at="01/02/2024 10:00"),
        import_row(3, legal_status="en appel"),
    ]
    data = import_csv(rows, delimiter=";", bom=True, names=french)
    assert data.startswith(b"\xef\xbb\xbf")
    batch = registry_import_apply(actor=world["officer_a"], file=data, filename="ancien.csv")
    assert batch.status == ImportStatus.APPLIED, batch.errors
    statuses = dict(CustodyPeriod.objects.values_list("legacy_reference", "legal_status"))
    assert statuses == {"LEG-1": "remand", "LEG-2": "convicted", "LEG-3": "appealing"}
    assert Person.objects.get(cin="K100002").sex == "F"


def test_arabic_text_round_trip(world):
    row = import_row(
        1,
        first_name_ar="عبد الرحيم",
        family_name_ar="الإدريسي",
        first_name_latin="",
        family_name_latin="",
        sex="أنثى",
        legal_status="محكوم عليه",
        court="المحكمة الابتدائية بوجدة",
        committing_authority="وكيل الملك لدى المحكمة الابتدائية بوجدة",
    )
    header = [*IMPORT_HEADER, "mother_name_ar", "birth_place"]
    row |= {"mother_name_ar": "فاطمة الزهراء", "birth_place": "وجدة"}
    for n, (data, name) in enumerate(
        ((import_csv([row], header=header), "a.csv"), (import_xlsx([row], header=header), "a.xlsx"))
    ):
        if n:  # the second file: another committal, already ended, of the same person
            row |= {"committed_at": "2020-01-01", "released_at": "2021-01-01"}
            data = import_xlsx([row | {"legacy_reference": "LEG-2"}], header=header)
        batch = registry_import_apply(actor=world["officer_a"], file=data, filename=name)
        assert batch.status == ImportStatus.APPLIED, batch.errors
    person = Person.objects.get()
    assert person.first_name_ar == "عبد الرحيم" and person.family_name_ar == "الإدريسي"
    assert person.mother_name_ar == "فاطمة الزهراء" and person.birth_place == "وجدة"
    assert person.sex == "F"
    custody = person.custody_periods.get(legacy_reference="LEG-1")
    assert custody.court == "المحكمة الابتدائية بوجدة"
    assert custody.committing_authority == "وكيل الملك لدى المحكمة الابتدائية بوجدة"
    assert custody.legal_status == LegalStatus.CONVICTED
    assert person.custody_periods.count() == 2


def test_facility_chosen_for_the_whole_file(world):
    header = [h for h in IMPORT_HEADER if h != "facility"]
    data = import_csv([import_row(1), import_row(2)], header=header)
    refused = registry_import_validate(actor=world["officer_a"], file=data, filename="f.csv")
    assert issues(refused) == {(1, "facility", "missing_column")}
    batch = registry_import_apply(
        actor=world["officer_a"], file=data, filename="f.csv", facility=world["a"]
    )
    assert batch.status == ImportStatus.APPLIED and batch.facility == world["a"]
    assert set(CustodyPeriod.objects.values_list("facility__code", flat=True)) == {"OUJDA2"}
    # a row naming another institution than the chosen one is an error
    data = import_csv([import_row(3, facility="SALE2")])
    batch = registry_import_validate(
        actor=world["officer_a"], file=data, filename="f.csv", facility=world["a"]
    )
    assert issues(batch) == {(2, "facility", "facility_mismatch")}


# -- errors -----------------------------------------------------------------------------------
def test_every_error_kind_reported_with_row_and_column_and_nothing_written(world):
    on_file = CustodyPeriodFactory(
        facility=world["a"], committal_number="OUJDA2-2025-000050", person__cin="Z999999"
    )
    released = CustodyPeriodFactory(
        facility=world["a"],
        committal_number="OUJDA2-2023-000001",
        person__cin="Y888888",
        committed_at=timezone.make_aware(dt.datetime(2023, 1, 1)),
        released_at=timezone.make_aware(dt.datetime(2023, 12, 31)),
        status=CustodyStatus.RELEASED,
    )
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    rows = [
        import_row(1, legacy_reference=""),  # row 2
        import_row(2, birth_date="31/02/1990"),  # 3
        import_row(3, committed_at="yesterday"),  # 4
        import_row(4, facility="NOPE"),  # 5
        import_row(5, facility="SALE2"),  # 6: out of the officer's scope
        import_row(6, offence_codes="VOL|XXX"),  # 7
        import_row(7, cin="12AB"),  # 8
        import_row(8, legacy_reference="LEG-1"),  # 9: same reference as row 10's... see below
        import_row(1, cin="K200001"),  # 10: LEG-1 again
        import_row(10, cin="K300000", released_at="2024-04-01"),  # 11
        import_row(11, cin="K300000", first_name_latin="Driss", family_name_latin="Other"),  # 12
        import_row(12, committed_at=future),  # 13
        import_row(13, released_at="2024-01-01"),  # 14: before the committal
        import_row(14, cin="K400000"),  # 15
        import_row(15, cin="K400000", committed_at="2024-05-01", **same(14)),  # 16: 2nd open
        import_row(16, cin="Z999999"),  # 17: in custody on file
        import_row(17, sex="X"),  # 18
        import_row(18, legal_status="free"),  # 19
        import_row(19, first_name_ar="", first_name_latin=""),  # 20
        import_row(20, court="x" * 201),  # 21
        import_row(21, cin="K500000", released_at="2024-06-01"),  # 22
        import_row(
            22,
            cin="K500000",
            committed_at="2024-05-01",
            released_at="2024-07-01",
            **same(21),
        ),  # 23
        import_row(
            23, cin="Y888888", committed_at="2023-06-01", released_at="2023-07-01"
        ),  # 24: overlaps the committal on file
        import_row(24, birth_date="2010-01-01", committed_at="2009-01-01"),  # 25
        import_row(25, birth_date="1850-01-01"),  # 26
        import_row(26, nationality="Maroc"),  # 27
    ]
    header = [*IMPORT_HEADER, "nationality"]
    data = import_csv(rows, header=header)
    before = registry_counts()
    batches_before = ImportBatch.objects.count()
    for service in (registry_import_validate, registry_import_apply):
        batch = service(actor=world["officer_a"], file=data, filename="bad.csv")
        assert batch.status == ImportStatus.FAILED
        assert batch.rows_total == 26 and batch.rows_created == 0
        found = issues(batch)
        expected = {
            (2, "legacy_reference", "required"),
            (3, "birth_date", "bad_date"),
            (4, "committed_at", "bad_datetime"),
            (5, "facility", "unknown_facility"),
            (6, "facility", "unknown_facility"),
            (7, "offence_codes", "unknown_offence"),
            (8, "cin", "bad_cin"),
            (10, "legacy_reference", "duplicate_reference"),
            (12, "cin", "cin_identity_conflict"),
            (13, "committed_at", "future"),
            (14, "released_at", "released_before_committed"),
            (16, "released_at", "two_open_committals"),
            (17, "released_at", "already_in_custody"),
            (18, "sex", "bad_sex"),
            (19, "legal_status", "bad_legal_status"),
            (20, "", "names_missing"),
            (21, "court", "too_long"),
            (23, "committed_at", "overlap_row"),
            (24, "committed_at", "overlap_on_file"),
            (25, "committed_at", "before_birth"),
            (26, "birth_date", "date_too_old"),
            (27, "nationality", "bad_nationality"),
        }
        assert found == expected
        # every issue carries a translated message
        by_code = {i["code"]: i for i in batch.errors}
        assert "XXX" in by_code["unknown_offence"]["message"]
        assert by_code["duplicate_reference"]["params"] == {"reference": "LEG-1", "row": 9}
        assert by_code["already_in_custody"]["params"] == {"number": on_file.committal_number}
        assert by_code["overlap_on_file"]["params"] == {"number": released.committal_number}
        assert by_code["two_open_committals"]["params"] == {"row": 15}
        assert registry_counts() == before
    assert ImportBatch.objects.count() == batches_before + 2


def test_header_errors(world):
    header = ["legacy_reference", "legacy_reference", "surname", "sex", "committed_at"]
    data = import_csv([{"legacy_reference": "A", "sex": "M"}], header=header)
    batch = registry_import_validate(actor=world["officer_a"], file=data, filename="h.csv")
    found = issues(batch)
    assert (1, "legacy_reference", "duplicate_column") in found
    assert (1, "surname", "unknown_column") in found
    assert (1, "committing_authority", "missing_column") in found
    assert (1, "warrant_reference", "missing_column") in found
    assert (1, "legal_status", "missing_column") in found
    assert (1, "facility", "missing_column") in found
    assert (1, "", "missing_names_columns") in found
    # a missing column is reported once, not on every row
    assert all(row == 1 for row, _c, code in found if code != "required")


@pytest.mark.parametrize(
    ("content", "filename", "code"),
    [
        (b"", "empty.csv", "empty_file"),
        (b"legacy_reference,sex\r\n", "header-only.csv", "no_rows"),
        ("legacy_reference\nA\xe9".encode("latin-1"), "latin1.csv", "not_utf8"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx", "not_xlsx"),
        (b"a,b\x00c", "binary.csv", "not_text"),
        (b"whatever", "old.xls", "bad_format"),
    ],
)
def test_unreadable_files(world, content, filename, code):
    before = registry_counts()
    batch = registry_import_apply(actor=world["officer_a"], file=content, filename=filename)
    assert batch.status == ImportStatus.FAILED
    assert code in {i["code"] for i in batch.errors}
    assert registry_counts() == before


def test_row_limit(world):
    data = import_csv([import_row(n) for n in range(1, 5)])
    ok = registry_import_validate(actor=world["officer_a"], file=data, filename="x.csv", max_rows=4)
    assert ok.status == ImportStatus.VALIDATED
    for content, name in ((data, "x.csv"), (import_xlsx([import_row(1)] * 4), "x.xlsx")):
        batch = registry_import_apply(
            actor=world["officer_a"], file=content, filename=name, max_rows=3
        )
        assert [i["code"] for i in batch.errors] == ["too_many_rows"]
    assert not CustodyPeriod.objects.exists()


def test_blank_rows_are_skipped_but_keep_the_numbering(world):
    csv_data = (
        import_csv([import_row(1)])
        + b"\r\n,,,\r\n"
        + import_csv([import_row(2, sex="?")]).split(b"\r\n", 1)[1]
    )
    batch = registry_import_validate(actor=world["officer_a"], file=csv_data, filename="x.csv")
    assert issues(batch) == {(5, "sex", "bad_sex")} and batch.rows_total == 2
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(IMPORT_HEADER)
    sheet.append([import_row(1)[h] or None for h in IMPORT_HEADER])
    sheet.append([])
    sheet.append([import_row(2, sex="?")[h] or None for h in IMPORT_HEADER])
    sheet.cell(row=500, column=3).value = None  # a formatted, empty sheet further down
    out = io.BytesIO()
    book.save(out)
    batch = registry_import_validate(
        actor=world["officer_a"], file=out.getvalue(), filename="x.xlsx", max_rows=2
    )
    assert issues(batch) == {(4, "sex", "bad_sex")} and batch.rows_total == 2


def test_not_utf8_reports_the_row(world):
    data = import_csv([import_row(1), import_row(2)]) + "LEG-9,OUJDA2,é\n".encode("latin-1")
    batch = registry_import_validate(actor=world["officer_a"], file=data, filename="x.csv")
    assert issues(batch) == {(4, "", "not_utf8")}


def test_all_errors_at_once(world):
    rows = [import_row(n, birth_date="1990-13-01", sex="?") for n in range(1, 51)]
    batch = registry_import_validate(
        actor=world["officer_a"], file=import_csv(rows), filename="x.csv"
    )
    found = issues(batch)
    assert len(found) == 100
    assert {r for r, _c, _code in found} == set(range(2, 52))
    assert {(c, code) for _r, c, code in found} == {("birth_date", "bad_date"), ("sex", "bad_sex")}


def test_column_named_as_in_the_file(world):
    data = import_csv([import_row(1, birth_date="x")], names={"birth_date": "Date de naissance"})
    batch = registry_import_validate(actor=world["officer_a"], file=data, filename="x.csv")
    [issue] = batch.errors
    assert (issue["row"], issue["column"], issue["field"]) == (2, "Date de naissance", "birth_date")


def test_messages_follow_the_reader_language(world):
    data = import_csv([import_row(1, sex="?")])
    with translation.override("en"):
        batch = registry_import_validate(actor=world["officer_a"], file=data, filename="x.csv")
    [issue] = batch.errors
    assert issue["message"] == "Unknown sex: ?. Write M or F."
    with translation.override("en"):
        assert registry_import_issue_message(issue) == "Unknown sex: ?. Write M or F."


# -- idempotency and persons ------------------------------------------------------------------
def test_same_file_twice_creates_nothing_the_second_time(world):
    data = import_csv([import_row(n) for n in range(1, 6)])
    first = registry_import_apply(actor=world["officer_a"], file=data, filename="x.csv")
    assert (first.status, first.rows_created, first.rows_skipped) == ("applied", 5, 0)
    after_first = registry_counts()
    second = registry_import_apply(actor=world["officer_a"], file=data, filename="x.csv")
    assert (second.status, second.rows_created, second.rows_skipped) == ("applied", 0, 5)
    assert registry_counts() == after_first  # no row, no counter move, no audit entry
    dry = registry_import_validate(actor=world["officer_a"], file=data, filename="x.csv")
    assert (dry.status, dry.rows_created, dry.rows_skipped) == ("validated", 0, 5)
    # a file with one more row imports only that one
    more = import_csv([import_row(n) for n in range(1, 7)])
    third = registry_import_apply(actor=world["officer_a"], file=more, filename="x.csv")
    assert (third.rows_created, third.rows_skipped) == (1, 5)
    assert CustodyPeriod.objects.filter(legacy_reference="LEG-6").count() == 1


def test_person_on_file_with_the_same_cin_is_linked(world):
    person = PersonFactory(cin="K100001", first_name_latin="Karim", family_name_latin="Bennani1")
    CustodyPeriodFactory(
        person=person,
        facility=world["b"],
        committed_at=timezone.make_aware(dt.datetime(2019, 1, 1)),
        released_at=timezone.make_aware(dt.datetime(2020, 1, 1)),
        status=CustodyStatus.RELEASED,
    )
    rows = [
        import_row(1, cin="k 100-001"),  # normalised
        import_row(
            2,
            cin="K100001",
            family_name_ar="بناني1",
            family_name_latin="Bennani1",
            committed_at="2021-01-01",
            released_at="2021-06-01",
        ),
    ]
    persons = Person.objects.count()
    batch = registry_import_apply(actor=world["officer_a"], file=import_csv(rows), filename="x")
    assert batch.status == "failed"  # no extension: not a CSV nor an XLSX
    batch = registry_import_apply(actor=world["officer_a"], file=import_csv(rows), filename="x.csv")
    assert batch.status == ImportStatus.APPLIED, batch.errors
    assert Person.objects.count() == persons
    assert person.custody_periods.count() == 3
    # the names on file differ from the file's (Arabic): linked, with a warning
    assert issues(batch, "warning") == {(2, "cin", "identity_differs")}


def test_person_without_cin_linked_by_names_and_birth_date_with_a_warning(world):
    person = PersonFactory(
        cin="",
        first_name_ar="كريم",
        family_name_ar="بناني",
        first_name_latin="Karim",
        family_name_latin="Bennani",
        birth_date=dt.date(1990, 5, 17),
    )
    CustodyPeriodFactory(
        person=person,
        facility=world["a"],
        committed_at=timezone.make_aware(dt.datetime(2019, 1, 1)),
        released_at=timezone.make_aware(dt.datetime(2020, 1, 1)),
        status=CustodyStatus.RELEASED,
    )
    rows = [
        # other spellings of the same names, first and family name swapped in Latin script
        import_row(
            1,
            cin="",
            first_name_ar="كريم",
            family_name_ar="بنّاني",
            first_name_latin="Bennani",
            family_name_latin="Karim",
        ),
        import_row(
            2, cin="", first_name_ar="", family_name_ar="", family_name_latin="Bennani"
        ),  # names in Latin only
    ]
    rows[1] |= {"committed_at": "2022-01-01", "released_at": "2022-02-01"}
    batch = registry_import_apply(actor=world["officer_a"], file=import_csv(rows), filename="x.csv")
    assert batch.status == ImportStatus.APPLIED, batch.errors
    assert person.custody_periods.count() == 3
    assert not Person.objects.exclude(pk=person.pk).exists()
    warnings = issues(batch, "warning")
    assert warnings == {(2, "cin", "linked_by_names"), (3, "cin", "linked_in_file")}


def test_person_found_with_first_and_family_names_swapped(world):
    person = PersonFactory(
        cin="",
        first_name_ar="",
        family_name_ar="",
        first_name_latin="Youssef",
        family_name_latin="Alami",
        name_key_ar="",
        birth_date=dt.date(1980, 1, 2),
    )
    row = import_row(
        1,
        cin="",
        first_name_ar="",
        family_name_ar="",
        first_name_latin="ALAMI",
        family_name_latin="Yusef",
        birth_date="02/01/1980",
    )
    batch = registry_import_apply(
        actor=world["officer_a"], file=import_csv([row]), filename="x.csv"
    )
    assert batch.status == ImportStatus.APPLIED, batch.errors
    assert issues(batch, "warning") == {(2, "cin", "linked_by_names")}
    assert CustodyPeriod.objects.get().person == person


def test_rows_of_the_same_cin_make_one_person(world):
    rows = [
        import_row(1, cin="K7", committed_at="2020-01-01", released_at="2020-12-01"),
        import_row(2, cin="K7", family_name_ar="بناني1", family_name_latin="Bennani1"),
    ]
    batch = registry_import_apply(actor=world["officer_a"], file=import_csv(rows), filename="x.csv")
    assert batch.status == ImportStatus.APPLIED, batch.errors
    person = Person.objects.get(cin="K7")
    assert person.custody_periods.count() == 2
    assert person.detentions.count() == 2


# -- permissions and scoping ------------------------------------------------------------------
def test_officer_of_another_institution_cannot_import_into_yours(world):
    data = import_csv([import_row(1), import_row(2)])  # OUJDA2 rows
    before = registry_counts()
    batch = registry_import_apply(actor=world["officer_b"], file=data, filename="x.csv")
    assert batch.status == ImportStatus.FAILED
    assert issues(batch) == {
        (2, "facility", "unknown_facility"),
        (3, "facility", "unknown_facility"),
    }
    assert registry_counts() == before
    # choosing the institution is refused outright
    batches = ImportBatch.objects.count()
    with pytest.raises(PermissionDenied):
        registry_import_apply(
            actor=world["officer_b"], file=data, filename="x.csv", facility=world["a"]
        )
    assert ImportBatch.objects.count() == batches and registry_counts() == before


def test_without_the_import_permission_nothing_happens(world, make_user):
    physician = make_user("dr.a", "physician", facility=world["a"])
    data = import_csv([import_row(1)])
    batches = ImportBatch.objects.count()
    for service in (registry_import_validate, registry_import_apply):
        with pytest.raises(PermissionDenied):
            service(actor=physician, file=data, filename="x.csv")
    assert ImportBatch.objects.count() == batches
    assert not CustodyPeriod.objects.exists()


def test_national_user_imports_into_several_institutions(world):
    admin = UserFactory(username="national.admin")
    grant(admin, "system_admin")
    data = import_csv([import_row(1), import_row(2, facility="SALE2")])
    batch = registry_import_apply(actor=admin, file=data, filename="x.csv")
    assert batch.status == ImportStatus.APPLIED, batch.errors
    assert batch.facility is None  # several institutions
    entries = AuditEntry.objects.filter(verb="registry_import")
    assert sorted(e.chain for e in entries) == sorted([world["a"].id, world["b"].id])
    assert {e.after["legacy_references"][0] for e in entries} == {"LEG-1", "LEG-2"}


# -- performance --------------------------------------------------------------------------------
def test_queries_do_not_grow_with_the_rows(world):
    def run(n: int, prefix: str) -> int:
        rows = [
            import_row(i, legacy_reference=f"{prefix}{i}", cin=f"{prefix}{i}", offence_codes="VOL")
            for i in range(1, n + 1)
        ]
        data = import_csv(rows)
        with CaptureQueriesContext(connection) as ctx:
            batch = registry_import_apply(actor=world["officer_a"], file=data, filename="x.csv")
        assert batch.status == ImportStatus.APPLIED, batch.errors[:3]
        return len(ctx.captured_queries)

    small = run(10, "A")
    large = run(1200, "B")  # several insert batches and look-up chunks
    # bulk inserts (SQLite caps the parameters of a statement) and chunked look-ups: far
    # below a query per row
    assert large - small < 1200 // 8, (small, large)


def test_template_files_have_the_header_row(world):
    from openpyxl import load_workbook

    csv_en = registry_import_template(kind="csv", lang="en").decode("utf-8-sig")
    assert csv_en.splitlines()[0].split(",")[0] == "legacy_reference"
    csv_fr = registry_import_template(kind="csv", lang="fr").decode("utf-8-sig")
    assert csv_fr.splitlines()[0].split(";")[:2] == ["reference_ancienne", "etablissement"]
    book = load_workbook(io.BytesIO(registry_import_template(kind="xlsx", lang="fr")))
    assert book.worksheets[0]["A1"].value == "reference_ancienne"
    # a template is a valid header: the only problem is that it has no rows
    for kind in ("csv", "xlsx"):
        for lang in ("en", "fr"):
            data = registry_import_template(kind=kind, lang=lang)
            batch = registry_import_validate(
                actor=world["officer_a"], file=data, filename=f"t.{kind}"
            )
            assert [i["code"] for i in batch.errors] == ["no_rows"]
