"""The items at trust scale (issue 9): the page's order within a school served by an
index, and full-text search (PostgreSQL only)."""

from django.conf import settings
from django.db import migrations, models

from changedesk.lib.search import add_search_vector


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_sign_in_counter"),
        ("configuration", "0003_itemimport"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="configurationitem",
            index=models.Index(fields=["school", "name", "id"], name="item_school_name"),
        ),
        add_search_vector(
            "configuration_configurationitem",
            {"name": "A", "identifier": "A", "location": "B", "notes": "C"},
        ),
    ]
