"""Template helpers of the family portal (``{% load visits_portal %}``)."""

from __future__ import annotations

import re

from django import template

register = template.Library()

# Spaces and the punctuation that may close an address (Latin and Arabic commas, full stop).
_TRAILING = " \t\n,.;:،؛-–"


def _folded(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def address_with_city(address: str, city: str) -> str:
    """The address followed by the city, unless the address already ends with the city's
    name (as a whole word: "Route de Taza, Oujda" and "Oujda" give the address alone)."""
    address = " ".join(str(address or "").split()).rstrip(_TRAILING)
    city = " ".join(str(city or "").split()).strip(_TRAILING)
    if not address:
        return city
    if not city:
        return address
    folded, name = _folded(address), _folded(city)
    if folded.endswith(name):
        before = folded[: len(folded) - len(name)]
        # A whole word: "Rue Xoujda" does not end with the city of Oujda.
        if not before or not re.search(r"\w$", before):
            return address
    return f"{address}, {city}"


@register.filter
def facility_address(facility) -> str:
    """An institution's postal address for families: ``address_with_city`` ('' if none)."""
    if facility is None:
        return ""
    return address_with_city(getattr(facility, "address", ""), getattr(facility, "city", ""))
