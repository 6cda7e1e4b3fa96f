"""The OpenAPI schema of the whole API builds without a warning."""

from django.core.management import call_command


def test_the_schema_builds_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in ("/api/v1/changes/{id}/actions/", "/api/v1/items/", "/api/v1/notices/"):
        assert path in text
    assert "/api/v1/docs/" not in text
