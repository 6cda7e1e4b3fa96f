"""A year of the demo school's history, so that its reports and charts have a shape.

About 130 RFCs of Greenfield Primary raised over the last twelve months: the pilot first
(the earliest, closed and successful), then the school's ordinary run of changes, busier in
September and January, quiet in August and over Christmas. Most are approved and closed
successfully; some were returned once before approval, a few rejected or withdrawn, a few
were emergencies ratified afterwards, several failed and were backed out or partly
succeeded, and a few caused incidents. Most approved changes were told to the users by a
notice published before they started; some were not.

Every step goes through the real doors (`create_change`, `update_change`, `perform`, the
communication services) at its own past moment: time is moved there with `time_machine`
around each step, so each RFC's history chain is sealed with the times it happened and
verifies, and the guards that compare with now see that moment. Planned windows are in the
school's safe slots (weekdays from 18:00, or a Saturday morning). A step a guard refuses is
rolled back with its RFC and reported, never a crash.

Deterministic (a fixed seed) and made once: nothing is made when the pilot's title is
already there. The RFCs are numbered after the demo's others (they are made after them).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import time_machine
from django.db import transaction
from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import with_roles
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.communication.services import draft_from_change, publish_notice
from changedesk.lib.errors import WorkflowError

logger = logging.getLogger(__name__)

SEED = 20251204
# The first RFC of the year: the pilot (its title is made once, so it marks the history).
PILOT_TITLE = "Set up the new staffroom printer"
# How many RFCs are raised in each calendar month, over a whole month.
MONTHLY = {1: 14, 2: 9, 3: 10, 4: 7, 5: 9, 6: 10, 7: 9, 8: 2, 9: 16, 10: 11, 11: 10, 12: 5}
# The year starts this long ago, and the last RFC is raised this long ago (so that it has
# been carried out and closed before the demo's RFCs of now).
YEAR = timedelta(days=365)
LAST_RAISED = timedelta(days=21)
QUICK = timedelta(days=50)
ROOMS = ("Class 1", "Class 2", "Class 3", "Class 4", "Class 5", "Class 6", "Reception",
         "the library", "the hall", "the music room", "the nurture room")  # fmt: skip


@dataclass(frozen=True)
class Job:
    """A kind of school ICT change the school makes more than once ("{room}": a room)."""

    title: str
    what: str
    why: str
    steps: str
    impact: str
    fallback: str
    risk: str = "Low."
    by: str = "olivia"  # the implementer: "ivan" for Northgate's work
    hours: float = 1.5
    weekend: bool = False


PILOT = Job(
    PILOT_TITLE,
    "Install the new multifunction printer in the staffroom, add it to the print server and "
    "deploy it to the staff laptops; take the old inkjet away.",
    "The staffroom inkjet jams daily and its ink costs more than the lease of a new printer.",
    "1. Unbox and connect the printer.\n2. Add it to the print server with the staff "
    "print policy.\n3. Deploy it to the staff laptops from Intune.\n4. Print a test page "
    "from three laptops.",
    "None during lessons; the staffroom has no printer for an hour after school.",
    "Put the old inkjet back until the new printer works.",
)
JOBS = (
    Job("Replace the projector in {room}",
        "Swap the failing ceiling projector in {room} for a new short-throw model.",
        "The picture in {room} has faded and flickers; the lamp is past its hours.",
        "1. Take the old projector down.\n2. Fit the new one to the same bracket.\n"
        "3. Align and focus it.\n4. Test with the teacher's laptop.",
        "{room} has no projector for the evening.", "Refit the old projector.", hours=2),
    Job("Move {room} to the new interactive display",
        "Fit a wall-mounted interactive display in {room} and connect it to the teacher's "
        "laptop dock.", "The old whiteboard in {room} no longer calibrates.",
        "1. Fit the wall bracket.\n2. Hang and connect the display.\n3. Install the display "
        "software on the laptop.\n4. Calibrate and show the teacher.",
        "{room} has no board until the display is fitted.",
        "Reconnect the old board and projector.", "Medium: the wall may need extra fixings.",
        hours=3, weekend=True),
    Job("Install the half-term Windows updates on the ICT suite",
        "Install the outstanding feature and driver updates on the 30 ICT suite PCs.",
        "Several PCs missed the monthly run while switched off.",
        "1. Power on every PC remotely.\n2. Approve the updates.\n3. Check each PC signs in.",
        "The ICT suite is unavailable during the updates.",
        "Uninstall the updates from the console.", hours=3, weekend=True),
    Job("Add the new starters to the MIS and Microsoft 365",
        "Create accounts for the new pupils and staff and put them in the right groups.",
        "New pupils and staff start next week and need to sign in on day one.",
        "1. Import the new starters from the MIS.\n2. Create the Microsoft 365 accounts.\n"
        "3. Add them to their class teams.\n4. Print their first passwords for the office.",
        "None.", "Delete the new accounts and create them again.", "Very low.", hours=1),
    Job("Renew the web filter's security certificate",
        "Install the web filter's renewed certificate on the filter and every school device.",
        "The certificate runs out this month; after that every website shows a warning.",
        "1. Install the new certificate on the filter.\n2. Push it to devices from Intune "
        "and the MDM.\n3. Check HTTPS sites open without a warning.",
        "Some websites may show a warning for a few minutes.",
        "Switch the filter back to the old certificate until it expires.", "Medium.", hours=1),
    Job("Install the MIS supplier's termly release",
        "Apply the MIS supplier's termly release to the server and the office PCs.",
        "The release is needed for the next statutory return.",
        "1. Northgate take a backup and test it restores.\n2. Upgrade the server.\n"
        "3. Update the office clients.\n4. The office checks registers and reports.",
        "The MIS and the parent app are unavailable for the evening.",
        "Restore the backup and reinstall the previous client.",
        "Medium: a failed upgrade could leave the MIS down next morning.", by="ivan", hours=3),
    Job("Replace the battery in the server cupboard UPS",
        "Swap the UPS batteries in the server cupboard.",
        "The UPS self-test reports a weak battery.",
        "1. Shut the servers down.\n2. Swap the batteries.\n3. Start up and run the self-test.",
        "Servers, MIS and file shares down for an hour.",
        "Run the servers from mains until a new battery comes.", by="ivan", hours=1),
    Job("Update the firmware on the core switch",
        "Apply the vendor's current firmware to the core network switch.",
        "The vendor has fixed a flaw that can make the switch restart.",
        "1. Save the configuration.\n2. Load the new firmware.\n3. Restart and check every "
        "link comes back.", "The whole network is down for about 20 minutes.",
        "Boot the switch from the previous firmware image.", "Medium.", by="ivan",
        hours=2, weekend=True),
    Job("Set up the class iPads for {room}",
        "Enrol a new class set of iPads for {room} in the MDM and load the class apps.",
        "{room} has new iPads bought with the sports premium grant.",
        "1. Enrol the iPads in the MDM.\n2. Assign the class apps.\n3. Test the filter and "
        "the printer from one.", "None.", "Wipe the iPads and enrol them again.", "Very low."),
    Job("Change the Wi-Fi password for the guest network",
        "Set a new password on the guest Wi-Fi and give it to the office.",
        "The guest password is changed each term.",
        "1. Change the password on the controller.\n2. Test from a phone.\n3. Give the "
        "office the new card.", "Visitors already connected must join again.",
        "Set the old password back.", "Very low.", hours=0.5),
    Job("Move the staff shared drive to the new file server",
        "Copy the staff shared drive to the new file server and point the drive mapping at it.",
        "The old server is out of warranty and nearly full.",
        "1. Copy the data over the weekend.\n2. Copy the changes again.\n3. Change the drive "
        "mapping.\n4. Check three staff can open their files.",
        "The staff drive is read-only from Friday evening until Sunday.",
        "Point the mapping back at the old server.", "Medium.", by="ivan", hours=6,
        weekend=True),
    Job("Replace the office PC of the school business manager",
        "Set up a new PC for the school business manager and move her files and finance "
        "software.", "The old PC is seven years old and will not run Windows 11.",
        "1. Build the new PC.\n2. Install the finance software.\n3. Move the files.\n"
        "4. Check she can print and run the finance reports.",
        "The business manager has no PC for an hour after school.",
        "Keep using the old PC.", hours=2),
    Job("Add the new visualisers to the teachers' laptops",
        "Install the visualiser software and driver on the teachers' laptops.",
        "The school bought visualisers for every classroom.",
        "1. Package the driver in Intune.\n2. Deploy overnight.\n3. Test in two classrooms.",
        "None during lessons.", "Remove the package from Intune."),
    Job("Switch the phonics app to the new version",
        "Move the class iPads and laptops to the phonics app's new version.",
        "The old version stops working at the end of term.",
        "1. Update the app in the MDM.\n2. Check the pupils' logins still work.",
        "None.", "Roll the app back in the MDM.", "Low: logins may need resetting."),
    Job("Replace the Wi-Fi access point in {room}",
        "Swap the failed wireless access point in {room} for a spare.",
        "{room} has had no Wi-Fi since Monday.",
        "1. Fit the spare.\n2. Adopt it on the controller.\n3. Test with a class iPad.",
        "No Wi-Fi in {room} for half an hour.", "None needed: the room has no Wi-Fi now.",
        hours=1),
    Job("Turn on multi-factor sign-in for staff e-mail",
        "Require staff to approve sign-ins to Microsoft 365 with the authenticator app.",
        "The trust's cyber insurance asks for it, and a phishing attack last term stole a "
        "password.", "1. Register every member of staff in a staff meeting.\n2. Turn the "
        "policy on for the staff group.\n3. Keep the office phone as the fallback.",
        "Staff sign in again with the app the next morning.",
        "Turn the policy off.", "Medium: some staff will need help on the first day.", hours=1),
    Job("Install the new version of the reading scheme software",
        "Update the reading scheme software on the ICT suite and the library PCs.",
        "The new version has the spring books.",
        "1. Deploy the update.\n2. Test a pupil login in the library.",
        "None during lessons.", "Reinstall the previous version."),
    Job("Clean up the leavers' accounts",
        "Disable the accounts of last year's leavers and archive their work.",
        "Accounts of pupils and staff who have left must not stay active.",
        "1. Export the leavers from the MIS.\n2. Disable their accounts.\n3. Archive their "
        "OneDrive files for a year.", "None.", "Enable the accounts again.", "Low.", hours=1),
    Job("Replace the printer in {room}",
        "Swap the failing printer in {room} for the one from the store and add it to the "
        "print server.", "The printer in {room} keeps jamming.",
        "1. Fit the printer.\n2. Add it to the print server.\n3. Print a test page.",
        "{room} has no printer for half an hour.", "Put the old printer back.", hours=1),
    Job("Update the door entry system's software",
        "Apply the door entry supplier's update to the reception console.",
        "The supplier has fixed the fob reader dropping out.",
        "1. Northgate back up the console.\n2. Apply the update.\n3. Test every door's fob "
        "reader.", "The doors stay locked and open with the override key during the update.",
        "Restore the console backup.", "Medium: a door may not open with fobs until fixed.",
        by="ivan", hours=2),
    Job("Move the school's DNS to the trust's provider",
        "Move the school's domain names to the trust's DNS provider.",
        "The trust is putting every school's domain in one place.",
        "1. Copy every record.\n2. Change the name servers.\n3. Check the website and "
        "e-mail.", "The website may be unreachable for a few minutes.",
        "Point the name servers back.", "Medium.", by="ivan", hours=2, weekend=True),
    Job("Set up the Year 6 revision laptops",
        "Prepare 15 laptops with the Year 6 revision programs for the practice tests.",
        "Year 6 revise with the online programs before the tests.",
        "1. Reset the laptops.\n2. Install the revision programs.\n3. Test each login.",
        "None.", "Reset the laptops again.", "Very low.", hours=2),
    Job("Upgrade the antivirus on every PC",
        "Move every school PC to the antivirus vendor's new version.",
        "The old version leaves support next month.",
        "1. Upgrade the management console.\n2. Deploy to the pilot ring.\n3. Deploy to "
        "every PC.", "PCs restart once after school.", "Roll back from the console.",
        "Medium.", hours=2),
    Job("Add a new printer queue for the art room plotter",
        "Add the art room's large-format plotter to the print server for staff only.",
        "The art co-ordinator wants to print display banners.",
        "1. Install the driver on the server.\n2. Share the queue with staff.\n3. Print a test.",
        "None.", "Remove the queue.", "Very low.", hours=1),
    Job("Replace the hall sound system's amplifier",
        "Fit a new amplifier to the hall's sound system.",
        "The amplifier cuts out during assemblies.",
        "1. Disconnect the old amplifier.\n2. Fit and wire the new one.\n3. Test the "
        "microphones and the laptop input.", "The hall has no sound until the test is done.",
        "Refit the old amplifier.", hours=2, weekend=True),
    Job("Move the parent payments to the new provider",
        "Connect the new school payments provider to the MIS and close the old one.",
        "The old provider's contract ends at the end of term.",
        "1. Northgate connect the provider to the MIS.\n2. Load the balances.\n"
        "3. The office takes a test payment.",
        "Parents cannot pay online for the evening.",
        "Keep the old provider open another month.", "Medium.", by="ivan", hours=3),
    Job("Update the BIOS on the staff laptops",
        "Install the manufacturer's BIOS update on the 40 staff laptops.",
        "The update fixes laptops that fail to wake from sleep.",
        "1. Test on two laptops.\n2. Deploy overnight with BitLocker suspended.\n3. Check "
        "the console.", "Laptops restart once overnight.",
        "Reflash the previous BIOS on any laptop that fails.",
        "Medium: a failed update can stop a laptop from starting.", hours=2),
    Job("Replace the broadband router",
        "Swap the broadband router for the one the provider has sent.",
        "The provider is upgrading the school's line.",
        "1. Fit the new router.\n2. Move the firewall's outside link.\n3. Test the internet "
        "and the VPN.", "No internet for about 30 minutes.", "Refit the old router.",
        "Medium.", by="ivan", hours=2, weekend=True),
    Job("Enable the shared calendar for room bookings",
        "Create shared room calendars in Microsoft 365 for the hall, the library and the ICT "
        "suite.", "Staff double-book the rooms on the paper sheet.",
        "1. Create the room mailboxes.\n2. Give staff booking rights.\n3. Show the office.",
        "None.", "Delete the room calendars.", "Very low.", hours=1),
)  # fmt: skip

# The mix of what happened (relative weights).
STORIES = (
    ("done", 58), ("returned", 8), ("peer_returned", 5), ("rejected", 4), ("withdrawn", 4),
    ("emergency", 4), ("failed", 6), ("partly", 5), ("incident", 4),
)  # fmt: skip
RETURNS = (
    "Say which rooms are affected and when: the office needs to know.",
    "Please add why it cannot wait until the summer.",
    "Talk to Peter about the network side first, then send it back.",
)
PEER_RETURNS = (
    "Add how you will check it worked before you leave the site.",
    "The fallback plan needs a time by which you decide to use it.",
    "Take a backup first and say where it is kept.",
)
REJECTIONS = (
    "Not this year: the budget is committed. Raise it again in April.",
    "The trust is buying this for every school; wait for theirs.",
)
WITHDRAWALS = (
    "No longer needed: the supplier fixed it in their own update.",
    "The trust will do this for every school next term.",
)
EMERGENCY_WHY = (
    "Staff cannot sign in to e-mail and the cause is on our side: it cannot wait.",
    "The vendor reports the flaw is being attacked now.",
    "The MIS will not open and registers are due in the morning.",
)
EMERGENCIES = (
    Job("Emergency fix to the staff e-mail sign-in",
        "Remove the faulty conditional access rule that blocks staff sign-in.",
        "Since this morning no member of staff can sign in to e-mail.",
        "1. Turn the rule off.\n2. Check three staff can sign in.\n3. Fix the rule later in "
        "test mode.", "None: staff can sign in again.", "Turn the rule back on.", hours=0.5),
    Job("Emergency patch for the firewall",
        "Apply the firewall vendor's emergency hotfix.",
        "The vendor reports the flaw is under active attack.",
        "1. Back up the configuration.\n2. Apply the hotfix and restart.\n3. Test the VPN.",
        "Internet down for 15 minutes.", "Restore the previous firmware.", hours=0.5),
    Job("Emergency repair of the MIS database",
        "Repair the MIS database after last night's failed backup job locked it.",
        "The MIS will not open and the registers are due in the morning.",
        "1. Northgate stop the MIS.\n2. Repair and check the database.\n3. Start it and "
        "check registers.", "The MIS is unavailable for the evening.",
        "Restore last night's backup.", "Medium.", by="ivan", hours=2),
)  # fmt: skip
FAILURES = (
    "It did not work on the night: put back as the fallback plan says.",
    "The new version would not start on the older PCs: rolled back.",
)
PARTLY = (
    "Most of it done; two rooms wait for a part.",
    "Done except the older laptops, which need a different driver.",
)
INCIDENTS = (
    "Worked, but next morning three classrooms could not print until the queue was reset.",
    "Worked, but the office lost the MIS for an hour the next morning.",
)


@dataclass
class Built:
    """What the history made, what a guard refused (title and reason), and what was left
    out because its story would have run past now."""

    changes: list[Change] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


class _InTheFuture(WorkflowError):
    """A step of the history would fall after now (it is left out, and reported)."""


def at(moment: datetime, do: Callable[[], Any]) -> Any:
    """Do `do()` as if it were `moment` (the history's events are stamped with it)."""
    if moment >= timezone.now():
        raise _InTheFuture(f"A step would happen in the future ({moment:%Y-%m-%d %H:%M}).")
    with time_machine.travel(moment, tick=False):
        return do()


class SchoolYear:
    """The school's days and safe slots, in its time zone."""

    def __init__(self, school: School, now: datetime) -> None:
        self.zone = school.zone
        self.now = now

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone)

    @staticmethod
    def holiday(day: date) -> bool:
        """Christmas (the school is closed): 20 December to 4 January."""
        return (day.month == 12 and day.day >= 20) or (day.month == 1 and day.day <= 4)

    def school_day(self, day: date) -> date:
        """`day`, or the next weekday out of the Christmas holiday."""
        while day.weekday() >= 5 or self.holiday(day):
            day += timedelta(days=1)
        return day

    def later(self, moment: datetime, rng: random.Random, days: tuple[int, int]) -> datetime:
        """A working moment (08:00 to 16:59, a school day) `days` days after `moment`."""
        day = moment.astimezone(self.zone).date() + timedelta(days=rng.randint(*days))
        later = self.local(self.school_day(day), rng.randint(8, 16), rng.randrange(0, 60, 5))
        return max(later, moment + timedelta(minutes=20))

    def slot(self, after: datetime, job: Job, quick: bool) -> tuple[datetime, datetime]:
        """The job's window: the first safe slot two days or more after `after` (a weekday
        from 18:00, or a Saturday from 09:00 for a long job)."""
        day = after.astimezone(self.zone).date() + timedelta(days=2)
        if job.weekend and not quick:
            day += timedelta(days=(5 - day.weekday()) % 7)
            start = self.local(day, 9)
        else:
            day = self.school_day(day)
            start = self.local(day, 18)
        return start, start + timedelta(hours=job.hours)

    def raised_days(self, rng: random.Random, first: date, last: date) -> list[date]:
        """The days the year's RFCs were raised: each month's share of MONTHLY, on school
        days up to `last`, in order (the share of the months up to today: the last weeks'
        RFCs come a little closer together rather than leave a dip in the charts)."""
        today = self.now.astimezone(self.zone).date()
        days: list[date] = []
        month = first.replace(day=1)
        while month <= last:
            following = (month + timedelta(days=32)).replace(day=1)
            span = [
                d
                for n in range((following - month).days)
                if first <= (d := month + timedelta(days=n)) <= last
                and d.weekday() < 5
                and not self.holiday(d)
            ]
            whole = (following - month).days
            inside = sum(1 for n in range(whole) if first <= month + timedelta(days=n) < today)
            count = min(round(MONTHLY[month.month] * inside / whole), 2 * len(span))
            if span:
                days.extend(rng.choice(span) for _ in range(count))
            month = following
        return sorted(days)


def build_history(school: School, people: dict[str, User]) -> Built:
    """Make the year's RFCs (none if the pilot is there already)."""
    built = Built()
    if Change.objects.filter(school=school, title=PILOT_TITLE).exists():
        return built
    # Their memberships and roles loaded once, not at every step.
    people = {name: with_roles(user) for name, user in people.items()}
    rng = random.Random(SEED)
    now = timezone.now()
    year = SchoolYear(school, now)
    start = year.school_day((now - YEAR).astimezone(year.zone).date())
    pilot = _one(built, rng, year, school, people, "done", PILOT, year.local(start, 10), True)
    if pilot is None:
        return built
    closed = pilot.events.order_by("-sequence").first()
    assert closed is not None
    go_live = go_live_day(year, closed.created_at)
    last = (now - LAST_RAISED).astimezone(year.zone).date()
    kinds = [k for k, _ in STORIES]
    weights = [w for _, w in STORIES]
    for day in year.raised_days(rng, go_live, last):
        kind = rng.choices(kinds, weights)[0]
        job = rng.choice(EMERGENCIES if kind == "emergency" else JOBS)
        raised = year.local(day, rng.randint(8, 15), rng.randrange(0, 60, 5))
        # The last weeks' RFCs went straight through, so that they are closed by now.
        quick = now - raised < QUICK
        if quick and kind not in ("done", "rejected", "failed", "emergency"):
            kind = "done"
        tell = rng.random() < 0.8
        _one(built, rng, year, school, people, kind, job, raised, tell, quick)
    return built


def go_live_day(year: SchoolYear, pilot_closed: datetime) -> date:
    """Two weeks after the pilot closed (its review held in between), on a school day."""
    return year.school_day(pilot_closed.astimezone(year.zone).date() + timedelta(days=14))


def _one(
    built: Built,
    rng: random.Random,
    year: SchoolYear,
    school: School,
    people: dict[str, User],
    kind: str,
    job: Job,
    raised: datetime,
    tell: bool,
    quick: bool = False,
) -> Change | None:
    room = rng.choice(ROOMS)
    words = {name: getattr(job, name).replace("{room}", room) for name in
             ("title", "what", "why", "steps", "impact", "fallback", "risk")}  # fmt: skip
    try:
        with transaction.atomic():
            change = _story(rng, year, school, people, kind, job, words, raised, tell, quick)
    except _InTheFuture:
        built.left_out.append(words["title"])
        return None
    except WorkflowError as error:
        detail = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
        built.refused.append((words["title"], f"{error} {detail}".strip()))
        logger.warning("The demo's history: %s was refused: %s", words["title"], error)
        return None
    built.changes.append(change)
    return change


def _story(
    rng: random.Random,
    year: SchoolYear,
    school: School,
    people: dict[str, User],
    kind: str,
    job: Job,
    words: dict[str, str],
    raised: datetime,
    tell: bool,
    quick: bool,
) -> Change:
    """One RFC, from raised to where its story ends, each step at its own moment (`quick`:
    each step the next school day at the latest, for the RFCs of the last weeks)."""

    def later(moment: datetime, days: tuple[int, int]) -> datetime:
        return year.later(moment, rng, (0, 1) if quick else days)

    olivia, ian, peter, fiona, carol = (people[n] for n in ("olivia", "ian", "peter", "fiona",
                                                            "carol"))  # fmt: skip
    implementer = people[job.by]
    emergency = kind == "emergency"
    data: dict[str, Any] = {"title": words["title"], "description": words["what"],
                            "reason": words["why"], "implementer": implementer}  # fmt: skip
    if emergency:
        data |= {"is_emergency": True, "emergency_justification": rng.choice(EMERGENCY_WHY)}
    change = at(raised, lambda: create_change(school, olivia, data))
    pk = change.pk
    when = raised + timedelta(minutes=rng.randint(5, 60))

    def act(moment: datetime, action: str, who: User, comment: str = "", **extra: Any) -> None:
        at(moment, lambda: perform(pk, action, who, comment=comment, data=extra))

    def edit(moment: datetime, values: dict[str, Any], comment: str = "") -> None:
        at(moment, lambda: update_change(pk, olivia, values, comment=comment))

    act(when, "submit", olivia)
    if emergency:
        when += timedelta(minutes=rng.randint(10, 40))
        act(when, "approve", ian, "Go ahead now; Fiona to ratify.")
        start = when + timedelta(minutes=rng.randint(20, 60))
        end = start + timedelta(hours=job.hours)
        edit(when + timedelta(minutes=10), _plan(words, start, end))
        act(end + timedelta(minutes=10), "record_outcome", implementer, "Fixed.",
            outcome="succeeded")  # fmt: skip
        ratified = later(end, (1, 2))
        act(ratified, "ratify", fiona, "Right call; ratified.")
        act(ratified + timedelta(hours=1), "close", olivia, "Records updated.",
            records_updated=True, caused_incidents=False, users_informed=False)  # fmt: skip
        return Change.objects.get(pk=pk)
    when = later(when, (0, 2))
    if kind == "rejected":
        act(when, "reject", ian, rng.choice(REJECTIONS))
        return Change.objects.get(pk=pk)
    if kind == "returned":
        act(when, "return", ian, rng.choice(RETURNS))
        when = later(when, (1, 3))
        edit(when, {"description": words["what"] + " Rooms and times agreed with the office."},
             "Added what was asked.")  # fmt: skip
        when += timedelta(minutes=5)
        act(when, "submit", olivia)
        when = later(when, (0, 2))
    act(when, "approve", ian)
    when = later(when, (1, 3))
    if kind == "withdrawn":
        act(when, "withdraw", olivia, rng.choice(WITHDRAWALS))
        return Change.objects.get(pk=pk)
    # The planning's moments are settled first: the window the plan proposes comes after
    # the final approval.
    planned = when
    submitted = planned + timedelta(minutes=rng.randint(10, 60))
    fixed = resubmitted = None
    reviewed = returned = later(submitted, (0, 2))
    if kind == "peer_returned":
        fixed = later(reviewed, (0, 2))
        resubmitted = fixed + timedelta(minutes=10)
        reviewed = later(resubmitted, (0, 1))
    decided = later(reviewed, (0, 1))
    start, end = year.slot(decided, job, quick)
    edit(planned, _plan(words, start, end))
    act(submitted, "submit_plan", olivia)
    if fixed is not None and resubmitted is not None:
        act(returned, "return", peter, rng.choice(PEER_RETURNS))
        edit(fixed, {"details": words["steps"] + "\n5. Check it worked before leaving."},
             "Added what Peter asked.")  # fmt: skip
        act(resubmitted, "submit_plan", olivia)
    act(reviewed, "approve", peter)
    when = decided
    act(when, "approve", fiona)
    told = False
    if tell:
        drafted = when + timedelta(hours=1)
        notice, _ = at(drafted, lambda: draft_from_change(pk, olivia))
        published = min(drafted + timedelta(hours=rng.randint(1, 20)),
                        start - timedelta(hours=2))  # fmt: skip
        at(published, lambda: publish_notice(notice.pk, carol))
        told = True
    outcome, caused, note = "succeeded", False, "Done and checked."
    if kind == "failed":
        outcome, note = "failed_backed_out", rng.choice(FAILURES)
        caused = rng.random() < 0.3
    elif kind == "partly":
        outcome, note = "partially_succeeded", rng.choice(PARTLY)
    elif kind == "incident":
        caused, note = True, rng.choice(INCIDENTS)
    recorded = end + timedelta(minutes=rng.randint(5, 30))
    act(recorded, "record_outcome", implementer, note, outcome=outcome)
    act(later(recorded, (1, 3)), "close", olivia, "Records updated.",
        records_updated=True, caused_incidents=caused, users_informed=told)  # fmt: skip
    return Change.objects.get(pk=pk)


def _plan(words: dict[str, str], start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "details": words["steps"],
        "impact": words["impact"],
        "risk": words["risk"],
        "fallback_plan": words["fallback"],
        "planned_start": start,
        "planned_end": end,
    }


# --- The report archive: the last twelve months' reports, each frozen the morning after its
# month ended, and a decision on the latest. ---

DECISION = {
    "text": "Tell the users before every change: Olivia drafts the notice when she submits "
    "the plan, and Carol publishes it the day it is approved.",
    "decided_by": "Senior leadership team meeting",
}


def freeze_reports(school: School, people: dict[str, User], months: int = 12) -> int:
    """Freeze the school's monthly reports of the last `months` months that ended (each as if
    frozen at 06:00 the day after), and record a decision on the latest; returns how many
    were frozen now (none when they were already)."""
    from changedesk.reports import archive
    from changedesk.reports.models import Decision, Period, Snapshot

    year = SchoolYear(school, timezone.now())
    start = archive.last_ended(Period.MONTH, year.now.astimezone(year.zone).date())
    starts = [start]
    for _ in range(months - 1):
        starts.append(archive.period_start(Period.MONTH, starts[-1] - timedelta(days=1)))
    made = 0
    latest = None
    for first in reversed(starts):
        if not Snapshot.objects.filter(school=school, period=Period.MONTH, start=first).exists():
            made += 1
        frozen = year.local(archive.period_end(Period.MONTH, first), 6)
        latest = archive.freeze(school, Period.MONTH, first, now=frozen)
    if latest is not None and not Decision.objects.filter(snapshot=latest).exists():
        today = year.now.astimezone(year.zone).date()
        archive.record_decision(
            latest,
            people["sam"],
            DECISION["text"],
            DECISION["decided_by"],
            min(latest.end + timedelta(days=2), today),
        )
    return made
