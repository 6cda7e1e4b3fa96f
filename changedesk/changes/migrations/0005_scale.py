"""The change log at trust scale (issue 9): its order served by an index within a person's
schools and across all of them, and its full-text search column (PostgreSQL only)."""

from django.conf import settings
from django.db import migrations, models

from changedesk.lib.search import add_search_vector


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_sign_in_counter"),
        ("changes", "0004_reseal_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="change", name="changes_cha_school__5981a2_idx"),
        migrations.RemoveIndex(model_name="change", name="changes_cha_school__64cb9f_idx"),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(
                fields=["school", "state", "-created_at", "-id"], name="change_school_state_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(
                fields=["school", "-created_at", "-id"], name="change_school_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(fields=["-created_at", "-id"], name="change_newest"),
        ),
        add_search_vector("changes_change", {"title": "A", "description": "B"}),
    ]
