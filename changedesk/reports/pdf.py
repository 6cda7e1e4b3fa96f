"""A frozen report as a PDF: the A4 print page through WeasyPrint.

WeasyPrint is imported only when a PDF is asked for, so the rest of the product runs on a
machine without it or without the Pango library it draws text with; there `render` raises
`PdfUnavailable` saying why, and the page answers 503 with that reason and the way to the
print page (the browser's "Save as PDF" gives the same document).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


class PdfUnavailable(Exception):
    """WeasyPrint cannot run here; `reason` says why, for the person who asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError as error:
        raise PdfUnavailable(
            "WeasyPrint is not installed on this server."
            if error.name == "weasyprint"
            else f"WeasyPrint cannot start here: {error}."
        ) from error
    except OSError as error:  # Pango (or a library it needs) is missing
        raise PdfUnavailable(
            f"WeasyPrint cannot find the Pango text library it needs on this server ({error})."
        ) from error
    return weasyprint


def render(html: str, base_url: str, local: Callable[[str], str | None]) -> bytes:
    """`html` as a PDF. Its links are resolved against `base_url`; `local(url)` names the
    file on disk that an absolute URL stands for (the static stylesheets), or None. Nothing
    is fetched over the network: only those files and inline `data:` URLs are read."""
    weasyprint = _weasyprint()
    from weasyprint.urls import URLFetcher

    class LocalFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint has no type hints
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            found = local(url)
            if found is None:
                raise ValueError(f"Not read for a PDF: {url}")
            return super().fetch(Path(found).resolve().as_uri(), headers)

    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=LocalFetcher())
    pdf: bytes = document.write_pdf()
    return pdf
