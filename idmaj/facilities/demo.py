"""Demo and reference data of the facilities domain (``idmaj seed-demo``), idempotent.

* the 10 regional directorates of the prison administration (DGAPR);
* the institutions of ``data/ma-prisons.csv`` (public sources), with their status history;
* a plausible structure (buildings, wings, cells) whose beds add up to each capacity;
* the infrastructure projects and installations that the 2020 report names, plus a few
  plausible others.

Missing figures are filled deterministically: each institution draws from its own
``random.Random(f"{random_seed}:{code}")``, so a second run (or a run over a partly seeded
database) computes exactly the same values and changes nothing.
"""

from __future__ import annotations

import csv
import math
import random
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction

from . import services
from .constants import (
    AgeGroup,
    FacilityKind,
    FacilityStatus,
    ProjectKind,
    ProjectStatus,
    Regime,
    Sex,
    SpecialUse,
)
from .models import (
    Building,
    Cell,
    Facility,
    FacilityStatusPeriod,
    InfrastructureProject,
    Installation,
    InstallationType,
    Region,
    Wing,
)

CSV_PATH = Path(__file__).parent / "data" / "ma-prisons.csv"

# code, name_ar, name_fr, name_en, seat, administrative regions covered
REGIONS = [
    ("TTA", "طنجة تطوان الحسيمة", "Tanger-Tétouan-Al Hoceïma", "Tangier-Tetouan-Al Hoceima",
     "Tanger", ["Tanger-Tétouan-Al Hoceïma"]),
    ("ORIENTAL", "الشرق", "Oriental", "Oriental", "Oujda", ["Oriental"]),
    ("FES_MEKNES", "فاس مكناس", "Fès-Meknès", "Fez-Meknes", "Fès", ["Fès-Meknès"]),
    ("RSK", "الرباط سلا القنيطرة", "Rabat-Salé-Kénitra", "Rabat-Sale-Kenitra", "Rabat",
     ["Rabat-Salé-Kénitra"]),
    ("BMK", "بني ملال خنيفرة", "Béni Mellal-Khénifra", "Beni Mellal-Khenifra", "Béni Mellal",
     ["Béni Mellal-Khénifra"]),
    ("CASA_SETTAT", "الدار البيضاء سطات", "Casablanca-Settat", "Casablanca-Settat",
     "Casablanca", ["Casablanca-Settat"]),
    ("MARRAKECH_SAFI", "مراكش آسفي", "Marrakech-Safi", "Marrakesh-Safi", "Marrakech",
     ["Marrakech-Safi"]),
    ("DRAA_TAFILALET", "درعة تافيلالت", "Drâa-Tafilalet", "Draa-Tafilalet", "Errachidia",
     ["Drâa-Tafilalet"]),
    ("SOUSS_MASSA", "سوس ماسة", "Souss-Massa", "Souss-Massa", "Agadir", ["Souss-Massa"]),
    ("SUD", "الجنوب", "Sud", "South", "Laâyoune",
     ["Guelmim-Oued Noun", "Laâyoune-Sakia El Hamra", "Dakhla-Oued Ed-Dahab"]),
]  # fmt: skip

INSTALLATION_TYPES = [
    ("biometric", "التقنية البيومترية لضبط الهوية", "Identification biométrique",
     "Biometric identification"),
    ("online_visit_booking", "حجز موعد الزيارة عن بعد (زيارة)",
     "Réservation de visite en ligne (Ziyara)", "Online visit booking (Ziyara)"),
    ("telephone_system", "نظام الاتصالات الهاتفية", "Système de téléphonie", "Telephone system"),
    ("family_visit_space", "فضاء الزيارة العائلية", "Espace de visite familiale",
     "Family visit space"),
    ("medical_unit", "الوحدة الطبية", "Unité médicale", "Medical unit"),
    ("dental_clinic", "عيادة طب الأسنان", "Cabinet dentaire", "Dental clinic"),
    ("dialysis_unit", "وحدة تصفية الدم", "Unité d'hémodialyse", "Dialysis unit"),
    ("tb_lab", "مختبر الكشف عن داء السل", "Laboratoire de dépistage de la tuberculose",
     "Tuberculosis screening laboratory"),
    ("distance_learning_studio", "استوديو التعليم عن بعد", "Studio d'enseignement à distance",
     "Distance-learning studio"),
    ("telemedicine", "الاستشارة الطبية عن بعد", "Télémédecine", "Telemedicine"),
]  # fmt: skip

BEDS_RANGE = {
    FacilityKind.LOCAL_PRISON: (600, 1500),
    FacilityKind.CENTRAL_PRISON: (1200, 1800),
    FacilityKind.AGRICULTURAL_PRISON: (200, 500),
    FacilityKind.REFORM_EDUCATION_CENTRE: (150, 400),
}

# The three institutions opened in 2020 total 4,400 beds (report). The CSV gives 1,500 for
# Larache 2; the report's total makes it 1,575.
BEDS_OVERRIDE = {"LARACHE2": 4400 - 1425 - 1400}
# Dates the public sources give more precisely than a year.
OPENING_OVERRIDE = {
    "BERKANE2": date(2020, 2, 10),
    "OUJDA2": date(2020, 2, 24),
    "LARACHE2": date(2020, 2, 24),
}
# Closures when the replacing institution opened.
CLOSURE_OVERRIDE = {"OUJDA1": date(2020, 2, 24), "KSARELKEBIR": date(2020, 2, 24)}
CONSTRUCTION_OVERRIDE = {
    "TAMESNA_CRE": date(2020, 6, 1),
    "LAAYOUNE": date(2020, 3, 1),
}
SALE2_EXTENSION_BEDS = 600
SALE2_EXTENSION_DONE = date(2020, 9, 30)

MONTHS_FR = {
    "janv": 1, "févr": 2, "fevr": 2, "mars": 3, "avr": 4, "mai": 5, "juin": 6, "juil": 7,
    "août": 8, "aout": 8, "sept": 9, "oct": 10, "nov": 11, "déc": 12, "dec": 12,
}  # fmt: skip
NOTE_RE = re.compile(r"\s*\[([^\]]+)\]\s*")


@dataclass
class Row:
    code: str
    name_fr: str
    name_ar: str
    city: str
    kind: str
    region_code: str
    beds: int
    opened: date | None
    closed: date | None
    status_now: str  # from the note: closed / under_construction / planned / operating
    source: str
    history: list[tuple[date, str, str]] = field(default_factory=list)


def _parse_closure(note: str) -> date | None:
    m = re.match(r"fermée\s+(?:([a-zéû]+)\.?\s+)?(\d{4})", note.strip(), re.IGNORECASE)
    if not m:
        return None
    month = MONTHS_FR.get((m.group(1) or "").lower().rstrip("."), 7) if m.group(1) else 7
    return date(int(m.group(2)), month, 1)


def _region_of(admin_region: str) -> str:
    for code, *_rest, covered in REGIONS:
        if admin_region in covered:
            return code
    raise ValueError(f"unknown administrative region {admin_region!r}")


def load_rows(random_seed: int) -> list[Row]:
    """Read the CSV and fill the gaps, deterministically."""
    rows = []
    with CSV_PATH.open(encoding="utf-8") as fh:
        for raw in csv.DictReader(fh):
            code = raw["code"].strip()
            rng = random.Random(f"{random_seed}:{code}")
            name_fr = raw["name_fr"].strip()
            note = ""
            m = NOTE_RE.search(name_fr)
            if m:
                note = m.group(1)
                name_fr = NOTE_RE.sub(" ", name_fr).strip()
            kind = raw["kind"].strip()
            lo, hi = BEDS_RANGE[kind]
            drawn_beds = rng.randint(lo, hi)
            beds = int(raw["capacity_beds"]) if raw["capacity_beds"].strip() else drawn_beds
            beds = BEDS_OVERRIDE.get(code, beds)
            if code == "SALE2":
                beds += SALE2_EXTENSION_BEDS
            drawn_year = rng.randint(1950, 2015)
            year = int(raw["opened"]) if raw["opened"].strip() else drawn_year
            opened: date | None = OPENING_OVERRIDE.get(code, date(year, 1, 1))
            closed = None
            status_now = FacilityStatus.OPERATING
            history: list[tuple[date, str, str]] = []
            lowered = note.lower()
            if lowered.startswith("fermée"):
                closed = CLOSURE_OVERRIDE.get(code) or _parse_closure(note)
                status_now = FacilityStatus.CLOSED
            elif "construction" in lowered:
                status_now = FacilityStatus.UNDER_CONSTRUCTION
                opened = None
            elif "projet" in lowered:
                status_now = FacilityStatus.PLANNED
                opened = None
            if opened is not None:
                start = CONSTRUCTION_OVERRIDE.get(code) or date(opened.year - 2, 1, 1)
                history.append((start, FacilityStatus.UNDER_CONSTRUCTION, ""))
                history.append((opened, FacilityStatus.OPERATING, ""))
                if closed:
                    history.append((closed, FacilityStatus.CLOSED, note))
            elif status_now == FacilityStatus.UNDER_CONSTRUCTION:
                start = CONSTRUCTION_OVERRIDE.get(code) or date(2022, 1, 1)
                history.append((start, FacilityStatus.UNDER_CONSTRUCTION, note))
            else:
                history.append((date(2019, 1, 1), FacilityStatus.PLANNED, note))
            source = raw["source"].split("|")[0].strip()
            if not source.startswith("http"):
                source = ""
            rows.append(
                Row(
                    code=code,
                    name_fr=name_fr,
                    name_ar=raw["name_ar"].strip(),
                    city=raw["city"].strip(),
                    kind=kind,
                    region_code=_region_of(raw["region"].strip()),
                    beds=beds,
                    opened=opened,
                    closed=closed,
                    status_now=status_now,
                    source=source,
                    history=history,
                )
            )
    return rows


# -- reference data --------------------------------------------------------------------------
def seed_regions() -> dict[str, Region]:
    out = {}
    for code, ar, fr, en, seat, covered in REGIONS:
        values = {
            "name_ar": ar,
            "name_fr": fr,
            "name_en": en,
            "seat": seat,
            "admin_regions": ", ".join(covered),
        }
        region, created = Region.objects.get_or_create(code=code, defaults=values)
        if not created:
            changed = [k for k, v in values.items() if getattr(region, k) != v]
            if changed:
                for k in changed:
                    setattr(region, k, values[k])
                region.full_clean()
                region.save(update_fields=changed)
        out[code] = region
    return out


def seed_installation_types() -> None:
    for code, ar, fr, en in INSTALLATION_TYPES:
        values = {"name_ar": ar, "name_fr": fr, "name_en": en}
        itype, created = InstallationType.objects.get_or_create(code=code, defaults=values)
        if not created:
            changed = [k for k, v in values.items() if getattr(itype, k) != v]
            for k in changed:
                setattr(itype, k, values[k])
            if changed:
                itype.save(update_fields=changed)


# -- institutions ----------------------------------------------------------------------------
def seed_facility(row: Row, regions: dict[str, Region]) -> tuple[Facility, bool]:
    facility = Facility.objects.filter(code=row.code).first()
    created = facility is None
    first_since, first_status, first_note = row.history[0]
    if facility is None:
        facility = services.facility_create(
            actor=None,
            code=row.code,
            name_ar=row.name_ar,
            name_fr=row.name_fr,
            kind=row.kind,
            region=regions[row.region_code],
            city=row.city,
            status=first_status,
            since=first_since,
            source=row.source,
        )
    else:
        services.facility_update(
            actor=None,
            facility=facility,
            name_ar=row.name_ar,
            name_fr=row.name_fr,
            kind=row.kind,
            region=regions[row.region_code],
            city=row.city,
            source=row.source,
        )
    have = set(
        FacilityStatusPeriod.objects.filter(facility=facility).values_list("since", flat=True)
    )
    for since, status, note in row.history:
        if since not in have:
            services.facility_status_set(
                actor=None, facility=facility, status=status, since=since, note=note
            )
    return facility, created


# Wing templates: (name, building, sex, age group, regime, share of beds, cell sizes)
LOCAL_WINGS = [
    ("A1", "A", Sex.MALE, AgeGroup.ADULT, Regime.REMAND, 0.24, (4, 6, 8)),
    ("A2", "A", Sex.MALE, AgeGroup.ADULT, Regime.REMAND, 0.20, (6, 8, 12)),
    ("B1", "B", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0.22, (4, 6, 8)),
    ("B2", "B", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0.22, (8, 12)),
    ("C1", "C", Sex.MALE, AgeGroup.ADULT, Regime.MIXED, 0.06, (2, 4)),
]
WOMEN_WING = ("F1", "F", Sex.FEMALE, AgeGroup.ADULT, Regime.MIXED, 0.06, (4, 6))
JUVENILE_WING = ("J1", "C", Sex.MALE, AgeGroup.JUVENILE, Regime.MIXED, 0.04, (4, 6))
CENTRAL_WINGS = [
    ("A1", "A", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0.30, (4, 6)),
    ("A2", "A", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0.30, (6, 8)),
    ("B1", "B", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0.30, (1, 2, 4)),
    ("B2", "B", Sex.MALE, AgeGroup.ADULT, Regime.REMAND, 0.10, (4, 6)),
]
AGRI_WINGS = [
    ("D1", "D", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0.55, (10, 16, 20)),
    ("D2", "D", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0.45, (10, 12)),
]
CRE_WINGS = [
    ("J1", "A", Sex.MALE, AgeGroup.JUVENILE, Regime.REMAND, 0.40, (2, 4)),
    ("J2", "A", Sex.MALE, AgeGroup.JUVENILE, Regime.CONVICTED, 0.45, (2, 4, 6)),
    ("JF", "B", Sex.FEMALE, AgeGroup.JUVENILE, Regime.MIXED, 0.15, (2, 4)),
]

SPECIAL_CELLS = [  # (special use, beds, how many) in every institution's first wing
    (SpecialUse.MEDICAL, 2, 2),
    (SpecialUse.ISOLATION, 1, 2),
    (SpecialUse.DISCIPLINARY, 1, 2),
]


def _wings_for(row: Row, rng: random.Random) -> list[tuple]:
    if row.kind == FacilityKind.LOCAL_PRISON:
        wings = list(LOCAL_WINGS)
        if rng.random() < 0.85:
            wings.append(WOMEN_WING)
        if rng.random() < 0.3:
            wings.append(JUVENILE_WING)
        return wings
    if row.kind == FacilityKind.CENTRAL_PRISON:
        return list(CENTRAL_WINGS)
    if row.kind == FacilityKind.AGRICULTURAL_PRISON:
        return list(AGRI_WINGS)
    return list(CRE_WINGS)


def _split(total: int, shares: list[float]) -> list[int]:
    """Split ``total`` by ``shares`` exactly (largest remainder)."""
    s = sum(shares)
    raw = [total * x / s for x in shares]
    parts = [int(math.floor(x)) for x in raw]
    rest = total - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)[:rest]:
        parts[i] += 1
    return parts


def _cells_for_wing(
    beds: int, sizes: tuple[int, ...], rng: random.Random, specials: list[tuple]
) -> list[tuple[int, str]]:
    """(beds, special use) per cell, adding up to ``beds`` exactly."""
    cells: list[tuple[int, str]] = []
    left = beds
    for use, size, count in specials:
        for _ in range(count):
            if left >= size:
                cells.append((size, use))
                left -= size
    while left > 0:
        size = min(rng.choice(sizes), left)
        cells.append((size, ""))
        left -= size
    return cells


def seed_structure(facility: Facility, row: Row, random_seed: int) -> int:
    """Buildings, wings and cells of an institution that has held prisoners; bulk-created,
    and only when the institution has no building yet. Returns the number of cells made."""
    if row.opened is None or Building.objects.filter(facility=facility).exists():
        return 0
    rng = random.Random(f"{random_seed}:{row.code}:structure")
    base_beds = row.beds - (SALE2_EXTENSION_BEDS if row.code == "SALE2" else 0)
    templates = _wings_for(row, rng)
    parts = _split(base_beds, [t[5] for t in templates])
    plan = [(t, b, row.opened) for t, b in zip(templates, parts, strict=True)]
    if row.code == "SALE2":
        ext = ("E1", "E", Sex.MALE, AgeGroup.ADULT, Regime.CONVICTED, 0, (4, 6, 8))
        plan.append((ext, SALE2_EXTENSION_BEDS, SALE2_EXTENSION_DONE))
    building_names = sorted({t[1] for t, _b, _d in plan})
    Building.objects.bulk_create(
        [Building(facility=facility, name=name) for name in building_names]
    )
    buildings = {b.name: b for b in Building.objects.filter(facility=facility)}
    Wing.objects.bulk_create(
        [
            Wing(
                facility=facility,
                building=buildings[t[1]],
                name=t[0],
                sex=t[2],
                age_group=t[3],
                regime=t[4],
            )
            for t, _b, _d in plan
        ]
    )
    wings = {w.name: w for w in Wing.objects.filter(facility=facility)}
    cells = []
    for i, (t, beds, start) in enumerate(plan):
        specials = list(SPECIAL_CELLS) if i == 0 else []
        if t[2] == Sex.FEMALE and t[3] == AgeGroup.ADULT:
            specials.append((SpecialUse.MOTHER_CHILD, 2, 2))
        for n, (cell_beds, use) in enumerate(_cells_for_wing(beds, t[6], rng, specials), 1):
            extra = math.ceil(cell_beds * rng.uniform(0.25, 0.5))
            cells.append(
                Cell(
                    facility=facility,
                    wing=wings[t[0]],
                    number=f"{t[0]}-{n:03d}",
                    beds=cell_beds,
                    operational_max=cell_beds + extra,
                    special_use=use,
                    in_service_from=start,
                    in_service_until=row.closed,
                )
            )
    Cell.objects.bulk_create(cells, batch_size=2000)
    return len(cells)


# -- projects --------------------------------------------------------------------------------
KIND_LABELS = {
    ProjectKind.NEW_CONSTRUCTION: ("بناء", "Construction de"),
    ProjectKind.EXTENSION: ("توسيع", "Extension de"),
    ProjectKind.REFURBISHMENT: ("تهيئة", "Aménagement de"),
    ProjectKind.REPAIR: ("إصلاح وترميم", "Réparation et restauration de"),
}

C = ProjectStatus.COMPLETED
NC = ProjectKind.NEW_CONSTRUCTION
# (facility, kind, status, started, planned end, completed, beds added, beds restored)
PROJECTS = [
    ("BERKANE2", NC, C, date(2017, 4, 1), None, date(2020, 1, 31), 1425, 0),
    ("OUJDA2", NC, C, date(2017, 6, 1), None, date(2020, 1, 31), 1400, 0),
    ("LARACHE2", NC, C, date(2017, 9, 1), None, date(2020, 1, 31), 4400 - 2825, 0),
    ("LAAYOUNE", NC, C, date(2020, 3, 1), date(2022, 12, 31), date(2022, 12, 20), 1300, 0),
    ("TAMESNA_CRE", NC, ProjectStatus.UNDER_WAY, date(2020, 6, 1), date(2024, 12, 31), None,
     300, 0),
    ("SALE2", ProjectKind.EXTENSION, C, date(2018, 10, 1), None, SALE2_EXTENSION_DONE,
     SALE2_EXTENSION_BEDS, 0),
    ("SETTAT", ProjectKind.REFURBISHMENT, C, date(2019, 3, 1), None, date(2020, 11, 30), 0, 0),
    ("SETTAT_CRE_ALIMOUMEN", ProjectKind.REFURBISHMENT, C, date(2019, 9, 1), None,
     date(2020, 10, 15), 0, 0),
    ("AZILAL", ProjectKind.REPAIR, C, date(2019, 11, 1), None, date(2020, 6, 30), 0, 60),
    ("FES_RASELMA", ProjectKind.REPAIR, C, date(2019, 10, 1), None, date(2020, 9, 15), 0, 120),
    ("TIZNIT", ProjectKind.REPAIR, C, date(2020, 1, 15), None, date(2020, 7, 31), 0, 48),
    ("TAZA", ProjectKind.REPAIR, C, date(2019, 12, 1), None, date(2020, 8, 31), 0, 72),
    ("SAFI", ProjectKind.REPAIR, C, date(2020, 2, 1), None, date(2020, 12, 15), 0, 90),
    ("ROMMANI_AGRI", ProjectKind.REPAIR, C, date(2020, 1, 6), None, date(2020, 10, 30), 0, 40),
    ("ZAIO_AGRI", ProjectKind.REPAIR, C, date(2020, 2, 3), None, date(2020, 11, 20), 0, 36),
    # earlier and later, plausible
    ("NADOR2", NC, C, date(2015, 5, 1), None, date(2017, 12, 20), 1400, 0),
    ("TANGER2", NC, C, date(2014, 3, 1), None, date(2016, 12, 15), 1238, 0),
    ("SMARA", NC, C, date(2015, 1, 5), None, date(2016, 12, 1), 220, 0),
    ("ASILAH", NC, C, date(2018, 4, 1), None, date(2021, 1, 15), 1236, 0),
    ("ELJADIDA2", NC, C, date(2020, 9, 1), None, date(2022, 12, 15), 1888, 0),
    ("CHICHAOUA", NC, ProjectStatus.UNDER_WAY, date(2022, 1, 1), date(2026, 12, 31), None,
     1300, 0),
    ("KENITRA_CENTRALE", ProjectKind.REPAIR, C, date(2018, 2, 1), None, date(2018, 11, 30),
     0, 150),
]  # fmt: skip


def seed_projects(facilities: dict[str, Facility]) -> int:
    made = 0
    for code, kind, status, started, planned_end, completed, added, restored in PROJECTS:
        facility = facilities[code]
        verb_ar, verb_fr = KIND_LABELS[kind]
        name_ar = f"{verb_ar} {facility.name_ar}"
        name_fr = f"{verb_fr} {facility.name_fr}"
        if InfrastructureProject.objects.filter(
            facility=facility, kind=kind, name_fr=name_fr
        ).exists():
            continue
        services.project_record(
            actor=None,
            facility=facility,
            kind=kind,
            name_ar=name_ar,
            name_fr=name_fr,
            status=status,
            started_on=started,
            planned_end=planned_end,
            completed_on=completed,
            beds_added=added,
            beds_restored=restored,
        )
        made += 1
    return made


# -- installations ---------------------------------------------------------------------------
BIOMETRIC_BY_2019 = [
    ("CASA_AINSEBAA1", date(2017, 3, 1)),
    ("KENITRA_CENTRALE", date(2017, 6, 1)),
    ("SALE2", date(2017, 10, 1)),
    ("ARJAT1", date(2018, 2, 1)),
    ("TANGER2", date(2018, 5, 1)),
    ("AITMELLOUL1", date(2018, 9, 1)),
    ("MARRAKECH_OUDAYA", date(2019, 1, 15)),
    ("FES_BOURKAIZ", date(2019, 4, 1)),
    ("MEKNES_TOULAL2", date(2019, 7, 1)),
    ("NADOR2", date(2019, 12, 31)),
]
BIOMETRIC_2020 = [
    ("OUJDA2", date(2020, 3, 2)),
    ("BERKANE2", date(2020, 3, 9)),
    ("LARACHE2", date(2020, 3, 16)),
    ("ARJAT2", date(2020, 9, 1)),
    ("SAFI_MOULELBERGUI_CENTRALE", date(2020, 12, 31)),
]
BIOMETRIC_LATER = [
    ("ASILAH", date(2021, 1, 1)),
    ("TIFLET2", date(2021, 6, 1)),
    ("AITMELLOUL2", date(2022, 3, 1)),
]
ONLINE_BOOKING_2020 = [
    ("OUJDA2", date(2020, 6, 1)),
    ("SALE2", date(2020, 6, 1)),
    ("CASA_AINSEBAA1", date(2020, 7, 1)),
    ("TANGER2", date(2020, 9, 1)),
    ("AITMELLOUL1", date(2020, 10, 1)),
    ("FES_RASELMA", date(2020, 11, 2)),
]
ONLINE_BOOKING_LATER = [
    ("BERKANE2", date(2021, 2, 1)),
    ("LARACHE2", date(2021, 3, 1)),
    ("MARRAKECH_OUDAYA", date(2021, 5, 3)),
]
REPORT_2020 = [
    ("medical_unit", "OUJDA2", date(2020, 2, 24)),
    ("medical_unit", "BERKANE2", date(2020, 2, 10)),
    ("medical_unit", "LARACHE2", date(2020, 2, 24)),
    ("dental_clinic", "MIDELT", date(2020, 5, 4)),
    ("dialysis_unit", "NADOR2", date(2020, 10, 12)),
    ("tb_lab", "OUJDA2", date(2020, 7, 1)),
    ("tb_lab", "ARJAT2", date(2020, 7, 1)),
    ("family_visit_space", "LARACHE2", date(2020, 2, 24)),
    ("family_visit_space", "OUJDA2", date(2020, 2, 24)),
    ("distance_learning_studio", "SALE2", date(2020, 10, 5)),
    ("telemedicine", "OUJDA2", date(2020, 11, 2)),
    ("telemedicine", "SALE2", date(2020, 11, 2)),
    ("telemedicine", "CASA_AINSEBAA1", date(2020, 11, 16)),
]


def _installation_plan(
    rows: list[Row], random_seed: int
) -> list[tuple[str, str, date, date | None]]:
    """(type, facility, installed on, removed on)."""
    plan: list[tuple[str, str, date, date | None]] = []
    for code, d in BIOMETRIC_BY_2019 + BIOMETRIC_2020 + BIOMETRIC_LATER:
        plan.append(("biometric", code, d, None))
    for code, d in ONLINE_BOOKING_2020 + ONLINE_BOOKING_LATER:
        plan.append(("online_visit_booking", code, d, None))
    for type_code, code, d in REPORT_2020:
        plan.append((type_code, code, d, None))
    reported_medical = {c for t, c, _d in REPORT_2020 if t == "medical_unit"}
    for row in rows:
        if row.opened is None:
            continue
        rng = random.Random(f"{random_seed}:{row.code}:installations")
        # medical units at most institutions, from their opening (or 2000 for older ones)
        if row.code not in reported_medical and row.opened.year < 2020 and rng.random() < 0.85:
            start = max(row.opened, date(2000, 1, 1))
            if row.closed is None or row.closed > start:
                plan.append(("medical_unit", row.code, start, row.closed))
        # the telephone system, rolled out from 2017
        if rng.random() < 0.5 and (row.closed is None or row.closed > date(2020, 12, 31)):
            start = max(row.opened, date(2017 + rng.randint(0, 4), rng.randint(1, 12), 1))
            plan.append(("telephone_system", row.code, start, row.closed))
    return plan


def seed_installations(rows: list[Row], facilities: dict[str, Facility], random_seed: int) -> int:
    made = 0
    types = {t.code: t for t in InstallationType.objects.all()}
    existing = {
        (i.type_id, i.facility_id, i.installed_on): i
        for i in Installation.objects.filter(facility__in=facilities.values())
    }
    for type_code, code, installed_on, removed_on in _installation_plan(rows, random_seed):
        facility = facilities[code]
        key = (types[type_code].pk, facility.pk, installed_on)
        installation = existing.get(key)
        if installation is None:
            installation = services.installation_record(
                actor=None, facility=facility, type_code=type_code, installed_on=installed_on
            )
            made += 1
        if removed_on and installation.removed_on is None:
            services.installation_remove(
                actor=None, installation=installation, removed_on=removed_on
            )
    return made


# -- entry point -----------------------------------------------------------------------------
def seed(*, scale: str = "demo", random_seed: int = 2020, stdout=None) -> dict[str, int]:
    """Seed the facilities domain (idempotent).

    ``scale="national"`` seeds the same reference data: the national volume of later domains
    is added by their own seeders."""
    rows = load_rows(random_seed)
    counts = {"facilities": 0, "cells": 0, "projects": 0, "installations": 0}
    with transaction.atomic():
        regions = seed_regions()
        seed_installation_types()
        facilities: dict[str, Facility] = {}
        for row in rows:
            facility, created = seed_facility(row, regions)
            facilities[row.code] = facility
            counts["facilities"] += int(created)
            counts["cells"] += seed_structure(facility, row, random_seed)
        counts["projects"] = seed_projects(facilities)
        counts["installations"] = seed_installations(rows, facilities, random_seed)
    if stdout:
        stdout.write(
            "facilities: {facilities} institutions, {cells} cells, {projects} projects, "
            "{installations} installations created".format(**counts)
        )
    return counts
