"""What the product tells a school about each FITS role, and the training guides.

FITS in our own words (never the source documents' text):

- `STEPS`: the ten steps of a change, by number.
- `GUIDES`: a guide per role, keyed by the role's name: who usually holds it, FITS's
  comments on it, what the holder does and in which of the ten steps, and a worked example
  from the demo school (Greenfield Primary), naming the demo's RFC by its title.
- `OVERVIEW`: the three processes (change, release, patch), each with its steps and a
  worked example from the demo school.
- `CHANGE_ROLES`: the roles the change process needs a holder for (the getting-started
  page's first task; peer review may be switched off while a school starts out).

The guides are plain data: the training pages and the roles page render them, the API
names them, and `TrainingConfirmation.role` records which one was read.

The words a reader sees (steps, who usually holds a role, comments, what you do, the
stories, the processes' titles and summaries) are marked for the Welsh catalogue
(`gettext_lazy`). Keys stay English, and so do the guides' titles (the roles' labels, which
the views and pages translate) and the examples' titles (the demo RFCs' own titles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from changedesk.accounts.choices import Role

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

OVERVIEW_KEY = "overview"

STEPS: dict[int, StrOrPromise] = {
    1: _("Spot the change that is needed"),
    2: _("Write the request for change (RFC)"),
    3: _("Agree it may be planned (initial approval)"),
    4: _("Plan and prepare it"),
    5: _("Check the plan (peer review)"),
    6: _("Agree it may go ahead (final approval)"),
    7: _("Tell the people affected"),
    8: _("Carry it out and record the outcome"),
    9: _("Update the records of equipment and software"),
    10: _("Review and close the RFC"),
}

# The roles every school needs a holder of before the change process can run, in the
# order a change meets them.
CHANGE_ROLES: tuple[str, ...] = (
    Role.ORIGINATOR,
    Role.INITIAL_APPROVER,
    Role.PEER_REVIEWER,
    Role.FINAL_APPROVER,
    Role.IMPLEMENTER,
    Role.COMMUNICATOR,
)


@dataclass(frozen=True)
class Example:
    """A worked example: the demo school's RFC (by title) and what happened, step by step."""

    title: str
    story: tuple[StrOrPromise, ...]


@dataclass(frozen=True)
class Guide:
    key: str
    title: str
    usually: StrOrPromise
    comments: tuple[StrOrPromise, ...]
    steps: tuple[int, ...]
    what_you_do: tuple[StrOrPromise, ...]
    example: Example
    process: str = "change"
    tips: tuple[StrOrPromise, ...] = field(default_factory=tuple)

    @property
    def step_list(self) -> list[tuple[int, StrOrPromise]]:
        return [(n, STEPS[n]) for n in self.steps]


GUIDES: dict[str, Guide] = {
    Role.ORIGINATOR: Guide(
        key=Role.ORIGINATOR,
        title="Originator",
        usually=_("A technician, the network manager, the ICT co-ordinator or a supplier."),
        comments=(
            _(
                "A school has as many originators as it likes: anyone who spots a change that "
                "is needed and can see it through."
            ),
            _(
                "Write the RFC before you buy anything or spend time on it: the first approval "
                "is there to stop effort being wasted."
            ),
            _("You own the RFC from start to finish, and you close it."),
        ),
        steps=(1, 2, 4, 9, 10),
        what_you_do=(
            _("Raise the RFC with a short name, what the change is and why it is needed."),
            _(
                "Once it is agreed it may be planned, add the plan: the steps, the effect on "
                "people and services, what could go wrong, how you would put things back, and "
                "when it will happen."
            ),
            _(
                "After it is done, update the records of what it touched, then close it with "
                "a short review: did it cause problems, were people told in time?"
            ),
        ),
        example=Example(
            "Replace the ICT suite 2 network switch",
            (
                _(
                    "Olivia, the technician, noticed pupils in ICT suite 2 losing their network "
                    "drives several times a lesson, and raised the RFC before touching the "
                    "spare switch."
                ),
                _(
                    "When Ian agreed it could be planned, she wrote the steps (label the "
                    "cables, swap the switch, restore its settings, test each PC), the impact "
                    "(the suite offline for an hour after school) and the fallback (refit the "
                    "old switch)."
                ),
                _("Once it was done she updated the switch's record and closed the RFC."),
            ),
        ),
    ),
    Role.INITIAL_APPROVER: Guide(
        key=Role.INITIAL_APPROVER,
        title="Initial approver",
        usually=_("The ICT manager or ICT co-ordinator."),
        comments=(
            _(
                "Usually one person per school, so that everyone knows who says yes to starting "
                "work."
            ),
            _(
                "You agree that a change may be planned and that time or money may be spent "
                "on it; you are not yet agreeing to the change itself."
            ),
            _(
                "Sending an RFC back or turning it down always needs a reason the originator "
                "can act on."
            ),
        ),
        steps=(3,),
        what_you_do=(
            _("Read new RFCs waiting for you on My work."),
            _(
                "Approve them to be planned, send them back for more detail, or turn them "
                "down, saying why."
            ),
            _(
                "For a real emergency, your approval lets the work start at once; the plan "
                "and the final approval are recorded afterwards."
            ),
        ),
        example=Example(
            "Move the nightly backups to the new NAS",
            (
                _(
                    "Olivia asked to point the backup jobs at the new network storage because "
                    "the USB drives were full and went home by hand."
                ),
                _(
                    "Ian agreed it could be planned: the storage was already bought, and the "
                    "risk of losing the school's data was the bigger one."
                ),
            ),
        ),
    ),
    Role.PEER_REVIEWER: Guide(
        key=Role.PEER_REVIEWER,
        title="Peer reviewer",
        usually=_(
            "Another technician, the network manager, a supplier, or a technician "
            "from a nearby school."
        ),
        comments=(
            _("Never the person who raised the RFC: a second pair of eyes is the point."),
            _(
                "You check that the plan will work and that the fallback would really put "
                "things back."
            ),
            _(
                "A school may leave peer review out while it starts out, and switch it on "
                "once people are used to the process."
            ),
        ),
        steps=(5,),
        what_you_do=(
            _("Read the plan, the risks and the fallback."),
            _("Approve it when it is sound, or send it back to planning saying what is missing."),
        ),
        example=Example(
            "Update the firmware on the Wi-Fi access points",
            (
                _(
                    "Peter, the network manager, read Olivia's plan to upgrade the 18 access "
                    "points."
                ),
                _(
                    "He checked that the old firmware was saved so it could be put back, and "
                    "that the upgrade would happen after school when the hall is empty, then "
                    "approved it."
                ),
            ),
        ),
    ),
    Role.FINAL_APPROVER: Guide(
        key=Role.FINAL_APPROVER,
        title="Final approver",
        usually=_("The headteacher, the ICT manager or another senior teacher."),
        comments=(
            _(
                "You accept the effect the change will have on the school, such as time "
                "without a service; you need not be technical."
            ),
            _(
                "In time this should be someone outside ICT support, so that the people who "
                "make changes are not the ones who agree to them."
            ),
            _(
                "You may name a deputy to decide for you while you are away (“J. Smith for "
                "the headteacher”)."
            ),
        ),
        steps=(6,),
        what_you_do=(
            _("Read what the change is, when it happens and what people will notice."),
            _("Approve it, send it back to planning, or turn it down, saying why."),
            _("For an emergency change, confirm the decision afterwards."),
        ),
        example=Example(
            "Upgrade the MIS to the spring release",
            (
                _(
                    "Fiona, the headteacher, read that the office would be without the MIS "
                    "for an afternoon, and that the release was needed for the census."
                ),
                _(
                    "She approved it for a day without a census deadline, accepting the "
                    "afternoon without the MIS."
                ),
            ),
        ),
    ),
    Role.IMPLEMENTER: Guide(
        key=Role.IMPLEMENTER,
        title="Implementer",
        usually=_("A technician, the ICT co-ordinator, a supplier or a teacher."),
        comments=(
            _("Often the same person who raised the RFC, and that is fine."),
            _(
                "Follow the plan that was approved; if it goes wrong, carry out the fallback "
                "plan rather than improvising."
            ),
        ),
        steps=(8,),
        what_you_do=(
            _("Carry out the change at the agreed time."),
            _(
                "Record the outcome: it worked, it partly worked, or it failed and things "
                "were put back."
            ),
        ),
        example=Example(
            "Replace the UPS batteries in the server cupboard",
            (
                _(
                    "Ivan, the supplier's engineer, replaced the batteries on the agreed "
                    "evening and recorded the outcome as a success once the UPS reported "
                    "healthy batteries."
                ),
            ),
        ),
    ),
    Role.COMMUNICATOR: Guide(
        key=Role.COMMUNICATOR,
        title="Communicator",
        usually=_("Anyone who writes plainly: the office manager, or the service desk."),
        comments=(
            _("Tell the people affected as early as you can, and remind them shortly before."),
            _(
                "Use plain words and the same layout every time: what is happening, when, "
                "what people will notice, what to do, who to ask."
            ),
        ),
        steps=(7,),
        what_you_do=(
            _(
                "When an RFC is approved, draft its notice from the RFC and publish it on the "
                "notice board; the staff list is e-mailed."
            ),
            _("Write general notices too, such as the one introducing change management."),
        ),
        example=Example(
            "Set up a guest Wi-Fi network for visitors",
            (
                _(
                    "Carol, the office manager, published a notice a week ahead: a new guest "
                    "network for visitors, the password changed each term, ask the office for "
                    "it."
                ),
            ),
        ),
    ),
    Role.RELEASE_MANAGER: Guide(
        key=Role.RELEASE_MANAGER,
        title="Release manager",
        usually=_("The network manager."),
        comments=(
            _(
                "Keeps the release policy (when new software and equipment go in) and reads "
                "the release figures to decide what to do next."
            ),
        ),
        steps=(4, 8),
        what_you_do=(
            _("Write and publish the release policy."),
            _("Plan releases into the release windows and approve the build procedures."),
        ),
        example=Example(
            "Summer refresh: new image and three upgrades",
            (
                _(
                    "Peter planned the new laptop image and three upgrades for the summer "
                    "holiday, inside the release window the policy sets."
                ),
            ),
        ),
        process="release",
    ),
    Role.PATCH_ADMINISTRATOR: Guide(
        key=Role.PATCH_ADMINISTRATOR,
        title="Patch administrator",
        usually=_("A technician."),
        comments=(
            _(
                "Watches the vendors for security updates, anti-virus and driver updates, "
                "decides which apply and sees them tested and deployed on time."
            ),
        ),
        steps=(1, 2, 8),
        what_you_do=(
            _("Keep the list of vendors and where they announce updates."),
            _("Assess each new update, test it, and raise it as a standard change."),
        ),
        example=Example(
            "Monthly security updates for staff laptops",
            (
                _(
                    "Each month Olivia assessed the vendor's updates, tried them on two "
                    "laptops, and raised the monthly run from the approved standard change."
                ),
            ),
        ),
        process="patch",
    ),
}


@dataclass(frozen=True)
class Process:
    key: str
    title: StrOrPromise
    summary: StrOrPromise
    steps: tuple[StrOrPromise, ...]
    example: Example


OVERVIEW: tuple[Process, ...] = (
    Process(
        "change",
        _("Change management"),
        _(
            "Any change to the school's ICT that affects more than one person goes through an "
            "RFC: written before work starts, agreed, planned, checked, agreed again, "
            "announced, carried out and closed. Everyone can see where it is and who it waits "
            "on."
        ),
        tuple(STEPS.values()),
        Example(
            "Replace the ICT suite 2 network switch",
            (
                _(
                    "Olivia raised it; Ian agreed it could be planned; Olivia planned it; "
                    "Peter checked the plan; Fiona agreed to an hour without the suite after "
                    "school; Carol told the staff; Olivia swapped the switch, recorded a "
                    "success, updated the records and closed it."
                ),
            ),
        ),
    ),
    Process(
        "release",
        _("Release management"),
        _(
            "New software and equipment arrive in planned releases: a policy says when (for "
            "example the summer holiday), each service has a build procedure, and the "
            "software library keeps the originals and the licences."
        ),
        (
            _("Agree and publish the release policy."),
            _("Keep the software library."),
            _("Write the build procedure for each service."),
            _("Release the build through an RFC, inside a release window."),
            _("Install it with the install checklist."),
        ),
        Example(
            "Summer refresh: new image and three upgrades",
            (
                _(
                    "Peter grouped the new laptop image and three upgrades into one summer "
                    "release; each installation was an RFC, done while the building was "
                    "quiet."
                ),
            ),
        ),
    ),
    Process(
        "patch",
        _("Patch management"),
        _(
            "Security updates, anti-virus and drivers are applied on a planned cycle rather "
            "than whenever a pop-up asks: watched, assessed, tested, raised as a standard "
            "change, announced, deployed and checked."
        ),
        (
            _("Watch the vendors."),
            _("Assess each update: does it apply, how urgent is it?"),
            _("Test it on a few machines."),
            _("Raise the RFC, usually from a standard change."),
            _("Tell people, deploy it, check it worked and update the records."),
        ),
        Example(
            "Monthly security updates for staff laptops",
            (
                _(
                    "The monthly run is a standard change approved once; each month's RFC is "
                    "raised from it without asking for approval again."
                ),
            ),
        ),
    ),
)


def guide(key: str) -> Guide | None:
    return GUIDES.get(key)


def guide_keys() -> list[str]:
    """Every guide a person may confirm: the roles' and the overview."""
    return [*GUIDES, OVERVIEW_KEY]


def guide_title(key: str) -> str:
    if key == OVERVIEW_KEY:
        return "Overview of the three processes"
    found = GUIDES.get(key)
    return found.title if found else key
