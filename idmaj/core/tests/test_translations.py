"""The Arabic and French catalogues are complete and compiled.

Every msgid found in the code and templates has a non-empty, non-fuzzy translation in
``idmaj/locale/{ar,fr}/LC_MESSAGES/django.po``, placeholders match, and the shipped ``.mo``
is up to date with the ``.po`` (the demo machine may have no gettext tools).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"
LANGS = ["ar", "fr"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdf]|\{\{ ?(\w+) ?\}\}|%[sd]")


def _entries(po: Path):
    """(msgid, msgid_plural, [msgstr...], fuzzy) for each entry of a .po file."""
    entries, cur, key, fuzzy = [], None, None, False

    def unq(s: str) -> str:
        return (
            s.strip()[1:-1]
            .encode("utf-8")
            .decode("unicode_escape")
            .encode("latin-1")
            .decode("utf-8")
        )

    for raw in po.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if line.startswith("msgid "):
            if cur is not None:
                entries.append(cur)
            cur = {"id": unq(line[6:]), "plural": None, "str": {}, "fuzzy": fuzzy}
            fuzzy = False
            key = "id"
        elif line.startswith("msgid_plural "):
            cur["plural"] = unq(line[13:])
            key = "plural"
        elif line.startswith("msgstr"):
            m = re.match(r"msgstr(?:\[(\d+)\])? (.*)", line)
            idx = int(m.group(1) or 0)
            cur["str"][idx] = unq(m.group(2))
            key = ("str", idx)
        elif line.startswith('"') and cur is not None:
            if key == "id":
                cur["id"] += unq(line)
            elif key == "plural":
                cur["plural"] += unq(line)
            elif isinstance(key, tuple):
                cur["str"][key[1]] += unq(line)
    if cur is not None:
        entries.append(cur)
    return [e for e in entries if e["id"]]  # drop the header


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_is_complete(lang):
    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    assert po.exists(), f"missing {po}"
    entries = _entries(po)
    assert len(entries) > 100
    missing = [e["id"] for e in entries if not all(e["str"].values()) or not e["str"]]
    fuzzy = [e["id"] for e in entries if e["fuzzy"]]
    assert not missing, f"{len(missing)} untranslated in {lang}: {missing[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {lang}: {fuzzy[:20]}"
    for e in entries:
        wanted = {m for m in PLACEHOLDER.findall(e["id"])}
        known = wanted | {m for m in PLACEHOLDER.findall(e["plural"] or "")}
        for key, s in e["str"].items():
            got = {m for m in PLACEHOLDER.findall(s)}
            # A placeholder the source does not have would fail at run time.
            assert got <= known, f"{lang}: unknown placeholder in {e['id']!r} -> {s!r}"
            lost = wanted - got
            if e["plural"] and lang == "ar" and key <= 2:
                # Arabic says the count in words in the zero, one and two forms ("لا طفل",
                # "طفل واحد", "طفلان"): one placeholder, the count, may be left out there.
                assert len(lost) <= 1, f"{lang}: placeholders differ in {e['id']!r} -> {s!r}"
            else:
                assert not lost, f"{lang}: placeholders differ in {e['id']!r} -> {s!r}"


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_covers_the_code(lang, tmp_path, settings, monkeypatch):
    """Re-extracting the messages finds nothing the committed catalogue lacks."""
    if not shutil.which("xgettext"):
        pytest.skip("gettext tools not installed")
    from django.core.management import call_command

    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    known = {e["id"] for e in _entries(po)}
    work = tmp_path / "src"
    shutil.copytree(
        LOCALE.parent,
        work / "idmaj",
        ignore=shutil.ignore_patterns("__pycache__", "static", "*.mo"),
    )
    settings.LOCALE_PATHS = [work / "idmaj" / "locale"]
    monkeypatch.chdir(work)
    call_command("makemessages", locale=[lang], verbosity=0, no_obsolete=True)
    fresh_po = work / "idmaj" / "locale" / lang / "LC_MESSAGES" / "django.po"
    fresh = {e["id"] for e in _entries(fresh_po)}
    assert not (fresh - known), f"not in the {lang} catalogue: {sorted(fresh - known)[:20]}"


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalogue_is_current(lang, tmp_path):
    if not shutil.which("msgfmt"):
        pytest.skip("gettext tools not installed")
    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} missing: run 'idmaj compilemessages'"
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(po)], check=True)
    assert fresh.read_bytes() == mo.read_bytes(), f"{mo} is stale: run 'idmaj compilemessages'"
