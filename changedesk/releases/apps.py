from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "changedesk.releases"
    label = "releases"
    verbose_name = "Release management"

    def ready(self) -> None:
        # The one place release management plugs into the RFC: see releases/rfc.py.
        from changedesk.changes import extensions
        from changedesk.releases.rfc import EXTENSION

        extensions.register(EXTENSION)
        # Releases on the forward schedule, as bands over their planned windows.
        from changedesk.releases import on_schedule
        from changedesk.schedule import planned

        planned.register("releases", on_schedule.bands)

        # The configuration item's page says which build the item runs (configuration is
        # below releases: it offers the seam, releases fills it).
        from changedesk.configuration import panels
        from changedesk.releases.views.installations import item_panel

        panels.register("releases/builds/_item_panel.html", item_panel)

        # The release windows in the conflict engine: see releases/conflicts.py.
        from changedesk.releases.conflicts import RULE
        from changedesk.schedule.conflicts import register_rule

        register_rule(RULE)
        # The policy in force on the notice board: see releases/board.py.
        from changedesk.communication.sections import register_section
        from changedesk.releases.board import SECTION

        register_section(SECTION)
