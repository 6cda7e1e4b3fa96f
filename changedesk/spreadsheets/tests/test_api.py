"""The spreadsheets API: upload and check, read, apply; the exports with a token; who may."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk.changes.history import verify_history
from changedesk.changes.models import Change
from changedesk.spreadsheets.models import ChangeImport
from changedesk.spreadsheets.tests import files

IMPORTS = "/api/v1/spreadsheets/imports/"


def api_for(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        token = Token.objects.create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def post_file(api, data=None, name="log.csv", **extra):
    upload = SimpleUploadedFile(name, files.utf8_bom() if data is None else data)
    return api.post(IMPORTS, {"school": "greenfield", "file": upload, **extra}, format="multipart")


def test_upload_check_read_and_apply(team):
    api = api_for(team["sam"])
    response = post_file(api, mapping=json.dumps({"Notes": ""}))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "previewed"
    assert body["mapping"]["Title"] == "title"
    assert body["mapping"]["Notes"] == ""  # left out, as asked
    assert body["error_count"] == 0
    assert len(body["preview"]) == 2
    read = api.get(f"{IMPORTS}{body['id']}/")
    assert read.status_code == 200
    assert read.json()["id"] == body["id"]

    applied = api.post(f"{IMPORTS}{body['id']}/apply/")

    assert applied.status_code == 200
    assert applied.json()["state"] == "done"
    assert applied.json()["created_count"] == 2
    assert Change.objects.count() == 2
    assert verify_history().problems == []
    again = api.post(f"{IMPORTS}{body['id']}/apply/")
    assert again.status_code == 400


def test_the_preview_lists_row_errors_and_apply_refuses_them(team):
    api = api_for(team["sam"])
    rows = [["Title", "Date raised"], ["Fine", "01/02/2024"], ["Bad", "yesterday-ish"]]
    body = post_file(api, files.utf8_bom(rows)).json()
    assert body["error_count"] == 1
    assert body["errors"][0][:2] == [3, "raised"]
    refused = api.post(f"{IMPORTS}{body['id']}/apply/")
    assert refused.status_code == 400
    assert "1 problem" in refused.json()["detail"]
    assert not Change.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"mapping": "not json"}, "mapping"),
        ({"mapping": json.dumps({"Nope": "title"})}, "mapping"),
        ({"mapping": json.dumps({"Title": "nonsense"})}, "mapping"),
        ({"school": "nowhere"}, "school"),
    ],
)
def test_bad_input_is_a_400_with_the_fields_error(team, extra, field):
    response = post_file(api_for(team["sam"]), **extra)
    assert response.status_code == 400
    assert field in response.json()


def test_a_file_too_big_is_refused_before_it_is_read(team, monkeypatch):
    from changedesk.spreadsheets import row_checks

    monkeypatch.setattr(row_checks, "MAX_BYTES", 10)
    response = post_file(api_for(team["sam"]))
    assert response.status_code == 400
    assert "the most that can be imported at once" in response.json()["file"][0]


def test_a_file_that_cannot_be_read_is_a_400(team):
    response = post_file(api_for(team["sam"]), b"PK\x03\x04junk", "log.xlsx")
    assert response.status_code == 400
    assert "file" in response.json()
    assert not ChangeImport.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("olivia", 403), ("hilda", 400), (None, 401)])
def test_who_may_not_import(team, hilda, who, status):
    user = {**team, "hilda": hilda}.get(who) if who else None
    # Greenfield is not among Hilda's schools: its slug is refused as unknown (400).
    response = post_file(api_for(user))
    assert response.status_code == status
    assert not ChangeImport.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("olivia", 403), ("hilda", 404), (None, 401)])
def test_who_may_not_read_or_apply_an_import(team, hilda, who, status):
    body = post_file(api_for(team["sam"])).json()
    api = api_for({**team, "hilda": hilda}.get(who) if who else None)
    assert api.get(f"{IMPORTS}{body['id']}/").status_code == status
    assert api.post(f"{IMPORTS}{body['id']}/apply/").status_code == status
    assert not Change.objects.exists()


def test_the_exports_work_with_a_token(team, draft, hilda):
    api = api_for(team["sam"])
    response = api.get("/api/v1/spreadsheets/changes.xlsx", {"state": "draft"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 2
    assert api.get("/api/v1/spreadsheets/changes.xlsx", {"state": "x"}).status_code == 400
    response = api.get("/api/v1/spreadsheets/schools/greenfield/archive.zip")
    assert response.status_code == 200
    zipped = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "README.txt" in zipped.namelist()
    archive = "/api/v1/spreadsheets/schools/greenfield/archive.zip"
    assert api_for(team["olivia"]).get(archive).status_code == 403
    assert api_for(hilda).get(archive).status_code == 404
    assert api_for().get(archive).status_code == 401
    assert api_for().get("/api/v1/spreadsheets/changes.xlsx").status_code == 401
