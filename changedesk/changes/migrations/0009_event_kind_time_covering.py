"""Two covering indexes on the events for the period report (issue 12), PostgreSQL only
(elsewhere `include` is ignored): (kind, created_at) now also holds the RFC, the states and
the sequence, so a year of events of the kinds counted is read from the index alone rather
than by scanning the events' table; and (change, sequence) with the states and the time, from
which the time each stage was entered is read backwards, index only. The new index is made
before the old one is dropped."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('changes', '0008_standard'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='changeevent',
            index=models.Index(fields=['kind', 'created_at'], include=('change', 'from_state', 'to_state', 'sequence'), name='event_kind_time'),
        ),
        migrations.AddIndex(
            model_name='changeevent',
            index=models.Index(fields=['change', 'sequence'], include=('from_state', 'to_state', 'created_at'), name='event_sequence_states'),
        ),
        migrations.RemoveIndex(
            model_name='changeevent',
            name='changes_cha_kind_40ef7b_idx',
        ),
    ]
