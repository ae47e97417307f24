"""Form of the registry import page: the file and, optionally, its institution."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from idmaj.core.errors import DomainError
from idmaj.facilities.models import Facility

from ..services import registry_import_check_upload

# Bytes read to check a file's content before it is kept (XLSX signature, UTF-8 text).
HEAD_BYTES = 64 * 1024


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    facility = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Facility.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("As named in the file (column “facility”)"),
        help_text=_("The institution of the rows whose “facility” column is empty."),
    )

    def __init__(self, *args, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities
        only = list(facilities[:2])
        if len(only) == 1:
            self.fields["facility"].initial = only[0]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        head = upload.read(HEAD_BYTES)
        upload.seek(0)
        try:
            registry_import_check_upload(filename=upload.name, size=upload.size, head=head)
        except DomainError as err:
            raise forms.ValidationError(err.message, code=err.code) from err
        return upload
