from changedesk.changes.history import verify_all
from changedesk.conftest import advance


def test_it_runs_the_whole_fits_path(draft, team):
    change = advance(draft, team, "closed")
    kinds = list(change.events.values_list("kind", flat=True))
    assert kinds == [
        "create",
        "submit",
        "approve",
        "edit",
        "submit_plan",
        "approve",
        "approve",
        "record_outcome",
        "close",
    ]
    assert list(verify_all()) == []
