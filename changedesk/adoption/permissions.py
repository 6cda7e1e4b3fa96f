"""Who may do what while a school brings FITS in (on top of `accounts.permissions`).

- **Every member** of the school reads the getting-started page, the roles with their
  guidance, the training guides and the pilot page, and confirms the guides they have read.
- **The school's lead** (`may_lead`) sets the adoption up: the go-live date, the team's
  agreement to the plan, the materials, the pilot RFC and the discussion of its review, the
  ICT self-review, and going live. That is the school administrator (a superuser is one
  everywhere) or the **initial approver**: FITS's ICT manager or co-ordinator, who in many
  schools is the person bringing the process in.
- **The notice introducing change management** is written and published by a
  communicator, as every general notice is (`communication.services.is_communicator`).
- **Who has confirmed which guide** (the school's training table) is seen by the lead and
  by every approver (initial, peer, final); anyone else sees their own row.
- **The pilot review** is answered by its participants only (`pilot_participants`): the
  pilot RFC's originator, approvers and implementer, and the school's communicators.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import School
from changedesk.accounts.permissions import holds_any, is_member, is_school_admin


def not_lead(school: School) -> str:
    """What the pages and the API say when a member who does not lead the adoption asks."""
    return gettext(
        "Only the school administrator or the initial approver of %(school)s may do that."
    ) % {"school": school.name}


def may_read(user: Any, school: School) -> bool:
    return is_member(user, school)


def may_lead(user: Any, school: School) -> bool:
    """Sets the adoption up and goes live: the administrator or the initial approver."""
    return is_school_admin(user, school) or holds_any(user, {Role.INITIAL_APPROVER}, school)


def may_see_training_table(user: Any, school: School) -> bool:
    """Sees who has confirmed which guide: the lead and the approvers."""
    return may_lead(user, school) or holds_any(user, set(APPROVER_ROLES), school)


def may_answer_pilot(user: Any, participant_ids: set[int]) -> bool:
    return bool(user.is_authenticated and user.is_active and user.pk in participant_ids)
