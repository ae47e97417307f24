"""The release certificate (PDF in Arabic and French) and the PDF helper ``inmates.pdf``."""

from __future__ import annotations

import re
import zlib

import pytest
from django.utils import timezone

from idmaj.inmates import pdf, selectors
from idmaj.inmates.services import inmate_release

from . import movements_fixtures as fx
from .movements_fixtures import *  # noqa: F403


def pdf_text(data: bytes) -> str:
    """Text of a PDF for assertions: with ``pypdf`` when installed (page text and
    metadata), else the PDF's own bytes and its inflated streams (the metadata, whose title
    carries the certificate number, is in a compressed object stream)."""
    try:
        import pypdf  # noqa: PLC0415
    except ImportError:
        chunks = [data]
        for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
            try:
                chunks.append(zlib.decompress(m.group(1)))
            except zlib.error:
                continue
        return b"\n".join(chunks).decode("latin-1")
    import io

    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return f"{text}\n{reader.metadata.title if reader.metadata else ''}"


@pytest.fixture
def released(mv):
    w = mv
    w["record"] = inmate_release(
        actor=fx.user(w, "registry.oujda2"),
        custody=w["custody"],
        reason="acquittal",
        at=fx.ago(hours=1),
        authority="Tribunal de première instance d'Oujda",
        decision_reference="JUG-2026-55",
        checklist=fx.ALL_TICKED,
    )
    return w


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_certificate_pdf(released, language):
    w = released
    number = w["record"].certificate_number
    data, filename = selectors.release_certificate_pdf(custody=w["custody"], language=language)
    assert data.startswith(b"%PDF-")
    assert filename == f"{number}-{language}.pdf"
    text = pdf_text(data)
    assert number in text
    assert "OUJDA2-L-1999-" not in text


def test_certificate_html_arabic(released):
    w = released
    number = w["record"].certificate_number
    context = selectors.release_certificate_context(custody=w["custody"])
    html = pdf.render_html(selectors.CERTIFICATE_TEMPLATE, context, language="ar")
    assert '<html lang="ar" dir="rtl">' in html
    assert '"DejaVu Sans"' in html
    assert number in html and "OUJDA2-2026-000900" in html
    # identity in both scripts, the institution in Arabic, the Hijri date beside the dates
    assert "يوسف الإدريسي" in html and "Youssef Idrissi" in html and "AB123456" in html
    assert w["a"].name_ar in html
    assert "هـ" in html
    assert "JUG-2026-55" in html and "Tribunal de première instance d&#x27;Oujda" in html
    # the QR code carries the certificate number
    assert context["qr"] == pdf.qr_data_uri(number) and context["qr"] in html
    assert context["qr"].startswith("data:image/png;base64,")


def test_certificate_html_french(released):
    w = released
    context = selectors.release_certificate_context(custody=w["custody"])
    html = pdf.render_html(selectors.CERTIFICATE_TEMPLATE, context, language="fr")
    assert '<html lang="fr" dir="ltr">' in html
    assert w["a"].name_fr in html and "يوسف الإدريسي" in html
    assert "هـ" not in html  # the Hijri date goes with the Arabic document
    assert timezone.localtime(w["record"].released_at).strftime("%H:%M") in html


def test_certificate_needs_a_release(mv):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.release_certificate_pdf(custody=mv["custody"], language="ar")


def test_certificate_language():
    from django.utils import translation

    assert selectors.certificate_language("fr") == "fr"
    with translation.override("fr"):
        assert selectors.certificate_language(None) == "fr"
        assert selectors.certificate_language("de") == "fr"
    with translation.override("en"):
        assert selectors.certificate_language(None) == "ar"


def test_pdf_resources_are_local_only():
    fetcher = pdf._url_fetcher_for(pdf.BASE_URL)
    fetch = getattr(fetcher, "fetch", fetcher)
    with pytest.raises(ValueError, match="not allowed"):
        fetch("https://example.com/logo.png")
    with pytest.raises(ValueError, match="not allowed"):
        fetch(pdf.BASE_URL + "etc/passwd")
    with pytest.raises(ValueError, match="not allowed"):
        fetch(pdf.BASE_URL + "static/../settings.py")
    found = fetch(pdf.BASE_URL + "static/idmaj/css/idmaj.css")
    body = found.read() if hasattr(found, "read") else found["string"]
    assert b"margin" in body


def test_render_pdf_with_a_static_stylesheet(tmp_path, settings):
    templates = tmp_path / "templates"
    (templates / "t").mkdir(parents=True)
    (templates / "t" / "doc.html").write_text(
        '{% load static i18n %}<html lang="{{ pdf_language }}"><head><title>{{ ref }}</title>'
        '<link rel="stylesheet" href="{% static "idmaj/css/idmaj.css" %}">'
        '<img src="https://example.com/x.png"></head>'
        '<body style="font-family: {{ pdf_font_stack|safe }}">{% translate "Release" %} {{ ref }}'
        "</body></html>",
        encoding="utf-8",
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [templates, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    data = pdf.render_pdf("t/doc.html", {"ref": "REF-123456"}, language="fr")
    assert data.startswith(b"%PDF") and "REF-123456" in pdf_text(data)
