"""`ChangeItem` moves here from `configuration`; its table stays where it is."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0001_initial"),
        ("configuration", "0002_changeitem_moves_to_changes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ChangeItem",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("what_changed", models.TextField(blank=True)),
                        ("recorded_at", models.DateTimeField(blank=True, null=True)),
                        ("change", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="item_links", to="changes.change")),
                        ("item", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="change_links", to="configuration.configurationitem")),
                        ("recorded_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "configuration_changeitem",
                        "ordering": ["item__name", "id"],
                        "indexes": [models.Index(fields=["item", "change"], name="configurati_item_id_801198_idx")],
                        "constraints": [models.UniqueConstraint(fields=("change", "item"), name="change_item_unique")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
