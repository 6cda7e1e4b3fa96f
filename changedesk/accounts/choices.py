from django.db import models


class Role(models.TextChoices):
    """The FITS roles a member may hold in a school; the values are the API's role names."""

    ORIGINATOR = "originator", "Originator"
    INITIAL_APPROVER = "initial_approver", "Initial approver"
    PEER_REVIEWER = "peer_reviewer", "Peer reviewer"
    FINAL_APPROVER = "final_approver", "Final approver"
    IMPLEMENTER = "implementer", "Implementer"
    SCHOOL_ADMIN = "school_admin", "School administrator"
    # Writes and publishes the notices that tell the school about a change (FITS step 7).
    COMMUNICATOR = "communicator", "Communicator"
    # Reads the notice board, the schedule and the change log; decides nothing.
    VIEWER = "viewer", "Viewer"
    # Watches the vendors' patches, assesses and tests them and sees them deployed on time.
    PATCH_ADMINISTRATOR = "patch_administrator", "Patch administrator"
    # Release management (FITS): owns the release policy, approves build procedures and
    # reads the release figures.
    RELEASE_MANAGER = "release_manager", "Release manager"
    # Writes the build procedures.
    BUILD_DEVELOPER = "build_developer", "Build developer"
    # Installs builds, following the install build checklist.
    INSTALLER = "installer", "Installer"


# Roles whose holders decide on an RFC and may name a deputy for a period.
APPROVER_ROLES = (Role.INITIAL_APPROVER, Role.PEER_REVIEWER, Role.FINAL_APPROVER)


class ThrottleKind(models.TextChoices):
    """What a sign-in throttle counts failures for (see `accounts.throttle`)."""

    USERNAME = "username", "Username"
    ADDRESS = "address", "Client address"
