from django.db import models


class Role(models.TextChoices):
    """The FITS roles a member may hold in a school; the values are the API's role names."""

    ORIGINATOR = "originator", "Originator"
    INITIAL_APPROVER = "initial_approver", "Initial approver"
    PEER_REVIEWER = "peer_reviewer", "Peer reviewer"
    FINAL_APPROVER = "final_approver", "Final approver"
    IMPLEMENTER = "implementer", "Implementer"
    SCHOOL_ADMIN = "school_admin", "School administrator"


# Roles whose holders decide on an RFC and may name a deputy for a period.
APPROVER_ROLES = (Role.INITIAL_APPROVER, Role.PEER_REVIEWER, Role.FINAL_APPROVER)
