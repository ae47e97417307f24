"""Template helpers available in every template: dates with their Hijri equivalent, numbers."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import get_language
from hijridate import Gregorian

register = template.Library()

_HIJRI_MONTHS_AR = [
    "محرم",
    "صفر",
    "ربيع الأول",
    "ربيع الآخر",
    "جمادى الأولى",
    "جمادى الآخرة",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذو القعدة",
    "ذو الحجة",
]


def hijri_text(value: dt.date) -> str:
    try:
        h = Gregorian(value.year, value.month, value.day).to_hijri()
    except (ValueError, OverflowError):
        return ""
    return f"{h.day} {_HIJRI_MONTHS_AR[h.month - 1]} {h.year} هـ"


@register.filter
def hijri(value) -> str:
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return hijri_text(value)


@register.filter
def date_h(value, fmt: str = "DATE_FORMAT"):
    """A Gregorian date, with the Hijri date beside it when the page is in Arabic."""
    if not value:
        return ""
    shown = value
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        shown = timezone.localtime(value)
    text = formats.date_format(shown, fmt)
    if (get_language() or "ar").startswith("ar"):
        h = hijri(value)
        if h:
            return format_html('{} <span class="hijri">({})</span>', text, h)
    return text


@register.filter
def pct(value, digits: int = 1) -> str:
    """A ratio as a percentage; "—" when there is no figure (e.g. no population yet)."""
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return "—"


@register.simple_tag(takes_context=True)
def has_perm(context, code: str, facility_id=None) -> bool:
    from idmaj.core.scoping import access_for

    return access_for(context["request"].user).has_perm(code, facility_id)


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag(takes_context=True)
def query_replace(context, **kwargs) -> str:
    """The current query string with some parameters replaced (pagination links)."""
    query = context["request"].GET.copy()
    for k, v in kwargs.items():
        query[k] = v
    return query.urlencode()


@register.filter
def role_label(code: str):
    """A role's label in the active language, from its code."""
    from idmaj.core.roles import role_label as label

    return label(code)
