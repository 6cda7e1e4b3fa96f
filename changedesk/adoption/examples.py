"""The materials' words: the sections of the blank RFC, the role cards and the library of
worked example RFCs (realistic school changes, complete in every FITS section).

- `BLANK_SECTIONS`: the boxes of the printable blank RFC, in the order of the paper form.
- `ROLE_CARDS`: one card per role (who usually holds it, what they do, in which of the ten
  steps), in our own words. `role_cards()` takes a role's words from its training guide
  (`adoption.guidance.GUIDES`) where there is one, so cards and training agree; the roles
  without a guide (build developer, installer) keep the text written here.
- `EXAMPLES`: worked RFCs to read and to copy into a new RFC (`copy_query` is the query
  string that pre-fills the new-RFC form; the person reads it and saves it themselves).

The words are English here (marked with `gettext_noop`) and translated on display only:
`blank_sections()`, `blank_approvals()`, `blank_after()`, `role_cards()` and
`translated(example)` give them in the active language, while `copy_query` copies the
English text into a new RFC, as it is stored.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.utils.translation import gettext, gettext_noop

from changedesk.accounts.choices import Role

# --- The blank RFC: (box, hint), grouped as the paper form is. ---

BLANK_SECTIONS: tuple[tuple[str, tuple[tuple[str, str, int], ...]], ...] = (
    # (heading, ((label, hint, lines), …)): `lines` is how many writing lines the box gets.
    (
        gettext_noop("The request (step 2: before anything is bought or any time is spent)"),
        (
            (gettext_noop("Name"), gettext_noop("A short name people will recognise."), 1),
            (
                gettext_noop("Brief description"),
                gettext_noop("What will change, in a sentence or two."),
                2,
            ),
            (
                gettext_noop("Reason for change"),
                gettext_noop("The problem it solves or the need it meets."),
                2,
            ),
            (gettext_noop("Originator"), gettext_noop("Name and job title."), 1),
            (
                gettext_noop("Initial approver"),
                gettext_noop("Who agrees it may be planned and money spent."),
                1,
            ),
        ),
    ),
    (
        gettext_noop("The plan (step 4)"),
        (
            (
                gettext_noop("Full details of the change"),
                gettext_noop("The steps, in order, as they will be done."),
                6,
            ),
            (
                gettext_noop("Impact on ICT services and users"),
                gettext_noop("Who and what is affected, and for how long."),
                3,
            ),
            (
                gettext_noop("Risk of failure and impact of failure"),
                gettext_noop("How likely is failure, and what then?"),
                3,
            ),
            (
                gettext_noop("Fallback plan"),
                gettext_noop("How to put things back if it goes wrong."),
                3,
            ),
            (
                gettext_noop("Configuration items it touches"),
                gettext_noop("Services, servers, devices, software."),
                2,
            ),
        ),
    ),
)

# The approvals, each with a signature and a date line (steps 3, 5 and 6).
BLANK_APPROVALS = (
    (gettext_noop("Initial approver"), gettext_noop("Approved to plan / returned / rejected")),
    (gettext_noop("Peer reviewer"), gettext_noop("The plan is technically sound / returned")),
    (gettext_noop("Final approver"), gettext_noop("Approved to implement / returned / rejected")),
)

# After the change (steps 8 to 10).
BLANK_AFTER = (
    (
        gettext_noop("Outcome"),
        gettext_noop("Succeeded / partly succeeded / failed, fallback plan carried out"),
        2,
    ),
    (gettext_noop("Configuration records updated"), gettext_noop("Yes / no: which records"), 2),
    (
        gettext_noop("Review"),
        gettext_noop("Did it cause incidents? Were the users told beforehand?"),
        3,
    ),
    (
        gettext_noop("Closure"),
        gettext_noop("Closed by the originator: name, signature and date"),
        1,
    ),
)


# --- The role cards. ---


@dataclass(frozen=True)
class RoleCard:
    role: str
    name: str
    who: str
    does: tuple[str, ...]
    steps: str


ROLE_CARDS: tuple[RoleCard, ...] = (
    RoleCard(
        Role.ORIGINATOR,
        gettext_noop("Originator"),
        gettext_noop("A technician, the network manager, the ICT co-ordinator or a supplier."),
        (
            gettext_noop("Raises the RFC before buying anything or spending time on it."),
            gettext_noop("Writes the plan: the steps, the impact, the risk and the fallback."),
            gettext_noop("Sees the change through, updates the records and closes the RFC."),
        ),
        gettext_noop("Steps 1, 2, 4, 9 and 10."),
    ),
    RoleCard(
        Role.INITIAL_APPROVER,
        gettext_noop("Initial approver"),
        gettext_noop("The ICT manager or co-ordinator; usually one person per school."),
        (
            gettext_noop("Decides whether the change may be planned and money spent on it."),
            gettext_noop(
                "Approves, sends it back with what is missing, or rejects it with a reason."
            ),
        ),
        gettext_noop("Step 3."),
    ),
    RoleCard(
        Role.PEER_REVIEWER,
        gettext_noop("Peer reviewer"),
        gettext_noop(
            "Another technician, the network manager, a supplier or a technician from a "
            "neighbouring school; never the originator of the same RFC."
        ),
        (
            gettext_noop("Checks that the plan is technically sound and the fallback would work."),
            gettext_noop("Approves the plan or returns it with questions."),
        ),
        gettext_noop("Step 5 (a school starting out may leave it off)."),
    ),
    RoleCard(
        Role.FINAL_APPROVER,
        gettext_noop("Final approver"),
        gettext_noop(
            "The headteacher, the ICT manager or another senior teacher; best someone outside "
            "ICT support. Need not be technical."
        ),
        (
            gettext_noop("Gives the go-ahead, accepting the impact on the school (e.g. downtime)."),
            gettext_noop("Ratifies an emergency change afterwards."),
            gettext_noop("May name a deputy while away."),
        ),
        gettext_noop("Step 6."),
    ),
    RoleCard(
        Role.IMPLEMENTER,
        gettext_noop("Implementer"),
        gettext_noop(
            "A technician, the co-ordinator, a supplier's engineer or a teacher; may be the "
            "originator."
        ),
        (
            gettext_noop("Carries out the change as planned, in the agreed window."),
            gettext_noop("Uses the fallback plan if it goes wrong."),
            gettext_noop("Records the outcome: succeeded, partly, or failed and backed out."),
        ),
        gettext_noop("Step 8."),
    ),
    RoleCard(
        Role.COMMUNICATOR,
        gettext_noop("Communicator"),
        gettext_noop("Anyone who writes plainly, or the service desk."),
        (
            gettext_noop(
                "Tells the people affected, as far ahead as possible, in one standard layout."
            ),
            gettext_noop("Sends a reminder shortly before, and tells the service desk."),
        ),
        gettext_noop("Step 7."),
    ),
    RoleCard(
        Role.RELEASE_MANAGER,
        gettext_noop("Release manager"),
        gettext_noop("The network manager."),
        (
            gettext_noop("Keeps the release policy and the software library."),
            gettext_noop("Reads the release reports and decides from them."),
        ),
        gettext_noop("Release management: policy, library, releases."),
    ),
    RoleCard(
        Role.BUILD_DEVELOPER,
        gettext_noop("Build developer"),
        gettext_noop("A technician."),
        (gettext_noop("Writes and tests each service's build procedure."),),
        gettext_noop("Release management: create the build."),
    ),
    RoleCard(
        Role.INSTALLER,
        gettext_noop("Installer"),
        gettext_noop("A technician."),
        (gettext_noop("Installs builds, following the install build checklist step by step."),),
        gettext_noop("Release management: install the build."),
    ),
    RoleCard(
        Role.PATCH_ADMINISTRATOR,
        gettext_noop("Patch administrator"),
        gettext_noop("A technician."),
        (
            gettext_noop("Watches the vendors for patches, anti-virus and driver updates."),
            gettext_noop(
                "Assesses and tests them, then raises the RFC (usually a standard change)."
            ),
        ),
        gettext_noop("Patch management."),
    ),
)


def role_cards() -> list[RoleCard]:
    """The cards. Where the training guides (`adoption.guidance.GUIDES`) have a guide for the
    role, its words are used (who usually holds it, what they do, the steps by number and
    name), so the cards and the training say the same; the others keep the text above."""
    guides: dict[str, Any] = {}
    try:
        guidance = importlib.import_module("changedesk.adoption.guidance")
    except ImportError:  # pragma: no cover - the guides are written alongside
        guidance = None
    if guidance is not None:
        found = getattr(guidance, "GUIDES", None)
        guides = found if isinstance(found, dict) else {}
    steps: dict[int, str] = getattr(guidance, "STEPS", {}) if guidance is not None else {}
    cards = []
    for card in ROLE_CARDS:
        guide = guides.get(str(card.role))
        if guide is None:
            cards.append(
                RoleCard(
                    card.role,
                    _tr(card.name),
                    _tr(card.who),
                    tuple(_tr(line) for line in card.does),
                    _tr(card.steps),
                )
            )
            continue
        numbers = tuple(getattr(guide, "steps", ()))
        named = "; ".join(f"{n}. {_tr(steps.get(n, ''))}".rstrip(". ") for n in numbers)
        cards.append(
            RoleCard(
                card.role,
                _tr(getattr(guide, "title", card.name)),
                _tr(getattr(guide, "usually", card.who)),
                tuple(_tr(line) for line in getattr(guide, "what_you_do", card.does)),
                gettext("Steps %(steps)s.") % {"steps": named} if named else _tr(card.steps),
            )
        )
    return cards


def _tr(text: Any) -> str:
    """`text` in the active language (an English message, or a lazy one); "" stays ""."""
    text = str(text)
    return gettext(text) if text else ""


def blank_sections() -> tuple[tuple[str, tuple[tuple[str, str, int], ...]], ...]:
    """`BLANK_SECTIONS` in the active language."""
    return tuple(
        (_tr(heading), tuple((_tr(label), _tr(hint), lines) for label, hint, lines in boxes))
        for heading, boxes in BLANK_SECTIONS
    )


def blank_approvals() -> tuple[tuple[str, str], ...]:
    """`BLANK_APPROVALS` in the active language."""
    return tuple((_tr(label), _tr(decision)) for label, decision in BLANK_APPROVALS)


def blank_after() -> tuple[tuple[str, str, int], ...]:
    """`BLANK_AFTER` in the active language."""
    return tuple((_tr(label), _tr(hint), lines) for label, hint, lines in BLANK_AFTER)


# --- The worked examples. ---


@dataclass(frozen=True)
class Example:
    slug: str
    title: str
    description: str
    reason: str
    details: str
    impact: str
    risk: str
    fallback_plan: str
    when: str
    originator: str
    initial_approver: str
    peer_reviewer: str
    final_approver: str
    outcome: str
    records: str
    review: str
    closure: str
    is_emergency: bool = False
    emergency_justification: str = ""
    tags: tuple[str, ...] = field(default=())

    # The fields copied into a new RFC.
    COPIED = ("title", "description", "reason", "details", "impact", "risk", "fallback_plan")

    def copy_query(self, school_slug: str = "") -> str:
        """The new-RFC form's query string, pre-filled with this example's text."""
        pairs = [(name, str(getattr(self, name))) for name in self.COPIED]
        if self.is_emergency:
            pairs += [
                ("is_emergency", "on"),
                ("emergency_justification", self.emergency_justification),
            ]
        if school_slug:
            pairs.insert(0, ("school", school_slug))
        return urlencode(pairs)


EXAMPLES: tuple[Example, ...] = (
    Example(
        slug="firewall-rule",
        title=gettext_noop("Open the firewall for the new science data loggers"),
        description=gettext_noop(
            "Allow the science department's data loggers to send readings to the "
            "supplier's cloud service through the school firewall."
        ),
        reason=gettext_noop(
            "The new data loggers bought for GCSE practicals cannot upload results; "
            "pupils lose a lesson's readings each time."
        ),
        details=gettext_noop(
            "1. Ask the supplier for the service's addresses and port (HTTPS, 443).\n"
            "2. Save a copy of the firewall's configuration.\n"
            "3. Add an outbound rule from the science VLAN only to those addresses.\n"
            "4. Test an upload from one logger in Lab 2.\n"
            "5. Ask the head of science to check the readings arrive."
        ),
        impact=gettext_noop(
            "No downtime. Only the science VLAN gains the new route; other traffic is unchanged."
        ),
        risk=gettext_noop(
            "Low. A mistyped rule could block the science VLAN's web access until it is "
            "corrected (minutes)."
        ),
        fallback_plan=gettext_noop("Delete the new rule and restore the saved configuration."),
        when=gettext_noop("Wednesday after school, 16:00 to 16:30."),
        originator=gettext_noop("Network manager"),
        initial_approver=gettext_noop("ICT co-ordinator"),
        peer_reviewer=gettext_noop("The trust's network manager"),
        final_approver=gettext_noop("Headteacher"),
        outcome=gettext_noop("Succeeded."),
        records=gettext_noop(
            "The firewall's configuration item updated with the new rule and its date."
        ),
        review=gettext_noop("No incidents. The science department was told the week before."),
        closure=gettext_noop("Closed by the network manager the next morning."),
        tags=("network", "security"),
    ),
    Example(
        slug="summer-reimaging",
        title=gettext_noop("Reimage the ICT suites over the summer holiday"),
        description=gettext_noop(
            "Reinstall the 90 computers in ICT suites 1 to 3 from the new "
            "Windows build with this year's software."
        ),
        reason=gettext_noop(
            "The computers have slowed down over the year and the curriculum needs "
            "the new versions of the programming and design software."
        ),
        details=gettext_noop(
            "1. Check every licence in the software library covers the new versions.\n"
            "2. Build and test the image on two spare computers (build procedure v4).\n"
            "3. Back up any pupil work left on local drives.\n"
            "4. Deploy the image suite by suite over the network.\n"
            "5. Follow the install build checklist on each computer and tick it off.\n"
            "6. A teacher logs on in each suite and opens each subject's software."
        ),
        impact=gettext_noop(
            "ICT suites 1 to 3 unavailable from 24 July to 7 August. Summer school "
            "uses the library computers instead."
        ),
        risk=gettext_noop(
            "Medium. A faulty image would leave suites unusable at the start of term."
        ),
        fallback_plan=gettext_noop(
            "Keep last year's image; redeploy it to any suite that fails "
            "testing (half a day per suite)."
        ),
        when=gettext_noop("24 July to 7 August, school days 08:00 to 16:00."),
        originator=gettext_noop("ICT technician"),
        initial_approver=gettext_noop("ICT co-ordinator"),
        peer_reviewer=gettext_noop("Supplier's engineer"),
        final_approver=gettext_noop("Headteacher"),
        outcome=gettext_noop(
            "Partly succeeded: suites 1 and 2 done; suite 3 finished a week late after "
            "a faulty network switch was found."
        ),
        records=gettext_noop(
            "90 computers' entries updated with the build version; the switch replaced "
            "on its own RFC."
        ),
        review=gettext_noop(
            "No incidents in term. The summer school coordinator asked for more notice next year."
        ),
        closure=gettext_noop("Closed by the technician on the first day of term."),
        tags=("release", "computers"),
    ),
    Example(
        slug="library-printer",
        title=gettext_noop("Install a new printer in the library"),
        description=gettext_noop(
            "Add a networked colour printer in the library for pupils, with print "
            "credits through the existing print management system."
        ),
        reason=gettext_noop(
            "Pupils queue at the one printer in the ICT suite at lunchtime and cannot "
            "print homework in the library."
        ),
        details=gettext_noop(
            "1. Unpack and place the printer by the issue desk.\n"
            "2. Give it a fixed address on the pupil network.\n"
            "3. Add it to the print management server and the pupil print queue.\n"
            "4. Push the queue to the library computers by group policy.\n"
            "5. Print a test page from a pupil account and check credits are charged."
        ),
        impact=gettext_noop(
            "None during lessons: set up after school. Library computers pick up the "
            "new queue at their next log-on."
        ),
        risk=gettext_noop(
            "Low. A wrong policy could add the queue to staff computers too; annoying but harmless."
        ),
        fallback_plan=gettext_noop(
            "Remove the queue from the policy and the server; the old printer is unaffected."
        ),
        when=gettext_noop("Tuesday, 15:30 to 17:00."),
        originator=gettext_noop("ICT technician"),
        initial_approver=gettext_noop("ICT co-ordinator"),
        peer_reviewer=gettext_noop("Network manager"),
        final_approver=gettext_noop("School business manager"),
        outcome=gettext_noop("Succeeded."),
        records=gettext_noop(
            "New printer added to the configuration items with its address and location."
        ),
        review=gettext_noop(
            "No incidents. The librarian put up a notice; pupils used it the next day."
        ),
        closure=gettext_noop("Closed by the technician the same week."),
        tags=("printing",),
    ),
    Example(
        slug="mis-upgrade",
        title=gettext_noop("Upgrade the MIS to the spring release"),
        description=gettext_noop(
            "Install the supplier's spring release of the management information "
            "system (registers, assessment, reports) on the MIS server."
        ),
        reason=gettext_noop(
            "The spring release carries the census changes the school must submit in "
            "May; the current version will not produce the return."
        ),
        details=gettext_noop(
            "1. Read the supplier's release notes; note the changes staff will see.\n"
            "2. Take a full backup of the MIS database and check it restores on the test "
            "server.\n"
            "3. Stop the MIS service; install the release.\n"
            "4. Run the supplier's database upgrade.\n"
            "5. Start the service; the office manager takes a test register and runs a report."
        ),
        impact=gettext_noop(
            "The MIS (registers, behaviour, reports) unavailable on Friday from 17:00 to "
            "20:00. Nobody may take registers or print reports in that time."
        ),
        risk=gettext_noop(
            "Medium. A failed database upgrade would stop registers on Monday morning."
        ),
        fallback_plan=gettext_noop(
            "Restore the backup to the MIS server and reinstall the previous "
            "version (about two hours); paper registers on Monday if needed."
        ),
        when=gettext_noop("Friday 17:00 to 20:00, not in an exam or census week."),
        originator=gettext_noop("ICT co-ordinator"),
        initial_approver=gettext_noop("School business manager"),
        peer_reviewer=gettext_noop("The MIS supplier's support engineer"),
        final_approver=gettext_noop("Headteacher"),
        outcome=gettext_noop("Succeeded."),
        records=gettext_noop("MIS server and MIS software items updated with the new version."),
        review=gettext_noop(
            "One incident: a report template lost its logo; fixed on Monday. All staff "
            "had the notice a week before and a reminder on Friday."
        ),
        closure=gettext_noop("Closed by the co-ordinator after the census return went in."),
        tags=("MIS",),
    ),
    Example(
        slug="wifi-access-points",
        title=gettext_noop("Replace the Wi-Fi access points in the English block"),
        description=gettext_noop(
            "Swap the six old access points in the English block for the model "
            "used in the rest of the school."
        ),
        reason=gettext_noop(
            "Class sets of laptops lose their connection in English lessons; the old "
            "access points are out of support and get no security updates."
        ),
        details=gettext_noop(
            "1. Pre-configure the six new access points on the controller.\n"
            "2. After school, replace them one room at a time, labelling each.\n"
            "3. Check each room's signal with a laptop from the trolley.\n"
            "4. Remove the old access points from the controller."
        ),
        impact=gettext_noop(
            "No Wi-Fi in the English block on Thursday from 15:30 to 18:00. Cleaners "
            "and the after-school club are told."
        ),
        risk=gettext_noop(
            "Low. A faulty unit leaves one room without Wi-Fi until a spare is fitted."
        ),
        fallback_plan=gettext_noop(
            "Refit the old access point in any room where the new one fails; the "
            "old configuration is kept on the controller until Friday."
        ),
        when=gettext_noop("Thursday 15:30 to 18:00."),
        originator=gettext_noop("Network manager"),
        initial_approver=gettext_noop("ICT co-ordinator"),
        peer_reviewer=gettext_noop("Supplier's engineer"),
        final_approver=gettext_noop("Deputy headteacher"),
        outcome=gettext_noop("Succeeded."),
        records=gettext_noop(
            "Six access points replaced in the configuration items; old ones marked retired."
        ),
        review=gettext_noop(
            "No incidents. The English department said lessons were smoother the next week."
        ),
        closure=gettext_noop("Closed by the network manager on Friday."),
        tags=("network", "wireless"),
    ),
    Example(
        slug="emergency-antivirus",
        title=gettext_noop("Emergency anti-virus update against a spreading threat"),
        description=gettext_noop(
            "Push the vendor's out-of-cycle anti-virus definitions and engine update "
            "to every computer today."
        ),
        reason=gettext_noop(
            "The local authority warned of ransomware spreading between schools through "
            "e-mail attachments; the vendor's update detects it."
        ),
        details=gettext_noop(
            "1. Approve the update on the anti-virus server.\n"
            "2. Deploy it to the technician's computer and one staff laptop first; check they "
            "scan and update.\n"
            "3. Deploy to all computers.\n"
            "4. Check the console: every computer reports the new version by the end of the "
            "day."
        ),
        impact=gettext_noop(
            "Computers may slow down for ten minutes while they scan; no downtime."
        ),
        risk=gettext_noop("Low. A bad update could slow computers for the rest of the day."),
        fallback_plan=gettext_noop(
            "Roll the definitions back to yesterday's from the anti-virus server."
        ),
        when=gettext_noop("Today, as soon as approved."),
        originator=gettext_noop("ICT technician"),
        initial_approver=gettext_noop("ICT co-ordinator (approved at once as an emergency)"),
        peer_reviewer=gettext_noop("Not needed for an emergency"),
        final_approver=gettext_noop("Headteacher (ratified afterwards)"),
        outcome=gettext_noop("Succeeded: all computers updated by 15:00."),
        records=gettext_noop("Anti-virus software item updated with the new engine version."),
        review=gettext_noop(
            "No incidents. Staff were told by e-mail at break; the headteacher ratified "
            "it the next morning."
        ),
        closure=gettext_noop("Closed by the technician after the ratification."),
        is_emergency=True,
        emergency_justification=gettext_noop(
            "The threat is spreading between schools today; waiting for "
            "the normal approvals would leave every computer exposed."
        ),
        tags=("security", "emergency", "patch"),
    ),
    Example(
        slug="staff-email-migration",
        title=gettext_noop("Move staff e-mail to the trust's new service"),
        description=gettext_noop(
            "Move the 60 staff mailboxes from the school's own mail server to the "
            "trust's hosted service over a half-term."
        ),
        reason=gettext_noop(
            "The mail server is out of support next year and the trust offers the hosted "
            "service at no cost to the school."
        ),
        details=gettext_noop(
            "1. Agree the date with the trust; check every member of staff has a "
            "trust account.\n"
            "2. Copy mailboxes in the week before half-term, leaving the old server running.\n"
            "3. On the first Saturday, switch the school's mail records to the new service.\n"
            "4. Copy anything that arrived since; check a sample of mailboxes.\n"
            "5. Staff sign in to the new service on the first day back with the printed guide."
        ),
        impact=gettext_noop(
            "E-mail may be delayed for up to four hours on the Saturday. Staff need to "
            "sign in again on their phones."
        ),
        risk=gettext_noop(
            "Medium. Wrong mail records could bounce parents' e-mails until corrected."
        ),
        fallback_plan=gettext_noop(
            "Point the mail records back to the old server, which stays running for a month."
        ),
        when=gettext_noop("Half-term Saturday, 09:00 to 13:00."),
        originator=gettext_noop("ICT co-ordinator"),
        initial_approver=gettext_noop("School business manager"),
        peer_reviewer=gettext_noop("The trust's network manager"),
        final_approver=gettext_noop("Headteacher"),
        outcome=gettext_noop("Succeeded."),
        records=gettext_noop("Mail server item retired; the hosted service added."),
        review=gettext_noop(
            "Two staff could not sign in on their phones; the guide was updated. Staff "
            "had a briefing and the printed guide before half-term."
        ),
        closure=gettext_noop("Closed by the co-ordinator two weeks after half-term."),
        tags=("e-mail",),
    ),
)

BY_SLUG = {example.slug: example for example in EXAMPLES}

# The words of an example that are shown (the slug and tags are keys, kept English).
SHOWN = (
    "title", "description", "reason", "details", "impact", "risk", "fallback_plan", "when",
    "originator", "initial_approver", "peer_reviewer", "final_approver", "outcome", "records",
    "review", "closure", "emergency_justification",
)  # fmt: skip


def translated(example: Example) -> Example:
    """The example to show, its words in the active language. Copy from the original
    (`copy_query`): an RFC is stored in English."""
    words: dict[str, Any] = {name: _tr(getattr(example, name)) for name in SHOWN}
    return dataclasses.replace(example, **words)
