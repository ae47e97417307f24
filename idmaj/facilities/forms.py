"""Forms of the facilities pages: they validate what was typed; the services decide.

Edit forms are plain ``forms.Form`` built from the model's fields (labels, choices and
validators come from the model) rather than ``ModelForm``: a ModelForm writes into the
instance while validating, and only the services may change a record.
"""

from __future__ import annotations

from django import forms
from django.db import models
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from .constants import FacilityKind, FacilityStatus, ProjectKind, ProjectStatus
from .models import (
    Building,
    Cell,
    Facility,
    FacilityStatusPeriod,
    InfrastructureProject,
    Installation,
    Region,
    Wing,
)
from .services import CELL_UPDATABLE, FACILITY_UPDATABLE, PROJECT_UPDATABLE


def date_input() -> forms.DateInput:
    """A native date picker; ISO values whatever the language of the page."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _region_choices() -> list[tuple[str, str]]:
    return [("", _("All regional directorates"))] + [
        (r.code, r.name) for r in Region.objects.order_by("code")
    ]


def _with_all(label, choices) -> list:
    return [("", label), *choices]


def _formfield(db_field, **kwargs):
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class _ModelFieldsForm(forms.Form):
    """A form whose fields are those of ``model`` named in ``field_names``."""

    model: type | None = None
    field_names: tuple[str, ...] = ()
    labels: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        widgets = {}
        for name in self.field_names:
            if self.model._meta.get_field(name).get_internal_type() == "DateField":
                widgets[name] = date_input()
        self.fields.update(
            fields_for_model(
                self.model,
                fields=self.field_names,
                widgets=widgets,
                labels=self.labels,
                formfield_callback=_formfield,
            )
        )


# -- filters ---------------------------------------------------------------------------------
class FacilityFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Code, name or city")}),
    )
    region = forms.ChoiceField(label=_("Regional directorate"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=_with_all(_("All kinds"), FacilityKind.choices)
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=_with_all(_("All statuses"), FacilityStatus.choices),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _region_choices()


class CapacityFilterForm(forms.Form):
    on = forms.DateField(label=_("On"), widget=date_input())
    region = forms.ChoiceField(label=_("Regional directorate"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _region_choices()


class ProjectFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=_with_all(_("All kinds"), ProjectKind.choices)
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=_with_all(_("All statuses"), ProjectStatus.choices),
    )
    completed_year = forms.IntegerField(
        label=_("Completed in (year)"), required=False, min_value=1900, max_value=2100
    )
    region = forms.ChoiceField(label=_("Regional directorate"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _region_choices()


class InstallationFilterForm(forms.Form):
    type_code = forms.ChoiceField(label=_("Installation"), required=False)
    on = forms.DateField(label=_("At the end of"), widget=date_input())

    def __init__(self, *args, types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = _with_all(
            _("All installations"), [(t.code, t.name) for t in types]
        )


# -- edits -----------------------------------------------------------------------------------
class FacilityEditForm(_ModelFieldsForm):
    model = Facility
    field_names = FACILITY_UPDATABLE  # what the service lets change
    labels = {"latitude": _("latitude"), "longitude": _("longitude")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = Region.objects.order_by("code")


class StatusPeriodForm(_ModelFieldsForm):
    model = FacilityStatusPeriod
    field_names = ("status", "since", "note")


class BuildingForm(_ModelFieldsForm):
    model = Building
    field_names = ("name",)


class WingForm(_ModelFieldsForm):
    model = Wing
    field_names = ("building", "name", "sex", "age_group", "regime", "special_use")

    def __init__(self, *args, facility, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(facility=facility).order_by(
            "name"
        )


class CellEditForm(_ModelFieldsForm):
    model = Cell
    field_names = CELL_UPDATABLE


class CellForm(_ModelFieldsForm):
    model = Cell
    field_names = (
        "wing",
        "number",
        "beds",
        "operational_max",
        "special_use",
        "in_service_from",
        "in_service_until",
    )

    def __init__(self, *args, facility, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wing"].queryset = (
            Wing.objects.filter(facility=facility)
            .select_related("building")
            .order_by("building__name", "name")
        )
        self.fields["wing"].label_from_instance = lambda w: f"{w.building.name} · {w.name}"


class ProjectForm(_ModelFieldsForm):
    model = InfrastructureProject
    field_names = PROJECT_UPDATABLE


class InstallationForm(forms.Form):
    type_code = forms.ChoiceField(label=_("Installation"))
    installed_on = forms.DateField(label=_("installed on"), widget=date_input())
    note = forms.CharField(label=_("note"), required=False, max_length=300)

    def __init__(self, *args, types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = [("", "---------")] + [(t.code, t.name) for t in types]


class InstallationRemoveForm(forms.Form):
    removed_on = forms.DateField(
        label=Installation._meta.get_field("removed_on").verbose_name, widget=date_input()
    )
