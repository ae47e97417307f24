"""Visitor lists: a family's request to be on a prisoner's list, the officer's decision,
children, removal, and restrictions on a visitor.

* ``visitor_request_create`` (family): the prisoner is found by committal number *and* name
  (Arabic or Latin script, spelling variants tolerated by ``inmates.names``); anything else
  answers the same ``prisoner_not_found``, so that nobody can learn who is held where. The
  supporting document is checked by its content (PDF, JPEG or PNG, the first bytes decide,
  not the name) and size, and stored under a random name in the private media storage.
  One pending request per family and prisoner; the list has a maximum size (approved and
  pending visitors count).
* ``visitor_request_approve`` / ``visitor_request_refuse`` (officer, ``visits.manage`` at the
  request's institution): the approval re-counts the list under a row lock on the prisoner's
  detention, so that two officers approving at once never exceed the maximum.
* ``visitor_request_withdraw`` (family), ``visitor_remove`` (officer), ``visitor_child_add``
  (family: pending until the officer approves with ``visitor_approve``; officer: approved),
  ``visitor_approve`` / ``visitor_refuse`` (a pending child added later). A removal (or a
  refusal) lets ``services.changes`` cancel or flag the future bookings naming the visitor,
  in the same transaction.
* ``restriction_add`` / ``restriction_lift``: banned, closed visits only, not with a named
  child (a child on the same list). Adding one lets ``services.changes`` cancel or flag the
  bookings it touches, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.inmates.constants import CustodyStatus, Relationship
from idmaj.inmates.models import CustodyPeriod, Detention
from idmaj.inmates.names import fold_digits, name_tokens

from ..constants import AccountStatus, DocumentKind, RequestStatus, RestrictionKind, VisitorStatus
from ..models import FamilyAccount, Visitor, VisitorRequest, VisitorRestriction, VisitPolicy
from ._common import clean_or_raise, current_custody, notify_family, require_perm, touch_account

__all__ = [
    "DOCUMENT_SIGNATURES",
    "MANAGE",
    "ON_LIST",
    "document_type_of",
    "policy_of",
    "prisoner_name_matches",
    "restriction_add",
    "restriction_lift",
    "visitor_approve",
    "visitor_child_add",
    "visitor_refuse",
    "visitor_remove",
    "visitor_request_approve",
    "visitor_request_create",
    "visitor_request_refuse",
    "visitor_request_withdraw",
]

MANAGE = "visits.manage"
# Visitors who take a place on a list.
ON_LIST = (VisitorStatus.APPROVED, VisitorStatus.PENDING)

# The first bytes of each accepted document type, and the extension it is stored under.
DOCUMENT_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)

REQUEST_AUDIT_FIELDS = ("status", "relationship", "document_kind", "decided_at", "refusal_reason")
VISITOR_AUDIT_FIELDS = ("full_name", "birth_date", "relationship", "status", "guardian")
RESTRICTION_AUDIT_FIELDS = ("kind", "reason", "starts_on", "ends_on", "lifted_at", "child")


# -- helpers -----------------------------------------------------------------------------------
def _text(value) -> str:
    return " ".join(str(value or "").split())


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def policy_of(facility) -> VisitPolicy:
    """The institution's visit rules (``services.sessions.policy_for`` when it is there: it
    creates the default rules once)."""
    from . import sessions

    policy_for = getattr(sessions, "policy_for", None)
    if policy_for is not None:
        return policy_for(facility)
    policy, _created = VisitPolicy.objects.get_or_create(facility_id=facility.pk)
    return policy


def prisoner_name_matches(typed: str, person) -> bool:
    """Whether the name a family typed is the person's first and family name, in Arabic or
    Latin script, in any order, with the spelling variants ``inmates.names`` folds."""
    tokens = sorted(name_tokens(typed))
    if not tokens:
        return False
    for first, family in (
        (person.first_name_ar, person.family_name_ar),
        (person.first_name_latin, person.family_name_latin),
    ):
        if first and family and tokens == sorted(name_tokens(f"{first} {family}")):
            return True
    return False


def _not_found() -> DomainError:
    return DomainError(
        "prisoner_not_found",
        _(
            "No prisoner in custody matches this committal number and name. Check both as "
            "written on the committal papers."
        ),
        field="committal_number",
    )


def _find_custody(committal_number: str, prisoner_name: str) -> CustodyPeriod:
    number = fold_digits(_text(committal_number)).upper()
    if not number:
        raise _not_found()
    candidates = [
        c
        for c in CustodyPeriod.objects.select_related("person", "facility").filter(
            committal_number__iexact=number, status=CustodyStatus.IN_CUSTODY
        )[:5]
        if prisoner_name_matches(prisoner_name, c.person)
    ]
    # Committal numbers are unique per institution only: two matches cannot be told apart.
    if len(candidates) != 1:
        raise _not_found()
    return candidates[0]


def document_type_of(upload) -> str:
    """The real content type of an upload by its first bytes ('' when not accepted)."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, content_type, _ext in DOCUMENT_SIGNATURES:
        if head.startswith(magic) and content_type in settings.VISITS_DOCUMENT_TYPES:
            return content_type
    return ""


def _check_document(upload) -> tuple[str, str]:
    """(content type, extension) of an acceptable document; DomainError otherwise."""
    if upload is None or not getattr(upload, "size", 0):
        raise DomainError(
            "document_required", _("Attach the supporting document."), field="document"
        )
    limit = settings.VISITS_DOCUMENT_MAX_BYTES
    if upload.size > limit:
        raise DomainError(
            "document_too_big",
            _("The document is too big: %(max)s MB at most.") % {"max": limit // (1024 * 1024)},
            field="document",
        )
    content_type = document_type_of(upload)
    if not content_type:
        raise DomainError(
            "document_type",
            _("The document must be a PDF file or a photo (JPEG or PNG)."),
            field="document",
        )
    ext = next(e for _m, t, e in DOCUMENT_SIGNATURES if t == content_type)
    return content_type, ext


def _children(children, *, on: date, adult_age: int) -> list[tuple[str, date, str]]:
    out = []
    for row in children or ():
        name, born, *rest = row
        relationship = (rest[0] if rest else "") or Relationship.CHILD
        name = _text(name)
        if not name:
            raise DomainError("child_name", _("Give the child's full name."), field="children")
        if not isinstance(born, date):
            raise DomainError(
                "child_birth_date", _("Give the child's date of birth."), field="children"
            )
        if born > on:
            raise DomainError(
                "child_birth_date",
                _("A date of birth cannot be in the future."),
                field="children",
            )
        if _age_on(born, on) >= adult_age:
            raise DomainError(
                "child_is_adult",
                _(
                    "%(name)s counts as an adult at this institution (from %(age)s years): "
                    "they must ask with their own account."
                )
                % {"name": name, "age": adult_age},
                field="children",
            )
        if relationship not in Relationship.values:
            raise DomainError("invalid", _("Choose a relationship."), field="children")
        out.append((name, born, relationship))
    return out


def _on_list_count(detention_id: int, *, statuses=ON_LIST) -> int:
    return Visitor.objects.filter(detention_id=detention_id, status__in=statuses).count()


def _list_full(max_size: int) -> ConflictError:
    return ConflictError(
        "list_full",
        _("This prisoner's visitor list is full (%(max)s visitors at most).") % {"max": max_size},
    )


def _family_after(account: FamilyAccount, **extra) -> dict:
    return {"family_account": str(account.uuid), **extra}


def _lock_detention(detention_id: int) -> None:
    """Serialise the decisions on one prisoner's list (the row lock is held until commit)."""
    Detention.objects.select_for_update().filter(pk=detention_id).values_list("pk").first()


@dataclass
class _Decision:
    request: VisitorRequest
    before: dict


def _lock_pending(request: VisitorRequest) -> _Decision:
    _lock_detention(request.detention_id)
    locked = (
        VisitorRequest.objects.select_for_update()
        .select_related("account", "facility")
        .get(pk=request.pk)
    )
    if locked.status != RequestStatus.PENDING:
        raise ConflictError(
            "already_decided",
            _("This request is no longer awaiting a decision (%(status)s).")
            % {"status": locked.get_status_display()},
        )
    return _Decision(locked, audit.snapshot(locked, REQUEST_AUDIT_FIELDS))


def _prisoner_context(detention_id: int, facility, language: str) -> dict:
    custody = current_custody(detention_id)
    person = custody.person if custody is not None else None
    return {
        "prisoner": _person_name(person, language) if person else "",
        "committal_number": custody.committal_number if custody else "",
        "facility": facility,
    }


def _person_name(person, language: str = "ar") -> str:
    """The name in the script of the family's language (the other one when missing)."""
    ar, latin = person.full_name_ar, person.full_name_latin
    return (ar or latin) if language == "ar" else (latin or ar)


# -- requests ----------------------------------------------------------------------------------
def visitor_request_create(
    *,
    account: FamilyAccount,
    committal_number: str,
    prisoner_name: str,
    relationship: str,
    document_kind: str,
    document,
    children=(),
) -> VisitorRequest:
    """A family asks to be put on a prisoner's visitor list (with children, if any).

    ``children``: ``(full_name, birth_date)`` or ``(full_name, birth_date, relationship)``
    rows; each must be under the institution's adult age. Refusals: ``prisoner_not_found``,
    ``document_required`` / ``document_too_big`` / ``document_type``, ``request_pending``,
    ``already_on_list``, ``list_full``, ``child_*``.
    """
    if account.status != AccountStatus.ACTIVE:
        raise DomainError("account_inactive", _("Your account is not active."))
    custody = _find_custody(committal_number, prisoner_name)
    if relationship not in Relationship.values:
        raise DomainError("invalid", _("Choose a relationship."), field="relationship")
    if document_kind not in DocumentKind.values:
        raise DomainError("invalid", _("Choose the kind of document."), field="document_kind")
    content_type, ext = _check_document(document)
    facility = custody.facility
    policy = policy_of(facility)
    today = timezone.localdate()
    kids = _children(children, on=today, adult_age=policy.adult_age)

    with transaction.atomic():
        _lock_detention(custody.detention_id)
        mine = Visitor.objects.filter(
            detention_id=custody.detention_id, account=account, status__in=ON_LIST
        ).first()
        if VisitorRequest.objects.filter(
            account=account, detention_id=custody.detention_id, status=RequestStatus.PENDING
        ).exists():
            raise ConflictError(
                "request_pending",
                _("You already have a request for this prisoner awaiting a decision."),
            )
        if mine is not None:
            raise ConflictError(
                "already_on_list", _("You are already on this prisoner's visitor list.")
            )
        if _on_list_count(custody.detention_id) + 1 + len(kids) > policy.max_list_size:
            raise _list_full(policy.max_list_size)

        request = VisitorRequest(
            account=account,
            detention_id=custody.detention_id,
            facility=facility,
            relationship=relationship,
            document_kind=document_kind,
            document_type=content_type,
        )
        document.seek(0)
        # The stored name is random (``visitor_document_path``); the extension is the real type.
        request.document.save(f"document.{ext}", File(document), save=False)
        stored = request.document.name
        try:
            clean_or_raise(request, exclude=["document"], validate_constraints=False)
            try:
                with transaction.atomic():
                    request.save(force_insert=True)
            except IntegrityError as exc:  # the one-pending-request constraint, under a race
                raise ConflictError(
                    "request_pending",
                    _("You already have a request for this prisoner awaiting a decision."),
                ) from exc
            adult = Visitor(
                detention_id=custody.detention_id,
                facility=facility,
                request=request,
                account=account,
                full_name=account.full_name,
                cin=account.cin,
                relationship=relationship,
                status=VisitorStatus.PENDING,
            )
            clean_or_raise(adult, validate_constraints=False)
            adult.save(force_insert=True)
            rows = [
                Visitor(
                    detention_id=custody.detention_id,
                    facility=facility,
                    request=request,
                    guardian=adult,
                    full_name=name,
                    birth_date=born,
                    relationship=rel,
                    status=VisitorStatus.PENDING,
                )
                for name, born, rel in kids
            ]
            for row in rows:
                clean_or_raise(row, exclude=["guardian"], validate_constraints=False)
            Visitor.objects.bulk_create(rows)
            audit.record(
                actor=None,
                action=AuditEntry.Action.CREATE,
                obj=request,
                facility_id=facility.pk,
                verb="visitor_request",
                after=_family_after(
                    account,
                    **audit.snapshot(request, REQUEST_AUDIT_FIELDS),
                    document_type=content_type,
                    custody_uuid=str(custody.uuid),
                    visitors=1 + len(rows),
                ),
            )
            touch_account(account)
            notify_family(
                account,
                template="visitor_request_received",
                context={
                    "prisoner": _person_name(custody.person, account.language),
                    "committal_number": custody.committal_number,
                    "facility": facility,
                },
                facility_id=facility.pk,
            )
        except Exception:
            request.document.storage.delete(stored)
            raise
    return request


def visitor_request_approve(*, actor, request: VisitorRequest) -> VisitorRequest:
    """The officer approves a request: its visitors join the list (``visits.manage`` at the
    request's institution). The list size is counted again under the detention's lock:
    approved visitors plus those of this request."""
    require_perm(actor, MANAGE, request.facility_id)
    with transaction.atomic():
        d = _lock_pending(request)
        req = d.request
        custody = current_custody(req.detention_id)
        if custody is None:
            raise ConflictError(
                "not_in_custody", _("The prisoner is no longer in custody: the list is closed.")
            )
        policy = policy_of(custody.facility)
        approved = _on_list_count(req.detention_id, statuses=(VisitorStatus.APPROVED,))
        joining = Visitor.objects.filter(request=req, status=VisitorStatus.PENDING).count()
        if approved + joining > policy.max_list_size:
            raise _list_full(policy.max_list_size)
        now = timezone.now()
        Visitor.objects.filter(request=req, status=VisitorStatus.PENDING).update(
            status=VisitorStatus.APPROVED, approved_at=now
        )
        req.status = RequestStatus.APPROVED
        req.decided_at = now
        req.decided_by = actor
        req.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=req,
            facility_id=req.facility_id,
            verb="visitor_request_approve",
            before=d.before,
            after={**audit.snapshot(req, REQUEST_AUDIT_FIELDS), "visitors": joining},
        )
        notify_family(
            req.account,
            template="visitor_request_approved",
            context=_prisoner_context(req.detention_id, req.facility, req.account.language),
            facility_id=req.facility_id,
        )
    return req


def visitor_request_refuse(*, actor, request: VisitorRequest, reason: str) -> VisitorRequest:
    """The officer refuses a request, with the reason the family is told."""
    require_perm(actor, MANAGE, request.facility_id)
    reason = str(reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give the reason for the refusal."), field="reason")
    with transaction.atomic():
        d = _lock_pending(request)
        req = d.request
        now = timezone.now()
        Visitor.objects.filter(request=req, status=VisitorStatus.PENDING).update(
            status=VisitorStatus.REFUSED
        )
        req.status = RequestStatus.REFUSED
        req.decided_at = now
        req.decided_by = actor
        req.refusal_reason = reason
        req.save(update_fields=["status", "decided_at", "decided_by", "refusal_reason"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=req,
            facility_id=req.facility_id,
            verb="visitor_request_refuse",
            before=d.before,
            after=audit.snapshot(req, REQUEST_AUDIT_FIELDS),
        )
        notify_family(
            req.account,
            template="visitor_request_refused",
            context={
                **_prisoner_context(req.detention_id, req.facility, req.account.language),
                "reason": reason,
            },
            facility_id=req.facility_id,
        )
    return req


def visitor_request_withdraw(*, account: FamilyAccount, request: VisitorRequest) -> VisitorRequest:
    """The family withdraws its own request while it awaits a decision."""
    if request.account_id != account.pk:
        raise DomainError("not_found", _("Not found."), status=404)
    with transaction.atomic():
        d = _lock_pending(request)
        req = d.request
        now = timezone.now()
        Visitor.objects.filter(request=req, status=VisitorStatus.PENDING).update(
            status=VisitorStatus.REMOVED, removed_at=now
        )
        req.status = RequestStatus.WITHDRAWN
        req.decided_at = now
        req.save(update_fields=["status", "decided_at"])
        audit.record(
            actor=None,
            action=AuditEntry.Action.UPDATE,
            obj=req,
            facility_id=req.facility_id,
            verb="visitor_request_withdraw",
            before=d.before,
            after=_family_after(account, **audit.snapshot(req, REQUEST_AUDIT_FIELDS)),
        )
        touch_account(account)
    return req


# -- visitors ----------------------------------------------------------------------------------
def _lock_visitor(visitor: Visitor) -> Visitor:
    _lock_detention(visitor.detention_id)
    return (
        Visitor.objects.select_for_update(of=("self",))
        .select_related("account", "guardian", "guardian__account", "facility")
        .get(pk=visitor.pk)
    )


def _family_of(visitor: Visitor) -> FamilyAccount | None:
    """The account told about a visitor: their own, or their guardian's for a child."""
    if visitor.account_id:
        return visitor.account
    if visitor.guardian_id and visitor.guardian.account_id:
        return visitor.guardian.account
    return None


def visitor_remove(*, actor, visitor: Visitor, reason: str) -> Visitor:
    """The officer takes a visitor off the list (an adult's children go with them)."""
    require_perm(actor, MANAGE, visitor.facility_id)
    reason = str(reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give the reason."), field="reason")
    with transaction.atomic():
        v = _lock_visitor(visitor)
        if v.status not in ON_LIST:
            raise ConflictError("not_on_list", _("This visitor is not on the list any more."))
        before = audit.snapshot(v, VISITOR_AUDIT_FIELDS)
        now = timezone.now()
        v.status = VisitorStatus.REMOVED
        v.removed_at = now
        v.save(update_fields=["status", "removed_at"])
        children = Visitor.objects.filter(guardian=v, status__in=ON_LIST).update(
            status=VisitorStatus.REMOVED, removed_at=now
        )
        # Their future bookings first (cancelled or flagged): session rows are locked before
        # the audit chain's head, in the order a booking takes them.
        from . import changes

        changes.visits_on_visitor_removed(visitor=v, actor=actor)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=v,
            facility_id=v.facility_id,
            verb="visitor_remove",
            before=before,
            after={
                **audit.snapshot(v, VISITOR_AUDIT_FIELDS),
                "reason": reason,
                "children": children,
            },
        )
        family = _family_of(v)
        if family is not None:
            notify_family(
                family,
                template="visitor_removed",
                context={
                    **_prisoner_context(v.detention_id, v.facility, family.language),
                    "visitor": v.full_name,
                },
                facility_id=v.facility_id,
            )
    return v


def visitor_child_add(
    *,
    adult_visitor: Visitor,
    full_name: str,
    birth_date: date,
    relationship: str = Relationship.CHILD,
    account: FamilyAccount | None = None,
    actor=None,
) -> Visitor:
    """A child joins an approved adult's visits: asked by the family (``account``; pending
    until the officer approves) or added by the officer (``actor``; approved at once)."""
    if account is not None:
        if adult_visitor.account_id != account.pk:
            raise DomainError("not_found", _("Not found."), status=404)
    else:
        require_perm(actor, MANAGE, adult_visitor.facility_id)
    with transaction.atomic():
        adult = _lock_visitor(adult_visitor)
        if adult.status != VisitorStatus.APPROVED or adult.guardian_id or not adult.account_id:
            raise ConflictError(
                "not_on_list", _("Children are added to an approved adult visitor only.")
            )
        policy = policy_of(adult.facility)
        ((name, born, rel),) = _children(
            [(full_name, birth_date, relationship)],
            on=timezone.localdate(),
            adult_age=policy.adult_age,
        )
        if _on_list_count(adult.detention_id) + 1 > policy.max_list_size:
            raise _list_full(policy.max_list_size)
        if (
            Visitor.objects.filter(guardian=adult, status__in=ON_LIST, birth_date=born)
            .filter(full_name__iexact=name)
            .exists()
        ):
            raise ConflictError("duplicate", _("This child is already on the list."))
        now = timezone.now()
        child = Visitor(
            detention_id=adult.detention_id,
            facility_id=adult.facility_id,
            guardian=adult,
            full_name=name,
            birth_date=born,
            relationship=rel,
            status=VisitorStatus.PENDING if account is not None else VisitorStatus.APPROVED,
            approved_at=None if account is not None else now,
        )
        clean_or_raise(child, validate_constraints=False)
        child.save(force_insert=True)
        after = audit.snapshot(child, VISITOR_AUDIT_FIELDS)
        audit.record(
            actor=actor if account is None else None,
            action=AuditEntry.Action.CREATE,
            obj=child,
            facility_id=child.facility_id,
            verb="visitor_child_add",
            after=_family_after(account, **after) if account is not None else after,
        )
        if account is not None:
            touch_account(account)
    return child


def _decide_visitor(*, actor, visitor: Visitor, approve: bool) -> Visitor:
    require_perm(actor, MANAGE, visitor.facility_id)
    with transaction.atomic():
        v = _lock_visitor(visitor)
        if v.status != VisitorStatus.PENDING:
            raise ConflictError(
                "already_decided", _("This visitor is no longer awaiting a decision.")
            )
        if v.request_id and v.request.status == RequestStatus.PENDING:
            raise ConflictError(
                "decide_request", _("Decide on the whole request this visitor belongs to.")
            )
        if approve and v.guardian_id and v.guardian.status != VisitorStatus.APPROVED:
            raise ConflictError("not_on_list", _("The adult with this child is not approved."))
        before = audit.snapshot(v, VISITOR_AUDIT_FIELDS)
        if approve:
            policy = policy_of(v.facility)
            approved = _on_list_count(v.detention_id, statuses=(VisitorStatus.APPROVED,))
            if approved + 1 > policy.max_list_size:
                raise _list_full(policy.max_list_size)
            v.status = VisitorStatus.APPROVED
            v.approved_at = timezone.now()
            v.save(update_fields=["status", "approved_at"])
        else:
            v.status = VisitorStatus.REFUSED
            v.save(update_fields=["status"])
            # A refused visitor visits no more (a pending one is on no booking: nothing then).
            from . import changes

            changes.visits_on_visitor_removed(visitor=v, actor=actor)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=v,
            facility_id=v.facility_id,
            verb="visitor_approve" if approve else "visitor_refuse",
            before=before,
            after=audit.snapshot(v, VISITOR_AUDIT_FIELDS),
        )
    return v


def visitor_approve(*, actor, visitor: Visitor) -> Visitor:
    """The officer approves a pending child added after the request."""
    return _decide_visitor(actor=actor, visitor=visitor, approve=True)


def visitor_refuse(*, actor, visitor: Visitor) -> Visitor:
    """The officer refuses a pending child added after the request."""
    return _decide_visitor(actor=actor, visitor=visitor, approve=False)


# -- restrictions ------------------------------------------------------------------------------
def restriction_add(
    *,
    actor,
    visitor: Visitor,
    kind: str,
    reason: str,
    starts_on: date,
    ends_on: date | None = None,
    child: Visitor | None = None,
) -> VisitorRestriction:
    """A restriction on a visitor, with its reason and optional end date: ``banned``,
    ``closed_only`` (behind glass), ``not_with_child`` (``child``: a child on the same list).
    The bookings it touches are cancelled or flagged by ``services.changes`` in the same
    transaction."""
    require_perm(actor, MANAGE, visitor.facility_id)
    reason = str(reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give the reason."), field="reason")
    if kind not in RestrictionKind.values:
        raise DomainError("invalid", _("Choose the restriction."), field="kind")
    if kind == RestrictionKind.NOT_WITH_CHILD:
        if child is None:
            raise DomainError("child_required", _("Choose the child."), field="child")
        if (
            child.detention_id != visitor.detention_id
            or child.guardian_id is None
            or child.pk == visitor.pk
            or child.status not in ON_LIST
        ):
            raise DomainError(
                "child_not_on_list",
                _("The child must be a child on the same visitor list."),
                field="child",
            )
    elif child is not None:
        raise DomainError(
            "invalid", _("A child is named for “not with a named child” only."), field="child"
        )
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(
            "invalid", _("The end date cannot be before the start date."), field="ends_on"
        )
    with transaction.atomic():
        v = _lock_visitor(visitor)
        if v.status not in ON_LIST:
            raise ConflictError("not_on_list", _("This visitor is not on the list any more."))
        restriction = VisitorRestriction(
            visitor=v,
            facility_id=v.facility_id,
            kind=kind,
            child=child,
            reason=reason,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor,
        )
        clean_or_raise(restriction)
        restriction.save(force_insert=True)
        # The bookings it concerns first: session rows are locked before the audit chain's
        # head, in the order a booking takes them.
        from . import changes

        changes.visits_on_restriction_added(restriction=restriction, actor=actor)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=restriction,
            facility_id=v.facility_id,
            verb="visitor_restriction_add",
            after={
                **audit.snapshot(restriction, RESTRICTION_AUDIT_FIELDS),
                "visitor_uuid": str(v.uuid),
            },
        )
        family = _family_of(v)
        if family is not None:
            notify_family(
                family,
                template="visitor_restricted",
                context={
                    **_prisoner_context(v.detention_id, v.facility, family.language),
                    "visitor": v.full_name,
                    # lazy: rendered in the family's language
                    "kind": RestrictionKind(restriction.kind).label,
                    "child": child.full_name if child else "",
                    "ends_on": ends_on,
                },
                facility_id=v.facility_id,
            )
    return restriction


def restriction_lift(*, actor, restriction: VisitorRestriction, reason: str) -> VisitorRestriction:
    """The officer lifts a restriction before its end (the reason goes to the audit trail)."""
    require_perm(actor, MANAGE, restriction.facility_id)
    reason = str(reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give the reason."), field="reason")
    with transaction.atomic():
        r = VisitorRestriction.objects.select_for_update().get(pk=restriction.pk)
        today = timezone.localdate()
        if r.lifted_at is not None or (r.ends_on is not None and r.ends_on < today):
            raise ConflictError("already_ended", _("This restriction has already ended."))
        before = audit.snapshot(r, RESTRICTION_AUDIT_FIELDS)
        r.lifted_at = timezone.now()
        r.save(update_fields=["lifted_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=r,
            facility_id=r.facility_id,
            verb="visitor_restriction_lift",
            before=before,
            after={**audit.snapshot(r, RESTRICTION_AUDIT_FIELDS), "reason": reason},
        )
    return r
