"""``idmaj import_registry FILE [--facility CODE] [--apply] [--user NAME] [--language fr]``:
check (dry run) or import a legacy registry file (CSV or XLSX).

Prints every error with its row and column, the warnings and the counts. Exit status: 0 when
the file is valid (and, with ``--apply``, imported), 1 when errors were found (nothing was
imported), 2 when the command itself was misused (missing file, unknown institution or user,
refused permission).
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from idmaj.core.errors import DomainError
from idmaj.facilities.models import Facility

from ...constants import ImportStatus
from ...services import (
    registry_import_apply,
    registry_import_issues,
    registry_import_validate,
)


class Command(BaseCommand):
    help = (
        "Check (dry run) or import (--apply) a legacy registry file, CSV or XLSX, one row per "
        "committal. Exit status 1 when the file has errors: nothing is imported then."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV (UTF-8) or XLSX file")
        parser.add_argument(
            "--facility", help="institution code of the rows whose facility column is empty"
        )
        parser.add_argument(
            "--apply", action="store_true", help="import the file (default: dry run only)"
        )
        parser.add_argument(
            "--user",
            help="act as this user (their institutions and permissions; the audit trail "
            "names them); by default the system itself",
        )
        parser.add_argument(
            "--language", choices=["ar", "fr", "en"], help="language of the messages"
        )

    def handle(self, *args, **opts):
        if opts.get("language"):
            translation.activate(opts["language"])
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path}, returncode=2)
        facility = None
        if opts.get("facility"):
            facility = Facility.objects.filter(code=opts["facility"].strip().upper()).first()
            if facility is None:
                raise CommandError(
                    _("Unknown institution: %(code)s") % {"code": opts["facility"]}, returncode=2
                )
        actor = None
        if opts.get("user"):
            actor = get_user_model().objects.filter(username=opts["user"], is_active=True).first()
            if actor is None:
                raise CommandError(
                    _("Unknown user: %(name)s") % {"name": opts["user"]}, returncode=2
                )
        run = registry_import_apply if opts["apply"] else registry_import_validate
        try:
            batch = run(actor=actor, file=path.read_bytes(), filename=path.name, facility=facility)
        except DomainError as err:
            raise CommandError(str(err.message), returncode=2) from err
        errors, warnings = registry_import_issues(batch)
        for issue in errors:
            self.stderr.write(self._line(_("error"), issue))
        for issue in warnings:
            self.stdout.write(self._line(_("warning"), issue))
        self.stdout.write(
            _(
                "Rows: %(total)s · created: %(created)s · already imported: %(skipped)s · "
                "errors: %(errors)s · warnings: %(warnings)s"
            )
            % {
                "total": batch.rows_total,
                "created": batch.rows_created if batch.status == ImportStatus.APPLIED else 0,
                "skipped": batch.rows_skipped,
                "errors": len(errors),
                "warnings": len(warnings),
            }
        )
        self.stdout.write(
            _("Batch %(uuid)s: %(status)s.")
            % {"uuid": batch.uuid, "status": batch.get_status_display()}
        )
        if errors:
            raise CommandError(
                _("%(count)s errors found: nothing was imported.") % {"count": len(errors)},
                returncode=1,
            )
        if batch.status == ImportStatus.VALIDATED:
            self.stdout.write(
                _("Dry run: %(count)s committals would be created; run again with --apply.")
                % {"count": batch.rows_created}
            )

    @staticmethod
    def _line(level: str, issue: dict) -> str:
        where = _("row %(row)s, column %(column)s") % {
            "row": issue["row"] if issue["row"] is not None else "—",
            "column": issue["column"] or "—",
        }
        return f"{level}: {where}: {issue['message']}"
