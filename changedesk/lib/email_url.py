"""EMAIL_URL parsing: `smtp://user:pass@host:port`, `smtps://…` (implicit TLS),
`smtp+tls://…` (STARTTLS), `console://`, `locmem://`, `file:///path`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}


def parse_email_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise ImproperlyConfigured(f"EMAIL_URL scheme must be one of {known}, not {parts.scheme!r}")
    config: dict[str, Any] = {"EMAIL_BACKEND": BACKENDS[parts.scheme]}
    if parts.scheme == "file":
        config["EMAIL_FILE_PATH"] = unquote(parts.path)
        return config
    if parts.scheme.startswith("smtp"):
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"EMAIL_URL has a bad port: {url!r}") from None
        config["EMAIL_HOST"] = parts.hostname or "localhost"
        config["EMAIL_PORT"] = port or (465 if parts.scheme == "smtps" else 25)
        config["EMAIL_HOST_USER"] = unquote(parts.username or "")
        config["EMAIL_HOST_PASSWORD"] = unquote(parts.password or "")
        config["EMAIL_USE_SSL"] = parts.scheme == "smtps"
        config["EMAIL_USE_TLS"] = parts.scheme == "smtp+tls"
        query = parse_qs(parts.query)
        if "timeout" in query:
            config["EMAIL_TIMEOUT"] = int(query["timeout"][0])
    return config
