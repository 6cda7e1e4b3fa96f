"""The library in the REST API: the permission matrix, a piece's round trip (added, taken
out, brought back, withdrawn), bad input (400s with field errors), and the lists' query
counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, member
from changedesk.releases.models import Checkout, Licence, Release, Software
from changedesk.releases.services import library as services

pytestmark = pytest.mark.django_db

SOFTWARE = "/api/v1/software/"
CHECKOUTS = "/api/v1/checkouts/"
SHA = "sha256:" + "9f" * 32
READERS = ["rachel", "bella", "isaac", "olivia", "sam", "fiona"]
KEEPERS = {"rachel", "bella", "sam"}
TAKERS = {"rachel", "bella", "isaac", "olivia", "sam"}


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def due(school, days: int = 5) -> str:
    return (services.today_in(school) + timedelta(days=days)).isoformat()


@pytest.fixture
def people(rachel, bella, isaac, olivia, sam, fiona, oscar):
    return {"rachel": rachel, "bella": bella, "isaac": isaac, "olivia": olivia, "sam": sam,
            "fiona": fiona, "oscar": oscar}  # fmt: skip


@pytest.fixture
def piece(school, rachel):
    return services.save_software(
        school, rachel, {"title": "SIMS client", "version": "7.2", "location": "share"}
    )


def test_anonymous_is_refused(piece):
    for path in (SOFTWARE, f"{SOFTWARE}{piece.pk}/", f"{SOFTWARE}{piece.pk}/checkouts/",
                 CHECKOUTS):  # fmt: skip
        assert api().get(path).status_code in (401, 403)
    assert api().post(f"{SOFTWARE}{piece.pk}/checkouts/", {"due_back": "2030-01-01"},
                      format="json").status_code in (401, 403)  # fmt: skip
    assert not Checkout.objects.exists()


@pytest.mark.parametrize("who", READERS)
def test_every_member_reads(who, people, piece):
    client = api(people[who])
    listed = client.get(SOFTWARE).json()
    assert [r["title"] for r in listed["results"]] == ["SIMS client"]
    one = client.get(f"{SOFTWARE}{piece.pk}/").json()
    assert one["school"] == "greenfield" and one["out"] is None
    assert client.get(f"{SOFTWARE}{piece.pk}/checkouts/").json() == []
    assert client.get(CHECKOUTS).status_code == 200


def test_the_outsider_sees_nothing(oscar, piece, school):
    client = api(oscar)
    assert client.get(SOFTWARE).json()["results"] == []
    assert client.get(f"{SOFTWARE}{piece.pk}/").status_code == 404
    assert client.patch(f"{SOFTWARE}{piece.pk}/", {"title": "X"}, format="json").status_code == 404
    taken = client.post(
        f"{SOFTWARE}{piece.pk}/checkouts/", {"due_back": due(school)}, format="json"
    )
    assert taken.status_code == 404
    checkout = services.take_out(piece, piece.created_by, {"due_back": due(school)})
    assert client.get(CHECKOUTS).json()["results"] == []
    assert client.post(f"{CHECKOUTS}{checkout.pk}/return/", {}, format="json").status_code == 404
    made = client.post(SOFTWARE, {"school": "greenfield", "title": "X", "location": "y"},
                       format="json")  # fmt: skip
    assert made.status_code == 400 and "school" in made.json()
    assert Checkout.objects.get().is_out


@pytest.mark.parametrize("who", READERS)
def test_who_may_add_and_edit(who, people, piece):
    client = api(people[who])
    made = client.post(
        SOFTWARE,
        {"school": "greenfield", "title": "Scratch", "location": "share", "checksum": SHA,
         "kind": "installer"},
        format="json",
    )  # fmt: skip
    edited = client.patch(f"{SOFTWARE}{piece.pk}/", {"version": "7.3"}, format="json")
    if who in KEEPERS:
        assert made.status_code == 201, made.json()
        assert made.json()["checksum"] == SHA and made.json()["is_active"] is True
        assert edited.status_code == 200 and edited.json()["version"] == "7.3"
    else:
        assert (made.status_code, edited.status_code) == (403, 403)
        assert not Software.objects.filter(title="Scratch").exists()
        piece.refresh_from_db()
        assert piece.version == "7.2"


@pytest.mark.parametrize("who", READERS)
def test_who_may_take_out_and_bring_back(who, people, piece, school, olivia):
    client = api(people[who])
    taken = client.post(
        f"{SOFTWARE}{piece.pk}/checkouts/",
        {"taken_by": "olivia", "due_back": due(school), "purpose": "Reimage"},
        format="json",
    )
    if who not in TAKERS:
        assert taken.status_code == 403
        checkout = services.take_out(piece, olivia, {"due_back": due(school)})
        back = client.post(f"{CHECKOUTS}{checkout.pk}/return/", {}, format="json")
        assert back.status_code == 403
        assert Checkout.objects.get().is_out
        return
    assert taken.status_code == 201, taken.json()
    body = taken.json()
    assert (body["taken_by"], body["recorded_by"], body["is_out"], body["overdue"]) == (
        "olivia", who, True, False
    )  # fmt: skip
    assert client.get(f"{SOFTWARE}{piece.pk}/").json()["out"]["taken_by"] == "olivia"
    back = client.post(f"{CHECKOUTS}{body['id']}/return/", {"notes": "Fine"}, format="json")
    assert back.status_code == 200, back.json()
    assert (back.json()["is_out"], back.json()["returned_to"], back.json()["return_notes"]) == (
        False, who, "Fine"
    )  # fmt: skip


def test_taking_out_what_is_out_is_a_400_with_the_field(isaac, rachel, piece, school):
    services.take_out(piece, isaac, {"due_back": due(school)})
    response = api(rachel).post(
        f"{SOFTWARE}{piece.pk}/checkouts/", {"due_back": due(school)}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["software"] == ["Out already."]
    assert "Isaac Example has it" in response.json()["detail"]
    assert Checkout.objects.count() == 1


def test_returning_twice_is_a_400(isaac, piece, school):
    checkout = services.take_out(piece, isaac, {"due_back": due(school)})
    client = api(isaac)
    assert client.post(f"{CHECKOUTS}{checkout.pk}/return/", {}, format="json").status_code == 200
    again = client.post(f"{CHECKOUTS}{checkout.pk}/return/", {}, format="json")
    assert again.status_code == 400 and "checkout" in again.json()


def test_a_withdrawn_piece_is_not_taken_out(rachel, piece, school):
    client = api(rachel)
    assert (
        client.patch(f"{SOFTWARE}{piece.pk}/", {"is_active": False}, format="json").json()[
            "is_active"
        ]
        is False
    )
    response = client.post(
        f"{SOFTWARE}{piece.pk}/checkouts/", {"due_back": due(school)}, format="json"
    )
    assert response.status_code == 400 and "software" in response.json()
    assert client.delete(f"{SOFTWARE}{piece.pk}/").status_code == 405
    assert Software.objects.filter(pk=piece.pk).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "due_back"),
        ({"due_back": "2000-01-01"}, "due_back"),
        ({"due_back": "soon"}, "due_back"),
        ({"taken_by": "nobody"}, "taken_by"),
        ({"taken_by": "oscar"}, "taken_by"),
        ({"taken_by": 12}, "taken_by"),
        ({"change": "theirs"}, "change"),
        ({"change": 99999999}, "change"),
        ({"change": "1"}, "change"),
        ({"release": "theirs"}, "release"),
        ({"purpose": "x" * 301}, "purpose"),
        ({"state": "out"}, "state"),
    ],
)
def test_bad_take_out_is_a_400(body, field, rachel, piece, school, other_school, oscar):
    body = dict(body)
    if field != "due_back":
        body.setdefault("due_back", due(school))
    if body.get("change") == "theirs":
        body["change"] = create_change(other_school, oscar, dict(REQUEST)).pk
    if body.get("release") == "theirs":
        body["release"] = Release.objects.create(school=other_school, title="Theirs").pk
    response = api(rachel).post(f"{SOFTWARE}{piece.pk}/checkouts/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not Checkout.objects.exists()


def test_take_out_for_an_rfc_and_release_of_the_school(rachel, piece, school, draft):
    release = Release.objects.create(school=school, title="Summer 2027")
    response = api(rachel).post(
        f"{SOFTWARE}{piece.pk}/checkouts/",
        {"due_back": due(school), "change": draft.pk, "release": release.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["change"], response.json()["release"]) == (draft.pk, release.pk)
    assert response.json()["change_reference"] == draft.reference


@pytest.mark.parametrize(
    "body, field",
    [
        ({"checksum": "sha256:abc"}, "checksum"),
        ({"checksum": "md5:" + "a" * 64}, "checksum"),
        ({"title": ""}, "title"),
        ({"kind": "frisbee"}, "kind"),
        ({"licence": "theirs"}, "licence"),
        ({"licence": 999999}, "licence"),
        ({"school": "hillside"}, "school"),
        ({"out": None}, "out"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
def test_bad_software_is_a_400(body, field, rachel, other_school):
    body = {"school": "greenfield", "title": "Scratch", "location": "share", **body}
    if body.get("licence") == "theirs":
        body["licence"] = Licence.objects.create(school=other_school, product="Office").pk
    response = api(rachel).post(SOFTWARE, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not Software.objects.exists()


def test_a_licence_of_the_school_is_linked(rachel, school):
    licence = Licence.objects.create(school=school, product="SIMS")
    made = api(rachel).post(
        SOFTWARE,
        {"school": "greenfield", "title": "SIMS", "location": "share", "licence": licence.pk},
        format="json",
    )
    assert made.status_code == 201
    assert (made.json()["licence"], made.json()["licence_product"]) == (licence.pk, "SIMS")


def test_the_school_stays(rachel, piece, other_school):
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    response = api(rachel).patch(f"{SOFTWARE}{piece.pk}/", {"school": "hillside"}, format="json")
    assert response.status_code == 400 and "school" in response.json()


def test_filters(rachel, isaac, piece, school):
    other = services.save_software(
        school, rachel, {"title": "Scratch", "vendor": "MIT", "kind": "media", "location": "x"}
    )
    services.take_out(piece, isaac, {"due_back": due(school)})
    client = api(rachel)

    def titles(query: str) -> list[str]:
        return [r["title"] for r in client.get(f"{SOFTWARE}?{query}").json()["results"]]

    assert titles("out=true") == ["SIMS client"]
    assert titles("out=false") == ["Scratch"]
    assert titles("q=mit") == ["Scratch"]
    assert titles("kind=media") == ["Scratch"]
    assert titles("school=greenfield") == ["SIMS client", "Scratch"]
    services.save_software(school, rachel, {"is_active": False}, other)
    assert titles("active=false") == ["Scratch"]
    assert client.get(f"{SOFTWARE}?out=perhaps").status_code == 400
    Checkout.objects.create(
        school=school, software=other, taken_by=isaac,
        due_back=services.today_in(school) - timedelta(days=1),
    )  # fmt: skip
    late = client.get(f"{CHECKOUTS}?overdue=true").json()["results"]
    assert [c["software_title"] for c in late] == ["Scratch"] and late[0]["overdue"] is True
    assert len(client.get(f"{CHECKOUTS}?out=true").json()["results"]) == 2
    assert client.get(f"{CHECKOUTS}?out=false").json()["results"] == []
    assert client.get(f"{CHECKOUTS}?overdue=maybe").status_code == 400


def test_the_book_is_newest_first(rachel, isaac, piece, school):
    first = services.take_out(piece, isaac, {"due_back": due(school)})
    services.bring_back(first, isaac)
    second = services.take_out(piece, rachel, {"due_back": due(school)})
    book = api(isaac).get(f"{SOFTWARE}{piece.pk}/checkouts/").json()
    assert [c["id"] for c in book] == [second.pk, first.pk]


def _fill(school, keeper, taker, n: int) -> None:
    for i in range(n):
        piece = services.save_software(
            school, keeper, {"title": f"Piece {school.slug} {i}", "location": "share"}
        )
        if i % 2:
            services.take_out(piece, taker, {"due_back": due(school, 1 + i)})


# The caller (with memberships and roles: 3), count, ids and rows (3), what rows point at.
BUDGET = 10


@pytest.mark.parametrize("path", [SOFTWARE, CHECKOUTS])
def test_list_query_counts_do_not_grow(
    path, django_assert_max_num_queries, school, other_school, rachel, isaac
):
    _fill(school, rachel, isaac, 2)
    with django_assert_max_num_queries(BUDGET):
        assert api(rachel).get(path).status_code == 200
    _fill(school, rachel, isaac, 30)
    with django_assert_max_num_queries(BUDGET):
        assert api(rachel).get(path).status_code == 200
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    _fill(other_school, rachel, member("otto", other_school, [Role.INSTALLER]), 10)
    with django_assert_max_num_queries(BUDGET):
        response = api(rachel).get(f"{path}?page_size=100")
    assert response.status_code == 200
    assert {r["school"] for r in response.json()["results"]} == {"greenfield", "hillside"}
