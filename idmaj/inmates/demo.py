"""Demo and national data of the inmate registry (``idmaj seed-demo``), idempotent.

* ``scale="demo"``: a realistic population with its history for the demo institutions
  Oujda 2 and Berkane 2, and Oujda 1, the prison they replaced (closed on 24 February 2020,
  its prisoners moved to them): committals since 2019 (and, for those in custody on
  1 January 2019, before), hearings, sentences, appeals, royal pardons, transfers, releases,
  a few juveniles and women where the institutions have such wings, and the cells of those
  in custody today. The institutions receive 80 % of their national share of committals
  (they are newer and less crowded: a present population near their beds), and detentions
  that ended more than four months ago are kept for one in twelve, so that the demo stays
  small (a few thousand persons; its past population counts are therefore partial). A few
  seconds on SQLite.
* ``scale="national"``: the nation's registry from 1 January 2019 to today for every
  institution that holds prisoners on each date (facility status history): about 110,000
  committals a year, a population near 85,000 in 2020 and near 100,000 today, about 40 % on
  remand, 2.5 % women, 1.5 % juveniles. Minutes on PostgreSQL.

How it works. A discrete simulation, month by month, of committals to the institutions
(each receives its share of the nation's committals by the beds of its wings for men,
women and juveniles), and for each detention its whole course drawn at committal: the
offences, remand, the first-instance decision (conviction, acquittal, provisional release),
appeal, sentences, royal pardon decrees (the real occasions, with the exceptional decree of
5 April 2020), conditional release, death or escape, transfers (to a central prison for long
sentences, to an agricultural prison, on closure of an institution, at 18 from a reform
centre). Everything after today is cut off: what is in the future stays undecided (an
upcoming hearing is recorded as pending). Those in custody on 1 January 2019 are drawn from
the same process, weighted by the length of their detention (a stationary population).

Rows are written directly (system data: no audit entries), in bulk (PostgreSQL ``COPY``,
SQLite ``executemany``), in one transaction, keeping every invariant the services keep:
committal numbers ``<CODE>-<YEAR>-<6 digits>`` in the order of committal with the
``CommittalCounter`` rows up to date; one open ``LegalStatusPeriod`` per open custody period,
closed at release or transfer; ``CustodyPeriod.legal_status`` = the current one; a transfer
is two custody periods and a ``Movement``; release records with their certificate number
``<CODE>-L-<year>-<6 digits>``; ``Detention.expected_release`` as
``services.legal.release_info`` computes it (``release.expected_release`` over the sentences
in force, with pardon reductions; a pardon release or a conditional release when earlier);
the cells of those in custody today under the separation rules (wing sex; juveniles only in
juvenile wings and adults never; remand and appealing in remand wings, convicted in convicted
wings, one side per cell in mixed wings) and never above a cell's operational maximum (the
others are left without a cell, and counted).

Deterministic for a given ``random_seed`` and database content; does nothing for an
institution that already has custody periods.
"""

from __future__ import annotations

import bisect
import csv
import heapq
import itertools
import json
import math
import random
import time as _time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from idmaj.facilities.constants import (
    HOUSING_STATUSES,
    AgeGroup,
    FacilityKind,
    Regime,
)
from idmaj.facilities.models import Cell, Facility, FacilityStatusPeriod, Wing

from . import demo_names
from .constants import (
    ConditionalReleaseStatus,
    CustodyStatus,
    DetentionEnd,
    HearingKind,
    HearingOutcome,
    LegalStatus,
    MovementKind,
    PardonKind,
    PersonSex,
    PropertyStatus,
    Relationship,
    SentenceStatus,
)
from .models import (
    CellAssignment,
    CellOccupancy,
    CommittalCounter,
    ConditionalRelease,
    CustodyIncident,
    CustodyPeriod,
    Detention,
    FamilyMember,
    Hearing,
    LegalStatusPeriod,
    Movement,
    Offence,
    PardonDecree,
    PardonGrant,
    Person,
    PropertyItem,
    ReleaseRecord,
    Sentence,
)
from .names import search_key
from .release import SentenceSpec, add_months, add_years, expected_release

__all__ = [
    "DEMO_FACILITIES",
    "OFFENCES_CSV",
    "seed",
    "seed_offences",
    "seed_pardon_decrees",
]

OFFENCES_CSV = Path(__file__).parent / "data" / "offences.csv"

# Oujda 1 is seeded with the demo institutions: its prisoners moved to Oujda 2 and Berkane 2
# when it closed, which gives the demo its history since 2019.
DEMO_FACILITIES = ("OUJDA1", "OUJDA2", "BERKANE2")

# The demo keeps every detention under way or ended in the last four months, and one in
# twelve of those that ended before.
DEMO_KEEP_RECENT = timedelta(days=120)
DEMO_HISTORY_KEEP = 1 / 12
# The demo institutions (opened in 2020) are less crowded than the nation's: 80 % of their
# share of the committals keeps their population near their beds.
DEMO_RATE_FACTOR = 0.8

SIM_START = date(2019, 1, 1)
# Committals a year in the whole country; the population in custody on SIM_START.
ADMISSIONS_PER_YEAR = {
    2019: 106_000,
    2020: 98_000,
    2021: 107_000,
    2022: 110_000,
    2023: 113_000,
    2024: 115_000,
    2025: 117_000,
    2026: 118_000,
}
STOCK_AT_START = 84_000
# Sentences pronounced, relative to the medians of PROFILES.
SENTENCE_FACTOR = 1.3
# Groups: adult men, adult women, juvenile boys, juvenile girls.
ADMISSION_SHARES = {"MA": 0.920, "FA": 0.031, "MJ": 0.045, "FJ": 0.004}
STOCK_SHARES = {"MA": 0.9575, "FA": 0.025, "MJ": 0.016, "FJ": 0.0015}
# Days a year on remand grow a little after the health emergency (court backlog).
REMAND_GROWTH = {2021: 1.02, 2022: 1.04, 2023: 1.05, 2024: 1.06, 2025: 1.06, 2026: 1.06}

TZ = ZoneInfo(settings.TIME_ZONE)
DAY = timedelta(days=1)


# == Reference data ===============================================================================
def seed_offences() -> dict[str, int]:
    """Create or update the offences of ``data/offences.csv``; returns ``{code: pk}``."""
    have = {o.code: o for o in Offence.objects.all()}
    create = []
    with OFFENCES_CSV.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            values = {k: row[k].strip() for k in ("name_ar", "name_fr", "name_en")}
            offence = have.get(row["code"])
            if offence is None:
                create.append(Offence(code=row["code"], **values))
                continue
            changed = [k for k, v in values.items() if getattr(offence, k) != v]
            if changed:
                for k in changed:
                    setattr(offence, k, values[k])
                offence.save(update_fields=changed)
    Offence.objects.bulk_create(create)
    return dict(Offence.objects.values_list("code", "pk"))


# Royal pardons are granted on these occasions every year; the Muslim feasts move.
FIXED_OCCASIONS = [
    ((1, 11), "ذكرى تقديم وثيقة المطالبة بالاستقلال", "Manifeste de l'Indépendance"),
    ((7, 30), "عيد العرش", "Fête du Trône"),
    ((8, 20), "ذكرى ثورة الملك والشعب", "Révolution du Roi et du Peuple"),
    ((11, 18), "عيد الاستقلال", "Fête de l'Indépendance"),
]
FEASTS = {
    ("عيد الفطر", "Aïd al-Fitr"): [
        date(2019, 6, 5), date(2020, 5, 24), date(2021, 5, 13), date(2022, 5, 3),
        date(2023, 4, 22), date(2024, 4, 10), date(2025, 3, 31), date(2026, 3, 20),
    ],
    ("عيد الأضحى", "Aïd al-Adha"): [
        date(2019, 8, 12), date(2020, 7, 31), date(2021, 7, 21), date(2022, 7, 10),
        date(2023, 6, 29), date(2024, 6, 17), date(2025, 6, 7), date(2026, 5, 27),
    ],
    ("عيد المولد النبوي", "Aïd al-Mawlid"): [
        date(2019, 11, 10), date(2020, 10, 30), date(2021, 10, 19), date(2022, 10, 9),
        date(2023, 9, 28), date(2024, 9, 16), date(2025, 9, 5), date(2026, 8, 26),
    ],
}  # fmt: skip
# The exceptional pardon of the health emergency (5,654 prisoners released).
COVID_DECREE = date(2020, 4, 5)


@dataclass(frozen=True)
class Decree:
    id: int
    signed_on: date
    exceptional: bool


def seed_pardon_decrees(until: date) -> list[Decree]:
    """The royal pardon decrees from 2019 to ``until`` (idempotent, by reference)."""
    wanted: list[tuple[date, str, str]] = []
    for year in range(SIM_START.year, until.year + 1):
        for (month, day), ar, fr in FIXED_OCCASIONS:
            wanted.append((date(year, month, day), ar, fr))
    for (ar, fr), days in FEASTS.items():
        wanted += [(d, ar, fr) for d in days]
    wanted.append(
        (
            COVID_DECREE,
            "عفو استثنائي في إطار حالة الطوارئ الصحية",
            "Grâce exceptionnelle (COVID-19)",
        )
    )
    wanted = sorted(w for w in wanted if w[0] <= until)
    have = dict(PardonDecree.objects.values_list("reference", "pk"))
    rows = []
    for signed_on, ar, fr in wanted:
        reference = f"GR-{signed_on:%Y%m%d}"
        if reference not in have:
            rows.append(
                PardonDecree(
                    reference=reference,
                    occasion=f"{ar} — {fr}",
                    signed_on=signed_on,
                    note="عفو ملكي سامي / Grâce royale",
                )
            )
    PardonDecree.objects.bulk_create(rows)
    have = dict(PardonDecree.objects.values_list("reference", "pk"))
    return [Decree(have[f"GR-{d:%Y%m%d}"], d, d == COVID_DECREE) for d, _ar, _fr in wanted]


# -- courts and authorities ----------------------------------------------------------------------
# Per institution: the first-instance courts that commit to it (weights) and the court of
# appeal of their district.
COURTS: dict[str, tuple[tuple[tuple[str, int], ...], str]] = {
    "OUJDA1": ((("وجدة", 8), ("جرادة", 2)), "وجدة"),
    "OUJDA2": ((("وجدة", 8), ("جرادة", 2)), "وجدة"),
    "BERKANE2": ((("بركان", 9), ("وجدة", 1)), "وجدة"),
    "NADOR2": ((("الناظور", 8), ("الدريوش", 2)), "الناظور"),
    "TAOURIRT": ((("تاوريرت", 1),), "وجدة"),
    "BOUARFA": ((("فكيك", 1),), "وجدة"),
    "GUERCIF": ((("جرسيف", 1),), "تازة"),
    "ZAIO_AGRI": ((("الناظور", 1),), "الناظور"),
    "SALE2": ((("سلا", 6), ("الرباط", 4)), "الرباط"),
    "ARJAT1": ((("سلا", 5), ("الرباط", 5)), "الرباط"),
    "ARJAT2": ((("سلا", 5), ("الرباط", 5)), "الرباط"),
    "TAMESNA_CRE": ((("تمارة", 1),), "الرباط"),
    "KENITRA_CENTRALE": ((("القنيطرة", 1),), "القنيطرة"),
    "KENITRA": ((("القنيطرة", 1),), "القنيطرة"),
    "TIFLET1": ((("تيفلت", 6), ("الخميسات", 4)), "الرباط"),
    "TIFLET2": ((("تيفلت", 6), ("الخميسات", 4)), "الرباط"),
    "SOUKLARBAA": ((("سوق الأربعاء الغرب", 1),), "القنيطرة"),
    "SIDIKACEM": ((("سيدي قاسم", 7), ("سيدي سليمان", 3)), "القنيطرة"),
    "OUTITA2": ((("سيدي قاسم", 1),), "القنيطرة"),
    "OUTITA1_AGRI": ((("سيدي قاسم", 1),), "القنيطرة"),
    "ROMMANI_AGRI": ((("الخميسات", 1),), "الرباط"),
    "MOHAMMEDIA": ((("المحمدية", 1),), "الدار البيضاء"),
    "BERRECHID": ((("برشيد", 1),), "سطات"),
    "BENAHMED": ((("ابن أحمد", 1),), "سطات"),
    "BENSLIMANE": ((("بنسليمان", 1),), "الدار البيضاء"),
    "BENSLIMANE_CRE": ((("بنسليمان", 1),), "الدار البيضاء"),
    "SETTAT_CRE_ALIMOUMEN": ((("سطات", 1),), "سطات"),
    "SETTAT": ((("سطات", 1),), "سطات"),
    "ELJADIDA": ((("الجديدة", 8), ("سيدي بنور", 2)), "الجديدة"),
    "ELJADIDA2": ((("الجديدة", 8), ("سيدي بنور", 2)), "الجديدة"),
    "ELJADIDA_ADIR_AGRI": ((("الجديدة", 1),), "الجديدة"),
    "FES_RASELMA": ((("فاس", 8), ("بولمان", 2)), "فاس"),
    "FES_BOURKAIZ": ((("فاس", 1),), "فاس"),
    "MEKNES_TOULAL1": ((("مكناس", 8), ("الحاجب", 2)), "مكناس"),
    "MEKNES_TOULAL2": ((("مكناس", 8), ("الحاجب", 2)), "مكناس"),
    "MEKNES_TOULAL3": ((("مكناس", 8), ("الحاجب", 2)), "مكناس"),
    "SEFROU": ((("صفرو", 1),), "فاس"),
    "TAZA": ((("تازة", 1),), "تازة"),
    "TAOUNATE": ((("تاونات", 1),), "فاس"),
    "AZROU": ((("أزرو", 1),), "مكناس"),
    "LARACHE2": ((("العرائش", 5), ("القصر الكبير", 5)), "طنجة"),
    "KSARELKEBIR": ((("القصر الكبير", 1),), "طنجة"),
    "TANGER1": ((("طنجة", 1),), "طنجة"),
    "TANGER2": ((("طنجة", 1),), "طنجة"),
    "ASILAH": ((("أصيلة", 4), ("طنجة", 6)), "طنجة"),
    "TETOUAN": ((("تطوان", 8), ("المضيق", 2)), "تطوان"),
    "ALHOCEIMA": ((("الحسيمة", 1),), "الحسيمة"),
    "CHEFCHAOUEN": ((("شفشاون", 1),), "تطوان"),
    "OUAZZANE": ((("وزان", 1),), "تطوان"),
    "MARRAKECH_OUDAYA": ((("مراكش", 1),), "مراكش"),
    "SAFI": ((("آسفي", 8), ("اليوسفية", 2)), "آسفي"),
    "SAFI_MOULELBERGUI_CENTRALE": ((("آسفي", 1),), "آسفي"),
    "ESSAOUIRA": ((("الصويرة", 1),), "آسفي"),
    "KELAADESSRAGHNA": ((("قلعة السراغنة", 1),), "مراكش"),
    "BENGUERIR": ((("ابن جرير", 1),), "مراكش"),
    "CHICHAOUA": ((("شيشاوة", 1),), "مراكش"),
    "BENIMELLAL": ((("بني ملال", 8), ("قصبة تادلة", 2)), "بني ملال"),
    "KHOURIBGA": ((("خريبكة", 1),), "خريبكة"),
    "OUEDZEM": ((("وادي زم", 1),), "خريبكة"),
    "FQUIHBENSALAH_AGRI": ((("الفقيه بن صالح", 1),), "بني ملال"),
    "AZILAL": ((("أزيلال", 1),), "بني ملال"),
    "KHENIFRA": ((("خنيفرة", 1),), "مكناس"),
    "ERRACHIDIA": ((("الرشيدية", 1),), "الرشيدية"),
    "OUARZAZATE": ((("ورزازات", 7), ("تنغير", 3)), "ورزازات"),
    "MIDELT": ((("ميدلت", 1),), "الرشيدية"),
    "ZAGORA": ((("زاكورة", 1),), "ورزازات"),
    "AITMELLOUL1": ((("إنزكان", 6), ("أكادير", 4)), "أكادير"),
    "AITMELLOUL2": ((("إنزكان", 6), ("أكادير", 4)), "أكادير"),
    "INEZGANE": ((("إنزكان", 1),), "أكادير"),
    "TIZNIT": ((("تيزنيت", 1),), "أكادير"),
    "TAROUDANT_AGRI": ((("تارودانت", 1),), "أكادير"),
    "TATA": ((("طاطا", 1),), "أكادير"),
    "GUELMIM": ((("كلميم", 1),), "كلميم"),
    "BOUIZAKARN": ((("كلميم", 1),), "كلميم"),
    "TANTAN": ((("طانطان", 1),), "كلميم"),
    "LAAYOUNE": ((("العيون", 1),), "العيون"),
    "SMARA": ((("السمارة", 1),), "العيون"),
    "DAKHLA": ((("الداخلة", 1),), "العيون"),
}
CASABLANCA_TPI = "المحكمة الابتدائية الزجرية بالدار البيضاء"
REGION_SEAT = {
    "TTA": "طنجة", "ORIENTAL": "وجدة", "FES_MEKNES": "فاس", "RSK": "الرباط",
    "BMK": "بني ملال", "CASA_SETTAT": "الدار البيضاء", "MARRAKECH_SAFI": "مراكش",
    "DRAA_TAFILALET": "الرشيدية", "SOUSS_MASSA": "أكادير", "SUD": "العيون",
}  # fmt: skip
# Places of birth, per region (a fifth of the prisoners are born elsewhere).
BIRTH_PLACES = {
    "ORIENTAL": ["وجدة", "بركان", "الناظور", "تاوريرت", "جرادة", "فكيك", "أحفير", "العيون الشرقية", "زايو", "جرسيف"],
    "RSK": ["الرباط", "سلا", "القنيطرة", "تمارة", "الخميسات", "سيدي قاسم", "سيدي سليمان", "تيفلت", "سوق الأربعاء الغرب"],
    "CASA_SETTAT": ["الدار البيضاء", "المحمدية", "برشيد", "سطات", "الجديدة", "بنسليمان", "ابن أحمد", "سيدي بنور", "مديونة"],
    "FES_MEKNES": ["فاس", "مكناس", "صفرو", "تازة", "تاونات", "أزرو", "الحاجب", "إفران", "بولمان"],
    "TTA": ["طنجة", "تطوان", "العرائش", "القصر الكبير", "أصيلة", "الحسيمة", "شفشاون", "وزان", "المضيق", "الفنيدق"],
    "MARRAKECH_SAFI": ["مراكش", "آسفي", "الصويرة", "قلعة السراغنة", "ابن جرير", "شيشاوة", "اليوسفية", "الحوز"],
    "BMK": ["بني ملال", "خريبكة", "وادي زم", "الفقيه بن صالح", "أزيلال", "خنيفرة", "قصبة تادلة", "أبي الجعد"],
    "DRAA_TAFILALET": ["الرشيدية", "ورزازات", "ميدلت", "زاكورة", "تنغير", "أرفود", "الريصاني"],
    "SOUSS_MASSA": ["أكادير", "إنزكان", "أيت ملول", "تيزنيت", "تارودانت", "طاطا", "اشتوكة أيت باها"],
    "SUD": ["العيون", "كلميم", "طانطان", "السمارة", "الداخلة", "بويزكارن", "سيدي إفني"],
}  # fmt: skip
# CIN prefixes (the letters name the issuing office), per region.
CIN_PREFIXES = {
    "ORIENTAL": ["F", "FA", "FB", "FC", "S", "SA"],
    "RSK": ["A", "AB", "AD", "AE", "G", "GA", "GB", "X"],
    "CASA_SETTAT": ["B", "BE", "BH", "BJ", "BK", "BL", "BM", "W", "WA", "M", "MC"],
    "FES_MEKNES": ["C", "CD", "CB", "D", "DA", "DB", "Z"],
    "TTA": ["K", "KB", "L", "LA", "LB", "R"],
    "MARRAKECH_SAFI": ["E", "EE", "EA", "H", "HA"],
    "BMK": ["I", "IA", "IB", "Q", "QA"],
    "DRAA_TAFILALET": ["U", "UA", "P", "PA"],
    "SOUSS_MASSA": ["J", "JA", "JB", "JC", "JE"],
    "SUD": ["SH", "SJ", "SL", "SK"],
}
LANGUAGES = {
    "ORIENTAL": "العربية، الأمازيغية (تاريفيت)",
    "TTA": "العربية، الأمازيغية (تاريفيت)، الإسبانية",
    "SOUSS_MASSA": "العربية، الأمازيغية (تاشلحيت)",
    "DRAA_TAFILALET": "العربية، الأمازيغية (تامازيغت)",
    "BMK": "العربية، الأمازيغية (تامازيغت)",
    "SUD": "العربية (الحسانية)",
}
# Foreign nationals: (ISO code, share among committals, Latin first names, family names).
FOREIGNERS = [
    ("DZ", 0.0030, None, None),
    ("SN", 0.0030, ["Mamadou", "Cheikh", "Ousmane", "Abdoulaye", "Ibrahima", "Moussa"],
     ["Diop", "Ndiaye", "Fall", "Sow", "Diallo", "Faye"]),
    ("GN", 0.0030, ["Alpha", "Mamadou", "Ibrahima", "Sekou", "Amadou", "Lansana"],
     ["Diallo", "Barry", "Bah", "Camara", "Condé", "Sylla"]),
    ("CI", 0.0020, ["Koffi", "Yao", "Kouassi", "Serge", "Didier", "Arnaud"],
     ["Kouamé", "Konan", "Traoré", "Coulibaly", "Ouattara", "Bamba"]),
    ("ML", 0.0020, ["Moussa", "Bakary", "Seydou", "Oumar", "Adama", "Souleymane"],
     ["Keïta", "Traoré", "Coulibaly", "Diarra", "Konaté", "Sissoko"]),
    ("CM", 0.0010, ["Jean", "Paul", "Herve", "Franck", "Blaise", "Cyrille"],
     ["Mbarga", "Nkomo", "Fotso", "Tchoua", "Ngono", "Essomba"]),
    ("NG", 0.0010, ["Chinedu", "Emeka", "Oluwaseun", "Tunde", "Ifeanyi", "Musa"],
     ["Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Bello"]),
    ("ES", 0.0008, ["José", "Antonio", "Juan", "Francisco", "Manuel", "David"],
     ["García", "Fernández", "López", "Martínez", "Sánchez", "Pérez"]),
    ("FR", 0.0006, ["Pierre", "Nicolas", "Julien", "Thomas", "Karim", "Mehdi"],
     ["Martin", "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau"]),
]  # fmt: skip
FOREIGN_SHARE_ORIENTAL = 3.0  # migrants on their way north are held near the border
MARKS = [
    "ندبة على الخد الأيسر", "ندبة على الجبين", "وشم على الذراع الأيمن", "وشم على الذراع الأيسر",
    "ندبة على اليد اليمنى", "وشم على الصدر", "شامة على الخد الأيمن", "أثر جرح على الذقن",
]  # fmt: skip
PROPERTY = [
    ("هاتف محمول", "Téléphone portable"), ("محفظة نقود", "Portefeuille"),
    ("ساعة يدوية", "Montre"), ("حزام جلدي", "Ceinture en cuir"), ("مفاتيح", "Trousseau de clés"),
    ("خاتم فضي", "Bague en argent"), ("سلسلة ذهبية", "Chaîne en or"), ("نظارات", "Lunettes"),
]  # fmt: skip


# -- offences and sentencing -------------------------------------------------------------------
@dataclass(frozen=True)
class OffenceProfile:
    code: str
    weights: tuple[float, float, float]  # men, women, juveniles
    crime: bool  # tried by the criminal chamber of the court of appeal
    months: float  # median sentence, in months
    sigma: float  # spread (lognormal)
    low: int  # shortest sentence, months
    high: int  # longest sentence, months
    life: float = 0.0  # share of life sentences


# fmt: off
PROFILES = [
    OffenceProfile("DL-8", (12, 6, 10), False, 2.0, 0.6, 1, 12),
    OffenceProfile("DL-2", (16, 12, 6), False, 8.0, 0.8, 2, 60),
    OffenceProfile("DL-5", (2, 2, 0.5), False, 6.0, 0.6, 2, 48),
    OffenceProfile("PC-505", (12, 10, 25), False, 4.0, 0.7, 1, 60),
    OffenceProfile("PC-400", (8, 5, 12), False, 3.0, 0.7, 1, 24),
    OffenceProfile("PC-401", (3, 1, 5), False, 8.0, 0.6, 2, 60),
    OffenceProfile("PC-303bis", (3, 0.3, 5), False, 3.0, 0.5, 1, 24),
    OffenceProfile("PC-263", (2, 2, 1), False, 2.0, 0.5, 1, 12),
    OffenceProfile("PC-267", (1, 0.5, 1), False, 4.0, 0.5, 1, 24),
    OffenceProfile("PC-300", (0.5, 0.2, 0.5), False, 3.0, 0.5, 1, 24),
    OffenceProfile("PC-540", (3, 6, 0.5), False, 8.0, 0.7, 2, 60),
    OffenceProfile("PC-547", (2, 4, 0.3), False, 6.0, 0.6, 2, 60),
    OffenceProfile("CC-316", (4, 6, 0), False, 4.0, 0.6, 1, 60),
    OffenceProfile("PC-571", (1, 1, 1), False, 4.0, 0.6, 1, 60),
    OffenceProfile("PC-351", (1.5, 2, 0.2), False, 8.0, 0.6, 2, 60),
    OffenceProfile("PC-360", (0.5, 0.5, 0.1), False, 6.0, 0.5, 2, 36),
    OffenceProfile("PC-490", (1.5, 8, 0.5), False, 2.0, 0.5, 1, 12),
    OffenceProfile("PC-498", (0.8, 4, 0), False, 8.0, 0.6, 3, 60),
    OffenceProfile("PC-503-1", (0.5, 0, 0.5), False, 3.0, 0.5, 1, 24),
    OffenceProfile("PC-479", (0.8, 0.3, 0), False, 2.0, 0.5, 1, 12),
    OffenceProfile("PC-480", (1, 0.2, 0), False, 2.0, 0.5, 1, 12),
    OffenceProfile("PC-425", (1, 0.5, 1), False, 4.0, 0.5, 1, 24),
    OffenceProfile("PC-432", (1, 0.3, 0.2), False, 8.0, 0.5, 3, 60),
    OffenceProfile("CR-183", (1, 0.2, 0), False, 2.0, 0.5, 1, 12),
    OffenceProfile("LI-52", (1.5, 1, 0.5), False, 8.0, 0.6, 2, 60),
    OffenceProfile("CD-282", (1, 2, 0.3), False, 4.0, 0.6, 1, 36),
    OffenceProfile("PC-248", (0.5, 0.3, 0), False, 8.0, 0.6, 3, 60),
    OffenceProfile("PC-449", (0.2, 1, 0), False, 8.0, 0.5, 6, 60),
    # crimes
    OffenceProfile("PC-392", (0.30, 0.15, 0.15), True, 180, 0.35, 60, 360, 0.02),
    OffenceProfile("PC-393", (0.08, 0.03, 0.02), True, 300, 0.25, 120, 360, 0.10),
    OffenceProfile("PC-403", (0.25, 0.10, 0.15), True, 96, 0.35, 60, 240),
    OffenceProfile("PC-486", (0.35, 0, 0.15), True, 96, 0.35, 60, 240),
    OffenceProfile("PC-484", (0.45, 0.03, 0.15), True, 60, 0.45, 24, 180),
    OffenceProfile("PC-485", (0.30, 0, 0.15), True, 60, 0.45, 24, 120),
    OffenceProfile("PC-436", (0.20, 0.06, 0.05), True, 60, 0.45, 24, 240),
    OffenceProfile("PC-471", (0.15, 0.06, 0), True, 48, 0.45, 12, 120),
    OffenceProfile("PC-507", (0.35, 0.03, 0.30), True, 120, 0.35, 60, 360),
    OffenceProfile("PC-509", (0.70, 0.10, 0.80), True, 72, 0.40, 24, 240),
    OffenceProfile("PC-510", (0.55, 0.10, 0.60), True, 48, 0.45, 24, 120),
    OffenceProfile("PC-293", (0.35, 0.06, 0.15), True, 48, 0.45, 24, 120),
    OffenceProfile("PC-580", (0.10, 0.03, 0.05), True, 60, 0.45, 24, 240),
    OffenceProfile("PC-334", (0.07, 0.03, 0), True, 48, 0.45, 24, 120),
    OffenceProfile("PC-241", (0.07, 0.03, 0), True, 60, 0.45, 24, 120),
    OffenceProfile("PC-218-1", (0.10, 0.02, 0), True, 96, 0.45, 24, 360, 0.03),
]
# fmt: on


# == Institutions as the simulation sees them =====================================================
class Site:
    """An institution: when it holds prisoners, the beds of its wings per group."""

    __slots__ = (
        "id", "code", "kind", "region", "name_ar", "intervals", "w", "courts", "ca",
        "rate_base",
    )  # fmt: skip

    def __init__(self, facility: Facility, intervals, weights: dict[str, float]):
        self.id = facility.pk
        self.code = facility.code
        self.kind = facility.kind
        self.region = facility.region.code
        self.name_ar = facility.name_ar
        self.intervals = intervals  # [(from, until or None)], until excluded
        self.w = weights
        tpis, ca = COURTS.get(
            facility.code, (((REGION_SEAT.get(self.region, facility.city), 1),), "")
        )
        self.courts = tpis
        self.ca = ca or tpis[0][0]
        self.rate_base = 1.0  # committals a year (numbers before 2019 are spread by it)

    def operating(self, d: date) -> bool:
        for start, end in self.intervals:
            if start <= d and (end is None or d < end):
                return True
        return False

    def closes_after(self, d: date) -> date | None:
        """The end of the operating interval that contains ``d`` (None: open-ended)."""
        for start, end in self.intervals:
            if start <= d and (end is None or d < end):
                return end
        return None

    def __repr__(self) -> str:
        return self.code


def _intervals(history: list[tuple[date, str]]) -> list[tuple[date, date | None]]:
    out: list[tuple[date, date | None]] = []
    history = sorted(history)
    for i, (since, status) in enumerate(history):
        if status not in HOUSING_STATUSES:
            continue
        until = history[i + 1][0] if i + 1 < len(history) else None
        if out and out[-1][1] == since:
            out[-1] = (out[-1][0], until)
        else:
            out.append((since, until))
    return out


def load_sites() -> dict[int, Site]:
    """Every institution that has wings, with its operating intervals and weights."""
    history: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for fid, since, status in FacilityStatusPeriod.objects.values_list(
        "facility_id", "since", "status"
    ):
        history[fid].append((since, status))
    beds: dict[int, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))
    for fid, sex, age, regime, b in Cell.objects.values_list(
        "facility_id", "wing__sex", "wing__age_group", "wing__regime", "beds"
    ):
        beds[fid][(sex, age, regime)] += b
    sites: dict[int, Site] = {}
    for facility in Facility.objects.select_related("region").order_by("pk"):
        b = beds.get(facility.pk)
        if not b:
            continue
        hist = history.get(facility.pk) or (
            [(date(1950, 1, 1), facility.current_status)]
            if facility.current_status in HOUSING_STATUSES
            else []
        )
        intervals = _intervals(hist)
        if not intervals:
            continue

        def total(sex=None, age=None, regimes=None, _b=b):
            return sum(
                v
                for (s, a, r), v in _b.items()
                if (sex is None or s == sex)
                and (age is None or a == age)
                and (regimes is None or r in regimes)
            )

        kind = facility.kind
        w = {"MA": 0.0, "FA": 0.0, "MJ": 0.0, "FJ": 0.0, "central": 0.0, "agri": 0.0}
        if kind == FacilityKind.LOCAL_PRISON:
            w["MA"] = total("M", AgeGroup.ADULT)
            w["FA"] = total("F", AgeGroup.ADULT)
            w["MJ"] = total("M", AgeGroup.JUVENILE)
        elif kind == FacilityKind.CENTRAL_PRISON:
            w["MA"] = total("M", AgeGroup.ADULT, (Regime.REMAND, Regime.MIXED))
            w["central"] = total("M", AgeGroup.ADULT, (Regime.CONVICTED, Regime.MIXED))
        elif kind == FacilityKind.AGRICULTURAL_PRISON:
            w["agri"] = total("M", AgeGroup.ADULT, (Regime.CONVICTED, Regime.MIXED))
        elif kind == FacilityKind.REFORM_EDUCATION_CENTRE:
            w["MJ"] = total("M", AgeGroup.JUVENILE)
            w["FJ"] = total("F", AgeGroup.JUVENILE)
        sites[facility.pk] = Site(facility, intervals, w)
    return sites


# == Persons ======================================================================================
class P:
    """A person of the simulation (a row of ``Person`` once written)."""

    __slots__ = (
        "id", "sex", "birth", "region", "nationality", "cin", "first_ar", "family_ar",
        "father_ar", "mother_ar", "first_lat", "family_lat", "father_lat", "mother_lat",
        "birth_place", "marks", "languages", "key_ar", "key_lat",
    )  # fmt: skip

    @property
    def name_ar(self) -> str:
        return f"{self.first_ar} {self.family_ar}".strip()

    @property
    def name_lat(self) -> str:
        return f"{self.first_lat} {self.family_lat}".strip()


# Age at committal (adults): (from, to, share).
ADULT_AGES = [(18, 20, 12), (21, 25, 22), (26, 30, 19), (31, 35, 15), (36, 40, 11),
              (41, 50, 13), (51, 60, 6), (61, 75, 2)]  # fmt: skip
JUVENILE_AGES = [(14, 5), (15, 15), (16, 30), (17, 50)]


# == Plans ========================================================================================
class Case:
    """What a committal leads to, drawn before dates are set (durations in days)."""

    __slots__ = (
        "offences", "crime", "juvenile", "initial_convicted", "remand", "pre", "outcome",
        "release_frac", "sentences", "appeal", "second",
    )  # fmt: skip


@dataclass
class H:  # a hearing
    at: datetime
    kind: str
    court: str
    case_number: str
    outcome: str = HearingOutcome.PENDING
    status_after: str = ""
    movement: bool = False  # a court appearance (out and back) is recorded


@dataclass
class S:  # a sentence
    pronounced_on: date
    years: int
    months: int
    days: int
    life: bool
    start: date | None
    consecutive_to: int | None
    credited: int
    court: str
    case_number: str
    hearing: int | None  # index into hearings
    quashed: bool = False
    pardon_days: int = 0


@dataclass
class Plan:
    person: P
    case: Case
    t0: datetime
    site: Site
    authority: str
    court: str
    warrant: str
    case_number: str
    escort: str
    offences: list[str]
    hearings: list[H] = field(default_factory=list)
    statuses: list[tuple[datetime, str]] = field(default_factory=list)
    sentences: list[S] = field(default_factory=list)
    grants: list[tuple] = field(default_factory=list)  # (decree, applied_at, kind, days, s)
    conditional: tuple | None = None  # (decided_on, release_on, supervision_until, ref)
    end: datetime | None = None
    end_reason: str = ""
    release_authority: str = ""
    release_reference: str = ""
    expected: date | None = None
    last_sentence: int = 0  # index of the sentence in force that ends last
    life: bool = False
    segments: list[tuple] = field(default_factory=list)  # (site, at, reason)


def _weekday(d: date) -> date:
    wd = d.weekday()
    return d + timedelta(days=7 - wd) if wd >= 5 else d


def _lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, median * math.exp(rng.gauss(0.0, sigma))))


def _sentence_parts(months: float) -> tuple[int, int, int]:
    """A sentence as a court pronounces it: months below a year, half-years up to five
    years, whole years beyond; very short ones in days."""
    if months < 1.0:
        return 0, 0, max(15, int(round(months * 30 / 15)) * 15)
    if months < 12:
        return 0, int(round(months)), 0
    if months < 60:
        half_years = int(round(months / 6))
        return half_years // 2, (half_years % 2) * 6, 0
    return int(round(months / 12)), 0, 0


def _approx_days(y: int, m: int, d: int) -> float:
    return y * 365.25 + m * 30.44 + d


# == The simulation ===============================================================================
@dataclass
class Config:
    scale: str
    now: datetime  # local, naive
    history_keep: float | None = None  # demo: share of older released detentions kept
    keep_recent: timedelta = timedelta(days=183)
    extras: bool = False  # property items and family members
    stock: int = STOCK_AT_START
    rate_factor: float = 1.0  # committals relative to the institution's national share


class Simulation:
    def __init__(self, config: Config, sites: dict[int, Site], seeded: list[Site], rng, out):
        self.config = config
        self.now = config.now
        self.today = config.now.date()
        self.sites = sites
        self.seeded = seeded
        self.rng = rng
        self.out = out
        self.offence_weights = self._offence_weights()
        self.decrees: list[Decree] = []
        self.decree_dates: list[date] = []
        self.hazard_start = datetime.combine(SIM_START, datetime.min.time())
        self.name_keys: dict[str, str] = {}
        self.name_lists = {
            kind: (
                names,
                list(itertools.accumulate(1 / (i + 1) ** exponent for i in range(len(names)))),
            )
            for kind, names, exponent in (
                ("male", demo_names.MALE_FIRST_NAMES, 1.0),
                ("female", demo_names.FEMALE_FIRST_NAMES, 0.9),
                ("family", demo_names.FAMILY_NAMES, 0.5),
            )
        }
        self.cin_counters: dict[str, int] = defaultdict(int)
        self.cin_taken: set[str] = set()
        self.pool_future: list = []  # (release time, seq, P)
        self.pool: dict[str, list[P]] = {"M": [], "F": []}
        self.seq = 0
        self.computed = 0
        self._alive: dict[date, list[Site]] = {}
        self.check_every = 1 if config.scale == "demo" else 50
        self.stats: dict[str, int] = defaultdict(int)
        # set by ``seed``
        self.keep_rng = random.Random(0)
        self.offence_ids: dict[str, int] = {}
        self.through = CustodyPeriod.offences.through
        self.pending: list = []  # (time, seq, CustodyGroup | ReleasePending)
        self.held: list[CustodyGroup] = []  # custody periods open today: written after housing
        self.certificates: dict[tuple[int, int], int] = defaultdict(int)
        self.counters: dict[tuple[int, int], int] = {}
        self.ids: dict = {}
        self.writer: Writer | None = None
        self.uuid_bits = random.Random(0).getrandbits
        self.started = _time.monotonic()

    # -- drawing ------------------------------------------------------------------------------
    def _offence_weights(self):
        out = {}
        for gi, group in enumerate(("men", "women", "juveniles")):
            profiles = [p for p in PROFILES if p.weights[gi] > 0]
            cum = []
            total = 0.0
            for p in profiles:
                total += p.weights[gi]
                cum.append(total)
            out[group] = (profiles, cum, total)
        return out

    def _offence(self, group: str) -> OffenceProfile:
        profiles, cum, total = self.offence_weights[group]
        return profiles[bisect.bisect_left(cum, self.rng.random() * total)]

    def draw_case(self, sex: str, juvenile: bool, year: int) -> Case:
        rng = self.rng
        group = "juveniles" if juvenile else ("women" if sex == "F" else "men")
        main = self._offence(group)
        offences = [main.code]
        if rng.random() < 0.2:
            other = self._offence(group)
            if other.code != main.code and other.crime == main.crime:
                offences.append(other.code)
        c = Case()
        c.offences = offences
        c.crime = main.crime
        c.juvenile = juvenile
        c.initial_convicted = (not main.crime) and rng.random() < 0.04
        c.pre = []
        c.appeal = None
        c.second = None
        c.release_frac = 0.0
        growth = REMAND_GROWTH.get(year, 1.0)
        if c.initial_convicted:
            c.remand = 0
            c.outcome = "convicted"
        else:
            if main.crime:
                c.remand = int(_lognormal(rng, 375 * growth, 0.55, 40, 1400))
                n_inv = rng.choice((1, 1, 2, 2, 3))
                n_trial = rng.choice((0, 1, 1, 2))
                c.pre = [HearingKind.INVESTIGATION] * n_inv + [HearingKind.TRIAL] * n_trial
                r = rng.random()
                c.outcome = "provisional" if r < 0.03 else "acquitted" if r < 0.13 else "convicted"
            else:
                median = (32 if juvenile else 62) * growth
                c.remand = int(_lognormal(rng, median, 1.0, 1, 600))
                k = rng.random()
                c.pre = [HearingKind.TRIAL] * (0 if k < 0.55 else 1 if k < 0.85 else 2)
                r = rng.random()
                provisional = 0.15 if sex == "F" or juvenile else 0.09
                if r < provisional:
                    c.outcome = "provisional"
                elif r < provisional + 0.05:
                    c.outcome = "acquitted"
                elif r < provisional + 0.12:
                    c.outcome = "suspended"
                else:
                    c.outcome = "convicted"
            if c.outcome == "provisional":
                c.release_frac = rng.uniform(0.2, 0.9)
        c.sentences = []
        if c.outcome == "convicted":
            if main.life and rng.random() < main.life:
                c.sentences.append([0, 0, 0, None, True])
            else:
                months = _lognormal(
                    rng, main.months * SENTENCE_FACTOR, main.sigma, main.low, main.high
                )
                if juvenile:
                    months = max(1.0, months / 2)
                y, m, d = _sentence_parts(months)
                c.sentences.append([y, m, d, None, False])
            if rng.random() < 0.05 and not c.sentences[0][4]:
                months = _lognormal(rng, 4.0, 0.6, 1, 24)
                y, m, d = _sentence_parts(months)
                c.second = "consecutive" if rng.random() < 0.4 else "concurrent"
                c.sentences.append([y, m, d, 0 if c.second == "consecutive" else None, False])
            p_appeal = 0.55 if main.crime else 0.28
            if not c.initial_convicted and rng.random() < p_appeal:
                lodged = rng.randint(1, 10)
                if main.crime:
                    lasts = int(_lognormal(rng, 245, 0.5, 60, 800))
                else:
                    lasts = int(_lognormal(rng, 110, 0.5, 20, 450))
                r = rng.random()
                new = None
                if r < 0.30 and c.second != "consecutive" and not c.sentences[0][4]:
                    y, m, d = c.sentences[0][:3]
                    months = (y * 12 + m + d / 30) * (
                        rng.uniform(0.4, 0.9) if r < 0.24 else rng.uniform(1.1, 1.6)
                    )
                    new = _sentence_parts(max(0.5, months))
                c.appeal = (lodged, lodged + lasts, new)
        return c

    def case_length(self, c: Case) -> float:
        """Days from committal to release without pardon, death or conditional release
        (approximate calendar: for the weighting of the population on 1 January 2019)."""
        if c.outcome == "provisional":
            return max(1.0, c.remand * c.release_frac)
        if c.outcome != "convicted":
            return float(max(1, c.remand))
        sentences = c.sentences
        if c.appeal and c.appeal[2]:
            first = _approx_days(*c.appeal[2])
        else:
            first = _approx_days(*sentences[0][:3])
        if sentences[0][4]:
            return 25 * 365.25
        total = first
        if len(sentences) > 1:
            second = _approx_days(*sentences[1][:3])
            total = first + second if sentences[1][3] == 0 else max(first, second)
        return max(float(c.remand), total)

    def new_person(self, sex: str, birth: date, site: Site) -> P:
        rng = self.rng
        p = P()
        p.id = None  # given when the person is first written
        p.sex = sex
        p.birth = birth
        region = site.region
        p.region = region
        nationality = "MA"
        r = rng.random()
        factor = FOREIGN_SHARE_ORIENTAL if region == "ORIENTAL" else 1.0
        acc = 0.0
        foreign = None
        for spec in FOREIGNERS:
            acc += spec[1] * factor
            if r < acc:
                foreign = spec
                break
        if foreign is not None:
            nationality = foreign[0]
        p.nationality = nationality
        pick = self._name
        if foreign is None or foreign[2] is None:
            p.first_ar, p.first_lat = pick("male" if sex == "M" else "female")
            p.family_ar, p.family_lat = pick("family")
            father_ar, father_lat = pick("male")
            mother = pick("female")
            mother_family = pick("family")
            p.father_ar, p.father_lat = father_ar, father_lat
            p.mother_ar = f"{mother[0]} {mother_family[0]}"
            p.mother_lat = f"{mother[1]} {mother_family[1]}"
        else:
            if sex == "F":
                first = rng.choice(["Aminata", "Fatoumata", "Mariama", "Awa", "Grace", "Mercy"])
            else:
                first = rng.choice(foreign[2])
            p.first_ar = p.family_ar = p.father_ar = p.mother_ar = ""
            p.first_lat = first
            p.family_lat = rng.choice(foreign[3])
            p.father_lat = rng.choice(foreign[2])
            p.mother_lat = ""
        key = self._key
        p.key_ar = f"{key(p.first_ar)} {key(p.family_ar)}".strip()[:220]
        p.key_lat = f"{key(p.first_lat)} {key(p.family_lat)}".strip()[:220]
        if nationality == "MA":
            places = (
                BIRTH_PLACES[region]
                if rng.random() < 0.8
                else BIRTH_PLACES[rng.choice(list(BIRTH_PLACES))]
            )
            p.birth_place = rng.choice(places)
            p.languages = LANGUAGES.get(region, "العربية") if rng.random() < 0.7 else "العربية"
        else:
            p.birth_place = ""
            p.languages = "الفرنسية" if nationality != "ES" else "الإسبانية"
        p.marks = rng.choice(MARKS) if rng.random() < 0.12 else ""
        p.cin = ""
        if nationality == "MA":
            adult_now = (self.today - birth).days >= 18 * 365.25
            if adult_now and rng.random() < 0.96:
                p.cin = self._cin(region)
        return p

    def _name(self, kind: str) -> tuple[str, str]:
        """A name of ``demo_names``, drawn with Zipf-like frequencies (the lists are in
        rough order of frequency: Mohamed and Fatima come first)."""
        names, cumulative = self.name_lists[kind]
        return names[bisect.bisect(cumulative, self.rng.random() * cumulative[-1])]

    def _key(self, part: str) -> str:
        """``names.search_key`` of a first or family name, cached: the key of "first family"
        is the keys of the two parts joined (no rule joins tokens across them)."""
        key = self.name_keys.get(part)
        if key is None:
            key = self.name_keys[part] = search_key(part)
        return key

    def _cin(self, region: str) -> str:
        prefix = self.rng.choice(CIN_PREFIXES[region])
        while True:
            k = self.cin_counters[prefix]
            self.cin_counters[prefix] = k + 1
            offset = (sum(map(ord, prefix)) * 104_729) % 900_000
            cin = f"{prefix}{100_000 + (k * 7919 + offset) % 900_000}"
            if cin not in self.cin_taken:
                return cin

    def birth_for(self, group: str, at: date) -> date:
        rng = self.rng
        if group in ("MJ", "FJ"):
            age = rng.choices([a for a, _w in JUVENILE_AGES], [w for _a, w in JUVENILE_AGES])[0]
            days = int((age + rng.random()) * 365.25)
            days = min(days, int(17.98 * 365.25))
        else:
            lo, hi, _w = rng.choices(ADULT_AGES, [w for *_x, w in ADULT_AGES])[0]
            days = int((lo + rng.random() * (hi - lo + 1)) * 365.25)
            days = max(days, int(18.02 * 365.25))
        return at - timedelta(days=days)

    # -- places ---------------------------------------------------------------------------------
    def _choose(self, candidates: list[tuple[Site, float]]) -> Site | None:
        candidates = [(s, w) for s, w in candidates if w > 0]
        if not candidates:
            return None
        total = sum(w for _s, w in candidates)
        r = self.rng.random() * total
        for s, w in candidates:
            r -= w
            if r <= 0:
                return s
        return candidates[-1][0]

    def alive_on(self, d: date) -> list[Site]:
        """The seeded institutions that hold prisoners on ``d``."""
        alive = self._alive.get(d)
        if alive is None:
            alive = self._alive[d] = [s for s in self.seeded if s.operating(d)]
        return alive

    def destination(self, why: str, person: P, at: datetime, current: Site) -> Site | None:
        """Where a transfer goes (only to seeded institutions holding prisoners then)."""
        d = at.date()
        adult = (d - person.birth).days >= 18 * 365.25
        group = ("M" if person.sex == "M" else "F") + ("A" if adult else "J")
        alive = [s for s in self.alive_on(d) if s is not current]
        if why == "central":
            cands = [(s, s.w["central"] * (3 if s.region == current.region else 1)) for s in alive]
        elif why == "agri":
            cands = [(s, s.w["agri"] * (3 if s.region == current.region else 1)) for s in alive]
        elif why == "closure":
            # an institution of the region, above all one of the same court district and
            # one opened to replace it
            cands = []
            for s in alive:
                weight = s.w[group]
                if weight and s.region == current.region:
                    if s.ca == current.ca:
                        weight *= 10
                    opened = [a for a, _b in s.intervals if a <= d]
                    if opened and (d - max(opened)).days <= 60:
                        weight *= 5
                    cands.append((s, weight))
            if not cands:
                cands = [(s, s.w[group]) for s in alive]
        else:  # "age", "other": an institution of the region with wings for the person
            cands = [(s, s.w[group]) for s in alive if s.region == current.region]
            if not any(w for _s, w in cands) and why == "age":
                cands = [(s, s.w[group]) for s in alive]
        return self._choose(cands)

    # -- one detention -------------------------------------------------------------------------
    def _court_names(self, site: Site) -> tuple[str, str, str]:
        """(first-instance court, court of appeal, city of the first-instance court)."""
        rng = self.rng
        tpis = site.courts
        city = (
            tpis[0][0]
            if len(tpis) == 1
            else rng.choices([c for c, _w in tpis], [w for _c, w in tpis])[0]
        )
        tpi = CASABLANCA_TPI if city == "الدار البيضاء" else f"المحكمة الابتدائية ب{city}"
        return tpi, f"محكمة الاستئناف ب{site.ca}", city

    def plan(self, case: Case, t0: datetime, site: Site, person: P) -> Plan:
        rng = self.rng
        now = self.now
        tpi, ca, city = self._court_names(site)
        year = t0.year
        if case.crime:
            court = (
                f"غرفة الجنايات الابتدائية للأحداث ب{ca}"
                if case.juvenile
                else f"غرفة الجنايات الابتدائية ب{ca}"
            )
            if rng.random() < 0.6:
                authority = f"قاضي التحقيق لدى {ca}"
            else:
                authority = f"الوكيل العام للملك لدى {ca}"
            case_number = f"{rng.randint(1, 2500)}/2610/{year}"
            appeal_court = f"غرفة الجنايات الاستئنافية ب{ca}"
            appeal_number = f"{rng.randint(1, 1500)}/2612"  # the year of the appeal follows
        else:
            court = f"غرفة الأحداث ب{tpi}" if case.juvenile else tpi
            if case.juvenile:
                authority = f"قاضي الأحداث لدى {tpi}"
            else:
                authority = f"وكيل الملك لدى {tpi}"
            case_number = f"{rng.randint(1, 9000)}/2103/{year}"
            appeal_court = f"غرفة الجنح الاستئنافية ب{ca}"
            appeal_number = f"{rng.randint(1, 6000)}/2603"
        if case.initial_convicted:
            authority = f"وكيل الملك لدى {tpi} (تنفيذ مقرر قضائي)"
        if rng.random() < 0.7:
            escort = f"الشرطة القضائية ب{city}"
        else:
            escort = f"الدرك الملكي - سرية {city}"
        plan = Plan(
            person=person,
            case=case,
            t0=t0,
            site=site,
            authority=authority,
            court=court,
            warrant=f"{rng.randint(1, 9999)}/{year}",
            case_number=case_number,
            escort=escort,
            offences=case.offences,
        )
        hearings = plan.hearings
        statuses = plan.statuses
        d0 = t0.date()

        def hearing_at(d: date) -> datetime:
            d = _weekday(d)
            at = datetime(d.year, d.month, d.day, rng.choice((9, 10, 11, 12)), rng.choice((0, 30)))
            if at <= t0:
                d = _weekday(d0 + DAY)
                at = datetime(d.year, d.month, d.day, 10, 0)
            return at

        # death and escape, from the start of the registry on
        hz_from = max(t0, self.hazard_start)
        age = (d0 - person.birth).days / 365.25
        death_rate = 0.0016 * (4 if age >= 60 else 1)
        t_death = hz_from + timedelta(days=min(36_500.0, rng.expovariate(death_rate) * 365.25))
        t_escape = hz_from + timedelta(days=min(36_500.0, rng.expovariate(0.00008) * 365.25))
        t_hazard, hazard = (t_death, "death") if t_death < t_escape else (t_escape, "escape")

        sentences = plan.sentences
        if case.initial_convicted:
            statuses.append((t0, LegalStatus.CONVICTED))
            y, m, d, _c, life = case.sentences[0]
            sentences.append(
                S(
                    pronounced_on=d0 - timedelta(days=rng.randint(20, 700)),
                    years=y,
                    months=m,
                    days=d,
                    life=life,
                    start=d0,
                    consecutive_to=None,
                    credited=0,
                    court=tpi,
                    case_number=case_number,
                    hearing=None,
                )
            )
            t_conv = t0
        else:
            statuses.append((t0, LegalStatus.REMAND))
            decision = hearing_at(d0 + timedelta(days=max(1, case.remand)))
            n = len(case.pre)
            for i, kind in enumerate(case.pre):
                at = hearing_at(d0 + timedelta(days=max(1, case.remand * (i + 1) // (n + 1))))
                if at >= decision:
                    continue
                inv = kind == HearingKind.INVESTIGATION
                hearings.append(
                    H(
                        at,
                        kind,
                        f"قاضي التحقيق ب{ca}" if inv else court,
                        case_number,
                        HearingOutcome.REMAND_EXTENDED if inv else HearingOutcome.ADJOURNED,
                        LegalStatus.REMAND if inv else "",
                    )
                )
            if case.outcome == "provisional":
                days = max(1, int(case.remand * case.release_frac))
                decision = hearing_at(d0 + timedelta(days=days))
                hearings[:] = [h for h in hearings if h.at < decision]
            if t_hazard < decision and t_hazard <= now:
                return self._finish(plan, t_hazard, hazard)
            if decision > now:
                hearings.append(H(decision, HearingKind.TRIAL, court, case_number))
                return self._finish(plan, None, "")
            release_at = decision + timedelta(hours=rng.randint(3, 7))
            if case.outcome == "provisional":
                kind = HearingKind.INVESTIGATION if case.crime else HearingKind.TRIAL
                hearings.append(H(decision, kind, court if not case.crime else f"قاضي التحقيق ب{ca}",
                                  case_number, HearingOutcome.RELEASE_ORDERED))  # fmt: skip
                plan.release_authority = court
                plan.release_reference = f"{rng.randint(1, 9999)}/{decision.year}"
                return self._finish(plan, release_at, DetentionEnd.PROVISIONAL_RELEASE)
            if case.outcome in ("acquitted", "suspended"):
                outcome = (
                    HearingOutcome.ACQUITTED
                    if case.outcome == "acquitted"
                    else HearingOutcome.RELEASE_ORDERED
                )
                hearings.append(H(decision, HearingKind.TRIAL, court, case_number, outcome))
                plan.release_authority = court
                plan.release_reference = case_number
                reason = (
                    DetentionEnd.ACQUITTAL
                    if case.outcome == "acquitted"
                    else DetentionEnd.OTHER_RELEASE
                )
                return self._finish(plan, release_at, reason)
            # convicted
            hearings.append(
                H(
                    decision,
                    HearingKind.TRIAL,
                    court,
                    case_number,
                    HearingOutcome.CONVICTED,
                    LegalStatus.CONVICTED,
                )
            )
            statuses.append((decision, LegalStatus.CONVICTED))
            dd = decision.date()
            credited = (dd - d0).days
            hi = len(hearings) - 1
            for y, m, d, consecutive, life in case.sentences:
                sentences.append(
                    S(
                        pronounced_on=dd,
                        years=y,
                        months=m,
                        days=d,
                        life=life,
                        start=None if consecutive is not None else dd,
                        consecutive_to=consecutive,
                        credited=credited if consecutive is None else 0,
                        court=court,
                        # a second sentence is another case, judged the same day
                        case_number=(
                            case_number
                            if not sentences
                            else f"{rng.randint(1, 9000)}/2103/{dd.year}"
                        ),
                        hearing=hi,
                    )
                )
            t_conv = decision
        return self._serve(plan, t_conv, t_hazard, hazard, appeal_court, appeal_number)

    def _compute(self, plan: Plan) -> date | None:
        """As ``services.legal.release_info``: ``release.expected_release`` over the sentences
        in force (pardon reductions included), then a pardon release or a conditional release
        when earlier.

        The calendar arithmetic is done here with ``release.add_years``/``add_months``
        (``expected_release`` also writes its explanation, in the active language, which is
        most of its cost); one computation in ``check_every`` is made again with
        ``expected_release`` itself, and any difference stops the seed."""
        in_force = [s for s in plan.sentences if not s.quashed]
        # consecutive_to: an index into plan.sentences, made an index into in_force
        position = {id(s): i for i, s in enumerate(in_force)}
        previous = [
            None if s.consecutive_to is None else position[id(plan.sentences[s.consecutive_to])]
            for s in in_force
        ]
        if any(s.life for s in in_force):
            release = None
        elif in_force:
            ends: list[date] = []
            for s, prev in zip(in_force, previous, strict=True):
                start = ends[prev] if prev is not None else s.start
                d = start
                if s.years:
                    d = add_years(d, s.years)
                if s.months:
                    d = add_months(d, s.months)
                d = d + timedelta(days=s.days - s.credited - s.pardon_days)
                ends.append(d if d > start else start)
            release = max(ends)
            # pardon reductions are taken off the sentence that ends last (the latest one
            # recorded among equals), as ``services.legal.pardon_decree_apply`` does
            last = max(range(len(ends)), key=lambda i: (ends[i], i))
            plan.last_sentence = plan.sentences.index(in_force[last])
            self.computed += 1
            if self.computed % self.check_every == 0:
                specs = [
                    SentenceSpec(
                        start=None if prev is not None else s.start,
                        years=s.years,
                        months=s.months,
                        days=s.days,
                        credited_days=s.credited,
                        pardon_days=s.pardon_days,
                        consecutive_to=prev,
                    )
                    for s, prev in zip(in_force, previous, strict=True)
                ]
                official = expected_release(specs).release_date
                if official != release:  # pragma: no cover - a defect of this module
                    raise RuntimeError(f"release date {release} != {official} for {specs}")
        else:
            release = None
        for decree, _at, kind, _days, _s in plan.grants:
            if kind == PardonKind.RELEASE and (release is None or decree.signed_on < release):
                release = decree.signed_on
        if plan.conditional is not None:
            on = plan.conditional[1]
            if release is None or on < release:
                release = on
        return release

    def _serve(self, plan: Plan, t_conv, t_hazard, hazard, appeal_court, appeal_number) -> Plan:
        rng = self.rng
        now = self.now
        case = plan.case
        statuses = plan.statuses
        hearings = plan.hearings
        plan.life = any(s.life for s in plan.sentences)
        expected = self._compute(plan)
        plan.expected = expected

        def release_moment(d: date, after: datetime) -> datetime:
            at = datetime(d.year, d.month, d.day, rng.randint(8, 11), rng.choice((0, 15, 30, 45)))
            if at <= after:
                at = after + timedelta(hours=rng.randint(3, 6))
            return at

        t_release = None if expected is None else release_moment(expected, t_conv)
        reason = DetentionEnd.END_OF_SENTENCE
        events: list[tuple[datetime, str]] = []
        if case.appeal is not None:
            lodged, decided, _new = case.appeal
            at = t_conv + timedelta(days=lodged)
            at = datetime(at.year, at.month, at.day, rng.randint(9, 15), 0)
            events.append((at, "lodge"))
            appeal_number = f"{appeal_number}/{at.year}"
            d = _weekday((t_conv + timedelta(days=decided)).date())
            events.append((datetime(d.year, d.month, d.day, rng.randint(9, 12), 0), "decide"))
        first = plan.sentences[0]
        total_days = _approx_days(first.years, first.months, first.days)
        if not plan.life and total_days >= 365 and rng.random() < 0.012:
            # a decision once two thirds are served, and never in the first month after the
            # conviction (the decision comes a week to a month before the release)
            at = t_conv + timedelta(days=max(45, int(total_days * 2 / 3) - first.credited))
            events.append((datetime(at.year, at.month, at.day, 10, 0), "conditional"))
        events.append((t_hazard, hazard))
        events.sort()
        # royal pardons from the day after the conviction
        di = bisect.bisect_right(self.decree_dates, t_conv.date())
        status = statuses[-1][1]
        ended = None
        while True:
            nxt = events[0] if events else None
            decree = self.decrees[di] if di < len(self.decrees) else None
            t_decree = (
                datetime.combine(decree.signed_on, datetime.min.time()).replace(hour=10)
                if decree
                else None
            )
            if t_decree is not None and (nxt is None or t_decree < nxt[0]):
                nxt = (t_decree, "decree")
            if t_release is not None and (nxt is None or t_release <= nxt[0]):
                if t_release <= now:
                    ended = (t_release, reason)
                break
            if nxt is None or nxt[0] > now:
                break
            at, what = nxt
            if what == "decree":
                di += 1
                if status != LegalStatus.CONVICTED or plan.life or at.date() <= t_conv.date():
                    continue
                remaining = (expected - at.date()).days if expected else 0
                if decree.exceptional:
                    p_release, p_reduce = (0.157 if remaining < 730 else 0.01), 0.0
                else:
                    p_release, p_reduce = 0.004, 0.018
                r = rng.random()
                applied = at + timedelta(minutes=rng.randint(0, 240))
                if r < p_release:
                    plan.grants.append((decree, applied, PardonKind.RELEASE, 0, self._last(plan)))
                    expected = self._compute(plan)
                    t_release = release_moment(decree.signed_on, applied)
                    reason = DetentionEnd.PARDON
                    plan.release_authority = "عفو ملكي سامي"
                    plan.release_reference = f"GR-{decree.signed_on:%Y%m%d}"
                elif r < p_release + p_reduce and remaining > 1:
                    days = rng.choices(
                        (30, 60, 90, 120, 180, 240, 365), (15, 20, 20, 15, 15, 5, 10)
                    )[0]
                    target = self._last(plan)
                    if days >= remaining:
                        plan.grants.append((decree, applied, PardonKind.RELEASE, 0, target))
                        reason = DetentionEnd.PARDON
                        plan.release_authority = "عفو ملكي سامي"
                        plan.release_reference = f"GR-{decree.signed_on:%Y%m%d}"
                        expected = self._compute(plan)
                        t_release = release_moment(decree.signed_on, applied)
                    else:
                        plan.grants.append((decree, applied, PardonKind.REDUCTION, days, target))
                        plan.sentences[target].pardon_days += days
                        expected = self._compute(plan)
                        if reason == DetentionEnd.END_OF_SENTENCE:
                            t_release = release_moment(expected, applied)
                continue
            events.pop(0)
            if what in ("death", "escape"):
                ended = (at, what)
                break
            if what == "lodge":
                hearings.append(
                    H(
                        at,
                        HearingKind.APPEAL,
                        appeal_court,
                        appeal_number,
                        HearingOutcome.APPEAL_LODGED,
                        LegalStatus.APPEALING,
                    )
                )
                statuses.append((at, LegalStatus.APPEALING))
                status = LegalStatus.APPEALING
                # the appeal decision, if it comes after today, is an upcoming hearing
                decide = [e for e in events if e[1] == "decide"]
                if decide and decide[0][0] > now:
                    hearings.append(
                        H(decide[0][0], HearingKind.APPEAL, appeal_court, appeal_number)
                    )
            elif what == "decide":
                new = case.appeal[2]
                outcome = HearingOutcome.SENTENCE_CHANGED if new else HearingOutcome.SENTENCE_UPHELD
                hearings.append(
                    H(
                        at,
                        HearingKind.APPEAL,
                        appeal_court,
                        appeal_number,
                        outcome,
                        LegalStatus.CONVICTED,
                    )
                )
                statuses.append((at, LegalStatus.CONVICTED))
                status = LegalStatus.CONVICTED
                if new:
                    old = plan.sentences[0]
                    old.quashed = True
                    y, m, d = new
                    plan.sentences.append(
                        S(
                            pronounced_on=at.date(),
                            years=y,
                            months=m,
                            days=d,
                            life=False,
                            start=old.start,
                            consecutive_to=None,
                            credited=old.credited,
                            court=appeal_court,
                            case_number=appeal_number,
                            hearing=len(hearings) - 1,
                        )
                    )
                    expected = self._compute(plan)
                    if reason == DetentionEnd.END_OF_SENTENCE and expected is not None:
                        t_release = release_moment(expected, at)
            elif what == "conditional":
                if status != LegalStatus.CONVICTED or expected is None:
                    continue
                if (expected - at.date()).days < 60:
                    continue
                plan.conditional = (
                    max(at.date() - timedelta(days=rng.randint(7, 30)), statuses[-1][0].date()),
                    at.date(),
                    expected,
                    f"{rng.randint(1, 900)}/{at.year}",
                )
                expected = self._compute(plan)
                t_release = release_moment(at.date(), at - timedelta(hours=2))
                reason = DetentionEnd.CONDITIONAL_RELEASE
                plan.release_authority = "وزير العدل (مقرر الإفراج المقيد بشروط)"
                plan.release_reference = plan.conditional[3]
        plan.expected = expected
        if ended is None:
            return self._finish(plan, None, "")
        at, why = ended
        return self._finish(plan, at, why)

    def _last(self, plan: Plan) -> int:
        """The sentence in force that ends last (pardon reductions are taken off it)."""
        return plan.last_sentence

    def _finish(self, plan: Plan, end: datetime | None, reason: str) -> Plan:
        rng = self.rng
        now = self.now
        if end is not None and end > now:
            end, reason = None, ""
        plan.end = end
        plan.end_reason = reason
        if reason in ("death", "escape"):
            plan.end_reason = DetentionEnd.DEATH if reason == "death" else DetentionEnd.ESCAPE
        person = plan.person
        # -- where the person is held: transfers -----------------------------------------
        stop = end or now
        planned: list[tuple[datetime, str]] = []
        # long sentences go to a central prison, some shorter ones to an agricultural prison
        # (once the conviction is final: not while an appeal is pending)
        conv_final = None
        if plan.statuses[-1][1] == LegalStatus.CONVICTED:
            conv_final = plan.statuses[-1][0]
        if conv_final is not None and person.sex == "M":
            remaining = (plan.expected - conv_final.date()).days if plan.expected else 99_999
            adult = (conv_final.date() - person.birth).days >= 18 * 365.25
            if adult:
                if remaining >= 4 * 365 and rng.random() < 0.13:
                    planned.append((conv_final + timedelta(days=rng.randint(20, 120)), "central"))
                elif 180 <= remaining < 4 * 365 and rng.random() < 0.12:
                    planned.append((conv_final + timedelta(days=rng.randint(30, 90)), "agri"))
        if plan.site.kind == FacilityKind.REFORM_EDUCATION_CENTRE:
            b = person.birth
            try:
                eighteen = date(b.year + 18, b.month, b.day)
            except ValueError:
                eighteen = date(b.year + 18, 3, 1)
            at = eighteen + timedelta(days=rng.randint(0, 30))
            planned.append((datetime(at.year, at.month, at.day, 9, 0), "age"))
        length = (stop - plan.t0).days
        if length > 30 and rng.random() < 0.03:
            at = plan.t0 + timedelta(days=rng.randint(10, max(11, int(length * 0.8))))
            planned.append((at, "other"))
        planned.sort()
        segments = [(plan.site, plan.t0, "")]
        cur, start = plan.site, plan.t0
        while True:
            close = cur.closes_after(start.date())
            t_close = (
                datetime(close.year, close.month, close.day, 8, rng.choice((0, 30)))
                if close
                else None
            )
            nxt = planned[0] if planned else None
            if t_close is not None and t_close < stop and (nxt is None or t_close <= nxt[0]):
                dest = self.destination("closure", person, t_close, cur)
                if dest is None:
                    break
                segments.append((dest, t_close, "closure"))
                cur, start = dest, t_close
                continue
            if nxt is not None and nxt[0] < stop:
                planned.pop(0)
                at = nxt[0]
                if at <= start:
                    continue
                at = datetime(at.year, at.month, at.day, rng.randint(7, 10), rng.choice((0, 30)))
                if at <= start or at >= stop:
                    continue
                dest = self.destination(nxt[1], person, at, cur)
                if dest is None:
                    continue
                segments.append((dest, at, nxt[1]))
                cur, start = dest, at
                continue
            break
        plan.segments = segments
        return plan

    # -- the people's pool (re-committals) -------------------------------------------------------
    def pool_release(self, person: P, at: datetime) -> None:
        self.seq += 1
        heapq.heappush(self.pool_future, (at, self.seq, person))

    def pool_ready(self, before: datetime) -> None:
        while self.pool_future and self.pool_future[0][0] < before:
            _at, _s, person = heapq.heappop(self.pool_future)
            pool = self.pool[person.sex]
            if len(pool) >= 150_000:
                pool[self.rng.randrange(len(pool))] = person
            else:
                pool.append(person)

    def pool_take(self, sex: str, juvenile: bool, at: date) -> P | None:
        pool = self.pool[sex]
        if not pool:
            return None
        i = self.rng.randrange(len(pool))
        person = pool[i]
        adult = (at - person.birth).days >= 18 * 365.25
        if adult == juvenile:
            return None
        pool[i] = pool[-1]
        pool.pop()
        return person

    # -- rows ------------------------------------------------------------------------------------
    def next_id(self, model) -> int:
        n = self.ids[model]
        self.ids[model] = n + 1
        return n

    def uuid(self) -> str:
        x = self.uuid_bits(128)
        x = (x & ~(0xF000 << 64)) | (0x4000 << 64)
        x = (x & ~(0xC000 << 48)) | (0x8000 << 48)
        return f"{x:032x}"

    def keep(self, plan: Plan) -> bool:
        """Demo: every detention under way or ended in the last months, a share
        (``history_keep``) of the older ones."""
        keep_share = self.config.history_keep
        if keep_share is None or plan.end is None:
            return True
        if plan.end >= self.now - self.config.keep_recent:
            return True
        return self.keep_rng.random() < keep_share

    def emit(self, plan: Plan) -> None:
        person = plan.person
        end = plan.end
        if end is not None and plan.end_reason not in (DetentionEnd.DEATH, DetentionEnd.ESCAPE):
            self.pool_release(person, end)
        if not self.keep(plan):
            self.stats["detentions_left_out"] += 1
            return
        rng = self.rng
        now = self.now
        w = self.writer
        t0 = plan.t0
        if person.id is None:
            person.id = self.next_id(Person)
            w.add(
                Person,
                (person.id, self.uuid(), person.first_ar, person.family_ar, person.father_ar,
                 person.mother_ar, person.first_lat, person.family_lat, person.father_lat,
                 person.mother_lat, person.key_ar, person.key_lat, person.birth,
                 person.birth_place, person.sex, person.nationality, person.cin, person.marks,
                 person.languages, t0, t0),
            )  # fmt: skip
            if self.config.extras:
                self._family(person, t0)
        detention_id = self.next_id(Detention)
        w.add(
            Detention,
            (detention_id, self.uuid(), person.id, t0, end, plan.end_reason, plan.expected,
             plan.life, t0),
        )  # fmt: skip
        segments = plan.segments
        starts = [s[1] for s in segments]

        def segment_at(at: datetime) -> int:
            return max(0, bisect.bisect_right(starts, at) - 1)

        # hearings: the decided ones up to the end; the first one after today is upcoming
        hearing_ids: dict[int, int] = {}
        upcoming = False
        for i, h in enumerate(plan.hearings):
            if end is not None and h.at > end:
                continue
            decided = h.outcome != HearingOutcome.PENDING and h.at <= now
            if h.at > now:
                if upcoming or end is not None:
                    continue
                upcoming = True
                decided = False
            hid = self.next_id(Hearing)
            hearing_ids[i] = hid
            seg = segments[segment_at(h.at)]
            w.add(
                Hearing,
                (hid, self.uuid(), detention_id, seg[0].id, h.kind, h.court, h.case_number, h.at,
                 h.outcome if decided else HearingOutcome.PENDING,
                 h.at.date() if decided else None, h.status_after if decided else "",
                 h.at if h.at <= now else t0),  # an upcoming one: scheduled before
            )  # fmt: skip
            h.movement = (
                decided and h.outcome != HearingOutcome.APPEAL_LODGED and rng.random() < 0.45
            )
        sentence_ids = []
        for s in plan.sentences:
            sid = self.next_id(Sentence)
            sentence_ids.append(sid)
            at = datetime.combine(s.pronounced_on, datetime.min.time()).replace(hour=12)
            seg = segments[segment_at(max(at, t0))]
            w.add(
                Sentence,
                (sid, self.uuid(), detention_id, seg[0].id, hearing_ids.get(s.hearing),
                 s.court, s.case_number, s.pronounced_on, s.years, s.months, s.days, s.life,
                 s.start, sentence_ids[s.consecutive_to] if s.consecutive_to is not None else None,
                 s.credited, SentenceStatus.QUASHED if s.quashed else SentenceStatus.IN_FORCE,
                 max(at, t0)),
            )  # fmt: skip
        for decree, applied, kind, days, target in plan.grants:
            seg = segments[segment_at(applied)]
            w.add(
                PardonGrant,
                (self.next_id(PardonGrant), self.uuid(), decree.id, detention_id,
                 sentence_ids[target], seg[0].id, kind, days, applied),
            )  # fmt: skip
        if plan.conditional is not None:
            decided_on, release_on, until, reference = plan.conditional
            at = datetime.combine(decided_on, datetime.min.time()).replace(hour=11)
            seg = segments[segment_at(at)]
            w.add(
                ConditionalRelease,
                (self.next_id(ConditionalRelease), self.uuid(), detention_id, seg[0].id,
                 decided_on, "لجنة الإفراج المقيد بشروط — وزارة العدل", reference,
                 ConditionalReleaseStatus.GRANTED, release_on, until,
                 "الإقامة بالعنوان المصرح به والحضور الدوري لدى النيابة العامة", at),
            )  # fmt: skip
        # custody periods, one per institution
        offence_ids = [self.offence_ids[c] for c in plan.offences]
        previous_id = None
        last = len(segments) - 1
        statuses = plan.statuses
        status_times = [t for t, _s in statuses]
        for k, (site, start, why) in enumerate(segments):
            seg_end = segments[k + 1][1] if k < last else end
            cid = self.next_id(CustodyPeriod)
            if k < last:
                status = CustodyStatus.TRANSFERRED_OUT
            elif end is None:
                status = CustodyStatus.IN_CUSTODY
            elif plan.end_reason == DetentionEnd.DEATH:
                status = CustodyStatus.DECEASED
            elif plan.end_reason == DetentionEnd.ESCAPE:
                status = CustodyStatus.ESCAPED
            else:
                status = CustodyStatus.RELEASED
            # legal status over the period
            i = max(0, bisect.bisect_right(status_times, start) - 1)
            lsp = []
            current = statuses[i][1]
            since = start
            for t, st in statuses[i + 1 :]:
                if seg_end is not None and t >= seg_end:
                    break
                if st == current:
                    continue
                lsp.append((since, t, current))
                current, since = st, t
            lsp.append((since, seg_end, current))
            group = CustodyGroup()
            group.id = cid
            group.site = site
            group.at = start
            group.held = seg_end is None
            group.person = person
            group.status = current
            group.status_since = since
            if k == 0:
                authority, warrant, escort = plan.authority, plan.warrant, plan.escort
            else:
                authority = "DGAPR"
                warrant = f"DGAPR/TR/{start.year}/{rng.randint(1, 99_999):05d}"
                escort = "فرقة الحراسة والنقل — المندوبية العامة لإدارة السجون"
            group.row = [
                cid, self.uuid(), person.id, detention_id, site.id, "", start, authority,
                plan.court, warrant, plan.case_number, current, escort, status, seg_end,
                previous_id, None, start,
            ]  # fmt: skip
            rows = group.rows = []
            for a, b, st in lsp:
                rows.append(
                    (LegalStatusPeriod, (self.next_id(LegalStatusPeriod), cid, site.id, st, a, b))
                )
            through = self.through
            for oid in offence_ids:
                rows.append((through, (self.next_id(through), cid, oid)))
            if k > 0:
                prev_site = segments[k - 1][0]
                rows.append(
                    (Movement,
                     (self.next_id(Movement), self.uuid(), detention_id, previous_id,
                      prev_site.id, site.id, MovementKind.TRANSFER, start, None, start,
                      site.name_ar, TRANSFER_REASONS[why], escort, warrant, start))
                )  # fmt: skip
            # court appearances during this period (out and back the same day)
            for i, h in enumerate(plan.hearings):
                if not h.movement or i not in hearing_ids:
                    continue
                if h.at < start or (seg_end is not None and h.at >= seg_end):
                    continue
                out = h.at - timedelta(minutes=rng.choice((60, 75, 90)))
                back = h.at + timedelta(hours=rng.randint(2, 5))
                limit = seg_end if seg_end is not None else now
                if seg_end is not None and back >= seg_end:
                    back = seg_end - timedelta(minutes=30)
                if out <= start or back <= out or back > limit or back > now:
                    continue
                rows.append(
                    (Movement,
                     (self.next_id(Movement), self.uuid(), detention_id, cid, site.id, None,
                      MovementKind.COURT, out, h.at + timedelta(hours=6), back, h.court,
                      "المثول أمام المحكمة", "فرقة الحراسة والنقل", h.case_number, out))
                )  # fmt: skip
            if k == last and plan.end_reason in (DetentionEnd.DEATH, DetentionEnd.ESCAPE):
                rows.append((CustodyIncident, self._incident(cid, site, end, plan)))
            self.seq += 1
            heapq.heappush(self.pending, (start, self.seq, group))
            previous_id = cid
        if end is not None and plan.end_reason not in (DetentionEnd.DEATH, DetentionEnd.ESCAPE):
            site = segments[-1][0]
            checklist = {
                "identity_verified": True,
                "order_checked": True,
                "no_other_detention_order": True,
                "property_returned": self.config.extras,
                "documents_handed_over": True,
                "money_paid_out": rng.random() < 0.6,
                "medical_summary_offered": rng.random() < 0.3,
                "family_informed": rng.random() < 0.7,
            }
            release = ReleasePending()
            release.site = site
            release.row = [
                self.next_id(ReleaseRecord), self.uuid(), previous_id, site.id,
                plan.end_reason, end, plan.release_authority, plan.release_reference,
                json.dumps(checklist), "",
            ]  # fmt: skip
            self.seq += 1
            heapq.heappush(self.pending, (end, self.seq, release))
        if self.config.extras:
            self._property(detention_id, plan)
        self.stats["detentions"] += 1

    def _incident(self, custody_id: int, site: Site, at: datetime, plan: Plan) -> tuple:
        rng = self.rng
        death = plan.end_reason == DetentionEnd.DEATH
        if death:
            place = rng.choice(("الزنزانة", "المصحة", "المستشفى الإقليمي"))
            circumstances = rng.choice(
                (
                    "وعكة صحية مفاجئة، نقل إلى المصحة وتوفي رغم الإسعافات.",
                    "وفاة بالمستشفى بعد مرض مزمن كان يتابع علاجه.",
                    "عثر عليه فاقدا للوعي بالزنزانة صباحا وأعلن الطبيب وفاته.",
                )
            )
            cause = rng.choice(("سكتة قلبية", "مرض مزمن", "في انتظار نتائج التشريح"))
        else:
            place = rng.choice(("ساحة الفسحة", "المحكمة أثناء المثول", "المستشفى أثناء الاستشفاء"))
            circumstances = "فرار أثناء غفلة من الحراسة؛ أبلغت المصالح الأمنية فورا."
            cause = ""
        seg_ca = site.ca
        return (
            self.next_id(CustodyIncident), self.uuid(), custody_id, site.id,
            CustodyIncident.Kind.DEATH if death else CustodyIncident.Kind.ESCAPE, at, place,
            circumstances, cause, f"الوكيل العام للملك لدى محكمة الاستئناف ب{seg_ca}",
            at + timedelta(hours=rng.randint(1, 3)),
            at + timedelta(hours=rng.randint(4, 20)) if death else None,
            f"{rng.randint(1, 999)}/{at.year}" if death else "", death,
        )  # fmt: skip

    def _property(self, detention_id: int, plan: Plan) -> None:
        rng = self.rng
        site = plan.segments[-1][0]
        end = plan.end
        released = end is not None and plan.end_reason not in (
            DetentionEnd.DEATH,
            DetentionEnd.ESCAPE,
        )
        for ar, _fr in rng.sample(PROPERTY, rng.randint(1, 3)):
            if released:
                status, closed, recipient = PropertyStatus.RETURNED, end, plan.person.name_ar
            elif plan.end_reason == DetentionEnd.DEATH:
                status, closed, recipient = PropertyStatus.HANDED_OVER, end, "ذوو الحقوق"
            else:
                status, closed, recipient = PropertyStatus.KEPT, None, ""
            self.writer.add(
                PropertyItem,
                (self.next_id(PropertyItem), self.uuid(), detention_id, site.id, ar, 1,
                 f"خزانة الأمانات {rng.randint(1, 40)}", status, plan.t0, closed,
                 (recipient or "")[:200]),
            )  # fmt: skip

    def _family(self, person: P, at: datetime) -> None:
        rng = self.rng
        age = (at.date() - person.birth).days / 365.25
        script = 0 if person.family_ar else 1  # foreigners: Latin script only
        family = person.family_ar or person.family_lat
        father = person.father_ar or person.father_lat
        members = []
        if age < 45 and rng.random() < 0.6:
            members.append((Relationship.FATHER, f"{father} {family}", "M", None))
        if rng.random() < 0.7 and person.mother_ar:
            members.append((Relationship.MOTHER, person.mother_ar, "F", None))
        if age >= 25 and rng.random() < 0.45:
            spouse_sex = "F" if person.sex == "M" else "M"
            spouse = self._name("female" if spouse_sex == "F" else "male")[script]
            members.append(
                (Relationship.SPOUSE, f"{spouse} {self._name('family')[script]}", spouse_sex, None)
            )
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                child_age = rng.randint(1, max(1, int(age) - 22))
                birth = at.date() - timedelta(days=int((child_age + rng.random()) * 365.25))
                sex = rng.choice("MF")
                first = self._name("male" if sex == "M" else "female")[script]
                members.append((Relationship.CHILD, f"{first} {family}", sex, birth))
        if not members:
            brother = self._name("male")[script]
            members.append((Relationship.SIBLING, f"{brother} {family}", "M", None))
        contact = rng.randrange(len(members))
        while members[contact][0] == Relationship.CHILD:
            contact = (contact + 1) % len(members)
        for i, (relationship, name, sex, birth) in enumerate(members):
            phone = (
                f"+2126{rng.randint(10_000_000, 99_999_999)}"
                if relationship != Relationship.CHILD
                else ""
            )
            carer = ""
            if relationship == Relationship.CHILD:
                carer = "الأم" if person.sex == "M" else "الأب"
            self.writer.add(
                FamilyMember,
                (self.next_id(FamilyMember), self.uuid(), person.id, relationship, name[:200],
                 birth, sex, phone, rng.choice(BIRTH_PLACES[person.region]) if phone else "",
                 carer, i == contact, i == contact, "ar", "", at),
            )  # fmt: skip

    # -- committals -----------------------------------------------------------------------------
    def admit(self, t0: datetime, site: Site, group: str) -> None:
        rng = self.rng
        sex = "F" if group[0] == "F" else "M"
        juvenile = group[1] == "J"
        person = None
        recidivism = 0.1 if juvenile else (0.15 if sex == "F" else 0.25)
        if rng.random() < recidivism:
            person = self.pool_take(sex, juvenile, t0.date())
            if person is not None:
                self.stats["recommitted"] += 1
        if person is None:
            person = self.new_person(sex, self.birth_for(group, t0.date()), site)
        case = self.draw_case(sex, juvenile, t0.year)
        self.emit(self.plan(case, t0, site, person))

    def national_weights(self, on: date) -> dict[str, float]:
        totals = dict.fromkeys(ADMISSION_SHARES, 0.0)
        for s in self.sites.values():
            if s.operating(on):
                for g in totals:
                    totals[g] += s.w[g]
        return totals

    def month(self, first: date) -> list[tuple[datetime, Site, str]]:
        """The committals of one month, in the seeded institutions."""
        rng = self.rng
        nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        days = [first + timedelta(days=i) for i in range((nxt - first).days)]
        n_days = len(days)
        rate = ADMISSIONS_PER_YEAR.get(first.year, ADMISSIONS_PER_YEAR[max(ADMISSIONS_PER_YEAR)])
        # the nation's beds for each group over the month (institutions opening or closing)
        totals = dict.fromkeys(ADMISSION_SHARES, 0.0)
        open_days: dict[int, list[date]] = {}
        for s in self.sites.values():
            on = [d for d in days if s.operating(d)]
            if not on:
                continue
            open_days[s.id] = on
            for g in totals:
                totals[g] += s.w[g] * len(on) / n_days
        out = []
        for s in self.seeded:
            on = [d for d in open_days.get(s.id, ()) if d <= self.today]
            if not on:
                continue
            for g, share in ADMISSION_SHARES.items():
                if not s.w[g] or not totals[g]:
                    continue
                expected = (
                    rate * share * self.config.rate_factor * s.w[g] * len(on) / 365.0 / totals[g]
                )
                count = int(expected) + (rng.random() < expected - int(expected))
                for _ in range(count):
                    d = rng.choice(on)
                    t0 = datetime(d.year, d.month, d.day, rng.randint(10, 19), rng.randint(0, 59))
                    if t0 <= self.now:
                        out.append((t0, s, g))
        out.sort(key=lambda x: (x[0], x[1].id, x[2]))
        return out

    def stock(self) -> None:
        """Those in custody on 1 January 2019: detentions drawn from the same process,
        weighted by their length (a detention twice as long is twice as likely to be under
        way on a given day), committed up to decades before."""
        rng = self.rng
        start = datetime.combine(SIM_START, datetime.min.time())
        totals = self.national_weights(SIM_START)
        cap = 365.0
        for g, share in STOCK_SHARES.items():
            seeded_w = sum(s.w[g] for s in self.seeded if s.operating(SIM_START))
            if not seeded_w or not totals[g]:
                continue
            wanted = round(
                self.config.stock * self.config.rate_factor * share * seeded_w / totals[g]
            )
            sex = "F" if g[0] == "F" else "M"
            juvenile = g[1] == "J"
            made = 0
            while made < wanted:
                case = self.draw_case(sex, juvenile, SIM_START.year - 1)
                length = self.case_length(case)
                copies = int(length / cap + rng.random())
                for _ in range(copies):
                    if made >= wanted:
                        break
                    elapsed = timedelta(days=rng.random() * length)
                    t0 = start - elapsed
                    t0 = datetime(
                        t0.year, t0.month, t0.day, rng.randint(10, 19), rng.randint(0, 59)
                    )
                    if t0 >= start:
                        t0 = start - timedelta(hours=rng.randint(2, 12))
                    cands = [(s, s.w[g]) for s in self.alive_on(t0.date())]
                    site = self._choose(cands)
                    made += 1
                    if site is None:
                        continue
                    person = self.new_person(sex, self.birth_for(g, t0.date()), site)
                    self.emit(self.plan(case, t0, site, person))

    # -- writing in time order --------------------------------------------------------------------
    def pop_until(self, until: datetime) -> None:
        """Number and write the custody periods and releases up to ``until``."""
        pending = self.pending
        while pending and pending[0][0] < until:
            at, _seq, item = heapq.heappop(pending)
            site = item.site
            year = at.year
            if isinstance(item, ReleasePending):
                key = (site.id, year)
                n = self.certificates[key] = self.certificates[key] + 1
                item.row[-1] = f"{site.code}-L-{year}-{n:06d}"
                self.writer.add(ReleaseRecord, tuple(item.row))
                continue
            key = (site.id, year)
            last = self.counters.get(key, 0)
            if year < SIM_START.year:
                # before the registry: numbers spread over the year as committals were
                fraction = (at - datetime(year, 1, 1)).total_seconds() / (365.25 * 86400)
                n = max(last + 1, int(fraction * site.rate_base))
            else:
                n = last + 1
            self.counters[key] = n
            item.row[5] = f"{site.code}-{year}-{n:06d}"
            if item.held:
                self.held.append(item)
                continue
            self.writer.add(CustodyPeriod, tuple(item.row))
            for model, row in item.rows:
                self.writer.add(model, row)

    def run(self) -> None:
        rates = self.national_weights(SIM_START)
        rate = ADMISSIONS_PER_YEAR[SIM_START.year]
        for s in self.seeded:
            s.rate_base = max(
                1.0,
                sum(
                    rate * share * s.w[g] / rates[g]
                    for g, share in ADMISSION_SHARES.items()
                    if rates[g]
                ),
            )
        self.stock()
        first = date(SIM_START.year, SIM_START.month, 1)
        while first <= self.today:
            nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
            self.pool_ready(datetime.combine(first, datetime.min.time()))
            for t0, site, group in self.month(first):
                self.admit(t0, site, group)
            self.pop_until(min(datetime.combine(nxt, datetime.min.time()), self.now))
            self.writer.maybe_flush()
            if self.out and first.month == 12:
                self.out(
                    f"  {first.year}: {self.stats['detentions']} detentions so far "
                    f"({_time.monotonic() - self.started:.0f} s)"
                )
            first = nxt
        self.pop_until(self.now + DAY)


TRANSFER_REASONS = {
    "central": "قضاء عقوبة طويلة الأمد بسجن مركزي",
    "agri": "قضاء ما تبقى من العقوبة بسجن فلاحي",
    "closure": "إغلاق المؤسسة",
    "age": "بلوغ سن الرشد الجنائي (18 سنة)",
    "other": "تخفيف الاكتظاظ وتقريب السجين من عائلته",
}


class CustodyGroup:
    """A custody period waiting for its committal number, with the rows that depend on it."""

    __slots__ = ("id", "site", "at", "held", "person", "status", "status_since", "row", "rows")


class ReleasePending:
    __slots__ = ("site", "row")


# == Bulk writing =================================================================================
class Writer:
    """Rows of one run, buffered per table and written in the order of their foreign keys:
    ``COPY`` on PostgreSQL, ``executemany`` elsewhere. Datetimes are local (naive) in the
    rows; the fields the rows leave out get their model default."""

    def __init__(self, fields: dict, flush_rows: int, now: datetime):
        self.pg = connection.vendor == "postgresql"
        self.flush_rows = flush_rows
        self.specs = {}
        self.buffers: dict = {}
        self.counts: dict = defaultdict(int)
        self.size = 0
        for model, names in fields.items():
            meta = model._meta
            provided = [meta.get_field(n) for n in names]
            rest = [
                f for f in meta.concrete_fields if f.attname not in names and f.name not in names
            ]
            constants = []
            for f in rest:
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    value = now
                elif f.has_default():
                    value = f.get_default()
                    assert not callable(value), f
                elif f.null:
                    value = None
                else:
                    value = ""
                constants.append(value)
            kinds = [_kind(f) for f in provided] + [_kind(f) for f in rest]
            columns = ", ".join(connection.ops.quote_name(f.column) for f in [*provided, *rest])
            self.specs[model] = (meta.db_table, columns, tuple(constants), kinds, len(provided))
            self.buffers[model] = []

    def add(self, model, row) -> None:
        self.buffers[model].append(row)
        self.size += 1

    def maybe_flush(self) -> None:
        if self.size >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        with connection.cursor() as cursor:
            if self.pg:
                cursor.execute("SET LOCAL TIME ZONE %s", [settings.TIME_ZONE])
            for model, rows in self.buffers.items():
                if not rows:
                    continue
                table, columns, constants, kinds, _n = self.specs[model]
                if self.pg:
                    with cursor.cursor.copy(
                        f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
                    ) as copy:
                        for row in rows:
                            copy.write_row(row + constants)
                else:
                    converters = [(i, _SQLITE[k]) for i, k in enumerate(kinds) if k in _SQLITE]
                    marks = ", ".join(["%s"] * len(kinds))
                    out = []
                    for row in rows:
                        values = list(row + constants)
                        for i, convert in converters:
                            if values[i] is not None:
                                values[i] = convert(values[i])
                        out.append(values)
                    cursor.executemany(
                        f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) "
                        f"VALUES ({marks})",
                        out,
                    )
                self.counts[model] += len(rows)
                rows.clear()
            if self.pg:
                cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        self.size = 0


def _kind(f) -> str:
    internal = f.get_internal_type()
    if internal == "DateTimeField":
        return "datetime"
    if internal == "DateField":
        return "date"
    if internal == "UUIDField":
        return "uuid"
    return ""


def _sqlite_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=TZ)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


_SQLITE = {"datetime": _sqlite_datetime, "date": date.isoformat}

WRITE_ORDER = {
    Person: [
        "id", "uuid", "first_name_ar", "family_name_ar", "father_name_ar", "mother_name_ar",
        "first_name_latin", "family_name_latin", "father_name_latin", "mother_name_latin",
        "name_key_ar", "name_key_latin", "birth_date", "birth_place", "sex", "nationality",
        "cin", "distinguishing_marks", "languages", "created_at", "updated_at",
    ],
    FamilyMember: [
        "id", "uuid", "person_id", "relationship", "full_name", "birth_date", "sex", "phone",
        "address", "carer", "is_emergency_contact", "is_next_of_kin", "language", "note",
        "created_at",
    ],
    Detention: [
        "id", "uuid", "person_id", "started_at", "ended_at", "end_reason", "expected_release",
        "life_sentence", "created_at",
    ],
    CustodyPeriod: [
        "id", "uuid", "person_id", "detention_id", "facility_id", "committal_number",
        "committed_at", "committing_authority", "court", "warrant_reference", "case_number",
        "legal_status", "escort", "status", "released_at", "transferred_from_id", "cell_id",
        "created_at",
    ],
    CustodyPeriod.offences.through: ["id", "custodyperiod_id", "offence_id"],
    LegalStatusPeriod: ["id", "custody_id", "facility_id", "status", "valid_from", "valid_to"],
    Hearing: [
        "id", "uuid", "detention_id", "facility_id", "kind", "court", "case_number",
        "scheduled_at", "outcome", "decided_on", "legal_status_after", "created_at",
    ],
    Sentence: [
        "id", "uuid", "detention_id", "facility_id", "hearing_id", "court", "case_number",
        "pronounced_on", "years", "months", "days", "life", "start_date", "consecutive_to_id",
        "credited_days", "status", "created_at",
    ],
    PardonGrant: [
        "id", "uuid", "decree_id", "detention_id", "sentence_id", "facility_id", "kind", "days",
        "applied_at",
    ],
    ConditionalRelease: [
        "id", "uuid", "detention_id", "facility_id", "decided_on", "authority",
        "decision_reference", "status", "release_on", "supervision_until", "conditions",
        "created_at",
    ],
    PropertyItem: [
        "id", "uuid", "detention_id", "facility_id", "description", "quantity",
        "stored_location", "status", "received_at", "closed_at", "recipient",
    ],
    ReleaseRecord: [
        "id", "uuid", "custody_id", "facility_id", "reason", "released_at", "authority",
        "decision_reference", "checklist", "certificate_number",
    ],
    Movement: [
        "id", "uuid", "detention_id", "custody_id", "facility_id", "to_facility_id", "kind",
        "out_at", "expected_back_at", "back_at", "destination", "reason", "escort",
        "authority_reference", "created_at",
    ],
    CustodyIncident: [
        "id", "uuid", "custody_id", "facility_id", "kind", "occurred_at", "place",
        "circumstances", "cause", "authority_notified", "authority_notified_at",
        "family_notified_at", "investigation_reference", "autopsy_requested",
    ],
    CellAssignment: [
        "id", "uuid", "custody_id", "facility_id", "cell_id", "started_at", "ended_at", "reason",
    ],
    CellOccupancy: ["cell_id", "facility_id", "occupants"],
}  # fmt: skip


# == Housing of those in custody today ==========================================================
def _eighteenth(birth: date) -> date:
    try:
        return birth.replace(year=birth.year + 18)
    except ValueError:  # 29 February
        return date(birth.year + 18, 3, 1)


def house(sim: Simulation) -> dict[str, int]:
    """Give a cell to everyone in custody today, under the separation rules and within the
    operational maximum; returns how many were housed and left without a cell."""
    today = sim.today
    site_ids = [s.id for s in sim.seeded]
    wings = {
        w.pk: w
        for w in Wing.objects.filter(facility_id__in=site_ids).only(
            "pk", "sex", "age_group", "regime", "special_use"
        )
    }
    cells = list(
        Cell.objects.filter(facility_id__in=site_ids)
        .filter(Q(in_service_from__isnull=True) | Q(in_service_from__lte=today))
        .filter(Q(in_service_until__isnull=True) | Q(in_service_until__gt=today))
        .order_by("facility_id", "wing_id", "number")
        .values_list(
            "pk",
            "facility_id",
            "wing_id",
            "beds",
            "operational_max",
            "special_use",
            "in_service_from",
        )
    )
    # per (facility, sex, age group, regime): heap of (occupancy ratio, cell)
    heaps: dict[tuple, list] = defaultdict(list)
    mixed: dict[tuple, list] = defaultdict(list)
    info = {}
    for pk, fid, wid, beds, op_max, use, since in cells:
        wing = wings[wid]
        if use or wing.special_use or op_max <= 0:
            continue
        info[pk] = [0, beds, op_max, None, since]  # occupants, beds, max, side, in service
        key = (fid, wing.sex, wing.age_group, wing.regime)
        if wing.regime == Regime.MIXED:
            mixed[(fid, wing.sex, wing.age_group)].append(pk)
        else:
            heaps[key].append((0.0, pk))
    for h in heaps.values():
        heapq.heapify(h)
    housed = unhoused = 0
    assignments = []
    sim.held.sort(key=lambda g: (g.at, g.id))
    for group in sim.held:
        person = group.person
        adult = _eighteenth(person.birth) <= today
        age_group = AgeGroup.ADULT if adult else AgeGroup.JUVENILE
        side = (
            Regime.REMAND
            if group.status in (LegalStatus.REMAND, LegalStatus.APPEALING)
            else Regime.CONVICTED
        )
        fid = group.site.id
        chosen = None
        h = heaps.get((fid, person.sex, age_group, side))
        while h:
            _ratio, pk = h[0]
            c = info[pk]
            if c[0] >= c[2]:
                heapq.heappop(h)
                continue
            chosen = pk
            c[0] += 1
            heapq.heapreplace(h, (c[0] / max(1, c[1]), pk))
            break
        if chosen is None:
            best = None
            for pk in mixed.get((fid, person.sex, age_group), ()):
                c = info[pk]
                if c[0] >= c[2] or (c[3] is not None and c[3] != side):
                    continue
                ratio = c[0] / max(1, c[1])
                if best is None or ratio < best[0]:
                    best = (ratio, pk)
            if best is not None:
                chosen = best[1]
                c = info[chosen]
                c[0] += 1
                c[3] = side
        if chosen is None:
            unhoused += 1
            continue
        housed += 1
        group.row[16] = chosen
        since = max(group.at, group.status_since)
        if adult:
            eighteen = datetime.combine(_eighteenth(person.birth), datetime.min.time()).replace(
                hour=9
            )
            if eighteen > since:
                since = eighteen
        in_service = info[chosen][4]
        if in_service is not None:
            since = max(since, datetime.combine(in_service, datetime.min.time()).replace(hour=9))
        since = min(since, sim.now)
        reason = (
            "تسكين عند الإيداع" if since == group.at else "تغيير الجناح (الوضعية القانونية أو السن)"
        )
        assignments.append(
            (sim.next_id(CellAssignment), sim.uuid(), group.id, fid, chosen, since, None, reason)
        )
    w = sim.writer
    for group in sim.held:
        w.add(CustodyPeriod, tuple(group.row))
        for model, row in group.rows:
            w.add(model, row)
    for row in assignments:
        w.add(CellAssignment, row)
    CellOccupancy.objects.filter(facility_id__in=site_ids).delete()
    for pk, fid in Cell.objects.filter(facility_id__in=site_ids).values_list("pk", "facility_id"):
        w.add(CellOccupancy, (pk, fid, info[pk][0] if pk in info else 0))
    return {"housed": housed, "unhoused": unhoused}


# == Figures ======================================================================================
def population(site_ids: list[int], moment: datetime) -> dict[str, int]:
    """The population at ``moment`` in these institutions: total, remand side, women,
    juveniles (as the registry counts them: custody periods under way)."""
    aware = moment.replace(tzinfo=TZ)
    periods = CustodyPeriod.objects.filter(facility_id__in=site_ids).in_custody_at(aware)
    total = periods.count()
    women = periods.filter(person__sex=PersonSex.FEMALE).count()
    born_after = _eighteenth_before(moment.date())
    juveniles = periods.filter(person__birth_date__gt=born_after).count()
    remand = (
        LegalStatusPeriod.objects.filter(
            facility_id__in=site_ids,
            valid_from__lte=aware,
            status__in=(LegalStatus.REMAND, LegalStatus.APPEALING),
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=aware))
        .count()
    )
    return {"total": total, "remand": remand, "women": women, "juveniles": juveniles}


def _eighteenth_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 18)
    except ValueError:
        return date(d.year - 18, 2, 28)


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


# == Entry point ==================================================================================
def seed(
    *,
    scale: str = "demo",
    random_seed: int = 2020,
    stdout=None,
    facility_codes: list[str] | tuple[str, ...] | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Seed the registry (idempotent: institutions that already have custody periods are
    left alone). ``facility_codes`` and ``until`` (a local datetime: "today") narrow a run,
    for tests and benchmarks; by default the demo seeds ``DEMO_FACILITIES`` and the national
    scale every institution, up to now."""
    started = _time.monotonic()

    def say(text: str) -> None:
        if stdout is not None:
            stdout.write(text)

    offence_ids = seed_offences()
    now = until or timezone.localtime()
    if timezone.is_aware(now):
        now = timezone.localtime(now).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    decrees = seed_pardon_decrees(now.date())
    sites = load_sites()
    if facility_codes is None:
        facility_codes = DEMO_FACILITIES if scale == "demo" else [s.code for s in sites.values()]
    codes = set(facility_codes)
    busy = set(
        CustodyPeriod.objects.filter(facility__code__in=codes)
        .values_list("facility__code", flat=True)
        .distinct()
    )
    seeded = [s for s in sites.values() if s.code in codes and s.code not in busy]
    if not seeded:
        say(f"inmates: nothing to do ({len(busy)} institutions already have custody periods)")
        return {"detentions": 0}
    if scale == "demo":
        config = Config(
            scale=scale,
            now=now,
            history_keep=DEMO_HISTORY_KEEP,
            keep_recent=DEMO_KEEP_RECENT,
            extras=True,
            rate_factor=DEMO_RATE_FACTOR,
        )
    else:
        config = Config(scale=scale, now=now)
    rng = random.Random(f"idmaj.inmates:{random_seed}:{scale}")
    sim = Simulation(config, sites, seeded, rng, say if scale != "demo" else None)
    sim.keep_rng = random.Random(f"idmaj.inmates.keep:{random_seed}")
    sim.offence_ids = offence_ids
    sim.through = CustodyPeriod.offences.through
    sim.decrees = decrees
    sim.decree_dates = [d.signed_on for d in decrees]
    sim.cin_taken = set(Person.objects.exclude(cin="").values_list("cin", flat=True))
    site_ids = [s.id for s in seeded]
    sim.counters = {
        (f, y): n
        for f, y, n in CommittalCounter.objects.filter(facility_id__in=site_ids).values_list(
            "facility_id", "year", "last_number"
        )
    }
    models = [m for m in WRITE_ORDER if m is not CellOccupancy]
    sim.ids = {}
    for model in models:
        sim.ids[model] = (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    # UUIDs differ from one run to another (other institutions, other rows already there)
    # and are the same when a run is repeated on the same database
    run_key = ",".join(sorted(s.code for s in seeded)) + f":{sorted(sim.ids.values())}"
    sim.uuid_bits = random.Random(f"idmaj.inmates.uuid:{random_seed}:{run_key}").getrandbits
    say(
        f"inmates: seeding {len(seeded)} institutions ({scale}), "
        f"{SIM_START:%Y-%m-%d} to {now:%Y-%m-%d %H:%M}"
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        sim.writer = Writer(
            WRITE_ORDER,
            flush_rows=200_000 if connection.vendor == "postgresql" else 50_000,
            now=timezone.now(),
        )
        sim.run()
        housing = house(sim)
        sim.writer.flush()
        _save_counters(sim.counters)
        if connection.vendor == "postgresql":
            from django.core.management.color import no_style

            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), models):
                    cursor.execute(sql)
    counts = {m._meta.model_name: n for m, n in sim.writer.counts.items()}
    result = {
        "detentions": sim.stats["detentions"],
        "persons": counts.get("person", 0),
        "custody_periods": counts.get("custodyperiod", 0),
        **housing,
    }
    elapsed = _time.monotonic() - started
    say(
        "inmates: "
        + ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
        + f" created in {elapsed:.1f} s"
    )
    say(
        f"inmates: {housing['housed']} prisoners given a cell, {housing['unhoused']} left "
        "without one (no compatible place under the operational maximum)"
    )
    moments = [(f"{now:%Y-%m-%d}", now)]
    if scale == "demo":
        say(
            f"inmates: detentions ended before {now - config.keep_recent:%Y-%m-%d} kept for one "
            f"in {round(1 / DEMO_HISTORY_KEEP)} ({sim.stats['detentions_left_out']} left out)"
        )
    elif now > datetime(2020, 6, 30, 12, 0):
        moments.insert(0, ("2020-06-30", datetime(2020, 6, 30, 12, 0)))
    for label, moment in moments:
        p = population(site_ids, moment)
        result[f"population_{label}"] = p["total"]
        say(
            f"inmates: population on {label}: {p['total']} (remand and appeal "
            f"{_pct(p['remand'], p['total'])}, women {_pct(p['women'], p['total'])}, "
            f"juveniles {_pct(p['juveniles'], p['total'])})"
        )
    return result


def _save_counters(counters: dict[tuple[int, int], int]) -> None:
    have = {
        (c.facility_id, c.year): c
        for c in CommittalCounter.objects.filter(facility_id__in={f for f, _y in counters})
    }
    create, update = [], []
    for (fid, year), n in counters.items():
        counter = have.get((fid, year))
        if counter is None:
            create.append(CommittalCounter(facility_id=fid, year=year, last_number=n))
        elif counter.last_number < n:
            counter.last_number = n
            update.append(counter)
    CommittalCounter.objects.bulk_create(create, batch_size=1000)
    CommittalCounter.objects.bulk_update(update, ["last_number"], batch_size=1000)
