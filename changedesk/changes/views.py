"""Pages for requests for change: My work, the change log, the RFC, its forms and its print.

Every page is scoped by `Change.objects.visible_to`: an RFC of another school is a 404.
Every rule is enforced by `services` and `workflow`; the views translate their errors
into messages next to the fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.current import current_user as _current_user
from changedesk.accounts.models import School, User, loaded_schools, seen_school_ids
from changedesk.changes import decision_links, extensions, queries, tally, workflow
from changedesk.changes.choices import Action, ChangeType, EventKind, State
from changedesk.changes.filters import ChangeFilterSet, app_filters
from changedesk.changes.forms import ActionForm, ChangeForm, SchoolChoiceForm
from changedesk.changes.items import item_links, set_change_items
from changedesk.changes.models import PLAN_FIELDS, Change, ChangeEvent, format_reference
from changedesk.changes.services import can_edit, create_change, update_change
from changedesk.changes.workflow import allowed_actions
from changedesk.lib import paging
from changedesk.lib.cells import csv_cell
from changedesk.lib.errors import NotPermitted
from changedesk.lib.loading import attach
from changedesk.lib.views import form_page

PAGE_SIZE = 25
# Buttons in the order a person reads them; the risky ones last.
ACTION_ORDER = [a.value for a in (Action.SUBMIT, Action.SUBMIT_PLAN, Action.APPROVE,
                                  Action.RATIFY, Action.RECORD_OUTCOME, Action.CLOSE,
                                  Action.RETURN, Action.REJECT, Action.WITHDRAW)]  # fmt: skip
DANGEROUS = {Action.REJECT, Action.WITHDRAW}


def _button_order(action: str) -> float:
    """Where a button goes; an action not listed above (a new one) goes after the ones that
    move the RFC forward and before return, reject and withdraw."""
    if action in ACTION_ORDER:
        return ACTION_ORDER.index(action)
    return ACTION_ORDER.index(Action.RETURN) - 0.5


def _visible_change(request: HttpRequest, pk: int, *, people: bool = True) -> Change:
    """The RFC `pk` if the person may see it (else 404), with its school and, unless told
    not to (`_timeline` loads them with the history's people), the people it names."""
    user = _current_user(request)
    change = get_object_or_404(Change.objects.visible_to(user), pk=pk)
    # Its school and people loaded after it, not joined (lib.loading: planning an
    # eight-table join took 1-2.5 ms, the RFC itself 0.1).
    attach([change], *(queries.PEOPLE if people else ("school",)), known=loaded_schools(user))
    return change


@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    sections = queries.my_work(user)
    waiting = sum(s.total for s in sections if s.key != "waiting")
    return render(
        request,
        "changes/my_work.html",
        {
            "sections": sections,
            "waiting": waiting,
            "memberships": user.memberships.all(),
            "may_raise": permissions.holds_anywhere(user, Role.ORIGINATOR),
        },
    )


def _filtered(request: HttpRequest, **options: Any) -> tuple[ChangeFilterSet, QuerySet[Change]]:
    user = _current_user(request)
    base = Change.objects.visible_to(user)
    filterset = ChangeFilterSet(request.GET, queryset=base, **options)
    queryset = filterset.qs if filterset.is_valid() else base.none()
    return filterset, queryset


@require_GET
def change_list(request: HttpRequest) -> HttpResponse:
    filterset, queryset = _filtered(request)
    shown = queryset.select_related("school", "originator")
    schools = seen_school_ids(_current_user(request))
    # Filtered by schools, states or kind only, it is counted by the tallies.
    count = tally.count_for(filterset, schools) if filterset.is_valid() else 0
    page = paging.page(shown, request.GET.get("page"), PAGE_SIZE, schools=schools, count=count)
    # What the apps say of each row (e.g. the trust-wide change it is part of).
    marks = extensions.marks(_current_user(request), list(page.object_list))
    for change in page.object_list:
        change.marks = marks.get(change.pk, [])  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        # The school filter's choices: those loaded with the person's memberships.
        "schools": permissions.schools(_current_user(request)),
        "states": State.choices,
        "types": ChangeType.choices,
        "sort": request.GET.get("sort", ""),
        "columns": extensions.columns(),
    }
    htmx = getattr(request, "htmx", False)
    if not htmx:
        # The apps' filters asked for (e.g. one trust-wide change's RFCs), kept by the form.
        context["app_filters"] = app_filters(filterset, _current_user(request))
    template = "changes/_list_results.html" if htmx else "changes/list.html"
    return render(request, template, context)


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


# The CSV's columns: a name, the values it is made of (read as columns, not as RFC objects:
# an export of 10,000 rows is one query streamed in chunks) and how they are written.
CSV_COLUMNS: list[tuple[str, tuple[str, ...], Callable[..., str]]] = [
    ("reference", ("school__slug", "number"), lambda s, n: f"{s}:{format_reference(n)}"),
    ("school", ("school__name",), str),
    ("title", ("title",), str),
    ("state", ("state",), str),
    ("emergency", ("is_emergency",), lambda e: "yes" if e else "no"),
    ("originator", ("originator__username",), str),
    ("initial_approver", ("initial_approver__username",), lambda u: u or ""),
    ("peer_reviewer", ("peer_reviewer__username",), lambda u: u or ""),
    ("final_approver", ("final_approver__username",), lambda u: u or ""),
    ("implementer", ("implementer__username",), lambda u: u or ""),
    ("planned_start", ("planned_start",), _iso),
    ("planned_end", ("planned_end",), _iso),
    ("outcome", ("outcome",), str),
    ("created_at", ("created_at",), _iso),
    ("description", ("description",), str),
    (
        "type",
        ("is_emergency", "is_standard"),
        lambda e, s: "standard" if s else "emergency" if e else "normal",
    ),
]
EXPORT_CHUNK = 1000


@require_GET
def change_export(request: HttpRequest) -> StreamingHttpResponse:
    """The change log as CSV, as filtered and sorted: written while the rows are read, a
    chunk at a time, so memory stays flat however many rows there are. A search exports
    every match, not only the newest the page lists."""
    _, queryset = _filtered(request, search_limit=None)
    fields = ["pk", *(f for _, sources, _ in CSV_COLUMNS for f in sources)]
    app_columns = extensions.columns()
    header = [name for name, _, _ in CSV_COLUMNS] + [c.name for c in app_columns]

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        chunk: list[tuple[Any, ...]] = []
        for values in queryset.values_list(*fields).iterator(chunk_size=EXPORT_CHUNK):
            chunk.append(values)
            if len(chunk) == EXPORT_CHUNK:
                _write_chunk(writer, chunk, app_columns)
                yield _drained(out)
                chunk = []
        _write_chunk(writer, chunk, app_columns)
        yield _drained(out)

    stamp = timezone.localdate().isoformat()
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="changes-{stamp}.csv"'
    return response


def _write_chunk(writer: Any, chunk: list[tuple[Any, ...]], app_columns: list[Any]) -> None:
    """Rows of the CSV for `chunk` (each: the RFC's id, then the columns' values); the
    apps' columns read the RFCs themselves, loaded once a chunk."""
    changes = (
        queries.with_people(Change.objects.all()).in_bulk([v[0] for v in chunk])
        if (app_columns)
        else {}
    )
    for values in chunk:
        cells: list[str] = []
        at = 1
        for _, sources, write in CSV_COLUMNS:
            cells.append(csv_cell(write(*values[at : at + len(sources)])))
            at += len(sources)
        cells.extend(csv_cell(str(c.value(changes[values[0]]))) for c in app_columns)
        writer.writerow(cells)


def _drained(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def _originator_schools(user: User) -> list[School]:
    schools = [m.school for m in user.memberships.all()]
    return [school for school in schools if permissions.holds(user, Role.ORIGINATOR, school)]


@require_http_methods(["GET", "POST"])
def change_create(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    schools = _originator_schools(user)
    if not schools:
        raise PermissionDenied(gettext("Only an originator may raise a request for change."))
    school = _chosen_school(request, user, schools)
    if school is None:
        return render(
            request, "changes/choose_school.html", {"chooser": SchoolChoiceForm(user=user)}
        )
    data = request.POST if request.method == "POST" else None
    form = ChangeForm(data, school=school, originator=user, initial=_slot_initial(request))

    def save() -> Change:
        items = form.chosen_items() or []
        change = create_change(school, user, form.changed_values(), items=items)
        extensions.save_change_fields(change, form.extension_values(), user)
        return _then_submit(request, change, user)

    def context() -> dict[str, Any]:
        return {
            "school": school,
            "change": None,
            "multiple_schools": len(schools) > 1,
            "plan_folded": _plan_folded(form, None),
            "may_submit": True,
            "stylesheets": _stylesheets("edit"),
        }

    with timezone.override(school.zone):
        return form_page(
            request,
            form,
            "changes/form.html",
            context,
            save=save,
            done=lambda change: _saved(
                request, change, user, gettext("%(reference)s is saved as a draft.")
            ),
        )


SUBMIT_NOW = "submit"


def _then_submit(request: HttpRequest, change: Change, user: User) -> Change:
    """ "Save and submit": the draft just saved goes for approval in the same transaction, so
    that a refusal (e.g. no initial approver named) keeps nothing and shows on the form."""
    if request.POST.get("then") != SUBMIT_NOW:
        return change
    return workflow.perform(change.pk, Action.SUBMIT, user, expected_version=change.version)


def _saved(request: HttpRequest, change: Change, user: User, saved: str) -> str:
    """`saved`: what is said, "%(reference)s is saved." in the page's language."""
    if request.POST.get("then") == SUBMIT_NOW:
        return confirmation(change, Action.SUBMIT, user)
    return saved % {"reference": change.reference}


def _plan_folded(form: ChangeForm, change: Change | None) -> bool:
    """The plan may follow later on a new RFC or a draft: it is folded under "Add the plan
    now" unless something of it is already written, sent or wrong."""
    if change is not None and change.state != State.DRAFT:
        return False
    names = [name for name in PLAN_FIELDS if name in form.fields]
    if form.is_bound:
        return not any(form.data.get(n) for n in names) and not any(n in form.errors for n in names)
    return not any(form[name].value() for name in names)


def _chosen_school(request: HttpRequest, user: User, schools: list[School]) -> School | None:
    """The school to raise the RFC in: the only one, or the one chosen."""
    if len(schools) == 1:
        return schools[0]
    chooser = SchoolChoiceForm(request.POST or request.GET or None, user=user)
    if chooser.is_bound and chooser.is_valid():
        chosen: School = chooser.cleaned_data["school"]
        return chosen
    return None


# What a link may fill in on a new RFC: a slot from the next-safe-slot finder, or the text
# of a worked example copied from the materials (?title=…&details=…).
PREFILLED = ("planned_start", "planned_end", "title", "description", "reason", "details",
             "impact", "risk", "fallback_plan", "is_emergency",
             "emergency_justification")  # fmt: skip


def _slot_initial(request: HttpRequest) -> dict[str, str]:
    """A slot taken from the next-safe-slot finder arrives as ?planned_start=…&planned_end=…,
    a worked example as its text; the person reads it on the form before saving anything."""
    if request.method != "GET":
        return {}
    return {name: request.GET[name] for name in PREFILLED if request.GET.get(name)}


@require_http_methods(["GET", "POST"])
def change_edit(request: HttpRequest, pk: int) -> HttpResponse:
    change = _visible_change(request, pk)
    user = _current_user(request)
    if not can_edit(change, user):
        raise PermissionDenied(
            gettext("You may not edit %(reference)s now.") % {"reference": change.reference}
        )
    with timezone.override(change.school.zone):
        data = request.POST if request.method == "POST" else None
        form = ChangeForm(
            data,
            school=change.school,
            originator=change.originator,
            change=change,
            initial=_slot_initial(request),
        )

        def context() -> dict[str, Any]:
            return {
                "school": change.school,
                "change": change,
                "show_plan_panels": "planned_start" in form.fields,
                "plan_folded": _plan_folded(form, change),
                "may_submit": change.state == State.DRAFT,
                "stylesheets": _stylesheets("edit"),
            }

        return form_page(
            request,
            form,
            "changes/form.html",
            context,
            save=lambda: _then_submit(request, _save_edit(request, change, user, form), user),
            done=lambda edited: _saved(request, edited, user, gettext("%(reference)s is saved.")),
        )


def _save_edit(request: HttpRequest, change: Change, user: User, form: ChangeForm) -> Change:
    comment = request.POST.get("comment", "")
    version = _int_or_none(request.POST.get("version"))
    edited = update_change(
        change.pk, user, form.changed_values(), comment=comment, expected_version=version
    )
    items = form.chosen_items()
    if items is not None:
        # The note goes with the items' event when no other field changed.
        unedited = edited.version == change.version
        set_change_items(edited, items, user, comment=comment if unedited else "")
    extensions.save_change_fields(edited, form.extension_values(), user)
    return Change.objects.get(pk=change.pk)


def _stylesheets(*places: str) -> list[str]:
    return ["configuration/configuration.css", *extensions.stylesheets(*places)]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# The people an RFC names (`queries.PEOPLE` but its school).
NAMED = tuple(name for name in queries.PEOPLE if name != "school")


def _timeline(change: Change) -> list[ChangeEvent]:
    """The RFC's events in order, with who acted and for whom, and the people the RFC names
    (read with `_visible_change(..., people=False)`): all of them in one query after the
    events, not joined onto them. Joined, PostgreSQL hashed the whole user table twice for
    a handful of events (0.6 ms of 0.65); and the actors are mostly the RFC's own people."""
    events = list(change.events.order_by("sequence"))
    ids = {getattr(change, f"{name}_id") for name in NAMED}
    ids.update(pk for event in events for pk in (event.actor_id, event.on_behalf_of_id))
    ids.discard(None)
    people = User.objects.in_bulk(ids).values()
    attach([change], *NAMED, known=people)
    attach(events, "actor", "on_behalf_of", known=people)
    return events


def _detail_context(
    request: HttpRequest, change: Change, form: ActionForm | None
) -> dict[str, Any]:
    user = _current_user(request)
    events = _timeline(change)  # first: it loads the people the rules below read
    actions = allowed_actions(change, user)
    links = item_links(change)
    if form is None and actions:
        form = ActionForm(initial={"version": change.version}, items=[link.item for link in links])
    waiting = workflow.waiting_on(change)
    return {
        "change": change,
        "item_links": links,
        "events": events,
        **_decision_box(change, actions),
        "needs_outcome": Action.RECORD_OUTCOME in actions,
        "needs_review": Action.CLOSE in actions,
        "action_form": form,
        # No form for a person who may do nothing now (the page shows none): only its
        # errors are read then, and an unbound form has none.
        "extra_fields": [
            form[f.name] for f in extensions.action_fields() if f.shown(change, actions)
        ]
        if form is not None
        else [],
        "can_edit": can_edit(change, user),
        "waiting_on": waiting[1] if waiting else None,
        "stylesheets": _stylesheets("top", "main"),
    }


def _decision_box(
    change: Change, actions: list[str], roles: frozenset[str] | None = None
) -> dict[str, Any]:
    """The buttons for what this person may do now, in reading order (only the steps of
    `roles` when given); a step that waits on what someone else must write first is not
    offered but said ("Olivia must fill in …")."""
    rows = [
        row
        for a in sorted(actions, key=_button_order)
        if (row := workflow.transition_for(change.state, a)) and (roles is None or row.by in roles)
    ]
    held = {
        row.action: unmet
        for row in rows
        if row.by != Role.ORIGINATOR and (unmet := workflow.unmet(change, row))
    }
    rows = [row for row in rows if row.action not in held]
    return {
        "actions": [(r.action.value, r.action.label, r.action in DANGEROUS) for r in rows],
        "held": [
            gettext("%(name)s must fill in the %(fields)s before you can %(action)s.")
            % {
                "name": change.originator.display_name,
                "fields": ", ".join(workflow.lower_label(label) for label in labels.values()),
                "action": workflow.lower_label(Action(action).label),
            }
            for action, labels in held.items()
        ],
        # A decision box for approvers; the next step for the originator or implementer.
        "decides": any(row.by in APPROVER_ROLES for row in rows),
        "needs_reason": " or ".join(r.action.label.lower() for r in rows if r.needs_reason),
    }


@require_GET
def change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The RFC's decision box: where an e-mail's "Decide now" goes when the school does not
    use decision links. A path, not a #fragment, so that signing in on the way keeps it."""
    change = _visible_change(request, pk)
    return redirect(change.get_absolute_url() + "#decide")


@login_not_required
@require_http_methods(["GET", "POST"])
def decide_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """One decision on one RFC from the link in an approver's e-mail, without signing in
    (see `decision_links`). Showing the page never acts; the decision is a POST."""
    try:
        link = decision_links.read(token)
    except decision_links.LinkRefused as refused:
        return _link_refused(request, refused)
    change, person = link.change, link.person
    form = ActionForm(request.POST or None, initial={"version": link.version})
    form.fields["comment"].widget.attrs["rows"] = 2  # Approve stays on a phone's first screen
    approver = frozenset(APPROVER_ROLES)

    def offered() -> list[str]:
        box = _decision_box(change, allowed_actions(change, person), approver)
        return [action for action, _, _ in box["actions"]]

    def save() -> str:
        action = form.cleaned_data["action"]
        if action not in offered():
            raise NotPermitted(
                gettext("“%(action)s” cannot be done from this link. Sign in to see %(reference)s.")
                % {
                    "action": gettext(Action(action).label) if action in Action.values else action,
                    "reference": change.reference,
                }
            )
        workflow.perform(
            change.pk,
            action,
            person,
            comment=form.cleaned_data["comment"],
            data=form.payload(action),
            expected_version=link.version,
            channel=link.channel,
        )
        return request.path

    def page() -> dict[str, Any]:
        actions = allowed_actions(change, person)
        return {
            "change": change,
            "person": person,
            **_decision_box(change, actions, approver),
            "action_form": form,
            "extra_fields": [
                form[f.name] for f in extensions.action_fields() if f.shown(change, actions)
            ],
            "stylesheets": _stylesheets("decide"),
            "sign_in": _sign_in_to_decide(change),
        }

    with timezone.override(change.school.zone):
        return form_page(request, form, "changes/decide_link.html", page, save=save)


def _link_refused(request: HttpRequest, refused: decision_links.LinkRefused) -> HttpResponse:
    change, used = refused.change, refused.used
    context: dict[str, Any] = {"message": refused.message, "change": change, "used": used}
    if change is not None:
        context["sign_in"] = _sign_in_to_decide(change)
        if used is not None:
            context["next_step"] = confirmation(change, used.kind, used.actor)
    else:
        context["sign_in"] = reverse("accounts:login")
    with timezone.override(change.school.zone if change else None):
        # A used link is the page after a decision: the person did nothing wrong.
        status = 200 if used is not None else 410 if change is not None else 400
        return render(request, "changes/decide_link_refused.html", context, status=status)


def _sign_in_to_decide(change: Change) -> str:
    after = reverse("changes:decide", args=[change.pk])
    return f"{reverse('accounts:login')}?{urlencode({'next': after})}"


@require_GET
def change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    change = _visible_change(request, pk, people=False)
    with timezone.override(change.school.zone):
        return render(request, "changes/detail.html", _detail_context(request, change, None))


@require_POST
def change_act(request: HttpRequest, pk: int) -> HttpResponse:
    change = _visible_change(request, pk)
    user = _current_user(request)
    form = ActionForm(request.POST, items=[link.item for link in item_links(change)])

    def save() -> Change:
        action = form.cleaned_data["action"]
        return workflow.perform(
            change.pk,
            action,
            user,
            comment=form.cleaned_data["comment"],
            data=form.payload(action),
            expected_version=form.cleaned_data["version"],
        )

    def page() -> dict[str, Any]:
        # The RFC as it is now (a refusal may be that someone else acted meanwhile).
        now = _visible_change(request, pk, people=False)
        return {**_detail_context(request, now, form), "attempted": request.POST.get("action", "")}

    def done(acted: Change) -> str:
        return confirmation(acted, form.cleaned_data["action"], user)

    with timezone.override(change.school.zone):
        return form_page(request, form, "changes/detail.html", page, save=save, done=done)


def confirmation(change: Change, action: str, actor: User, where: str = "") -> str:
    """What an action did, in plain words, and who is asked to act next (from the table):
    "RFC-0007 approved. Ivan Ivanov has been asked to carry it out and record the outcome."
    `where` places it ("at the meeting", for the committee's decisions)."""
    kind = workflow.lower_label(EventKind(action).label)
    said = (
        gettext("%(reference)s %(kind)s %(where)s.")
        % {"reference": change.reference, "kind": kind, "where": where}
        if where
        else gettext("%(reference)s %(kind)s.") % {"reference": change.reference, "kind": kind}
    )
    waiting = workflow.waiting_on(change)
    if waiting is None:
        return said
    step, person = waiting
    task = gettext(step.task)
    if person is None:
        return gettext("%(said)s Next, someone must %(task)s.") % {"said": said, "task": task}
    if person.pk == actor.pk:
        return gettext("%(said)s Next, you %(task)s.") % {"said": said, "task": task}
    return gettext("%(said)s %(name)s has been asked to %(task)s.") % {
        "said": said,
        "name": person.display_name,
        "task": task,
    }


def signature_rows(change: Change, events: list[ChangeEvent]) -> list[dict[str, Any]]:
    """The signature rows of the paper form, read off the workflow's table: the originator,
    then each row that signs, with the latest event that signed it (a returned plan is
    signed again)."""
    rows = [_signed("Originator", change.originator, events, {EventKind.CREATE}, None)]
    seen: set[str] = set()
    for step in workflow.TRANSITIONS:
        if not step.signature or step.signature in seen:
            continue
        seen.add(step.signature)
        if step.signed_when is not None and not step.signed_when(change):
            continue
        sources = {t.source for t in workflow.TRANSITIONS if t.signature == step.signature}
        named = getattr(change, step.person)
        rows.append(_signed(step.signature, named, events, {step.action}, sources))
    return rows


def _signed(
    label: str, named: User | None, events: list[ChangeEvent], kinds: set[str], sources: Any
) -> dict[str, Any]:
    signed = None
    for event in events:
        if event.kind in kinds and (sources is None or event.from_state in sources):
            signed = event
    return {"label": gettext(label), "named": named, "event": signed}


# The signature rows' labels (workflow.TRANSITIONS' `signature`s), for the Welsh catalogue.
SIGNATURE_LABELS = (
    gettext_noop("Originator"),
    gettext_noop("Standard change (approved as its template)"),
    gettext_noop("Initial approver"),
    gettext_noop("Peer reviewer"),
    gettext_noop("Final approver"),
    gettext_noop("Final approver (ratified)"),
    gettext_noop("Implementer (outcome)"),
    gettext_noop("Closed by originator"),
)
# The closing review's questions on the print, as the paper form asks them.
REVIEW_QUESTIONS = (
    ("records_updated", gettext_noop("Configuration records updated")),
    ("caused_incidents", gettext_noop("The change caused incidents")),
    ("users_informed", gettext_noop("Users were told beforehand")),
)
# The decisions that stop or send back an RFC: the print says who, when and why.
STOPPING_KINDS = (EventKind.RETURN, EventKind.REJECT)


def _yes_no(value: Any) -> str:
    return {True: gettext("Yes"), False: gettext("No")}.get(value) or gettext("Not answered")


def _answer(change: Change, answers: dict[str, Any], name: str) -> Any:
    """A closing review answer: the RFC's field, else what the close event recorded."""
    value = getattr(change, name)
    return value if value is not None else answers.get(name)


def print_story(change: Change, events: list[ChangeEvent]) -> dict[str, Any]:
    """The rest of the RFC's story for its print, read from the events already loaded (no
    query): each return and rejection (who, for whom, when, why), the outcome with the
    implementer's comment, and the closing review (its answers and comment)."""
    outcome = next((e for e in reversed(events) if e.kind == EventKind.RECORD_OUTCOME), None)
    closed = next((e for e in reversed(events) if e.kind == EventKind.CLOSE), None)
    answers = closed.data if closed is not None else {}
    review = [
        (gettext(label), _yes_no(_answer(change, answers, name)))
        for name, label in REVIEW_QUESTIONS
    ]
    return {
        "stopped": [e for e in events if e.kind in STOPPING_KINDS],
        "outcome_event": outcome,
        "closing": closed,
        # The form's own box for the records; the closing review asks the other two.
        "records_answer": review[0],
        "review_answers": review[1:],
        "reviewed": closed is not None
        or any(getattr(change, name) is not None for name, _ in REVIEW_QUESTIONS),
    }


@require_GET
def change_print(request: HttpRequest, pk: int) -> HttpResponse:
    change = _visible_change(request, pk, people=False)
    events = _timeline(change)
    with timezone.override(change.school.zone):
        return render(
            request,
            "changes/print.html",
            {
                "change": change,
                "events": events,
                "signatures": signature_rows(change, events),
                "item_links": item_links(change),
                "stylesheets": _stylesheets("print"),
                **print_story(change, events),
            },
        )
