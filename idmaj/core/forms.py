"""Forms of the staff account pages: they check what was typed; the services decide.

Edit forms are plain ``forms.Form`` built from the model's fields (labels, choices and
validators come from the model) rather than ``ModelForm``, which would write into the
instance while validating: only the services change an account.
"""

from __future__ import annotations

from django import forms
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from .constants import ScopeLevel
from .models import Role, User
from .roles import role_label
from .services import USER_UPDATABLE

NAME_LABELS = {
    "first_name": _("First name (Latin script)"),
    "last_name": _("Last name (Latin script)"),
    "full_name_ar": _("Full name (Arabic script)"),
}


def role_choices() -> list[tuple[str, str]]:
    return [(code, role_label(code)) for code in Role.objects.values_list("code", flat=True)]


class _AccountFieldsForm(forms.Form):
    """The account fields that ``services.USER_UPDATABLE`` names, as the model declares them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(User, fields=USER_UPDATABLE, labels=NAME_LABELS))
        self.fields["full_name_ar"].widget.attrs.update({"dir": "rtl", "lang": "ar"})
        for name in ("first_name", "last_name", "email", "phone"):
            self.fields[name].widget.attrs["dir"] = "ltr"
        self.order_fields(self.field_order)


class AccountFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("User name, name or e-mail")}
        ),
    )
    role = forms.ChoiceField(label=_("Role"), required=False)
    region = forms.ChoiceField(label=_("Regional directorate"), required=False)
    facility = forms.ChoiceField(label=_("Institution"), required=False)
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All accounts")), ("yes", _("Active")), ("no", _("Deactivated"))],
    )

    def __init__(self, *args, regions, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("All roles")), *role_choices()]
        self.fields["region"].choices = [("", _("All regional directorates"))] + [
            (r.code, r.name) for r in regions
        ]
        self.fields["facility"].choices = [("", _("All institutions"))] + [
            (f.code, f"{f.code} · {f.name}") for f in facilities
        ]


class AccountCreateForm(_AccountFieldsForm):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("Letters, digits and . @ + - _ only, e.g. registry.oujda2."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "dir": "ltr"}),
    )
    password = forms.CharField(
        label=_("Initial password"),
        strip=False,
        help_text=_("At least 12 characters, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Initial password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    field_order = ["username", *USER_UPDATABLE, "password", "password_again"]

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class AccountEditForm(_AccountFieldsForm):
    pass


class RoleAssignForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))
    level = forms.ChoiceField(label=_("Scope"), choices=ScopeLevel.choices)
    region = forms.ModelChoiceField(
        label=_("Regional directorate"), queryset=None, required=False, to_field_name="code"
    )
    facility = forms.ModelChoiceField(
        label=_("Institution"), queryset=None, required=False, to_field_name="code"
    )

    def __init__(self, *args, regions, facilities, national: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", "—"), *role_choices()]
        self.fields["region"].queryset = regions
        self.fields["facility"].queryset = facilities
        self.fields["region"].label_from_instance = lambda r: r.name
        self.fields["facility"].label_from_instance = lambda f: f"{f.code} · {f.name}"
        if not national:  # a regional or institution administrator gives no national role
            self.fields["level"].choices = [
                c for c in ScopeLevel.choices if c[0] != ScopeLevel.NATIONAL
            ]


class DeactivateForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the audit trail, e.g. left the service, transferred, suspended."),
    )


class ConfirmForm(forms.Form):
    """A confirmation: nothing to type, the button says it."""


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        help_text=_("At least 12 characters, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two passwords differ."))
        return data
