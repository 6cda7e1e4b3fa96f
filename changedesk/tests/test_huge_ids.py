"""A number in a URL or a filter beyond any id (2**63 and more) is a 404 or a field error,
never a 500: SQLite refuses such a number outright ("Python int too large to convert to
SQLite INTEGER"), PostgreSQL's bigint overflows.

Every URL of the site and the API with an id in it is walked, with every method, as an
operator who holds every role in a school and administers its trust (so that nothing
is refused before the id is looked up); every filter of every API list is given the
number too. `<int:...>` is refused in every route: `<id:...>` (`lib.converters`) bounds it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.services import set_membership

HUGE = "99999999999999999999"  # > 2**64
JUST_OVER = str(2**63)  # the first number a signed 64-bit integer cannot hold
INT_NAMES = re.compile(r"^(pk|id|version|number|\w+_id|\w+_pk)$")


def _routes(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        here = prefix + _text(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, here)
        else:
            yield here, pattern


def _text(pattern: object) -> str:
    """A route as `<conv:name>` text, a regular expression's named groups rewritten so."""
    raw = str(pattern)
    if isinstance(pattern, RoutePattern):
        return raw
    out, i = [], 0
    raw = raw.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    while i < len(raw):
        if raw.startswith("(?P<", i):
            name_end = raw.index(">", i)
            name = raw[i + 4 : name_end]
            depth, j = 1, name_end + 1
            while depth:
                if raw[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(raw[j], 0)
                j += 1
            body = raw[name_end + 1 : j - 1]
            out.append(f"<re:{name}:{body}>")
            i = j
        else:
            out.append(raw[i])
            i += 1
    return "".join(out).replace("\\", "")


PARAM = re.compile(r"<(?:(re):(\w+):([^>]*)|(\w+):(\w+))>")


def _url(route: str, number: str, school: str, trust: str) -> str | None:
    """The route with `number` for every id in it (None when it has none)."""
    found_id = False

    def fill(match: re.Match[str]) -> str:
        nonlocal found_id
        if match.group(1):
            name, body = match.group(2), match.group(3)
            numeric = re.fullmatch(body, "12") is not None
        else:
            kind, name = match.group(4), match.group(5)
            numeric = kind in {"int", "id"} or (kind in {"str", "path"} and INT_NAMES.match(name))
        if numeric and (INT_NAMES.match(name) or match.group(4) in {"int", "id"}):
            found_id = True
            return number
        if name == "format":
            return "json"
        return trust if "trust" in route.split(f"<{match.group(0)[1:]}")[0] else school

    url = "/" + PARAM.sub(fill, route)
    return url if found_id else None


@pytest.fixture
def operator(root, school, trust, olivia):
    """An operator who also holds every role at Greenfield and administers its trust."""
    from changedesk.accounts import trusts

    root.is_staff = True
    root.save()
    set_membership(root, school, [role.value for role in Role])
    trusts.set_trust_roles(trust, root, [TrustRole.TRUST_ADMIN, TrustRole.TRUST_TECHNICIAN])
    return root


def test_no_route_takes_an_unbounded_int() -> None:
    unbounded = [route for route, _ in _routes(get_resolver().url_patterns) if "<int:" in route]
    assert unbounded == [], "write <id:...> (changedesk.lib.converters), not <int:...>"


@pytest.mark.django_db
def test_every_id_in_a_url_beyond_any_row_is_a_404(client, operator, school, trust):
    client.force_login(operator)
    routes = list(_routes(get_resolver().url_patterns))
    wrong = []
    # Every method with a number far beyond; GET with the first one a bigint cannot hold.
    for number, methods in ((HUGE, ("get", "post", "patch", "delete")), (JUST_OVER, ("get",))):
        urls = [url for route, _ in routes if (url := _url(route, number, school.slug, trust.slug))]
        assert len(urls) > 150  # the walk found the site's and the API's routes
        for url in urls:
            for method in methods:
                response = getattr(client, method)(url, content_type="application/json")
                status = response.status_code
                admin_ok = url.startswith("/admin/") and status in {302, 403}
                # A route that reads its id in the view (an RFC's id or reference) refuses a
                # method it has not before looking (405); every method is tried, so the ones
                # it has are each a 404.
                if status not in {404, 405} and not admin_ok:
                    wrong.append(f"{method.upper()} {url}: {status}")
    assert wrong == []


@pytest.mark.django_db
def test_every_api_list_filter_given_a_huge_number_answers_without_error(client, operator, school):
    client.force_login(operator)
    wrong = []
    for route, pattern in _routes(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None) or {}
        filterset = getattr(view, "filterset_class", None)
        if filterset is None or actions.get("get") != "list" or "<" in route:
            continue
        for name in filterset.base_filters:
            for value in (HUGE, JUST_OVER, f"-{HUGE}"):
                response = client.get(f"/{route}", {name: value})
                if response.status_code not in {200, 400}:
                    wrong.append(f"/{route}?{name}={value}: {response.status_code}")
    assert wrong == []


# Routes that take an id or a reference (`greenfield:RFC-0001`) and check the id's length
# in the view: an RFC's, and a trust-wide change's.
BY_ID_OR_REFERENCE = ("api/v1/changes/<re:id:", "api/v1/trust-changes/<re:id:")


def test_every_api_lookup_by_id_is_bounded() -> None:
    """A viewset looking rows up by id says so (`lookup_value_regex = ID_REGEX`): the
    route itself refuses a number beyond any id."""
    unbounded = []
    for route, _ in _routes(get_resolver().url_patterns):
        for name, body in re.findall(r"<re:(\w+):([^>]*)>", route):
            if (
                INT_NAMES.match(name)
                and re.fullmatch(body, HUGE)
                and not route.startswith(BY_ID_OR_REFERENCE)
            ):
                unbounded.append(route)
    assert unbounded == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/changes/greenfield:RFC-{HUGE}/",
        f"/api/v1/changes/RFC-{HUGE}/",
        f"/api/v1/changes/{HUGE}/conflicts/",
        f"/api/v1/changes/greenfield:RFC-{HUGE}/conflicts/",
        f"/api/v1/trust-changes/northfield:TW-{HUGE}/",
        f"/api/v1/schedule/slots/?school=greenfield&minutes=60&change={HUGE}",
        f"/api/v1/schedule/slots/?school=greenfield&minutes=60&items={HUGE}",
    ],
)
def test_a_huge_number_in_a_reference_is_no_error(client, operator, url):
    client.force_login(operator)
    assert client.get(url).status_code in {400, 404}
