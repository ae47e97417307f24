"""PDF documents from Django templates, with WeasyPrint (reusable by every domain).

``render_pdf("inmates/movements/release_certificate.html", context, language="ar")``
renders the template in that language (right to left for Arabic: the template sets
``dir`` from ``LANGUAGE_BIDI``) and returns the PDF bytes.

* Fonts: the templates use ``PDF_FONT_STACK`` ("DejaVu Sans" first: it has the Arabic
  glyphs; WeasyPrint shapes Arabic through Pango/HarfBuzz).
* Static files: URLs under ``STATIC_URL`` (``{% static %}``) are read from the static files
  finders (or ``STATIC_ROOT``), never fetched over the network; ``data:`` URIs are allowed
  (QR codes, see ``qr_data_uri``); any other URL is refused. Nothing leaves the machine.
* ``render_html`` returns the HTML handed to WeasyPrint (tests, previews).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

__all__ = ["PDF_FONT_STACK", "BASE_URL", "render_html", "render_pdf", "qr_data_uri"]

PDF_FONT_STACK = '"DejaVu Sans", "Noto Sans Arabic", "Noto Sans", sans-serif'
# Relative and root-relative URLs of the templates resolve against this (no network).
BASE_URL = "http://idmaj.invalid/"


def render_html(template_name: str, context: dict, *, language: str) -> str:
    """The template rendered in ``language``, with ``pdf_font_stack`` in its context."""
    with translation.override(language):
        return render_to_string(
            template_name,
            {
                **context,
                "pdf_font_stack": PDF_FONT_STACK,
                "pdf_language": language,
                "pdf_bidi": translation.get_language_bidi(),
            },
        )


def _static_path(path: str) -> Path | None:
    static_url = urlsplit(settings.STATIC_URL).path
    if not path.startswith(static_url):
        return None
    relative = unquote(path[len(static_url) :])
    if not relative or ".." in Path(relative).parts:
        return None
    found = finders.find(relative)
    if found:
        return Path(found)
    candidate = Path(settings.STATIC_ROOT) / relative
    return candidate if candidate.is_file() else None


def _url_fetcher_for(base_url: str):
    """WeasyPrint's resource loader: data URIs, and static files under ``base_url``'s
    origin read from disk; anything else is refused (nothing is fetched over a network).
    Works with the ``URLFetcher`` class of WeasyPrint 70 and the function of earlier ones."""
    from weasyprint import urls

    base = urlsplit(base_url)

    def local(url: str) -> tuple[bytes, str, str]:
        parts = urlsplit(url)
        same_origin = (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        path = _static_path(parts.path) if same_origin else None
        if path is None:
            raise ValueError(f"resource not allowed in a PDF: {url}")
        mime_type, _encoding = mimetypes.guess_type(path.name)
        return path.read_bytes(), mime_type or "application/octet-stream", path.name

    if hasattr(urls, "URLFetcher"):

        class LocalFetcher(urls.URLFetcher):
            def fetch(self, url, headers=None):
                if url.startswith("data:"):
                    return super().fetch(url, headers)
                data, mime_type, _name = local(url)
                return urls.URLFetcherResponse(url, data, {"Content-Type": mime_type})

        return LocalFetcher(allowed_protocols=["data", base.scheme])

    def fetch(url: str, *args, **kwargs) -> dict:  # WeasyPrint < 70
        if url.startswith("data:"):
            return urls.default_url_fetcher(url, *args, **kwargs)
        data, mime_type, name = local(url)
        return {"string": data, "mime_type": mime_type, "filename": name}

    return fetch


def render_pdf(
    template_name: str, context: dict, *, language: str, base_url: str | None = None
) -> bytes:
    """The template rendered in ``language`` as a PDF document (bytes)."""
    import weasyprint

    html = render_html(template_name, context, language=language)
    base_url = base_url or BASE_URL
    document = weasyprint.HTML(
        string=html, base_url=base_url, url_fetcher=_url_fetcher_for(base_url)
    )
    return document.write_pdf()


def qr_data_uri(content: str, *, scale: int = 4) -> str:
    """A QR code of ``content`` as a PNG data URI, for an ``<img>`` of a document."""
    import segno

    return segno.make(content, error="m").png_data_uri(scale=scale, border=2)
