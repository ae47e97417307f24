"""Royal pardon: decrees recorded once, applied all or nothing with every bad line reported,
in the actor's scope only; grants recompute the expected release; releases due."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from idmaj.core.audit import NATIONAL_CHAIN
from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.inmates import selectors, services
from idmaj.inmates.models import PardonGrant

from . import legal_fixtures as fx
from .legal_fixtures import *  # noqa: F403
from .legal_fixtures import d

TODAY = timezone.localdate()


# -- decrees ---------------------------------------------------------------------------------
def test_decree_recorded_once_on_the_national_chain(lg):
    dec = fx.decree(lg["central"])
    assert dec.reference == "DEC-2024-THRONE"
    entry = AuditEntry.objects.get(object_id=str(dec.uuid))
    assert entry.chain == NATIONAL_CHAIN and entry.verb == "record"
    before = fx.state()
    with pytest.raises(ConflictError) as exc:  # same reference, any case
        fx.decree(lg["officer"], reference="dec-2024-throne")
    assert (exc.value.code, exc.value.field) == ("duplicate", "reference")
    assert fx.state() == before


def test_decree_may_be_recorded_by_a_registry_officer_holding_the_right(lg):
    assert fx.decree(lg["officer"]).pk


@pytest.mark.parametrize("who", ["director", "viewer"])
def test_decree_needs_the_pardon_right(lg, who):
    before = fx.state()
    with pytest.raises(PermissionDenied):
        fx.decree(lg[who])
    assert fx.state() == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"signed_on": TODAY + dt.timedelta(days=1)}, "signed_on"),
        ({"reference": " "}, "reference"),
        ({"occasion": ""}, "occasion"),
    ],
)
def test_decree_refused(lg, kwargs, field):
    values = {"reference": "DEC-X", "occasion": "Aïd Al Adha", "signed_on": d(2024, 6, 16)}
    values.update(kwargs)
    before = fx.state()
    with pytest.raises(DomainError) as exc:
        services.pardon_decree_create(actor=lg["officer"], **values)
    assert exc.value.field == field
    assert fx.state() == before


# -- parsing ---------------------------------------------------------------------------------
def test_lines_parse():
    text = (
        "\ufeffcommittal_number;kind;days\n"
        "OUJDA2-2023-1;reduction;90\n"
        "\n"
        "# a comment\n"
        "oujda2-2023-000002 , release\n"
        "OUJDA2-2023-3\tcommutation\t20\n"
        "OUJDA2-2023-4;Réduction;30;\n"
        "OUJDA2-2023-5\n"
        "OUJDA2-2023-6;reduction;1;2\n"
    )
    lines = services.pardon_lines_parse(text)
    assert [(x.line, x.identifier, x.kind, x.days) for x in lines] == [
        (2, "OUJDA2-2023-1", "reduction", "90"),
        (5, "oujda2-2023-000002", "release", None),
        (6, "OUJDA2-2023-3", "commutation", "20"),
        (7, "OUJDA2-2023-4", "reduction", "30"),
        (8, "OUJDA2-2023-5", "", None),
        (9, "OUJDA2-2023-6", "reduction", "1"),
    ]
    assert [bool(x.problem) for x in lines] == [False] * 4 + [True, True]


# -- application -----------------------------------------------------------------------------
@pytest.fixture
def pop(lg):
    """Prisoners of OUJDA2: a sentenced one, a life prisoner, one on remand; one of SALE2."""
    officer = lg["officer"]
    lg["sentenced"] = lg["custody"]
    fx.sentence(officer, lg["sentenced"], years=5, start_date=d(2023, 3, 1))  # 1 March 2028
    lg["life"] = fx.prisoner(lg["a"], "OUJDA2-2023-000002")
    fx.sentence(officer, lg["life"], life=True, start_date=d(2023, 3, 1))
    lg["remand"] = fx.prisoner(lg["a"], "OUJDA2-2023-000003")
    lg["gone"] = fx.prisoner(lg["a"], "OUJDA2-2023-000004")
    fx.release(lg["gone"])
    lg["late"] = fx.prisoner(
        lg["a"], "OUJDA2-2024-000009", committed_at=timezone.make_aware(dt.datetime(2024, 8, 2))
    )
    fx.sentence(lg["officer_b"], lg["custody_b"], years=5, start_date=d(2023, 3, 1))
    lg["decree"] = fx.decree(lg["central"])  # signed 30 July 2024
    return lg


def test_apply_each_kind(pop):
    officer, dec = pop["officer"], pop["decree"]
    grants = fx.apply(
        officer,
        dec,
        "OUJDA2-2023-000001;reduction;90",
        "OUJDA2-2023-2;commutation;25",  # zero-padded on the way
        f"{pop['remand'].uuid};release",  # a custody UUID works too
    )
    assert [g.kind for g in grants] == ["reduction", "commutation", "release"]
    assert all(g.facility_id == pop["a"].pk and g.decree_id == dec.pk for g in grants)
    # 1 March 2028 - 90 days = 2 December 2027 (2028 is a leap year: 29 Feb counts)
    assert fx.expected(pop["sentenced"]) == d(2027, 12, 2)
    assert fx.expected(pop["life"]) == d(2048, 3, 1)
    assert fx.expected(pop["remand"]) == d(2024, 7, 30)
    entries = AuditEntry.objects.filter(verb="pardon").order_by("id")
    assert [e.chain for e in entries] == [pop["a"].pk] * 3
    assert entries[0].before["expected_release"] == "2028-03-01"
    assert entries[0].after["expected_release"] == "2027-12-02"
    assert entries[0].after["decree"] == dec.reference


def test_apply_is_all_or_nothing_with_every_bad_line(pop):
    officer, dec = pop["officer"], pop["decree"]
    fx.apply(officer, fx.decree(officer, "DEC-OLD", d(2024, 1, 1)), "OUJDA2-2023-000001;release")
    fx.apply(officer, dec, "OUJDA2-2023-000003;release")  # already applied below
    before = fx.state()
    text = "\n".join(
        [
            "committal_number;kind;days",
            "OUJDA2-2023-000001;reduction;30",  # 2: valid
            "OUJDA2-2099-000001;reduction;30",  # 3: unknown
            "SALE2-2023-000001;reduction;30",  # 4: another institution: like unknown
            "OUJDA2-2023-000004;release",  # 5: released
            "OUJDA2-2023-000001;reduction;10",  # 6: named twice
            "OUJDA2-2023-000003;release",  # 7: already applied by this decree
            "OUJDA2-2023-000002;reduction;30",  # 8: life sentence
            "OUJDA2-2023-000001;commutation;20",  # 9: named twice (and no life)
            "OUJDA2-2024-000009;release",  # 10: committed after the decree
            "OUJDA2-2023-000002;amnesty;3",  # 11: unknown kind
            "OUJDA2-2023-000002;reduction;many",  # 12: not a number
            "OUJDA2-2023-000002;release;5",  # 13: a release takes no number
            "OUJDA2-2023-000002;commutation",  # 14: commutation needs years
            "OUJDA2-2023-000002",  # 15: malformed
        ]
    )
    with translation.override("en"), pytest.raises(services.PardonApplicationError) as exc:
        services.pardon_decree_apply(
            actor=officer, decree=dec, beneficiaries=services.pardon_lines_parse(text)
        )
    errors = {e.line: e.message for e in exc.value.errors}
    assert sorted(errors) == list(range(3, 16))
    assert errors[3] == errors[4] == "Unknown committal number."
    assert "no longer" in errors[5] or "Not in custody" in errors[5]
    assert "line 2" in errors[6] and "line 2" in errors[9]
    assert "already applied" in errors[7]
    assert "life sentence" in errors[8]
    assert "after the decree" in errors[10]
    assert "amnesty" in errors[11]
    assert "many" in errors[12]
    assert "no number" in errors[13]
    assert "years" in errors[14]
    assert exc.value.code == "invalid_lines" and exc.value.status == 400
    assert fx.state() == before


def test_apply_refusals_about_sentences(pop):
    officer, dec = pop["officer"], pop["decree"]
    before = fx.state()
    with translation.override("en"), pytest.raises(services.PardonApplicationError) as exc:
        fx.apply(
            officer,
            dec,
            "OUJDA2-2023-000003;reduction;30",  # remand: no sentence
            "OUJDA2-2023-000001;commutation;20",  # no life sentence
        )
    messages = [e.message for e in exc.value.errors]
    assert "No sentence in force" in messages[0]
    assert "No life sentence" in messages[1]
    assert fx.state() == before


def test_reduction_on_a_sentence_pronounced_after_the_decree_refused(pop):
    officer = pop["officer"]
    old = fx.decree(officer, "DEC-2023", d(2023, 2, 15))  # before the sentence (1 March 2023)
    before = fx.state()
    with pytest.raises(services.PardonApplicationError):
        fx.apply(officer, old, "OUJDA2-2023-000001;reduction;30")
    assert fx.state() == before


def test_apply_in_scope_only(pop):
    """OUJDA2's officer cannot reach SALE2's prisoners; SALE2's can; the central
    administration (national) reaches both."""
    dec = pop["decree"]
    with pytest.raises(services.PardonApplicationError):
        fx.apply(pop["officer"], dec, "SALE2-2023-000001;reduction;30")
    fx.apply(pop["officer_b"], dec, "SALE2-2023-000001;reduction;30")
    assert fx.expected(pop["custody_b"]) == d(2028, 3, 1) - dt.timedelta(days=30)
    other = fx.decree(pop["central"], "DEC-2")
    grants = fx.apply(
        pop["central"], other, "SALE2-2023-000001;reduction;5", "OUJDA2-2023-000001;reduction;5"
    )
    assert {g.facility_id for g in grants} == {pop["a"].pk, pop["b"].pk}


@pytest.mark.parametrize("who", ["director", "viewer"])
def test_apply_needs_the_pardon_right(pop, who):
    before = fx.state()
    with pytest.raises(PermissionDenied):
        fx.apply(pop[who], pop["decree"], "OUJDA2-2023-000001;reduction;30")
    assert fx.state() == before


def test_apply_needs_lines(pop):
    with pytest.raises(DomainError):
        services.pardon_decree_apply(actor=pop["officer"], decree=pop["decree"], beneficiaries=[])


def test_grants_are_seen_by_their_institutions_only(pop):
    dec = pop["decree"]
    fx.apply(pop["officer"], dec, "OUJDA2-2023-000001;reduction;30")
    fx.apply(pop["officer_b"], dec, "SALE2-2023-000001;release")
    seen_a = list(selectors.pardon_grant_list(fetched_by=pop["officer"], decree=dec))
    assert [(g.committal_number, g.custody_uuid) for g in seen_a] == [
        ("OUJDA2-2023-000001", pop["custody"].uuid)
    ]
    seen_central = selectors.pardon_grant_list(fetched_by=pop["central"], decree=dec)
    assert seen_central.count() == 2
    rows = {
        d.reference: d.grants_seen for d in selectors.pardon_decree_list(fetched_by=pop["officer"])
    }
    assert rows == {dec.reference: 1}
    assert PardonGrant.objects.filter(decree=dec).count() == 2


# -- releases due ----------------------------------------------------------------------------
def test_pardon_release_appears_in_the_releases_due_overdue(pop):
    fx.apply(pop["officer"], pop["decree"], "OUJDA2-2023-000003;release")
    rows = selectors.releases_due(fetched_by=pop["officer"], days=0)
    assert [(r.committal_number, r.overdue, r.basis) for r in rows] == [
        ("OUJDA2-2023-000003", True, "pardon")
    ]
    assert rows[0].due_in == (d(2024, 7, 30) - TODAY).days


def test_releases_due_window_order_and_scope(lg):
    officer = lg["officer"]
    soon = fx.prisoner(lg["a"], "OUJDA2-2023-000010")
    fx.sentence(officer, soon, days=(TODAY - d(2023, 3, 1)).days + 10, start_date=d(2023, 3, 1))
    later = fx.prisoner(lg["a"], "OUJDA2-2023-000011")
    fx.sentence(officer, later, days=(TODAY - d(2023, 3, 1)).days + 45, start_date=d(2023, 3, 1))
    past = fx.prisoner(lg["a"], "OUJDA2-2023-000012")
    fx.sentence(officer, past, years=1, start_date=d(2023, 3, 1))  # 1 March 2024: overdue
    today = fx.prisoner(lg["a"], "OUJDA2-2023-000013")
    fx.sentence(officer, today, days=(TODAY - d(2023, 3, 1)).days, start_date=d(2023, 3, 1))
    life = fx.prisoner(lg["a"], "OUJDA2-2023-000014")
    fx.sentence(officer, life, life=True, start_date=d(2023, 3, 1))
    elsewhere = fx.prisoner(lg["b"], "SALE2-2023-000010")
    fx.sentence(
        lg["officer_b"], elsewhere, days=(TODAY - d(2023, 3, 1)).days + 5, start_date=d(2023, 3, 1)
    )
    gone = fx.prisoner(lg["a"], "OUJDA2-2023-000015")
    fx.sentence(officer, gone, years=1, start_date=d(2023, 3, 1))
    fx.release(gone)

    rows = selectors.releases_due(fetched_by=officer, days=30)
    assert [(r.committal_number, r.overdue, r.due_in) for r in rows] == [
        ("OUJDA2-2023-000012", True, (d(2024, 3, 1) - TODAY).days),
        ("OUJDA2-2023-000013", False, 0),
        ("OUJDA2-2023-000010", False, 10),
    ]
    assert len(selectors.releases_due(fetched_by=officer, days=60)) == 4
    assert selectors.releases_due(fetched_by=officer, facility=lg["b"]) == []
    central = selectors.releases_due(fetched_by=lg["central"], days=30)
    assert [r.committal_number for r in central] == [
        "OUJDA2-2023-000012",
        "OUJDA2-2023-000013",
        "SALE2-2023-000010",
        "OUJDA2-2023-000010",
    ]
    assert [
        r.committal_number
        for r in selectors.releases_due(fetched_by=lg["central"], facility=lg["b"])
    ] == ["SALE2-2023-000010"]
