"""What the browser tests share: Debian's Chromium, signing in, and the axe check.

A browser test module starts with `require_chromium()`, marks itself
`pytest.mark.browser`, and takes the `browser` fixture from changedesk/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from changedesk.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The narrowest phones in common use (and a 320 px screen zoomed to 112%).
NARROW_PHONE = {"width": 360, "height": 740}


def require_chromium() -> None:
    """Skip the calling module without Chromium, unless CI requires the browser tests."""
    if not CHROMIUM.exists():
        if os.environ.get("CHANGEDESK_REQUIRE_BROWSER") == "1":
            raise RuntimeError("CHANGEDESK_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
        pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)
    # Playwright's sync API runs an event loop in this thread; the ORM calls in the tests
    # themselves are synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def preload_axe(context: Any) -> None:
    """Load axe into every page the context opens, as it opens: cheaper than sending the
    script again for each check when a test checks many pages."""
    from axe_playwright_python.sync_playwright import Axe

    context.add_init_script(Axe().axe_script)


def check_accessibility(page: Any) -> None:
    from axe_playwright_python.base import AxeResults
    from axe_playwright_python.sync_playwright import Axe

    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(Axe().axe_script)
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = AxeResults(page.evaluate("options => axe.run(document, options)", options))
    violations = results.response["violations"]
    assert not violations, f"{page.url}: " + results.generate_report()


# The elements that stick out past the right edge of the viewport, widest first, named by
# tag, id and classes (and a little of their text); those inside something that scrolls or
# clips sideways are left out unless nothing else explains the overflow.
_OVERFLOW = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  if (root.scrollWidth <= width) return "";
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    for (const c of el.classList) s += "." + c;
    const text = (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 30);
    return text ? `${s} "${text}"` : s;
  };
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const outermost = (els) => els.filter((el) => !els.includes(el.parentElement));
  const all = [...document.body.querySelectorAll("*")].filter(
    (el) => el.getBoundingClientRect().right > width + 0.5);
  let culprits = outermost(all.filter((el) => !clipped(el)));
  if (!culprits.length) culprits = outermost(all);
  culprits.sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
  const listed = culprits.slice(0, 5).map(
    (el) => `${name(el)} (right edge ${Math.round(el.getBoundingClientRect().right)})`);
  return `${root.scrollWidth} px wide in a ${width} px viewport: ${listed.join("; ")}`;
}"""


def overflow(page: Any) -> str:
    """Empty when the page does not scroll sideways; else how wide it is and what sticks
    out (see _OVERFLOW)."""
    return str(page.evaluate(_OVERFLOW))


def sign_in(
    browser: Any,
    base: str,
    username: str,
    *,
    viewport: dict | None = None,
    on_console: Callable[[Any], None] | None = None,
    password: str = PASSWORD,
    page: Any = None,
) -> Any:
    """A new browser context signed in as `username`; returns its page, on My work.

    Given a `page` (signed out), signs in on it instead, keeping its context."""
    if page is None:
        context = browser.new_context(viewport=viewport or DESKTOP)
        page = context.new_page()
        page.set_default_timeout(10_000)
    if on_console is not None:
        page.on("console", on_console)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    home = f"{base}/"
    page.wait_for_url(lambda url: url == home or url.startswith(f"{base}/getting-started/"))
    if page.url != home:
        # The leaders of a school not yet live land on getting started (adoption:welcome);
        # the tests go on from My work.
        page.goto(home)
    return page


class Person:
    """One person's own browser session, acting on RFCs."""

    def __init__(self, browser: Any, base: str, username: str, viewport: dict | None = None):
        self.page = sign_in(browser, base, username, viewport=viewport)
        self.context = self.page.context
        self.base = base

    def open(self, change: Any) -> Any:
        self.page.goto(f"{self.base}/changes/{change.pk}/")
        return self.page

    def act(self, action: str, comment: str = "") -> None:
        if comment:
            self.page.get_by_label("Comment").fill(comment)
        self.page.get_by_role("button", name=action, exact=True).click()
        self.page.wait_for_load_state()

    def close(self) -> None:
        self.context.close()
