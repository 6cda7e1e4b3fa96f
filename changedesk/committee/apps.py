from django.apps import AppConfig


class CommitteeConfig(AppConfig):
    name = "changedesk.committee"
    label = "committee"
    verbose_name = "Change advisory committee"

    def ready(self) -> None:
        # The one place the committee plugs into the workflow: who a meeting's chair or
        # secretary acts for when `perform` is given `committee_meeting`.
        from changedesk.changes.workflow import register_committee_check
        from changedesk.committee.services import approver_in_meeting

        register_committee_check(approver_in_meeting)
