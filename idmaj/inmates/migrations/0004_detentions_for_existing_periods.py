"""Give every custody period recorded before detentions existed its own detention and its
legal status history (one period, from committal)."""

import uuid

from django.db import migrations


def forwards(apps, schema_editor):
    CustodyPeriod = apps.get_model("inmates", "CustodyPeriod")
    Detention = apps.get_model("inmates", "Detention")
    LegalStatusPeriod = apps.get_model("inmates", "LegalStatusPeriod")
    for cp in CustodyPeriod.objects.filter(detention__isnull=True).order_by("pk").iterator():
        ended = cp.status != "in_custody" and cp.status != "transferred_out"
        detention = Detention.objects.create(
            uuid=uuid.uuid4(),
            person_id=cp.person_id,
            started_at=cp.committed_at,
            ended_at=cp.released_at if ended else None,
            end_reason="other_release" if ended else "",
        )
        cp.detention_id = detention.pk
        cp.save(update_fields=["detention"])
        LegalStatusPeriod.objects.create(
            custody_id=cp.pk,
            facility_id=cp.facility_id,
            status=cp.legal_status,
            valid_from=cp.committed_at,
            valid_to=cp.released_at,
        )


class Migration(migrations.Migration):
    dependencies = [("inmates", "0003_registry_records")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
