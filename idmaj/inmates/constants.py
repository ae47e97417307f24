from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PersonSex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class LegalStatus(models.TextChoices):
    REMAND = "remand", _("on remand")
    CONVICTED = "convicted", pgettext_lazy("legal status", "convicted")
    APPEALING = "appealing", _("appealing")


# Legal statuses housed on the remand side of the separation rule: a prisoner whose
# conviction is not final (appeal pending) is not yet a convicted prisoner.
REMAND_SIDE = (LegalStatus.REMAND, LegalStatus.APPEALING)


class CustodyStatus(models.TextChoices):
    IN_CUSTODY = "in_custody", _("in custody")
    RELEASED = "released", _("released")
    TRANSFERRED_OUT = "transferred_out", _("transferred out")
    ESCAPED = "escaped", _("escaped")
    DECEASED = "deceased", _("died in custody")


class DetentionEnd(models.TextChoices):
    """How a detention (committal to leaving the prison system) ended."""

    END_OF_SENTENCE = "end_of_sentence", _("end of sentence")
    PARDON = "pardon", _("royal pardon")
    ACQUITTAL = "acquittal", _("acquittal")
    PROVISIONAL_RELEASE = "provisional_release", _("provisional release")
    CONDITIONAL_RELEASE = "conditional_release", _("conditional release")
    OTHER_RELEASE = "other_release", _("other release decision")
    ESCAPE = "escape", _("escape")
    DEATH = "death", _("death in custody")


# The ends of a detention that are releases (``inmate_release``); escape and death have
# their own services.
RELEASE_REASONS = (
    DetentionEnd.END_OF_SENTENCE,
    DetentionEnd.PARDON,
    DetentionEnd.ACQUITTAL,
    DetentionEnd.PROVISIONAL_RELEASE,
    DetentionEnd.CONDITIONAL_RELEASE,
    DetentionEnd.OTHER_RELEASE,
)


class Relationship(models.TextChoices):
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    FATHER = "father", _("father")
    MOTHER = "mother", _("mother")
    SIBLING = "sibling", _("brother or sister")
    GRANDPARENT = "grandparent", _("grandparent")
    OTHER_RELATIVE = "other_relative", _("other relative")
    GUARDIAN = "guardian", _("legal guardian")
    LAWYER = "lawyer", _("lawyer")
    OTHER = "other", _("other")


class PropertyStatus(models.TextChoices):
    KEPT = "kept", _("kept in storage")
    RETURNED = "returned", _("returned to the prisoner")
    HANDED_OVER = "handed_over", _("handed over to a relative")
    DISPOSED = "disposed", _("disposed of (with record)")


class HearingKind(models.TextChoices):
    INVESTIGATION = "investigation", _("investigating judge")
    TRIAL = "trial", _("trial (first instance)")
    APPEAL = "appeal", _("appeal")
    CASSATION = "cassation", _("cassation")
    OTHER = "other", _("other")


class HearingOutcome(models.TextChoices):
    PENDING = "pending", _("not yet decided")
    ADJOURNED = "adjourned", _("adjourned")
    REMAND_EXTENDED = "remand_extended", _("detention on remand continued")
    CONVICTED = "convicted", _("convicted and sentenced")
    APPEAL_LODGED = "appeal_lodged", _("appeal lodged")
    SENTENCE_UPHELD = "sentence_upheld", _("sentence upheld")
    SENTENCE_CHANGED = "sentence_changed", _("sentence changed")
    ACQUITTED = "acquitted", _("acquitted")
    RELEASE_ORDERED = "release_ordered", _("release ordered")


class SentenceStatus(models.TextChoices):
    IN_FORCE = "in_force", _("in force")
    QUASHED = "quashed", _("quashed or replaced")


class PardonKind(models.TextChoices):
    REDUCTION = "reduction", _("reduction of the sentence")
    RELEASE = "release", _("release")
    COMMUTATION = "commutation", _("commutation (life to a term)")


class ConditionalReleaseStatus(models.TextChoices):
    GRANTED = "granted", _("granted")
    REFUSED = "refused", _("refused")
    REVOKED = "revoked", _("revoked")


class MovementKind(models.TextChoices):
    TRANSFER = "transfer", _("transfer to another institution")
    COURT = "court", _("court appearance")
    HOSPITAL = "hospital", _("hospital visit")
    OTHER_ABSENCE = "other_absence", _("other temporary absence")


# Temporary absences: out and back; the person stays on the institution's roll.
TEMPORARY_ABSENCES = (MovementKind.COURT, MovementKind.HOSPITAL, MovementKind.OTHER_ABSENCE)


class ImportStatus(models.TextChoices):
    VALIDATED = "validated", _("validated (dry run)")
    FAILED = "failed", _("refused: errors found")
    APPLIED = "applied", _("imported")
