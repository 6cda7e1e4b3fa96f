"""Re-seal every RFC's history chain with the history key (settings.HISTORY_KEY, by default
derived from SECRET_KEY), and record that it was done (a HistoryReseal row and a line of the
anchors file). A chain that did not verify under its plain hashes is left as it was, named
in the record, so that re-sealing hides no edit made before it. Batched: RFCs 500 at a time.

Re-sealing cannot be undone (the plain hashes are not kept): going back keeps the keyed
hashes, which the code before this one reports as tampered with.
"""

from django.db import migrations


def reseal(apps, schema_editor):
    from changedesk.changes.history import reseal_and_record

    done = reseal_and_record(
        apps.get_model("changes", "Change"),
        apps.get_model("changes", "ChangeEvent"),
        apps.get_model("changes", "HistoryReseal"),
    )
    if done.events or done.left_unsealed:
        print(f"\n  Re-sealed {done.events} events of {done.changes} RFCs with the history key")
        for name in done.left_unsealed:
            print(f"  Left as it was (it did not verify before): {name}")


class Migration(migrations.Migration):
    dependencies = [("changes", "0003_history_key")]

    operations = [migrations.RunPython(reseal, migrations.RunPython.noop, elidable=False)]
