"""The real OpenID Connect provider of the sign-in tests: `oidc/provider.mjs` (the npm
package `oidc-provider`), started once per test module on a free port.

Without Node.js or the package installed (`npm ci` in oidc/, which `make pytest` runs),
the tests that need it are skipped, with the reason, unless CHANGEDESK_REQUIRE_OIDC=1
(as in CI), when they fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

HERE = Path(__file__).parent / "oidc"
CLIENT_ID = "changedesk"
CLIENT_SECRET = "changedesk-test-secret"
CALLBACK = "http://testserver/signin/oidc/callback/"


def _unavailable(reason: str) -> None:
    if os.environ.get("CHANGEDESK_REQUIRE_OIDC") == "1":
        pytest.fail(f"{reason} (CHANGEDESK_REQUIRE_OIDC=1)")
    pytest.skip(reason)


def start(redirect_uri: str = CALLBACK) -> Iterator[str]:
    """Start the provider (its client sending people back to `redirect_uri`), yield its
    issuer, stop it."""
    node = shutil.which("node")
    if node is None:
        _unavailable("Node.js is not installed: the OpenID Connect provider cannot run")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        _unavailable(
            "oidc-provider is not installed: run `npm ci` in changedesk/signin/tests/oidc "
            "(make pytest does)"
        )
    process = subprocess.Popen(
        [str(node), "provider.mjs"],
        cwd=HERE,
        env={**os.environ, "REDIRECT_URI": redirect_uri},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(process)
        match = re.match(r"READY (\S+)", line)
        if match is None:
            stderr = process.stderr.read() if process.poll() is not None else ""
            pytest.fail(f"The OpenID Connect provider did not start: {line!r} {stderr}")
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_line(process: subprocess.Popen[str], timeout: float = 15) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline()))
    reader.start()
    reader.join(timeout)
    return found[0] if found else ""


def next_token(issuer: str, mode: str) -> None:
    """Make the provider's next token answer carry a wrong ID token (`wrong-audience`,
    `expired`)."""
    requests.post(f"{issuer}/_test/next-token", params={"mode": mode}, timeout=5)


def sign_in(client, issuer: str, login: str, *, start: str = "/signin/oidc/start/"):
    """The whole redirect dance: changedesk sends the browser to the provider, the person
    signs in there as `login` (their e-mail address), the provider sends them back with a
    code, and changedesk's answer to that is returned. The browser is `requests` at the
    provider and Django's test `client` at changedesk, which keeps its session."""
    answer = client.get(start)
    assert answer.status_code == 302, answer
    location = answer["Location"]
    assert location.startswith(f"{issuer}/auth?"), location
    browser = requests.Session()
    for _ in range(10):
        if location.startswith("http://testserver/"):
            return client.get(location)
        page = browser.get(location, allow_redirects=False, timeout=5)
        if page.is_redirect:
            location = urljoin(page.url, page.headers["Location"])
            continue
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert page.status_code == 200 and action, page.text[:2000]
        posted = browser.post(
            urljoin(page.url, action.group(1)),
            data={"prompt": "login", "login": login, "password": "any"},
            allow_redirects=False,
            timeout=5,
        )
        assert posted.is_redirect, posted.text[:2000]
        location = urljoin(posted.url, posted.headers["Location"])
    raise AssertionError("The provider never sent the browser back to changedesk.")
