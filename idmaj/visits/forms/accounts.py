"""Forms of the family portal's account pages (input only; the rules are the services')."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

LANGUAGE_CHOICES = [("ar", "العربية"), ("fr", "Français")]


def _phone_field(**kw) -> forms.CharField:
    return forms.CharField(
        label=_("Mobile phone"),
        max_length=30,
        help_text=kw.pop("help_text", _("For example 0612345678.")),
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "dir": "ltr"}
        ),
        **kw,
    )


def _password_field(label, autocomplete: str, **kw) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete, "dir": "ltr"}),
        **kw,
    )


def _code_field() -> forms.CharField:
    return forms.CharField(
        label=_("Code received by SMS"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "dir": "ltr",
                "class": "code-input",
            }
        ),
    )


class _NewPasswordMixin:
    """Two password fields that must match (the validators run in the service)."""

    password_fields = ("new_password", "new_password2")

    def clean(self):
        data = super().clean()  # type: ignore[misc]
        first, second = self.password_fields
        if data.get(first) and data.get(second) and data[first] != data[second]:
            self.add_error(second, _("The two passwords are not the same."))  # type: ignore[attr-defined]
        return data


class RegisterForm(_NewPasswordMixin, forms.Form):
    password_fields = ("password", "password2")

    cin = forms.CharField(
        label=_("National identity card number (CIN)"),
        max_length=20,
        help_text=_("As on your card, for example AB123456."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "dir": "ltr"}),
    )
    first_name = forms.CharField(label=_("First name"), max_length=100)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    phone = _phone_field(
        help_text=_("A mobile number: we send you a code by SMS to check it. Example: 0612345678.")
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "dir": "ltr"}),
    )
    password = _password_field(
        _("Password"),
        "new-password",
        help_text=_("At least 12 characters; not only digits, not a common password."),
    )
    password2 = _password_field(_("Password again"), "new-password")


class VerifyForm(forms.Form):
    code = _code_field()


class SigninForm(forms.Form):
    phone = _phone_field(help_text="")
    password = _password_field(_("Password"), "current-password")


class ResetRequestForm(forms.Form):
    phone = _phone_field(help_text=_("The mobile number of your account."))


class ResetConfirmForm(_NewPasswordMixin, forms.Form):
    phone = _phone_field(help_text="")
    code = _code_field()
    new_password = _password_field(
        _("New password"),
        "new-password",
        help_text=_("At least 12 characters; not only digits, not a common password."),
    )
    new_password2 = _password_field(_("New password again"), "new-password")


class AccountForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of the SMS and e-mails"),
        choices=LANGUAGE_CHOICES,
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        help_text=_("Confirmations are also sent there."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "dir": "ltr"}),
    )


class PasswordChangeForm(_NewPasswordMixin, forms.Form):
    old_password = _password_field(_("Current password"), "current-password")
    new_password = _password_field(
        _("New password"),
        "new-password",
        help_text=_("At least 12 characters; not only digits, not a common password."),
    )
    new_password2 = _password_field(_("New password again"), "new-password")


class SignOutEverywhereForm(forms.Form):
    password = _password_field(_("Current password"), "current-password")
