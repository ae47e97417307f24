"""Retention: ``visits_purge`` erases the personal data of family accounts left unused for the
retention period and the names on history lists; bookings stay as anonymous statistics."""

from __future__ import annotations

import datetime as dt
import io
import json
import pathlib

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from idmaj.core.models import AuditEntry
from idmaj.inmates.constants import CustodyStatus, DetentionEnd
from idmaj.inmates.models import CustodyPeriod, Detention
from idmaj.inmates.tests.factories import CustodyPeriodFactory

from ..constants import AccountStatus, RequestStatus, RestrictionKind, VisitorStatus
from ..models import (
    Booking,
    FamilyAccount,
    PhoneCode,
    PortalToken,
    Visitor,
    VisitorRequest,
    VisitorRestriction,
)
from ..retention_tasks import visits_purge_task
from ..services import retention_cutoff, visits_purge
from . import changes_fixtures as fx
from .factories import FamilyAccountFactory, approve_on_list

MONTHS = 24


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VISITS_RETENTION_MONTHS = MONTHS
    return settings.MEDIA_ROOT


def _long_ago(months=MONTHS + 1):
    return timezone.now() - dt.timedelta(days=31 * months)


def _dormant(account, *, when=None):
    when = when or _long_ago()
    FamilyAccount.objects.filter(pk=account.pk).update(last_activity_at=when, created_at=when)
    return fx.fresh(account)


def _with_document(request, name="livret.pdf"):
    request.document.save(name, ContentFile(b"%PDF-1.4 livret de famille"), save=True)
    return request.document.path


def _secrets(account):
    now = timezone.now()
    PhoneCode.objects.create(
        account=account,
        purpose="verify_phone",
        phone=account.phone,
        code_hash="x",
        created_at=now,
        expires_at=now,
    )
    PortalToken.objects.create(account=account, key_hash=f"h{account.pk}", expires_at=now)


def _ended_custody(*, ended_at, facility):
    """A prisoner who left custody at ``ended_at`` (the detention ended)."""
    custody = CustodyPeriodFactory(facility=facility, committed_at=ended_at - dt.timedelta(days=90))
    CustodyPeriod.objects.filter(pk=custody.pk).update(
        status=CustodyStatus.RELEASED, released_at=ended_at
    )
    Detention.objects.filter(pk=custody.detention_id).update(
        ended_at=ended_at, end_reason=DetentionEnd.ACQUITTAL
    )
    return fx.fresh(custody)


@pytest.fixture
def world(vs, media):
    """vs.account dormant: approved on the list of a prisoner in custody (kept) and on the
    list of one released last month (erased); a document, codes and a token; a past visit.
    Others: an active account, a dormant one with a visit to come, an old never-used one."""
    recent_release = _ended_custody(
        ended_at=timezone.now() - dt.timedelta(days=30), facility=vs.facility
    )
    old_adult, (old_child,) = approve_on_list(
        vs.account, recent_release, children=[("Salma", dt.date(2015, 5, 1))]
    )
    w = {
        "doc_current": _with_document(vs.adult.request),
        "doc_old": _with_document(old_adult.request, "acte.jpg"),
        "old_adult": old_adult,
        "old_child": old_child,
        "past": fx.past_booking(vs, days_ago=40),
    }
    _secrets(vs.account)
    w["account"] = _dormant(vs.account)
    w["active"] = FamilyAccountFactory()
    approve_on_list(w["active"], vs.custody)
    booked = FamilyAccountFactory()
    booked_adult, _ = approve_on_list(booked, vs.custody)
    fx.book(vs, vs.sessions[3], [booked_adult], account=booked)
    w["booked"] = _dormant(booked)
    never = FamilyAccountFactory(last_activity_at=None)
    w["never"] = _dormant(never)
    FamilyAccount.objects.filter(pk=never.pk).update(last_activity_at=None)
    return w


def _db_state():
    return (
        tuple(FamilyAccount.objects.order_by("pk").values_list()),
        tuple(Visitor.objects.order_by("pk").values_list()),
        tuple(VisitorRequest.objects.order_by("pk").values_list()),
        PhoneCode.objects.count(),
        PortalToken.objects.count(),
        AuditEntry.objects.count(),
    )


def _statistics():
    return list(
        Booking.objects.annotate(month=TruncMonth("session__starts_at"))
        .values("channel", "month", "facility_id", "status")
        .annotate(n=Count("pk"), adults=Sum("adults"))
        .order_by("channel", "month", "facility_id", "status")
    )


def test_dry_run_counts_and_changes_nothing(vs, world, django_capture_on_commit_callbacks):
    before = _db_state()
    with django_capture_on_commit_callbacks(execute=True):
        result = visits_purge(dry_run=True)
    assert result["dry_run"] is True
    assert (result["accounts"], result["documents"], result["codes"], result["tokens"]) == (
        2,
        2,
        1,
        1,
    )
    assert result["visitors"] == 2  # the list of the released prisoner: adult and child
    assert _db_state() == before
    assert all(pathlib.Path(p).exists() for p in (world["doc_current"], world["doc_old"]))


def test_purge_erases_personal_data_and_keeps_statistics(
    vs, world, django_capture_on_commit_callbacks
):
    statistics = _statistics()
    account = world["account"]
    personal = [account.cin, account.phone, account.family_name, "Salma", world["old_adult"].cin]
    with django_capture_on_commit_callbacks(execute=True):
        result = visits_purge()
    assert (result["accounts"], result["visitors"], result["documents"]) == (2, 2, 2)
    assert (result["codes"], result["tokens"]) == (1, 1)

    account = fx.fresh(account)
    assert (account.cin, account.first_name, account.family_name) == ("", "", "")
    assert (account.phone, account.email, account.status) == ("", "", AccountStatus.PURGED)
    assert account.purged_at is not None and not is_password_usable(account.password)
    assert not PhoneCode.objects.filter(account=account).exists()
    assert not PortalToken.objects.filter(account=account).exists()
    # documents gone from the disk and from the rows

    assert not pathlib.Path(world["doc_current"]).exists()
    assert not pathlib.Path(world["doc_old"]).exists()
    assert set(
        VisitorRequest.objects.filter(account=account).values_list("document", "document_type")
    ) == {("", "")}
    # still approved on the list of a prisoner in custody: the entry stays usable at the gate
    adult, child = fx.fresh(vs.adult), fx.fresh(vs.child)
    assert adult.full_name and adult.cin and adult.status == VisitorStatus.APPROVED
    assert child.full_name == "Yassine" and child.birth_date is not None
    # history only: erased
    for v in (fx.fresh(world["old_adult"]), fx.fresh(world["old_child"])):
        assert (v.full_name, v.cin, v.birth_date) == ("", "", None)
    # the others stay
    assert fx.fresh(world["active"]).status == AccountStatus.ACTIVE
    assert fx.fresh(world["booked"]).status == AccountStatus.ACTIVE
    assert fx.fresh(world["never"]).status == AccountStatus.PURGED
    # bookings kept: the figures per channel and month are the same
    assert fx.fresh(world["past"]).account_id == account.pk
    assert _statistics() == statistics

    # audit: one national entry per account, its UUID only
    entries = list(AuditEntry.objects.filter(verb="family_account_purge").order_by("seq"))
    assert {e.object_id for e in entries} == {str(account.uuid), str(world["never"].uuid)}
    for e in entries:
        assert e.chain == 0 and e.actor_id is None and e.object_repr == e.object_id
        text = json.dumps([e.before, e.after, e.object_repr], ensure_ascii=False)
        for value in personal:
            assert value not in text

    # a second run finds nothing more
    again = visits_purge()
    assert (again["accounts"], again["visitors"], again["documents"]) == (0, 0, 0)


def test_a_purged_account_frees_its_phone_and_card(vs, world):
    cin, phone = world["account"].cin, world["account"].phone
    visits_purge()
    FamilyAccountFactory(cin=cin, phone=phone)  # the unique rules hold for live accounts only


@pytest.mark.parametrize(("months_ago", "purged"), [(MONTHS - 1, False), (MONTHS + 1, True)])
def test_the_retention_period_runs_from_the_last_activity(vs, media, months_ago, purged):
    account = FamilyAccountFactory()
    FamilyAccount.objects.filter(pk=account.pk).update(
        created_at=_long_ago(MONTHS * 3), last_activity_at=_long_ago(months_ago)
    )
    visits_purge()
    assert (fx.fresh(account).status == AccountStatus.PURGED) is purged


def test_a_visitor_under_a_restriction_in_force_keeps_the_name(vs, media):
    account = _dormant(FamilyAccountFactory())
    released = _ended_custody(ended_at=timezone.now() - dt.timedelta(days=10), facility=vs.facility)
    adult, _ = approve_on_list(account, released)
    VisitorRestriction.objects.create(
        visitor=adult,
        facility_id=vs.facility.pk,
        kind=RestrictionKind.BANNED,
        reason="Trafic",
        starts_on=timezone.localdate() - dt.timedelta(days=20),
    )
    visits_purge()
    assert fx.fresh(account).status == AccountStatus.PURGED
    assert fx.fresh(adult).cin == account.cin


def test_history_lists_are_erased_after_the_period(vs, media, django_capture_on_commit_callbacks):
    """The list of a prisoner who left custody long ago, of a family still using the portal."""
    long_gone = _ended_custody(ended_at=_long_ago(), facility=vs.facility)
    adult, (child,) = approve_on_list(
        vs.account, long_gone, children=[("Salma", dt.date(2012, 1, 1))]
    )
    path = _with_document(adult.request)
    pending = VisitorRequest.objects.create(
        account=FamilyAccountFactory(),
        detention_id=long_gone.detention_id,
        facility_id=vs.facility.pk,
        relationship="sibling",
        document_kind="family_record",
        refusal_reason="",
    )
    _with_document(pending, "autre.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        result = visits_purge()
    assert result["accounts"] == 0
    assert (result["history_visitors"], result["history_documents"]) == (2, 2)
    assert fx.fresh(vs.account).status == AccountStatus.ACTIVE
    assert (fx.fresh(adult).full_name, fx.fresh(child).birth_date) == ("", None)
    assert fx.fresh(vs.adult).full_name  # the current list is untouched

    assert not pathlib.Path(path).exists()
    assert fx.fresh(pending).status == RequestStatus.WITHDRAWN
    entry = AuditEntry.objects.get(verb="visitor_list_purge")
    assert entry.chain == vs.facility.pk
    assert entry.after["detentions"] == [str(long_gone.detention.uuid)]
    assert "Salma" not in json.dumps(entry.after)


def test_command(vs, world):
    out = io.StringIO()
    call_command("visits_purge", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Would purge") and "2 family accounts" in out.getvalue()
    assert fx.fresh(world["account"]).status == AccountStatus.ACTIVE
    out = io.StringIO()
    call_command("visits_purge", "--months", "1200", "--json", stdout=out)
    assert json.loads(out.getvalue())["accounts"] == 0
    assert fx.fresh(world["account"]).status == AccountStatus.ACTIVE
    with pytest.raises(CommandError):
        call_command("visits_purge", "--months", "0")
    call_command("visits_purge", stdout=io.StringIO())
    assert fx.fresh(world["account"]).status == AccountStatus.PURGED


def test_task(vs, world):
    result = visits_purge_task.enqueue(dry_run=True)
    assert result.return_value["accounts"] == 2
    assert fx.fresh(world["account"]).status == AccountStatus.ACTIVE


@pytest.mark.parametrize(
    ("now", "months", "cutoff"),
    [
        (
            dt.datetime(2026, 3, 31, 10, tzinfo=dt.UTC),
            1,
            dt.datetime(2026, 2, 28, 10, tzinfo=dt.UTC),
        ),
        (dt.datetime(2024, 2, 29, tzinfo=dt.UTC), 24, dt.datetime(2022, 2, 28, tzinfo=dt.UTC)),
        (dt.datetime(2026, 1, 15, tzinfo=dt.UTC), 13, dt.datetime(2024, 12, 15, tzinfo=dt.UTC)),
    ],
)
def test_retention_cutoff(now, months, cutoff):
    assert retention_cutoff(now, months) == cutoff
