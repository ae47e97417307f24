"""Registry services: records (Nelson Mandela rule 7 and corrections of the record).

* The director's alert: visible injuries or a complaint of prior ill-treatment seen at
  admission raise an ``AdmissionAlert`` (``admission_alert_raise``, inside the admission's
  transaction); every holder of ``inmates.alerts`` for the institution is notified, and one
  of them acknowledges it with the action taken (``admission_alert_acknowledge``).
* Personal property: deposited (``property_item_add``), then returned, handed over or
  disposed of (``property_item_return``). Items belong to the detention, so they follow the
  prisoner on transfer; ``facility`` is where they are stored now.
* Family and contacts of the person (``family_member_add/update/remove``): children with
  their birth date and carer, emergency contact, next of kin, mobile phone in E.164.
* The family told of the admission (``admission_notice_record``), by SMS through the
  notification service when a mobile phone is known.
* Corrections: identity (``person_update``), photo (``person_photo_set``), committal
  (``custody_update``).

The person is national; every audit entry of these services goes on the chain of the
institution of the custody period the officer acts through.
"""

from __future__ import annotations

import io
import uuid as uuid_lib
from datetime import date, datetime

import phonenumbers
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from idmaj.core import audit
from idmaj.core.constants import Channel
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.core.notifications import notify

from ..constants import PersonSex, PropertyStatus, Relationship
from ..models import (
    AdmissionAlert,
    AdmissionNotice,
    CustodyPeriod,
    FamilyMember,
    Person,
    PropertyItem,
    normalise_cin,
)
from ._common import ALERT_PERMISSION, alert_recipients, lock_open_custody, not_in_future
from ._common import clean_or_raise as _clean
from ._common import require_perm as _require
from .admission import PERSON_FIELDS, _offences, fill_name_keys

__all__ = [
    "ALERT_PERMISSION",
    "CUSTODY_EDIT_FIELDS",
    "FAMILY_FIELDS",
    "NOTICE_CHANNELS",
    "PHOTO_MAX_BYTES",
    "PROPERTY_RETURN_PERMISSIONS",
    "RECORD_PERMISSIONS",
    "RETURN_STATUSES",
    "admission_alert_acknowledge",
    "admission_alert_recipients",
    "property_item_add",
    "property_item_return",
    "family_member_add",
    "family_member_update",
    "family_member_remove",
    "admission_notice_record",
    "person_update",
    "person_photo_set",
    "custody_update",
    "normalise_phone",
]

# Who keeps the record of a prisoner at admission and corrects it.
RECORD_PERMISSIONS = ("inmates.admit", "inmates.edit")
# Property is also handed back by the officers who release.
PROPERTY_RETURN_PERMISSIONS = ("inmates.admit", "inmates.edit", "inmates.release")

FAMILY_FIELDS = (
    "relationship",
    "full_name",
    "birth_date",
    "sex",
    "phone",
    "address",
    "carer",
    "is_emergency_contact",
    "is_next_of_kin",
    "language",
    "note",
)
FAMILY_LANGUAGES = ("ar", "fr")
ADULT_AGE = 18

PROPERTY_AUDIT_FIELDS = (
    "description",
    "quantity",
    "stored_location",
    "status",
    "facility",
    "received_at",
    "closed_at",
    "recipient",
)
RETURN_STATUSES = (PropertyStatus.RETURNED, PropertyStatus.HANDED_OVER, PropertyStatus.DISPOSED)

NOTICE_CHANNELS = ("sms", "phone_call", "in_person", "none")

ALERT_AUDIT_FIELDS = ("injuries", "complaint", "raised_at", "acknowledged_at", "action_taken")

CUSTODY_EDIT_FIELDS = (
    "committing_authority",
    "court",
    "warrant_reference",
    "case_number",
    "escort",
    "offence_codes",
)

PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_MAX_SIDE = 6000  # pixels; refuses decompression bombs before decoding
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png"}


def _require_any(actor, codes: tuple[str, ...], facility_id: int) -> None:
    """``PermissionDenied`` unless ``actor`` holds one of ``codes`` for the institution."""
    last = None
    for code in codes:
        try:
            _require(actor, code, facility_id)
        except DomainError as exc:
            last = exc
        else:
            return
    assert last is not None
    raise last


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# -- the director's alert (Mandela rule 7) ----------------------------------------------------
admission_alert_recipients = alert_recipients


def admission_alert_raise(*, actor, custody: CustodyPeriod) -> AdmissionAlert | None:
    """Raise the director's alert when the custody period records visible injuries or a
    complaint of prior ill-treatment; None otherwise.

    Not a service of its own: called by ``inmate_admit`` inside its transaction, after its
    permission check. Writes the alert and its audit entry, and queues one message per
    holder of ``inmates.alerts`` for the institution (e-mail when the user has an address,
    otherwise SMS when they have a mobile phone; the dashboard shows it to everyone). The
    message names the committal, never the facts: those stay in the system.
    """
    injuries = (custody.injuries_observed or "").strip()
    complaint = (custody.ill_treatment_complaint or "").strip()
    if not (injuries or complaint):
        return None
    alert = AdmissionAlert(
        custody=custody,
        facility_id=custody.facility_id,
        injuries=injuries,
        complaint=complaint,
        raised_at=timezone.now(),
    )
    _clean(alert)
    alert.save(force_insert=True)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=alert,
        facility_id=custody.facility_id,
        verb="admission_alert",
        after={
            **audit.snapshot(alert, ALERT_AUDIT_FIELDS),
            "custody_uuid": str(custody.uuid),
            "committal_number": custody.committal_number,
        },
    )
    facility = custody.facility
    context = {
        "committal_number": custody.committal_number,
        "facility": facility,
        "committed_at": custody.committed_at,
        "injuries": bool(injuries),
        "complaint": bool(complaint),
    }
    for user in admission_alert_recipients(facility):
        if user.email:
            channel, recipient, template = Channel.EMAIL, user.email, "inmates_alert_email"
        elif user.phone:
            channel, recipient, template = Channel.SMS, user.phone, "inmates_alert_sms"
        else:
            continue
        notify(
            channel=channel,
            recipient=recipient,
            template=template,
            context=context,
            language=user.preferred_language or "ar",
            facility_id=custody.facility_id,
            idempotency_key=f"inmates-alert:{alert.uuid}:{user.uuid}",
        )
    return alert


def admission_alert_acknowledge(
    *, actor, alert: AdmissionAlert, action_taken: str
) -> AdmissionAlert:
    """The director (``inmates.alerts`` for the alert's institution) acknowledges an alert
    with the action taken (medical examination, report to the prosecutor, ...). Required;
    an alert is acknowledged once (409 ``already_acknowledged``)."""
    _require(actor, ALERT_PERMISSION, alert.facility_id)
    action_taken = (action_taken or "").strip()
    if not action_taken:
        raise DomainError("invalid", _("Say what action was taken."), field="action_taken")
    with transaction.atomic():
        locked = AdmissionAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            raise ConflictError(
                "already_acknowledged", _("This alert has already been acknowledged.")
            )
        before = audit.snapshot(locked, ALERT_AUDIT_FIELDS)
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.action_taken = action_taken
        _clean(locked)
        locked.save(update_fields=["acknowledged_at", "acknowledged_by", "action_taken"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            facility_id=locked.facility_id,
            verb="acknowledge",
            before={k: before[k] for k in ("acknowledged_at", "action_taken")},
            after={
                "acknowledged_at": locked.acknowledged_at,
                "action_taken": locked.action_taken,
            },
        )
    return locked


# -- personal property -----------------------------------------------------------------------
def property_item_add(
    *,
    actor,
    custody: CustodyPeriod,
    description: str,
    quantity: int = 1,
    stored_location: str = "",
) -> PropertyItem:
    """Record an item deposited by the prisoner: kept in storage at the institution."""
    _require_any(actor, RECORD_PERMISSIONS, custody.facility_id)
    description = _text(description)
    if not description:
        raise DomainError("invalid", _("Describe the item."), field="description")
    if quantity is None or int(quantity) < 1:
        raise DomainError("invalid", _("The quantity is at least 1."), field="quantity")
    with transaction.atomic():
        custody = lock_open_custody(custody)
        item = PropertyItem(
            detention_id=custody.detention_id,
            facility_id=custody.facility_id,
            description=description,
            quantity=int(quantity),
            stored_location=_text(stored_location),
            status=PropertyStatus.KEPT,
            received_at=timezone.now(),
        )
        _clean(item)
        item.save(force_insert=True)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=item,
            facility_id=custody.facility_id,
            after={
                **audit.snapshot(item, PROPERTY_AUDIT_FIELDS),
                "custody_uuid": str(custody.uuid),
            },
        )
    return item


def property_item_return(
    *,
    actor,
    item: PropertyItem,
    status: str,
    recipient: str = "",
    at: datetime | None = None,
) -> PropertyItem:
    """Close an item kept in storage: returned to the prisoner (``recipient`` defaults to
    the prisoner's name), handed over to someone (``recipient`` required) or disposed of.
    Done by the institution that stores it now; an item is closed once."""
    _require_any(actor, PROPERTY_RETURN_PERMISSIONS, item.facility_id)
    if status not in RETURN_STATUSES:
        raise DomainError("invalid", _("Choose how the item left storage."), field="status")
    recipient = _text(recipient)
    if status == PropertyStatus.HANDED_OVER and not recipient:
        raise DomainError(
            "invalid", _("Give the name of the person who received the item."), field="recipient"
        )
    moment = not_in_future(at, field="at") if at is not None else timezone.now()
    with transaction.atomic():
        locked = (
            PropertyItem.objects.select_for_update()
            .select_related("detention__person")
            .get(pk=item.pk)
        )
        if locked.status != PropertyStatus.KEPT:
            raise ConflictError(
                "already_closed",
                _("This item is no longer in storage (%(status)s).")
                % {"status": locked.get_status_display()},
            )
        if moment < locked.received_at:
            raise DomainError(
                "invalid", _("An item leaves storage after it was received."), field="at"
            )
        if status == PropertyStatus.RETURNED and not recipient:
            person = locked.detention.person
            recipient = person.full_name_latin or person.full_name_ar
        before = audit.snapshot(locked, ("status", "closed_at", "recipient"))
        locked.status = status
        locked.closed_at = moment
        locked.recipient = recipient[:200]
        _clean(locked)
        locked.save(update_fields=["status", "closed_at", "recipient"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            facility_id=locked.facility_id,
            verb="property_return",
            before=before,
            after=audit.snapshot(locked, ("status", "closed_at", "recipient")),
        )
    return locked


# -- family and contacts ---------------------------------------------------------------------
def normalise_phone(raw: str, *, region: str = "MA", field: str = "phone") -> str:
    """A mobile phone number in E.164 ("06 12 34 56 78" → "+212612345678"); "" stays "".
    Numbers without an international prefix are read as numbers of ``region``."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    message = _("Give a valid mobile phone number, for example 0612345678 or +33612345678.")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise DomainError("invalid_phone", message, field=field) from exc
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in mobile:
        raise DomainError("invalid_phone", message, field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _family_values(values: dict) -> dict:
    """Input of a family member normalised: text trimmed, phone in E.164."""
    out = dict(values)
    for name in ("full_name", "address", "carer", "note"):
        if name in out:
            out[name] = _text(out[name])
    for name in ("relationship", "sex", "language"):
        if name in out:
            out[name] = (out[name] or "").strip()
    if "phone" in out:
        out["phone"] = normalise_phone(out["phone"])
    for name in ("is_emergency_contact", "is_next_of_kin"):
        if name in out:
            out[name] = bool(out[name])
    return out


def _check_family_member(member: FamilyMember) -> None:
    """The rules of a family member beyond the model's own: a child has a birth date, and a
    carer while under 18; birth dates are not in the future; messages go in Arabic or
    French."""
    today = timezone.localdate()
    if member.birth_date is not None and member.birth_date > today:
        raise DomainError(
            "invalid", _("The date of birth cannot be in the future."), field="birth_date"
        )
    if member.relationship == Relationship.CHILD:
        if member.birth_date is None:
            raise DomainError(
                "invalid", _("Give the date of birth of a child."), field="birth_date"
            )
        if _age_on(member.birth_date, today) < ADULT_AGE and not member.carer:
            raise DomainError(
                "invalid",
                _("Say who looks after this child while the parent is in custody."),
                field="carer",
            )
    if member.language not in FAMILY_LANGUAGES:
        raise DomainError(
            "invalid", _("Messages are sent in Arabic or in French."), field="language"
        )
    if member.sex and member.sex not in PersonSex.values:
        raise DomainError("invalid", _("Choose a valid sex."), field="sex")
    _clean(member, exclude=["person"])


def _family_audit(member: FamilyMember) -> dict:
    return audit.snapshot(member, FAMILY_FIELDS)


def _member_of(custody: CustodyPeriod, member: FamilyMember) -> FamilyMember:
    locked = FamilyMember.objects.select_for_update().filter(pk=member.pk).first()
    if locked is None or locked.person_id != custody.person_id:
        raise DomainError(
            "invalid",
            _("This family member is not one of this person's."),
            field="family_member",
        )
    return locked


def family_member_add(
    *,
    actor,
    custody: CustodyPeriod,
    relationship: str,
    full_name: str,
    birth_date: date | None = None,
    sex: str = "",
    phone: str = "",
    address: str = "",
    carer: str = "",
    is_emergency_contact: bool = False,
    is_next_of_kin: bool = False,
    language: str = "ar",
    note: str = "",
) -> FamilyMember:
    """Add a relative or contact to the person held under ``custody``."""
    _require_any(actor, RECORD_PERMISSIONS, custody.facility_id)
    values = _family_values(
        {
            "relationship": relationship,
            "full_name": full_name,
            "birth_date": birth_date,
            "sex": sex,
            "phone": phone,
            "address": address,
            "carer": carer,
            "is_emergency_contact": is_emergency_contact,
            "is_next_of_kin": is_next_of_kin,
            "language": language or "ar",
            "note": note,
        }
    )
    member = FamilyMember(**values)
    _check_family_member(member)
    with transaction.atomic():
        custody = lock_open_custody(custody)
        member.person_id = custody.person_id
        member.save(force_insert=True)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=member,
            facility_id=custody.facility_id,
            after={**_family_audit(member), "person_uuid": str(custody.person.uuid)},
        )
    return member


def family_member_update(
    *, actor, custody: CustodyPeriod, member: FamilyMember, changes: dict
) -> FamilyMember:
    """Change some fields of a family member (``FAMILY_FIELDS``); the audit entry keeps
    the changed fields only, before and after."""
    _require_any(actor, RECORD_PERMISSIONS, custody.facility_id)
    unknown = sorted(set(changes) - set(FAMILY_FIELDS))
    if unknown:
        raise DomainError(
            "invalid",
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(unknown)},
        )
    values = _family_values(changes)
    with transaction.atomic():
        custody = lock_open_custody(custody)
        locked = _member_of(custody, member)
        before = _family_audit(locked)
        for name, value in values.items():
            setattr(locked, name, value)
        if "language" in values and not locked.language:
            locked.language = "ar"
        _check_family_member(locked)
        after = _family_audit(locked)
        changed = [k for k in FAMILY_FIELDS if before[k] != after[k]]
        if not changed:
            return locked
        locked.save(update_fields=changed)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            facility_id=custody.facility_id,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return locked


def family_member_remove(*, actor, custody: CustodyPeriod, member: FamilyMember) -> None:
    """Remove a family member (recorded in the audit trail with what it held). Notices
    that named them keep their record, without the link."""
    _require_any(actor, RECORD_PERMISSIONS, custody.facility_id)
    with transaction.atomic():
        custody = lock_open_custody(custody)
        locked = _member_of(custody, member)
        before = {**_family_audit(locked), "person_uuid": str(custody.person.uuid)}
        audit.record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            obj=locked,
            facility_id=custody.facility_id,
            before=before,
        )
        locked.delete()


# -- the family told of the admission --------------------------------------------------------
def admission_notice_record(
    *,
    actor,
    custody: CustodyPeriod,
    family_member: FamilyMember | None = None,
    channel: str,
    note: str = "",
) -> AdmissionNotice:
    """Record how the family was told of the admission, or why not.

    ``sms``: a family member with a mobile phone is required; the message is sent through
    the notification service in the member's language and linked on the record.
    ``phone_call`` / ``in_person``: a family member, or a note saying who was told.
    ``none``: the note says why the family was not told (the person refused, no contact).
    """
    _require_any(actor, RECORD_PERMISSIONS, custody.facility_id)
    note = _text(note)
    if channel not in NOTICE_CHANNELS:
        raise DomainError("invalid", _("Choose how the family was told."), field="channel")
    if channel == "none" and not note:
        raise DomainError("invalid", _("Say why the family was not told."), field="note")
    if channel == "sms" and family_member is None:
        raise DomainError(
            "invalid", _("Choose the family member to send the SMS to."), field="family_member"
        )
    if channel in ("phone_call", "in_person") and family_member is None and not note:
        raise DomainError(
            "invalid",
            _("Choose the family member who was told, or say who in the note."),
            field="family_member",
        )
    with transaction.atomic():
        custody = lock_open_custody(custody)
        member = None
        if family_member is not None:
            member = _member_of(custody, family_member)
            if channel == "sms" and not member.phone:
                raise DomainError(
                    "no_phone",
                    _("This family member has no mobile phone number on file."),
                    field="family_member",
                )
        notice = AdmissionNotice(
            custody=custody,
            facility_id=custody.facility_id,
            family_member=member,
            channel=channel,
            notified_at=timezone.now(),
            note=note[:300],
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _clean(notice)
        notice.save(force_insert=True)
        if channel == "sms":
            assert member is not None
            person = custody.person
            if member.language == "ar":
                name = person.full_name_ar or person.full_name_latin
            else:
                name = person.full_name_latin or person.full_name_ar
            notice.notification = notify(
                channel=Channel.SMS,
                recipient=member.phone,
                template="inmates_admission_notice",
                context={
                    "name": name,
                    "facility": custody.facility,
                    "committed_at": custody.committed_at,
                    "committal_number": custody.committal_number,
                },
                language=member.language,
                facility_id=custody.facility_id,
                idempotency_key=f"inmates-notice:{notice.uuid}",
            )
            notice.save(update_fields=["notification"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=notice,
            facility_id=custody.facility_id,
            after={
                "custody_uuid": str(custody.uuid),
                "channel": channel,
                "family_member_uuid": str(member.uuid) if member else None,
                "notified_at": notice.notified_at,
                "note": notice.note,
                "notification_uuid": str(notice.notification.uuid) if notice.notification else None,
            },
        )
    return notice


# -- corrections of the record ---------------------------------------------------------------
def _person_values(changes: dict) -> dict:
    out = dict(changes)
    for name, value in changes.items():
        if name == "cin":
            out[name] = normalise_cin(value)
        elif name == "nationality":
            out[name] = (value or "").strip().upper()
        elif name == "birth_date":
            out[name] = value or None
        elif isinstance(value, str) or value is None:
            out[name] = _text(value)
    return out


def person_update(*, actor, custody: CustodyPeriod, changes: dict) -> Person:
    """Correct the identity of the person held under ``custody`` (``inmates.edit`` there).

    ``changes`` maps fields of ``PERSON_FIELDS`` to their new values (unchanged ones may be
    given: only differences count). The name search keys are recomputed. A CIN that is
    another person's is refused (409 ``cin_on_file``): the two records are the same person
    and must be merged, not made to look alike. The audit entry, on the institution's
    chain, holds the changed fields only, before and after.
    """
    _require(actor, "inmates.edit", custody.facility_id)
    unknown = sorted(set(changes) - set(PERSON_FIELDS))
    if unknown:
        raise DomainError(
            "invalid",
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(unknown)},
        )
    values = _person_values(changes)
    try:
        with transaction.atomic():
            custody = lock_open_custody(custody)
            person = Person.objects.select_for_update().get(pk=custody.person_id)
            before = audit.snapshot(person, PERSON_FIELDS)
            for name, value in values.items():
                setattr(person, name, value)
            _clean(person, exclude=["name_key_ar", "name_key_latin"], validate_constraints=False)
            after = audit.snapshot(person, PERSON_FIELDS)
            changed = [k for k in PERSON_FIELDS if before[k] != after[k]]
            if not changed:
                return person
            if "cin" in changed and person.cin:
                _refuse_cin_on_file(person)
            fill_name_keys(person)
            person.save(update_fields=[*changed, "name_key_ar", "name_key_latin", "updated_at"])
            audit.record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=person,
                facility_id=custody.facility_id,
                verb="identity_correction",
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
    except IntegrityError as exc:
        # Another officer gave the same CIN to another person at the same moment.
        cin = values.get("cin")
        if cin and Person.objects.filter(cin=cin).exclude(pk=custody.person_id).exists():
            raise _cin_on_file_error() from exc
        raise
    return person


def _cin_on_file_error() -> ConflictError:
    return ConflictError(
        "cin_on_file",
        _("Another person on file has this identity card number."),
        field="cin",
    )


def _refuse_cin_on_file(person: Person) -> None:
    if Person.objects.filter(cin=person.cin).exclude(pk=person.pk).exists():
        raise _cin_on_file_error()


def _photo_content(upload) -> tuple[bytes, str]:
    """The uploaded photo re-encoded (metadata dropped, orientation applied) and its file
    extension; refuses anything but a JPEG or PNG image of at most 2 MB, whatever its
    name says."""
    too_large = DomainError("photo_too_large", _("The photo may not exceed 2 MB."), field="photo")
    not_image = DomainError(
        "photo_format", _("The photo must be a JPEG or PNG image."), field="photo"
    )
    size = getattr(upload, "size", None)
    if size is not None and size > PHOTO_MAX_BYTES:
        raise too_large
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise too_large
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if fmt not in PHOTO_FORMATS:
                raise not_image
            if max(probe.size) > PHOTO_MAX_SIDE:
                raise DomainError(
                    "photo_format",
                    _("The photo is too large in pixels (at most %(max)s on a side).")
                    % {"max": PHOTO_MAX_SIDE},
                    field="photo",
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            out = io.BytesIO()
            if fmt == "JPEG":
                if img.mode not in ("RGB", "L"):
                    img = img.convert("RGB")
                img.save(out, "JPEG", quality=90)
            else:
                img.save(out, "PNG", optimize=True)
    except DomainError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise not_image from exc
    return out.getvalue(), PHOTO_FORMATS[fmt]


def person_photo_set(*, actor, custody: CustodyPeriod, upload) -> Person:
    """Set the photo of the person held under ``custody`` (``inmates.admit`` or
    ``inmates.edit`` there). The content decides, not the file name: JPEG or PNG, at most
    2 MB. Stored re-encoded under a random name in the default storage (the private media
    root, never served directly: ``views.records.photo`` serves it to those who may see the
    custody period). The previous file is deleted once the change is committed."""
    _require_any(actor, RECORD_PERMISSIONS, custody.facility_id)
    content, ext = _photo_content(upload)
    new_name = None
    try:
        with transaction.atomic():
            custody = lock_open_custody(custody)
            person = Person.objects.select_for_update().get(pk=custody.person_id)
            old_name = person.photo.name or ""
            person.photo.save(f"{uuid_lib.uuid4().hex}.{ext}", ContentFile(content), save=False)
            new_name = person.photo.name
            person.save(update_fields=["photo", "updated_at"])
            audit.record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=person,
                facility_id=custody.facility_id,
                verb="photo",
                before={"photo": old_name},
                after={"photo": new_name},
            )
            if old_name:
                storage = person.photo.storage
                transaction.on_commit(lambda: storage.delete(old_name), robust=True)
    except BaseException:
        if new_name:
            Person._meta.get_field("photo").storage.delete(new_name)
        raise
    return person


def custody_update(*, actor, custody: CustodyPeriod, changes: dict) -> CustodyPeriod:
    """Correct the committal of ``custody`` (``inmates.edit`` there): committing authority,
    court, warrant reference, case number, escort, offences (``offence_codes``, a list of
    codes). The audit entry holds the changed fields only, before and after."""
    _require(actor, "inmates.edit", custody.facility_id)
    unknown = sorted(set(changes) - set(CUSTODY_EDIT_FIELDS))
    if unknown:
        raise DomainError(
            "invalid",
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(unknown)},
        )
    values = {k: _text(v) for k, v in changes.items() if k != "offence_codes"}
    offences = _offences(list(changes["offence_codes"])) if "offence_codes" in changes else None
    with transaction.atomic():
        custody = lock_open_custody(custody)
        fields = [k for k in CUSTODY_EDIT_FIELDS if k != "offence_codes"]
        before = audit.snapshot(custody, fields)
        for name, value in values.items():
            setattr(custody, name, value)
        _clean(custody)
        after = audit.snapshot(custody, fields)
        changed = [k for k in fields if before[k] != after[k]]
        before_diff = {k: before[k] for k in changed}
        after_diff = {k: after[k] for k in changed}
        if offences is not None:
            old_codes = sorted(custody.offences.values_list("code", flat=True))
            new_codes = sorted(o.code for o in offences)
            if old_codes != new_codes:
                custody.offences.set(offences)
                before_diff["offences"] = old_codes
                after_diff["offences"] = new_codes
        if not before_diff and not after_diff:
            return custody
        if changed:
            custody.save(update_fields=changed)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=custody,
            facility_id=custody.facility_id,
            verb="committal_correction",
            before=before_diff,
            after=after_diff,
        )
    return custody
