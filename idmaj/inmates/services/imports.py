"""Registry services: bulk import of a legacy registry (CSV or XLSX), all or nothing.

A file holds one row per committal (see ``docs/registry-imports.md`` and ``IMPORT_COLUMNS``).
``registry_import_validate`` is the dry run: every row is checked and every problem is
reported at once, with its row (as in the file, the header being row 1) and its column;
nothing is written but the ``ImportBatch`` row that records the result.
``registry_import_apply`` runs the same checks and, only when no row has an error, writes
every row in one transaction with bulk inserts: persons (or links to persons on file),
detentions, custody periods with committal numbers from the institution's counters, offences,
legal status periods, and one audit entry per institution on that institution's chain.

Imports are idempotent: a row whose (institution, ``legacy_reference``) is already in the
registry is skipped and counted, so that running the same file twice creates nothing the
second time.

Persons: a row whose CIN is on file is linked to that person (one person, several custody
periods). Without a CIN, a person on file (or an earlier row) with the same normalised first
and family names and the same date of birth is linked, with a warning.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility

from ..constants import CustodyStatus, DetentionEnd, ImportStatus, LegalStatus, PersonSex
from ..models import (
    CommittalCounter,
    CustodyPeriod,
    Detention,
    ImportBatch,
    LegalStatusPeriod,
    Offence,
    Person,
    cin_validator,
    nationality_validator,
    normalise_cin,
)
from ._common import CLOCK_SKEW
from .admission import PERSON_FIELDS, fill_name_keys

__all__ = [
    "IMPORT_PERM",
    "IMPORT_COLUMNS",
    "IMPORT_FORMATS",
    "IMPORT_MAX_BYTES",
    "IMPORT_MAX_ROWS",
    "IMPORT_MAX_ROWS_ONLINE",
    "ImportColumn",
    "registry_import_validate",
    "registry_import_apply",
    "registry_import_template",
    "registry_import_check_upload",
    "registry_import_issue_message",
    "registry_import_issues",
    "registry_import_file_store",
    "registry_import_file_load",
    "registry_import_file_discard",
]

IMPORT_PERM = "inmates.import"
IMPORT_FORMATS = ("csv", "xlsx")
# Uploads through the page and the API (the command reads any size).
IMPORT_MAX_BYTES = int(getattr(settings, "IDMAJ_IMPORT_MAX_BYTES", 25 * 1024 * 1024))
# Data rows of one file at most (a guard against runaway spreadsheets and memory), and
# through the page and the API, where a request must end before the server's 60 s timeout.
IMPORT_MAX_ROWS = 100_000
IMPORT_MAX_ROWS_ONLINE = 30_000
# Issues kept in ``ImportBatch.errors`` at most (a last entry says how many more there were).
MAX_ISSUES = 10_000
# Rows per INSERT statement and per look-up query.
BULK_SIZE = 1000
LOOKUP_CHUNK = 500
# Validated files kept between the dry run and the import, under MEDIA_ROOT.
STORE_DIR = "imports"
STORE_KEEP = dt.timedelta(days=7)


@dataclass(frozen=True)
class ImportColumn:
    name: str  # the English column name, also the field name
    french: str  # the French column name
    required: bool
    help: Any  # what to write (lazy translated text)


IMPORT_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn(
        "legacy_reference",
        "reference_ancienne",
        True,
        _("The committal's identifier in the legacy system (unique per institution)."),
    ),
    ImportColumn(
        "facility",
        "etablissement",
        False,
        _("Institution code, e.g. OUJDA2; may be left out when one institution is chosen."),
    ),
    ImportColumn("first_name_ar", "prenom_ar", False, _("First name in Arabic script.")),
    ImportColumn("family_name_ar", "nom_ar", False, _("Family name in Arabic script.")),
    ImportColumn("father_name_ar", "nom_pere_ar", False, _("Father's name in Arabic script.")),
    ImportColumn("mother_name_ar", "nom_mere_ar", False, _("Mother's name in Arabic script.")),
    ImportColumn("first_name_latin", "prenom_latin", False, _("First name in Latin script.")),
    ImportColumn("family_name_latin", "nom_latin", False, _("Family name in Latin script.")),
    ImportColumn("father_name_latin", "nom_pere_latin", False, _("Father's name in Latin script.")),
    ImportColumn("mother_name_latin", "nom_mere_latin", False, _("Mother's name in Latin script.")),
    ImportColumn("birth_date", "date_naissance", False, _("YYYY-MM-DD or DD/MM/YYYY.")),
    ImportColumn("birth_place", "lieu_naissance", False, _("Place of birth.")),
    ImportColumn("sex", "sexe", True, _("M or F.")),
    ImportColumn(
        "nationality", "nationalite", False, _("Two-letter country code (ISO 3166); MA if empty.")
    ),
    ImportColumn(
        "cin", "cnie", False, _("National identity card number: one or two letters, then digits.")
    ),
    ImportColumn("distinguishing_marks", "signes_particuliers", False, _("Distinguishing marks.")),
    ImportColumn("languages", "langues", False, _("Languages spoken.")),
    ImportColumn(
        "committed_at",
        "date_ecrou",
        True,
        _("Date, or date and time: YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM."),
    ),
    ImportColumn("committing_authority", "autorite_ecrou", True, _("Committing authority.")),
    ImportColumn("court", "tribunal", False, _("Court.")),
    ImportColumn("warrant_reference", "reference_mandat", True, _("Warrant reference.")),
    ImportColumn("case_number", "numero_dossier", False, _("Case number.")),
    ImportColumn(
        "legal_status",
        "situation_penale",
        True,
        _("remand, convicted or appealing (the French and Arabic words are accepted)."),
    ),
    ImportColumn(
        "offence_codes",
        "codes_infractions",
        False,
        _("Offence codes from the reference table, separated by |."),
    ),
    ImportColumn(
        "released_at",
        "date_liberation",
        False,
        _("For a committal that has already ended: date, or date and time, of release."),
    ),
)
_COLUMN_NAMES = tuple(c.name for c in IMPORT_COLUMNS)
_REQUIRED = tuple(c.name for c in IMPORT_COLUMNS if c.required)
_DATE_COLUMNS = ("birth_date", "committed_at", "released_at")
_CUSTODY_TEXT = ("committing_authority", "court", "warrant_reference", "case_number")

# Translated messages of the issues, by code: an issue stores its code and parameters and is
# shown in the reader's language (``registry_import_issue_message``).
MESSAGES: dict[str, Any] = {
    # the file
    "bad_format": _("Only CSV and XLSX files can be imported."),
    "too_large": _("The file is too large (at most %(max)s MB)."),
    "not_utf8": _("The file is not UTF-8 text: save it as “CSV UTF-8”."),
    "not_text": _("The file is not a CSV text file."),
    "bad_csv": _("The CSV file cannot be read: %(detail)s."),
    "not_xlsx": _("The file is not a readable XLSX workbook."),
    "empty_file": _("The file is empty: the first row must hold the column names."),
    "no_rows": _("The file has no data rows."),
    "too_many_rows": _("The file has more than %(max)s rows: split it."),
    "conflict": _(
        "The registry changed while the file was being imported (another officer admitted "
        "or imported the same persons): nothing was imported; run the import again."
    ),
    "more_issues": _("%(count)s more problems are not listed."),
    # the header row
    "unknown_column": _("Unknown column: %(name)s."),
    "duplicate_column": _("The column %(name)s appears twice."),
    "missing_column": _("The column %(name)s is missing."),
    "missing_names_columns": _(
        "The file needs the first and family name columns in Arabic script or in Latin script."
    ),
    # a value
    "extra_values": _("This row has more values than the header row has columns."),
    "required": _("This value is required."),
    "too_long": _("At most %(max)s characters (this value has %(length)s)."),
    "bad_date": _("Not a date: %(value)s. Write YYYY-MM-DD or DD/MM/YYYY."),
    "bad_datetime": _(
        "Not a date or a date and time: %(value)s. Write YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM."
    ),
    "date_too_old": _("This date is too far in the past: %(value)s."),
    "future": _("This date cannot be in the future."),
    "before_birth": _("The committal cannot be before the date of birth."),
    "released_before_committed": _("The release cannot be before the committal."),
    "unknown_facility": _("Unknown institution, or you may not import into it: %(code)s."),
    "facility_mismatch": _(
        "This row's institution (%(code)s) is not the institution chosen for the import "
        "(%(chosen)s)."
    ),
    "bad_sex": _("Unknown sex: %(value)s. Write M or F."),
    "bad_nationality": nationality_validator.message,
    "bad_cin": cin_validator.message,
    "bad_legal_status": _("Unknown legal status: %(value)s. Write remand, convicted or appealing."),
    "unknown_offence": _("Unknown offence code: %(codes)s."),
    "names_missing": _("Give the first and family names in Arabic script or in Latin script."),
    "invalid": _("Invalid value: %(detail)s"),
    # between rows, and with the registry
    "duplicate_reference": _("The legacy reference %(reference)s is already on row %(row)s."),
    "cin_identity_conflict": _(
        "The identity card number %(cin)s is on row %(row)s with another identity."
    ),
    "two_open_committals": _(
        "This person has another committal without a release date (row %(row)s)."
    ),
    "already_in_custody": _("This person is already in custody (%(number)s)."),
    "overlap_row": _("This committal overlaps the committal of row %(row)s (same person)."),
    "overlap_on_file": _(
        "This committal overlaps the committal %(number)s on file for the same person."
    ),
    # warnings
    "linked_by_names": _(
        "No identity card number: linked to the person on file with the same names and date "
        "of birth (%(name)s)."
    ),
    "linked_by_names_several": _(
        "No identity card number: %(count)s persons on file have the same names and date of "
        "birth; linked to %(name)s."
    ),
    "linked_in_file": _(
        "No identity card number: taken as the same person as row %(row)s (same names and "
        "date of birth)."
    ),
    "identity_differs": _(
        "Linked by identity card number to %(name)s on file, whose names or date of birth "
        "differ from this row."
    ),
}

ERROR = "error"
WARNING = "warning"


# -- reading the file ------------------------------------------------------------------------
def _fold(text: str) -> str:
    """Lower case, without accents, harakat or punctuation, Arabic letters unified: for
    comparing the words written in a cell (column names, sex, legal status)."""
    text = unicodedata.normalize("NFKD", str(text).strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"}))
    text = re.sub(r"[\W_]+", " ", text)
    return " ".join(text.split())


_STOP_WORDS = {"de", "du", "des", "d", "la", "le", "l", "of", "the"}


def _header_key(text: str) -> str:
    return "_".join(w for w in _fold(text).split() if w not in _STOP_WORDS)


@cache
def _header_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for c in IMPORT_COLUMNS:
        out[_header_key(c.name)] = c.name
        out[_header_key(c.french)] = c.name
    out.update(
        {
            "cin": "cin",
            "cnie": "cin",
            "numero_cin": "cin",
            "etablissement": "facility",
            "code_etablissement": "facility",
            "institution": "facility",
            "date_ecrou": "committed_at",
            "date_liberation": "released_at",
            "infractions": "offence_codes",
        }
    )
    return out


@cache
def _legal_status_words() -> dict[str, str]:
    words = {
        LegalStatus.REMAND: [
            "remand",
            "on remand",
            "pre-trial",
            "prévenu",
            "prévenue",
            "détention préventive",
            "معتقل احتياطي",
            "معتقل احتياطيا",
            "اعتقال احتياطي",
            "احتياطي",
        ],
        LegalStatus.CONVICTED: [
            "convicted",
            "condamné",
            "condamnée",
            "محكوم",
            "محكوم عليه",
            "محكوم عليها",
            "مدان",
        ],
        LegalStatus.APPEALING: [
            "appealing",
            "appeal",
            "en appel",
            "appelant",
            "appelante",
            "مستأنف",
            "مستانف",
            "في طور الاستئناف",
            "استئناف",
        ],
    }
    out: dict[str, str] = {}
    for code, aliases in words.items():
        for w in aliases:
            out[_fold(w)] = code
        for lang in ("ar", "fr", "en"):
            with translation.override(lang):
                out[_fold(str(LegalStatus(code).label))] = code
    return out


@cache
def _sex_words() -> dict[str, str]:
    out = {}
    for code, words in (
        (PersonSex.MALE, ["m", "h", "male", "man", "homme", "masculin", "ذكر"]),
        (PersonSex.FEMALE, ["f", "female", "woman", "femme", "féminin", "feminin", "أنثى"]),
    ):
        for w in words:
            out[_fold(w)] = code
        for lang in ("ar", "fr", "en"):
            with translation.override(lang):
                out[_fold(str(PersonSex(code).label))] = code
    return out


def _cell(value) -> Any:
    """An XLSX cell as the importer reads it: dates kept, anything else as text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Sheet:
    headers: list[str]  # as written in the file
    rows: list[tuple[int, list[Any]]]  # (row number in the file, values)


class _FileError(Exception):
    def __init__(self, code: str, row: int | None = None, **params):
        super().__init__(code)
        self.code = code
        self.row = row
        self.params = params


def _format_of(filename: str) -> str:
    ext = os.path.splitext(filename or "")[1].lower().lstrip(".")
    if ext not in IMPORT_FORMATS:
        raise _FileError("bad_format")
    return ext


def _read_csv(content: bytes, max_rows: int) -> _Sheet:
    if b"\x00" in content:
        raise _FileError("not_text")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileError("not_utf8", row=content[: exc.start].count(b"\n") + 1) from exc
    first_line = text.split("\n", 1)[0]
    aliases = _header_aliases()
    best = (-1, -1, ",")
    for delimiter in (",", ";", "\t"):
        names = next(csv.reader([first_line], delimiter=delimiter), [])
        known = sum(1 for n in names if _header_key(n) in aliases)
        best = max(best, (known, len(names), delimiter), key=lambda b: (b[0], b[1]))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=best[2])
    rows: list[tuple[int, list[Any]]] = []
    headers: list[str] | None = None
    try:
        for number, values in enumerate(reader, start=1):
            if headers is None:
                headers = values
                continue
            if not any(v.strip() for v in values):
                continue  # a blank line
            if len(rows) >= max_rows:
                raise _FileError("too_many_rows", max=max_rows)
            rows.append((number, values))
    except csv.Error as exc:
        raise _FileError("bad_csv", row=reader.line_num, detail=str(exc)) from exc
    if not headers or not any(h.strip() for h in headers):
        raise _FileError("empty_file")
    return _Sheet(headers, rows)


def _read_xlsx(content: bytes, max_rows: int) -> _Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _FileError("not_xlsx") from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl's own errors for broken workbooks
        raise _FileError("not_xlsx") from exc
    try:
        if not workbook.worksheets:
            raise _FileError("empty_file")
        sheet = workbook.worksheets[0]
        headers: list[str] | None = None
        rows: list[tuple[int, list[Any]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in values]
            if headers is None:
                headers = [c if isinstance(c, str) else str(c) for c in cells]
                # trailing empty header cells of a formatted sheet
                while headers and not headers[-1].strip():
                    headers.pop()
                continue
            if not any(_text(c) for c in cells):
                continue  # blank (a formatted sheet may have thousands)
            if len(rows) >= max_rows:
                raise _FileError("too_many_rows", max=max_rows)
            rows.append((number, cells))
    except _FileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a workbook broken inside its sheet
        raise _FileError("not_xlsx") from exc
    finally:
        workbook.close()
    if not headers or not any(h.strip() for h in headers):
        raise _FileError("empty_file")
    return _Sheet(headers, rows)


# -- parsing values --------------------------------------------------------------------------
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _BadValue(Exception):
    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def _parse_date(value) -> dt.date | None:
    if value == "" or value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text)
        m = _DMY.match(text)
        if m and m.group(4) is None:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        pass
    raise _BadValue("bad_date", value=text[:40])


def _parse_moment(value, tz) -> dt.datetime | None:
    """A date (midnight, local time) or a date and time; naive means local time."""
    if value == "" or value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.min)
    else:
        text = str(value).strip()
        moment = None
        try:
            m = _DMY.match(text)
            if m:
                day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
                hour, minute = int(m.group(4) or 0), int(m.group(5) or 0)
                second = int(m.group(6) or 0)
                moment = dt.datetime(year, month, day, hour, minute, second)
            elif re.match(r"^\d{4}-\d{2}-\d{2}", text):
                moment = dt.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None:
            raise _BadValue("bad_datetime", value=text[:40])
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, tz)
    return moment


def _text(value) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value or "").split())


@cache
def _max_lengths() -> dict[str, int]:
    out = {}
    for name in PERSON_FIELDS:
        if name in ("sex", "nationality", "cin"):  # checked by their format
            continue
        f = Person._meta.get_field(name)
        if getattr(f, "max_length", None):
            out[name] = f.max_length
    for name in (*_CUSTODY_TEXT, "legacy_reference"):
        out[name] = CustodyPeriod._meta.get_field(name).max_length
    out["facility"] = Facility._meta.get_field("code").max_length
    return out


# -- the check -------------------------------------------------------------------------------
_IDENTITY_FIELDS = frozenset(
    {
        "first_name_ar",
        "family_name_ar",
        "first_name_latin",
        "family_name_latin",
        "birth_date",
        "sex",
        "cin",
        "names",
    }
)


@dataclass(eq=False)
class _Row:
    number: int
    values: dict[str, Any]
    facility: Facility | None = None
    reference: str = ""
    person: dict[str, Any] = field(default_factory=dict)  # Person field values
    tokens_ar: tuple[str, ...] | None = None
    tokens_latin: tuple[str, ...] | None = None
    committed_at: dt.datetime | None = None
    released_at: dt.datetime | None = None
    custody: dict[str, Any] = field(default_factory=dict)
    person_obj: Person | None = None
    custody_obj: CustodyPeriod | None = None
    offence_codes: list[str] = field(default_factory=list)
    offence_ids: list[int] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)  # fields with an error
    skipped: bool = False
    group: _Group | None = None

    @property
    def identity_ok(self) -> bool:
        return not self.bad & _IDENTITY_FIELDS

    @property
    def dates_ok(self) -> bool:
        return self.committed_at is not None and not self.bad & {"committed_at", "released_at"}


@dataclass(eq=False)
class _Group:
    """One person in the file: the rows of the same CIN, or linked by names."""

    first: _Row
    rows: list[_Row] = field(default_factory=list)
    on_file: dict | None = None  # the person on file it is linked to
    person_id: int | None = None  # filled when written


@dataclass
class _Check:
    actor: Any
    chosen: Facility | None
    filename: str
    sha256: str
    max_rows: int = IMPORT_MAX_ROWS
    issues: list[dict] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field -> header as in the file
    rows: list[_Row] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=list)
    errors: int = 0

    def add(
        self,
        level: str,
        at: int | None,
        fld: str,
        code: str,
        /,
        column: str | None = None,
        **params,
    ) -> None:
        if level == ERROR:
            self.errors += 1
        issue = {
            "level": level,
            "row": at,
            "field": fld,
            "column": self.headers.get(fld, fld) if column is None else column,
            "code": code,
            "params": {k: (v if isinstance(v, int | str) else str(v)) for k, v in params.items()},
        }
        issue["message"] = registry_import_issue_message(issue)
        self.issues.append(issue)

    def error(
        self, at: _Row | int | None, fld: str, code: str, /, column: str | None = None, **params
    ) -> None:
        if isinstance(at, _Row):
            at.bad.add(fld)
            at = at.number
        self.add(ERROR, at, fld, code, column, **params)

    def warning(self, at: _Row, fld: str, code: str, /, **params) -> None:
        self.add(WARNING, at.number, fld, code, **params)

    @property
    def new_rows(self) -> list[_Row]:
        return [r for r in self.rows if not r.skipped]


def _chunks(items: list, size: int = LOOKUP_CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _import_facility_ids(actor) -> frozenset[int] | None:
    """Institutions where ``actor`` may import (None: all; the system may do anything)."""
    if actor is None:
        return None
    return access_for(actor).perm_facility_ids(IMPORT_PERM)


def _require_import(actor, facility: Facility | None) -> None:
    if actor is None:
        return
    access = access_for(actor)
    allowed = (
        access.has_perm(IMPORT_PERM, facility.id)
        if facility is not None
        else access.perm_facility_ids(IMPORT_PERM) != frozenset()
    )
    if not allowed:
        raise PermissionDenied("forbidden", _("You are not allowed to do this here."))


def _map_headers(check: _Check, sheet: _Sheet) -> dict[int, str]:
    """Column index → field name; header problems reported on row 1."""
    aliases = _header_aliases()
    index: dict[int, str] = {}
    for i, header in enumerate(sheet.headers):
        if not str(header).strip():
            continue
        name = aliases.get(_header_key(header))
        if name is None:
            label = str(header).strip()
            check.add(ERROR, 1, "", "unknown_column", column=label, name=label)
            continue
        if name in check.headers:
            label = str(header).strip()
            check.add(ERROR, 1, name, "duplicate_column", column=label, name=label)
            continue
        check.headers[name] = str(header).strip()
        index[i] = name
    present = set(index.values())
    for name in _REQUIRED:
        if name not in present:
            check.add(ERROR, 1, name, "missing_column", name=name)
    if "facility" not in present and check.chosen is None:
        check.add(ERROR, 1, "facility", "missing_column", name="facility")
    if not (
        {"first_name_ar", "family_name_ar"} <= present
        or {"first_name_latin", "family_name_latin"} <= present
    ):
        check.add(ERROR, 1, "", "missing_names_columns")
    return index


def _parse_rows(check: _Check, sheet: _Sheet, index: dict[int, str]) -> None:
    present = set(index.values())
    max_len = _max_lengths()
    now = timezone.now() + CLOCK_SKEW
    tz = timezone.get_current_timezone()
    names_present = {"first_name_ar", "family_name_ar"} <= present or {
        "first_name_latin",
        "family_name_latin",
    } <= present
    for number, raw in sheet.rows:
        values: dict[str, Any] = dict.fromkeys(_COLUMN_NAMES, "")
        extra = False
        for i, v in enumerate(raw):
            name = index.get(i)
            if name is not None:
                values[name] = v
            elif i >= len(sheet.headers) and _text(v):
                extra = True
        row = _Row(number=number, values=values)
        check.rows.append(row)
        if extra:
            check.error(row, "", "extra_values")
        # a column missing from the header is reported once, on row 1
        row.bad.update(n for n in _REQUIRED if n not in present)

        texts = {n: _text(values[n]) for n in _COLUMN_NAMES if n not in _DATE_COLUMNS}
        for name in _REQUIRED:
            if name in present and name not in _DATE_COLUMNS and not texts[name]:
                check.error(row, name, "required")
        for name, limit in max_len.items():
            if name in texts and len(texts[name]) > limit:
                check.error(row, name, "too_long", max=limit, length=len(texts[name]))
        row.reference = texts["legacy_reference"] if "legacy_reference" not in row.bad else ""

        # identity
        person: dict[str, Any] = {
            n: texts[n] for n in PERSON_FIELDS if n not in ("birth_date", "sex", "cin")
        }
        person["nationality"] = person["nationality"].upper() or "MA"
        person["sex"] = ""
        if not re.fullmatch(r"[A-Z]{2}", person["nationality"]):
            check.error(row, "nationality", "bad_nationality")
        if texts["sex"]:
            sex = _sex_words().get(_fold(texts["sex"]))
            if sex is None:
                check.error(row, "sex", "bad_sex", value=texts["sex"][:20])
            person["sex"] = sex or ""
        elif "sex" not in present:
            row.bad.add("sex")
        cin = normalise_cin(texts["cin"])
        if cin and not cin_validator.regex.match(cin):
            check.error(row, "cin", "bad_cin")
        person["cin"] = cin
        try:
            birth = _parse_date(values["birth_date"])
            if birth is not None and birth.year < 1900:
                raise _BadValue("date_too_old", value=birth.isoformat())
            if birth is not None and birth > timezone.localdate():
                raise _BadValue("future")
        except _BadValue as exc:
            check.error(row, "birth_date", exc.code, **exc.params)
            birth = None
        person["birth_date"] = birth
        has_ar = bool(person["first_name_ar"] and person["family_name_ar"])
        has_latin = bool(person["first_name_latin"] and person["family_name_latin"])
        if not (has_ar or has_latin):
            if names_present:
                check.error(row, "names", "names_missing", column="")
            else:  # reported once, on row 1
                row.bad.add("names")
        # the search keys, computed once: they give the tokens compared here and the keys
        # stored with a new person
        row.person = person
        row.person_obj = Person(**person)
        fill_name_keys(row.person_obj)
        if has_ar:
            row.tokens_ar = tuple(sorted(row.person_obj.name_key_ar.split()))
        if has_latin:
            row.tokens_latin = tuple(sorted(row.person_obj.name_key_latin.split()))

        # committal
        for name in ("committed_at", "released_at"):
            try:
                moment = _parse_moment(values[name], tz)
            except _BadValue as exc:
                check.error(row, name, exc.code, **exc.params)
                continue
            if moment is None:
                if name == "committed_at" and name in present:
                    check.error(row, name, "required")
                continue
            if moment.year < 1900:
                check.error(row, name, "date_too_old", value=moment.date().isoformat())
            elif moment > now:
                check.error(row, name, "future")
            else:
                setattr(row, name, moment)
        if row.committed_at and birth and row.committed_at.astimezone(tz).date() < birth:
            check.error(row, "committed_at", "before_birth")
        if row.committed_at and row.released_at and row.released_at < row.committed_at:
            check.error(row, "released_at", "released_before_committed")
        if texts["legal_status"]:
            status = _legal_status_words().get(_fold(texts["legal_status"]))
            if status is None:
                check.error(row, "legal_status", "bad_legal_status", value=texts["legal_status"])
        else:
            status = ""
        row.custody = {n: texts[n] for n in _CUSTODY_TEXT}
        row.custody["legal_status"] = status or ""


def _resolve_facilities(check: _Check) -> None:
    codes = {_text(r.values["facility"]).upper() for r in check.rows if _text(r.values["facility"])}
    found = {f.code: f for f in Facility.objects.filter(code__in=codes)} if codes else {}
    allowed = _import_facility_ids(check.actor)
    chosen = check.chosen
    for row in check.rows:
        code = _text(row.values["facility"]).upper()
        if not code:
            if chosen is not None:
                row.facility = chosen
            elif "facility" in check.headers:
                check.error(row, "facility", "required")
            continue
        if chosen is not None and code != chosen.code:
            check.error(row, "facility", "facility_mismatch", code=code, chosen=chosen.code)
            continue
        fac = found.get(code)
        if fac is None or (allowed is not None and fac.id not in allowed):
            check.error(row, "facility", "unknown_facility", code=code)
            continue
        row.facility = fac


def _resolve_offences(check: _Check) -> None:
    codes: set[str] = set()
    for row in check.rows:
        raw = _text(row.values["offence_codes"])
        row.offence_codes = list(dict.fromkeys(c.strip() for c in raw.split("|") if c.strip()))
        codes.update(row.offence_codes)
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(codes)):
        found.update(Offence.objects.filter(code__in=chunk).values_list("code", "pk"))
    for row in check.rows:
        unknown = [c for c in row.offence_codes if c not in found]
        if unknown:
            check.error(row, "offence_codes", "unknown_offence", codes=", ".join(unknown))
        row.offence_ids = [found[c] for c in row.offence_codes if c in found]


def _check_references(check: _Check) -> None:
    """The same legacy reference twice in the file (per institution); the rows already
    imported are skipped."""
    seen: dict[tuple[str, str], int] = {}
    for row in check.rows:
        if not row.reference:
            continue
        fac_key = row.facility.code if row.facility else _text(row.values["facility"]).upper()
        key = (fac_key, row.reference)
        if key in seen:
            check.error(
                row,
                "legacy_reference",
                "duplicate_reference",
                reference=row.reference,
                row=seen[key],
            )
        else:
            seen[key] = row.number
    by_facility: dict[int, list[_Row]] = defaultdict(list)
    for row in check.rows:
        if row.reference and row.facility is not None and "legacy_reference" not in row.bad:
            by_facility[row.facility.id].append(row)
    for fid, rows in by_facility.items():
        refs = sorted({r.reference for r in rows})
        # ``exclude`` repeats the partial unique index's condition: both databases use it
        imported = (
            CustodyPeriod.objects.filter(facility_id=fid).exclude(legacy_reference="").order_by()
        )
        done: set[str] = set()
        if len(refs) > LOOKUP_CHUNK:  # one pass over the institution's imported references
            done.update(imported.values_list("legacy_reference", flat=True))
        else:
            done.update(
                imported.filter(legacy_reference__in=refs).values_list(
                    "legacy_reference", flat=True
                )
            )
        for r in rows:
            r.skipped = r.reference in done


_PERSON_LOOKUP = (
    "pk",
    "cin",
    "birth_date",
    "name_key_ar",
    "name_key_latin",
    "first_name_ar",
    "family_name_ar",
    "first_name_latin",
    "family_name_latin",
)


def _person_label(p: dict) -> str:
    name = " ".join(x for x in (p["first_name_ar"], p["family_name_ar"]) if x)
    latin = " ".join(x for x in (p["first_name_latin"], p["family_name_latin"]) if x)
    label = " / ".join(x for x in (name, latin) if x)
    if p["birth_date"]:
        label += f", {p['birth_date'].isoformat()}"
    return label


def _same_identity(a: _Row, b: _Row) -> bool:
    pa, pb = a.person, b.person
    if pa["sex"] and pb["sex"] and pa["sex"] != pb["sex"]:
        return False
    if pa["birth_date"] and pb["birth_date"] and pa["birth_date"] != pb["birth_date"]:
        return False
    if a.tokens_ar and b.tokens_ar and a.tokens_ar != b.tokens_ar:
        return False
    if a.tokens_latin and b.tokens_latin and a.tokens_latin != b.tokens_latin:
        return False
    return True


def _differs_from_file(row: _Row, p: dict) -> bool:
    if row.person["birth_date"] and p["birth_date"] and row.person["birth_date"] != p["birth_date"]:
        return True
    have_ar = tuple(sorted(p["name_key_ar"].split()))
    have_latin = tuple(sorted(p["name_key_latin"].split()))
    if row.tokens_ar and have_ar and row.tokens_ar != have_ar:
        return True
    if row.tokens_latin and have_latin and row.tokens_latin != have_latin:
        return True
    return False


def _name_keys(row: _Row) -> list[tuple]:
    bd = row.person["birth_date"]
    if bd is None:
        return []
    keys = []
    if row.tokens_ar:
        keys.append((bd, "ar", row.tokens_ar))
    if row.tokens_latin:
        keys.append((bd, "latin", row.tokens_latin))
    return keys


def _group_persons(check: _Check) -> None:
    """Rows of the same person form a group; a group is linked to the person on file with
    the same CIN, or (without CIN) the same names and date of birth."""
    rows = [r for r in check.new_rows if r.identity_ok and "legacy_reference" not in r.bad]
    # 1. the rows with a CIN, by CIN
    by_cin: dict[str, _Group] = {}
    for row in rows:
        cin = row.person["cin"]
        if not cin:
            continue
        group = by_cin.get(cin)
        if group is None:
            group = by_cin[cin] = _Group(first=row)
            check.groups.append(group)
        elif not _same_identity(group.first, row):
            check.error(row, "cin", "cin_identity_conflict", cin=cin, row=group.first.number)
            continue
        group.rows.append(row)
        row.group = group
    on_file_cin: dict[str, dict] = {}
    for chunk in _chunks(sorted(by_cin)):
        # ``exclude(cin="")`` repeats the partial unique index's condition: without it
        # neither SQLite nor PostgreSQL (for a list of values) uses the index
        for p in Person.objects.filter(cin__in=chunk).exclude(cin="").values(*_PERSON_LOOKUP):
            on_file_cin[p["cin"]] = p
    for cin, group in by_cin.items():
        p = on_file_cin.get(cin)
        if p is not None:
            group.on_file = p
            if _differs_from_file(group.first, p):
                check.warning(group.first, "cin", "identity_differs", name=_person_label(p))

    # 2. the rows without a CIN: an earlier group of the file with the same names and date
    # of birth, else a person on file, else a new person
    in_file: dict[tuple, _Group] = {}
    for group in check.groups:
        for row in group.rows:
            for key in _name_keys(row):
                in_file.setdefault(key, group)
    no_cin = [r for r in rows if not r.person["cin"]]
    on_file_names = _persons_by_names(no_cin)
    for row in no_cin:
        keys = _name_keys(row)
        group = next((in_file[k] for k in keys if k in in_file), None)
        if group is not None:
            group.rows.append(row)
            row.group = group
            check.warning(row, "cin", "linked_in_file", row=group.first.number)
            continue
        group = _Group(first=row, rows=[row])
        row.group = group
        check.groups.append(group)
        for key in keys:
            in_file.setdefault(key, group)
        candidates: dict[int, dict] = {}
        for key in keys:
            for p in on_file_names.get(key, []):
                candidates.setdefault(p["pk"], p)
        if candidates:
            found = [candidates[pk] for pk in sorted(candidates)]
            group.on_file = found[0]
            if len(found) == 1:
                check.warning(row, "cin", "linked_by_names", name=_person_label(found[0]))
            else:
                check.warning(
                    row,
                    "cin",
                    "linked_by_names_several",
                    count=len(found),
                    name=_person_label(found[0]),
                )


def _persons_by_names(rows: list[_Row]) -> dict[tuple, list[dict]]:
    """Persons on file with the same date of birth and the same names (as normalised keys,
    in either order of first and family name) as the rows, by (date, script, tokens)."""
    out: dict[tuple, list[dict]] = defaultdict(list)
    wanted = [r for r in rows if r.person["birth_date"] is not None]
    for chunk in _chunks(wanted):
        dates, keys_ar, keys_latin = set(), set(), set()
        for r in chunk:
            dates.add(r.person["birth_date"])
            if r.tokens_ar:
                keys_ar |= _key_variants(r.person_obj.name_key_ar)
            if r.tokens_latin:
                keys_latin |= _key_variants(r.person_obj.name_key_latin)
        names = Q()
        if keys_ar:
            names |= Q(name_key_ar__in=sorted(keys_ar))
        if keys_latin:
            names |= Q(name_key_latin__in=sorted(keys_latin))
        for p in Person.objects.filter(names, birth_date__in=sorted(dates)).values(*_PERSON_LOOKUP):
            have_ar = tuple(sorted(p["name_key_ar"].split()))
            have_latin = tuple(sorted(p["name_key_latin"].split()))
            if have_ar:
                out[(p["birth_date"], "ar", have_ar)].append(p)
            if have_latin:
                out[(p["birth_date"], "latin", have_latin)].append(p)
    return out


def _key_variants(key: str) -> set[str]:
    """The stored name key of a person with these names: in the same order, or (two words)
    first and family names swapped. The tokens are then compared in any order."""
    tokens = key.split()
    if len(tokens) == 2:
        return {key, f"{tokens[1]} {tokens[0]}"}
    return {key}


def _check_periods(check: _Check) -> None:
    """A person is held once at a time: at most one open committal, no overlapping
    periods, between the rows and with the committals on file."""
    by_person: dict[Any, list[_Row]] = defaultdict(list)
    for group in check.groups:
        key = ("file", group.on_file["pk"]) if group.on_file else ("new", id(group))
        by_person[key].extend(r for r in group.rows if r.dates_ok)
    person_ids = sorted(k[1] for k in by_person if k[0] == "file")
    on_file: dict[int, list[dict]] = defaultdict(list)
    for chunk in _chunks(person_ids):
        for p in (
            CustodyPeriod.objects.filter(person_id__in=chunk)
            .order_by()
            .values("person_id", "committed_at", "released_at", "status", "committal_number")
        ):
            on_file[p["person_id"]].append(p)
    for key, rows in by_person.items():
        rows.sort(key=lambda r: r.number)
        periods = on_file.get(key[1], []) if key[0] == "file" else []
        current = next((p for p in periods if p["status"] == CustodyStatus.IN_CUSTODY), None)
        first_open: _Row | None = None
        for i, row in enumerate(rows):
            start, end = row.committed_at, row.released_at
            if end is None:
                if current is not None:
                    check.error(
                        row, "released_at", "already_in_custody", number=current["committal_number"]
                    )
                    continue
                if first_open is not None:
                    check.error(row, "released_at", "two_open_committals", row=first_open.number)
                    continue
                first_open = row
            clash = next(
                (
                    p
                    for p in periods
                    if _overlap(start, end, p["committed_at"], p["released_at"])
                    and not (end is None and p["released_at"] is None)
                ),
                None,
            )
            if clash is not None:
                check.error(
                    row, "committed_at", "overlap_on_file", number=clash["committal_number"]
                )
                continue
            other = next(
                (
                    o
                    for o in rows[:i]
                    if "committed_at" not in o.bad
                    and "released_at" not in o.bad
                    and _overlap(start, end, o.committed_at, o.released_at)
                    and not (end is None and o.released_at is None)
                ),
                None,
            )
            if other is not None:
                check.error(row, "committed_at", "overlap_row", row=other.number)


def _overlap(s1, e1, s2, e2) -> bool:
    """Whether [s1, e1) and [s2, e2) meet (None: still open)."""
    return (e2 is None or s1 < e2) and (e1 is None or s2 < e1)


def _model_check(check: _Check) -> None:
    """The models' own field validation, as a safety net behind the checks above."""
    for row in check.new_rows:
        if row.bad:
            continue
        person = row.person_obj
        custody = row.custody_obj = CustodyPeriod(legacy_reference=row.reference, **row.custody)
        for obj, exclude in (
            (person, ["name_key_ar", "name_key_latin", "photo"]),
            (
                custody,
                [
                    "person",
                    "detention",
                    "facility",
                    "committal_number",
                    "committed_at",
                    "transferred_from",
                    "cell",
                ],
            ),
        ):
            try:
                obj.clean_fields(exclude=exclude)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    check.error(row, name, "invalid", detail=" ".join(errors))


def _read(check: _Check, content: bytes) -> bool:
    """Read and parse the file (no database); False when there is no row to check."""
    try:
        kind = _format_of(check.filename)
        read = _read_csv if kind == "csv" else _read_xlsx
        sheet = read(content, check.max_rows)
    except _FileError as exc:
        check.add(ERROR, exc.row, "", exc.code, **exc.params)
        return False
    index = _map_headers(check, sheet)
    _parse_rows(check, sheet, index)
    if not check.rows:
        check.add(ERROR, None, "", "no_rows")
        return False
    return True


def _check_rows(check: _Check) -> None:
    """The checks against the registry and between rows."""
    _resolve_facilities(check)
    _resolve_offences(check)
    _check_references(check)
    _group_persons(check)
    _check_periods(check)
    _model_check(check)


# -- messages --------------------------------------------------------------------------------
def registry_import_issue_message(issue: dict) -> str:
    """The issue's message in the active language (as stored when the code is unknown)."""
    template = MESSAGES.get(issue.get("code", ""))
    if template is None:
        return str(issue.get("message", ""))
    params = issue.get("params") or {}
    try:
        return str(template) % params if params else str(template)
    except (KeyError, TypeError, ValueError):
        return str(issue.get("message") or template)


def registry_import_issues(batch: ImportBatch) -> tuple[list[dict], list[dict]]:
    """The batch's errors and warnings, each with ``message`` in the active language."""
    errors, warnings = [], []
    for issue in batch.errors or []:
        shown = {**issue, "message": registry_import_issue_message(issue)}
        (warnings if issue.get("level") == WARNING else errors).append(shown)
    return errors, warnings


# -- reading the input -----------------------------------------------------------------------
def _content_of(file: bytes | IO[bytes]) -> bytes:
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file)
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _clean_filename(filename: str) -> str:
    name = os.path.basename(str(filename or "").replace("\\", "/")).strip()
    if len(name) > 200:
        root, ext = os.path.splitext(name)
        name = root[: 200 - len(ext)] + ext
    return name


def _new_check(
    actor, file, filename: str, facility: Facility | None, max_rows: int
) -> tuple[_Check, bytes]:
    content = _content_of(file)
    check = _Check(
        actor=actor,
        chosen=facility,
        filename=_clean_filename(filename),
        sha256=hashlib.sha256(content).hexdigest(),
        max_rows=max_rows,
    )
    return check, content


def _batch_facility(check: _Check) -> Facility | None:
    """The chosen institution, or the one institution of every row (when in scope)."""
    if check.chosen is not None:
        return check.chosen
    facilities = {r.facility.id: r.facility for r in check.rows if r.facility is not None}
    if len(facilities) == 1 and all(r.facility is not None for r in check.rows):
        return next(iter(facilities.values()))
    return None


def _stored_issues(check: _Check) -> list[dict]:
    issues = sorted(
        check.issues,
        key=lambda i: (i["level"] != ERROR, i["row"] or 0, _field_order(i["field"])),
    )
    if len(issues) > MAX_ISSUES:
        more = len(issues) - MAX_ISSUES
        issues = issues[:MAX_ISSUES]
        extra = {
            "level": ERROR,
            "row": None,
            "field": "",
            "column": "",
            "code": "more_issues",
            "params": {"count": more},
        }
        extra["message"] = registry_import_issue_message(extra)
        issues.append(extra)
    return issues


def _field_order(name: str) -> int:
    try:
        return _COLUMN_NAMES.index(name)
    except ValueError:
        return -1


def _save_batch(check: _Check, status: str, *, created: int) -> ImportBatch:
    user = check.actor if getattr(check.actor, "is_authenticated", False) else None
    return ImportBatch.objects.create(
        facility=_batch_facility(check),
        filename=check.filename,
        sha256=check.sha256,
        status=status,
        rows_total=len(check.rows),
        rows_created=created,
        rows_skipped=sum(1 for r in check.rows if r.skipped),
        errors=_stored_issues(check),
        created_by=user,
    )


# -- the services ----------------------------------------------------------------------------
def registry_import_validate(
    *,
    actor,
    file: bytes | IO[bytes],
    filename: str,
    facility: Facility | None = None,
    max_rows: int = IMPORT_MAX_ROWS,
) -> ImportBatch:
    """Dry run: check every row of the file and record the result as an ``ImportBatch``
    (``validated``, or ``failed`` with every problem in ``errors``). Nothing else is
    written. ``facility``: the institution of the rows that do not name one; ``max_rows``:
    a longer file is refused (the page and the API pass ``IMPORT_MAX_ROWS_ONLINE``).

    ``PermissionDenied`` when ``actor`` may not import into ``facility`` (or anywhere); rows
    naming an institution out of the actor's scope are errors of those rows.
    """
    _require_import(actor, facility)
    check, content = _new_check(actor, file, filename, facility, max_rows)
    if _read(check, content):
        _check_rows(check)
    with transaction.atomic():
        if check.errors:
            return _save_batch(check, ImportStatus.FAILED, created=0)
        return _save_batch(check, ImportStatus.VALIDATED, created=len(check.new_rows))


def registry_import_apply(
    *,
    actor,
    file: bytes | IO[bytes],
    filename: str,
    facility: Facility | None = None,
    max_rows: int = IMPORT_MAX_ROWS,
) -> ImportBatch:
    """Check the file as ``registry_import_validate`` does and, when no row has an error,
    import every row not yet imported, in one transaction (``applied``). With errors,
    nothing is imported and the batch is ``failed``.
    """
    _require_import(actor, facility)
    check, content = _new_check(actor, file, filename, facility, max_rows)
    readable = _read(check, content)
    try:
        with transaction.atomic():
            if readable:
                _lock_facilities(check)
                _check_rows(check)
            if check.errors:
                return _save_batch(check, ImportStatus.FAILED, created=0)
            rows = check.new_rows
            batch = _save_batch(check, ImportStatus.APPLIED, created=len(rows))
            _write(check, rows)
            _audit(check, batch, rows)
            return batch
    except IntegrityError:
        # Lost a race with an admission or another import: the constraints decided.
        check.add(ERROR, None, "", "conflict")
        with transaction.atomic():
            return _save_batch(check, ImportStatus.FAILED, created=0)


def _lock_facilities(check: _Check) -> None:
    """Serialise the imports into the same institutions (PostgreSQL; SQLite serialises
    every write transaction): the second waits, then finds the rows already imported."""
    codes = {_text(r.values["facility"]).upper() for r in check.rows}
    if check.chosen is not None:
        codes.add(check.chosen.code)
    codes.discard("")
    list(
        Facility.objects.select_for_update()
        .filter(code__in=sorted(codes))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _write(check: _Check, rows: list[_Row]) -> None:
    # persons: the person on file, or one new person per group
    new_persons: list[tuple[_Group, Person]] = []
    for group in check.groups:
        if not any(not r.skipped for r in group.rows):
            continue
        if group.on_file is not None:
            group.person_id = group.on_file["pk"]
            continue
        new_persons.append((group, group.first.person_obj))
    Person.objects.bulk_create([p for _g, p in new_persons], batch_size=BULK_SIZE)
    for group, person in new_persons:
        group.person_id = person.pk

    # committal numbers, in order of committal, per institution and year
    tz = timezone.get_current_timezone()
    numbers: dict[int, str] = {}
    by_counter: dict[tuple[int, int], list[_Row]] = defaultdict(list)
    for row in rows:
        assert row.facility is not None and row.committed_at is not None
        by_counter[(row.facility.id, row.committed_at.astimezone(tz).year)].append(row)
    CommittalCounter.objects.bulk_create(
        [CommittalCounter(facility_id=fid, year=year) for fid, year in by_counter],
        ignore_conflicts=True,
    )
    for (fid, year), counter_rows in sorted(by_counter.items()):
        counter = CommittalCounter.objects.select_for_update().get(facility_id=fid, year=year)
        counter_rows.sort(key=lambda r: (r.committed_at, r.number))
        code = counter_rows[0].facility.code
        for i, row in enumerate(counter_rows, start=counter.last_number + 1):
            numbers[row.number] = f"{code}-{year}-{i:06d}"
        counter.last_number += len(counter_rows)
        counter.save(update_fields=["last_number"])

    detentions = []
    for row in rows:
        released = row.released_at is not None
        detentions.append(
            Detention(
                person_id=row.group.person_id,
                started_at=row.committed_at,
                ended_at=row.released_at,
                end_reason=DetentionEnd.OTHER_RELEASE if released else "",
            )
        )
    Detention.objects.bulk_create(detentions, batch_size=BULK_SIZE)
    periods = []
    for row, detention in zip(rows, detentions, strict=True):
        custody = row.custody_obj  # built and field-checked by ``_model_check``
        assert custody is not None
        custody.person_id = row.group.person_id
        custody.detention = detention
        custody.facility = row.facility
        custody.committal_number = numbers[row.number]
        custody.committed_at = row.committed_at
        custody.status = CustodyStatus.RELEASED if row.released_at else CustodyStatus.IN_CUSTODY
        custody.released_at = row.released_at
        periods.append(custody)
    CustodyPeriod.objects.bulk_create(periods, batch_size=BULK_SIZE)
    Through = CustodyPeriod.offences.through
    Through.objects.bulk_create(
        [
            Through(custodyperiod_id=custody.pk, offence_id=oid)
            for row, custody in zip(rows, periods, strict=True)
            for oid in row.offence_ids
        ],
        batch_size=BULK_SIZE,
    )
    LegalStatusPeriod.objects.bulk_create(
        [
            LegalStatusPeriod(
                custody=custody,
                facility=row.facility,
                status=custody.legal_status,
                valid_from=row.committed_at,
                valid_to=row.released_at,
            )
            for row, custody in zip(rows, periods, strict=True)
        ],
        batch_size=BULK_SIZE,
    )


def _audit(check: _Check, batch: ImportBatch, rows: list[_Row]) -> None:
    """One entry per institution, on its chain: the file, the counts, the references."""
    created: dict[int, list[str]] = defaultdict(list)
    skipped: dict[int, int] = defaultdict(int)
    for row in check.rows:
        if row.facility is None:
            continue
        if row.skipped:
            skipped[row.facility.id] += 1
        else:
            created[row.facility.id].append(row.reference)
    for fid in sorted(created):
        audit.record(
            actor=check.actor,
            action=AuditEntry.Action.CREATE,
            obj=batch,
            facility_id=fid,
            verb="registry_import",
            after={
                "filename": batch.filename,
                "sha256": batch.sha256,
                "rows_total": batch.rows_total,
                "rows_created": len(created[fid]),
                "rows_skipped": skipped[fid],
                "legacy_references": created[fid],
            },
        )


# -- upload checks, stored files, templates ----------------------------------------------------
def registry_import_check_upload(*, filename: str, size: int, head: bytes) -> str:
    """The format (``csv``/``xlsx``) of an uploaded file after the checks the page and the
    API make before anything is stored: extension, size and the first bytes. ``DomainError``
    otherwise. (The full content is checked by the validation.)"""
    try:
        kind = _format_of(filename)
    except _FileError as exc:
        raise DomainError("bad_format", MESSAGES["bad_format"], field="file") from exc
    if size > IMPORT_MAX_BYTES:
        raise DomainError(
            "too_large",
            MESSAGES["too_large"] % {"max": IMPORT_MAX_BYTES // (1024 * 1024)},
            field="file",
        )
    if size == 0:
        raise DomainError("empty_file", MESSAGES["empty_file"], field="file")
    if kind == "xlsx" and not head.startswith(b"PK\x03\x04"):
        raise DomainError("not_xlsx", MESSAGES["not_xlsx"], field="file")
    if kind == "csv":
        if b"\x00" in head:
            raise DomainError("not_text", MESSAGES["not_text"], field="file")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the end of ``head`` is fine
            if exc.start < len(head) - 3:
                raise DomainError("not_utf8", MESSAGES["not_utf8"], field="file") from exc
    return kind


def _stored_name(sha256: str, filename: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise ValueError("not a sha256")
    return f"{STORE_DIR}/{sha256}.{_format_of(filename)}"


def registry_import_file_store(*, content: bytes, filename: str) -> str:
    """Keep an uploaded file under MEDIA_ROOT (private) by its SHA-256 until it is imported;
    files older than a week are removed on the way. Returns the SHA-256."""
    sha = hashlib.sha256(content).hexdigest()
    name = _stored_name(sha, filename)
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(content))
    _purge_old()
    return sha


def registry_import_file_load(*, sha256: str, filename: str) -> bytes | None:
    """The stored file (None when gone or altered)."""
    try:
        name = _stored_name(sha256, filename)
    except (ValueError, _FileError):
        return None
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as fh:
        content = fh.read()
    return content if hashlib.sha256(content).hexdigest() == sha256 else None


def registry_import_file_discard(*, sha256: str, filename: str) -> None:
    try:
        name = _stored_name(sha256, filename)
    except (ValueError, _FileError):
        return
    if default_storage.exists(name):
        default_storage.delete(name)


def _purge_old() -> None:
    try:
        _dirs, files = default_storage.listdir(STORE_DIR)
    except (FileNotFoundError, NotImplementedError):
        return
    limit = timezone.now() - STORE_KEEP
    for name in files:
        path = f"{STORE_DIR}/{name}"
        try:
            if default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError, OSError):
            continue


def registry_import_template(*, kind: str, lang: str = "en") -> bytes:
    """An empty file in the import format: the header row (English or French column
    names); the XLSX has a second sheet describing the columns."""
    names = [c.french if lang == "fr" else c.name for c in IMPORT_COLUMNS]
    if kind == "csv":
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=";" if lang == "fr" else ",", lineterminator="\r\n").writerow(
            names
        )
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    if kind != "xlsx":
        raise ValueError(kind)
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "registry"
    sheet.append(names)
    for i, cell in enumerate(sheet[1], start=1):
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(14, len(names[i - 1]) + 2)
        sheet.column_dimensions[cell.column_letter].number_format = "@"
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("columns")
    notes.append([str(_("Column")), str(_("Required")), str(_("What to write"))])
    for c, name in zip(IMPORT_COLUMNS, names, strict=True):
        notes.append([name, "✓" if c.required else "", str(c.help)])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["C"].width = 90
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return out_bytes.getvalue()
