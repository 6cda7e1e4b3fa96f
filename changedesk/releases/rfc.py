"""How release management plugs into the RFC (through `changes.extensions`, registered in
`apps.py`)."""

from __future__ import annotations

from changedesk.changes.extensions import Extension

EXTENSION = Extension(app="releases")
