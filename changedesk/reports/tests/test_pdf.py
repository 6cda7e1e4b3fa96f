"""A frozen report as a PDF: a real PDF of the A4 print, named after the school and the
period, for the readers only; and a clear 503 page, not a 500, where WeasyPrint cannot run."""

from __future__ import annotations

import re
import zlib
from datetime import date

import pytest
from django.urls import reverse

from changedesk.reports import pdf
from changedesk.reports.tests.test_archive_pages import client_of, october  # noqa: F401

pytestmark = pytest.mark.django_db


def inflated(document: bytes) -> bytes:
    """The document with each compressed stream (objects, pages) inflated after it."""
    found = [document]
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", document, re.S):
        try:
            found.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(found)


def pdf_titles(document: bytes) -> list[str]:
    """The document's titles: its /Title (WeasyPrint writes the page's <title>) and its
    bookmarks' (the headings), each a literal string or hex UTF-16 when not plain ASCII
    (they may sit in a compressed object stream)."""
    titles = []
    pattern = rb"/Title\s*(<[0-9A-Fa-f]+>|\((?:\\.|[^\\)])*\))"
    for value in re.findall(pattern, inflated(document)):
        if value.startswith(b"<"):
            raw = bytes.fromhex(value[1:-1].decode())
            utf16 = raw[:2] in (b"\xfe\xff", b"\xff\xfe")
            titles.append(raw.decode("utf-16") if utf16 else raw.decode())
        else:
            titles.append(value[1:-1].decode("latin-1"))
    return titles


def test_the_pdf_is_a_real_pdf_named_after_the_school_and_period(client, team, october):  # noqa: F811
    response = client_of(client, team["fiona"]).get(
        reverse("reports:snapshot_pdf", args=[october.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="greenfield-report-month-2026-10-01.pdf"'
    )
    document = response.content
    assert document.startswith(b"%PDF-")
    assert b"%%EOF" in document[-64:]
    assert len(document) > 10_000
    titles = pdf_titles(document)
    assert any("Greenfield Primary" in t and "October 2026" in t for t in titles), titles
    assert "Decisions" in titles and "Change management" in titles


def test_the_pdf_is_for_the_readers_only(client, team, october, oscar):  # noqa: F811
    url = reverse("reports:snapshot_pdf", args=[october.pk])
    assert client_of(client, team["olivia"]).get(url).status_code == 403
    assert client_of(client, oscar).get(url).status_code == 404


def test_without_weasyprint_the_page_says_why_with_a_503(client, team, october, monkeypatch):  # noqa: F811
    def missing():
        raise pdf.PdfUnavailable("WeasyPrint cannot find the Pango text library it needs.")

    monkeypatch.setattr(pdf, "_weasyprint", missing)
    response = client_of(client, team["fiona"]).get(
        reverse("reports:snapshot_pdf", args=[october.pk])
    )
    assert response.status_code == 503
    page = response.content.decode()
    assert "Pango" in page and "cannot be made" in page
    assert reverse("reports:snapshot_print", args=[october.pk]) in page


def test_a_missing_library_becomes_the_reason(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(pdf.PdfUnavailable, match="Pango"):
        pdf.render("<p>x</p>", "/", lambda url: None)


def test_the_file_name_is_the_snapshots(october):  # noqa: F811
    from changedesk.reports.views.archive import pdf_filename

    assert october.start == date(2026, 10, 1)
    assert pdf_filename(october) == "greenfield-report-month-2026-10-01.pdf"
