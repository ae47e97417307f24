"""Registry pages: import of a legacy registry (CSV or XLSX).

The officer uploads a file: it is kept in private storage (under MEDIA_ROOT, by its
SHA-256) and validated (dry run); the report lists every error with its row and column.
When the file is valid, the "Import" button applies the same file: the service validates
it again and writes it, all or nothing. Who may import where is the service's rule
(``inmates.import`` per institution); the batches a user sees come from the selector.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied

from .. import services
from ..constants import ImportStatus
from ..forms.imports import ImportUploadForm
from ..selectors import imports as selectors

# Issues shown on the report page (all of them are in the API and the command's output).
SHOWN_ISSUES = 1000


def _history(request):
    batches = selectors.import_batch_list(fetched_by=request.user).defer("errors")
    return Paginator(batches, 25).get_page(request.GET.get("page"))


@login_required
def import_page(request):
    if not selectors.can_import(request.user):
        raise HttpForbidden
    facilities = selectors.import_facilities(user=request.user)
    status = 200
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, facilities=facilities)
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                services.registry_import_file_store(content=content, filename=upload.name)
                batch = services.registry_import_validate(
                    actor=request.user,
                    file=content,
                    filename=upload.name,
                    facility=form.cleaned_data["facility"],
                    max_rows=services.IMPORT_MAX_ROWS_ONLINE,
                )
            except DomainPermissionDenied as err:
                raise HttpForbidden from err
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
                status = err.status
            else:
                return redirect("inmates:import_batch", uuid=batch.uuid)
    else:
        form = ImportUploadForm(facilities=facilities)
    return render(
        request,
        "inmates/imports/page.html",
        {
            "form": form,
            "page": _history(request),
            "columns": services.IMPORT_COLUMNS,
            "max_mb": services.IMPORT_MAX_BYTES // (1024 * 1024),
            "max_rows": services.IMPORT_MAX_ROWS_ONLINE,
        },
        status=status,
    )


@login_required
def import_batch(request, uuid):
    batch = selectors.get_import_batch_for_user_or_404(user=request.user, uuid=uuid)
    errors, warnings = services.registry_import_issues(batch)
    can_apply = (
        batch.status == ImportStatus.VALIDATED
        and services.registry_import_file_load(sha256=batch.sha256, filename=batch.filename)
        is not None
    )
    return render(
        request,
        "inmates/imports/batch.html",
        {
            "batch": batch,
            "errors": errors[:SHOWN_ISSUES],
            "warnings": warnings[:SHOWN_ISSUES],
            "error_count": len(errors),
            "warning_count": len(warnings),
            "shown": SHOWN_ISSUES,
            "can_apply": can_apply,
        },
    )


@login_required
@require_POST
def import_apply(request, uuid):
    batch = selectors.get_import_batch_for_user_or_404(user=request.user, uuid=uuid)
    if batch.status != ImportStatus.VALIDATED:
        messages.error(request, _("Only a validated file can be imported."))
        return redirect("inmates:import_batch", uuid=batch.uuid)
    content = services.registry_import_file_load(sha256=batch.sha256, filename=batch.filename)
    if content is None:
        messages.error(request, _("The file is no longer available: upload it again."))
        return redirect("inmates:import")
    try:
        applied = services.registry_import_apply(
            actor=request.user,
            file=content,
            filename=batch.filename,
            facility=batch.facility,
            max_rows=services.IMPORT_MAX_ROWS_ONLINE,
        )
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        messages.error(request, err.message)
        return redirect("inmates:import_batch", uuid=batch.uuid)
    if applied.status == ImportStatus.APPLIED:
        services.registry_import_file_discard(sha256=batch.sha256, filename=batch.filename)
        messages.success(
            request,
            _("Imported: %(created)s committals created, %(skipped)s already imported.")
            % {"created": applied.rows_created, "skipped": applied.rows_skipped},
        )
    else:
        messages.error(request, _("Nothing was imported: the file has errors."))
    return redirect("inmates:import_batch", uuid=applied.uuid)


_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@login_required
def import_template(request, lang, kind):
    if not selectors.can_import(request.user):
        raise HttpForbidden
    if kind not in _CONTENT_TYPES:
        raise Http404
    body = services.registry_import_template(kind=kind, lang=lang)
    response = HttpResponse(body, content_type=_CONTENT_TYPES[kind])
    response["Content-Disposition"] = f'attachment; filename="idmaj-registry-{lang}.{kind}"'
    return response


urlpatterns = [
    path("import/", import_page, name="import"),
    re_path(
        r"^import/template-(?P<lang>en|fr)\.(?P<kind>csv|xlsx)$",
        import_template,
        name="import_template",
    ),
    path("import/<uuid:uuid>/", import_batch, name="import_batch"),
    path("import/<uuid:uuid>/apply/", import_apply, name="import_apply"),
]
