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


class TrustRole(models.TextChoices):
    """What a person may be in a trust (a multi-academy trust, or a local authority's ICT
    service): roles that reach every school of the trust without a place in each."""

    # Creates the trust's schools (inviting each one's first administrator), manages the
    # trust's people and its calendar; reads every school of the trust.
    TRUST_ADMIN = "trust_admin", "Trust administrator"
    # The trust's ICT team: raises and implements changes in any of its schools.
    TRUST_TECHNICIAN = "trust_technician", "Trust technician"
    # Reviews the trust's changes in any of its schools.
    TRUST_PEER_REVIEWER = "trust_peer_reviewer", "Trust peer reviewer"


# What each trust role holds in every school of the trust. A school's roles stay its own:
# no trust role approves anywhere, nor administers a school (which would let it give
# itself a school's approver roles); a school's administrator is its own.
TRUST_GRANTS: dict[str, tuple[str, ...]] = {
    TrustRole.TRUST_ADMIN: (Role.VIEWER,),
    TrustRole.TRUST_TECHNICIAN: (Role.ORIGINATOR, Role.IMPLEMENTER),
    TrustRole.TRUST_PEER_REVIEWER: (Role.PEER_REVIEWER,),
}


# Roles whose holders decide on an RFC and may name a deputy for a period.
APPROVER_ROLES = (Role.INITIAL_APPROVER, Role.PEER_REVIEWER, Role.FINAL_APPROVER)


class ThrottleKind(models.TextChoices):
    """What a sign-in throttle counts failures for (see `accounts.throttle`)."""

    USERNAME = "username", "Username"
    ADDRESS = "address", "Client address"


class Language(models.TextChoices):
    """The languages changedesk speaks (settings.LANGUAGES): a person's choice and a school's
    default. The labels are each language's own name for itself, so are not translated."""

    EN_GB = "en-gb", "English"
    CY = "cy", "Cymraeg"
