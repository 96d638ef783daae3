"""The booking flow through a client generated from the served OpenAPI document.

Run by scripts/client-test.sh: it generates the package `medimeet_client` with
openapi-python-client from /api/v1/openapi.json of a running server and puts it
on PYTHONPATH. Usage: python booking_flow.py BASE_URL

Only the generated client is used (its operation functions and models, never raw
HTTP), so this fails when the document does not describe what the server does:
an undocumented status raises, a body that does not match its schema does not
parse, and instants and dates must come out as `datetime` / `date` values and
statuses as enum members, which they do only if the document declares
`format: date-time`, `format: date` and `enum`.

Operations are found by operationId whatever tag they are filed under, and each
request body's model is the one the operation's function declares (a member of
a oneOf by the fields it has), so schemas may be renamed or split freely.
"""

import datetime as dt
import enum
import importlib
import pkgutil
import random
import sys
import traceback
import typing
import uuid
from http import HTTPStatus

import attrs
import medimeet_client
import medimeet_client.api
from medimeet_client import AuthenticatedClient, Client
from medimeet_client.types import Unset

BASE = sys.argv[1].rstrip("/")
UTC = dt.timezone.utc


def operation(operation_id):
    """The generated module of an operation, found by operationId in any tag."""
    for tag in pkgutil.iter_modules(medimeet_client.api.__path__):
        name = f"medimeet_client.api.{tag.name}.{operation_id}"
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    raise AssertionError(f"the generated client has no operation {operation_id!r}")


def body_model(op, *fields):
    """The model an operation takes as its body: the member of a oneOf with `fields`."""
    hint = typing.get_type_hints(op.sync_detailed)["body"]
    members = [t for t in (typing.get_args(hint) or (hint,)) if isinstance(t, type) and hasattr(t, "from_dict")]
    fit = [t for t in members if {f.name for f in attrs.fields(t)} >= set(fields)]
    if len(fit) != 1:
        raise AssertionError(f"{op.__name__} takes {hint}: not one body model with fields {fields}")
    return fit[0]


register = operation("register")
login = operation("login")
me = operation("me")
list_doctors = operation("list_doctors")
free_slots = operation("free_slots")
book = operation("book")
get_appointment = operation("get_appointment")
list_appointments = operation("list_appointments")
reschedule = operation("reschedule")
cancel = operation("cancel")
get_visit = operation("get_visit")
list_messages = operation("list_messages")
post_message = operation("post_message")
put_note = operation("put_note")
RegisterPatient = body_model(register, "phone", "password", "date_of_birth")
LoginRequest = body_model(login, "phone", "password")
BookRequest = body_model(book, "doctor_id", "start")
RescheduleRequest = body_model(reschedule, "start")
CancelRequest = body_model(cancel, "reason")
ChatRequest = body_model(post_message, "text")
NoteRequest = body_model(put_note, "body")


class Failed(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def status_is(res, code, what):
    """The answer's status, and a parsed body of the declared type."""
    body = res.content[:400].decode("utf-8", "replace")
    check(res.status_code == HTTPStatus(code), f"{what}: expected {code}, got {int(res.status_code)}: {body}")
    check(res.parsed is not None, f"{what}: the client did not parse the {code} body: {body}")
    return res.parsed


def declared(target, field, typ, fix):
    """The generated model or function takes `field` as `typ` (else the document lacks `fix`)."""
    hint = typing.get_type_hints(target).get(field)
    check(
        hint is typ or typ in typing.get_args(hint),
        f"the generated client types {getattr(target, '__qualname__', target)}.{field} as {hint}, "
        f"not {typ.__module__}.{typ.__qualname__} (declare {fix})",
    )


def utc_instant(value, what):
    check(
        isinstance(value, dt.datetime),
        f"{what} is {type(value).__name__} {value!r}, not a datetime (declare format: date-time)",
    )
    check(value.tzinfo is not None and value.utcoffset() == dt.timedelta(0), f"{what} {value!r} is not in UTC")
    return value


def a_date(value, what):
    check(
        isinstance(value, dt.date) and not isinstance(value, dt.datetime),
        f"{what} is {type(value).__name__} {value!r}, not a date (declare format: date)",
    )
    return value


def enum_value(value, what):
    """An enum member's value; the document must declare the enum."""
    check(
        isinstance(value, enum.Enum), f"{what} is {type(value).__name__} {value!r}, not an enum member (declare enum)"
    )
    return value.value


def problem(res, code, problem_code, what):
    p = status_is(res, code, what)
    check(
        res.headers.get("content-type", "").startswith("application/problem+json"),
        f"{what}: content type {res.headers.get('content-type')!r}",
    )
    check(p.code == problem_code, f"{what}: code {p.code!r}, expected {problem_code!r}")
    check(p.status == code, f"{what}: problem status {p.status!r}")
    check(p.type_ == f"urn:medimeet:problem:{problem_code}", f"{what}: problem type {p.type_!r}")
    check(bool(p.title) and bool(p.detail), f"{what}: problem without title or detail")
    return p


public = Client(base_url=BASE, raise_on_unexpected_status=True)
now = dt.datetime.now(UTC)
state = {}
# 555-0100 to 555-0199 are fictional numbers; the demo clinic uses some of them
# (its patients answer 409 already_registered: then another is tried).
phones = random.sample(range(100, 200), 100)


def new_patient(key, first_name, n):
    password = f"client-test-{uuid.uuid4().hex[:12]}"
    born = dt.date(1990, 5, 17) + dt.timedelta(days=n)
    declared(RegisterPatient, "date_of_birth", dt.date, "format: date")
    while True:
        check(phones, "every phone number 555-01xx is taken")
        number = phones.pop()
        phone = f"+1202555{number:04d}"
        res = register.sync_detailed(
            client=public,
            body=RegisterPatient(
                first_name=first_name,
                last_name="Generated",
                phone=phone,
                password=password,
                date_of_birth=born,
                email=f"{first_name.lower()}.{number}.{uuid.uuid4().hex[:8]}@example.test",
            ),
        )
        if res.status_code != HTTPStatus.CONFLICT:
            break
        problem(res, 409, "already_registered", f"register {first_name} with a used phone")
    p = status_is(res, 201, f"register {first_name}")
    check(isinstance(p.id, int) and p.id > 0, f"patient id {p.id!r}")
    check(p.phone == phone, f"phone {p.phone!r} != {phone!r}")
    check(p.first_name == first_name, f"first_name {p.first_name!r}")
    check(a_date(p.date_of_birth, "PatientView.date_of_birth") == born, f"date_of_birth {p.date_of_birth!r} != {born}")
    utc_instant(p.created_at, "PatientView.created_at")
    check(isinstance(p.age, int) and p.age >= 30, f"age {p.age!r}")
    state[key] = {"id": p.id, "phone": phone, "password": password}


def log_in(key):
    who = state[key]
    # Each person logs in from a client of their own, as from their own
    # browser: the shared anonymous client keeps the cookies a login answer
    # sets, and a login that arrives with another person's session ends that
    # session (issue 13), as it would in one browser.
    own = Client(base_url=BASE, raise_on_unexpected_status=True)
    res = login.sync_detailed(client=own, body=LoginRequest(phone=who["phone"], password=who["password"]))
    s = status_is(res, 201, f"log in {key}")
    check(isinstance(s.token, str) and len(s.token) >= 20, "token")
    check(enum_value(s.role, "SessionCreated.role") == "patient", f"role {s.role!r}")
    check(utc_instant(s.expires_at, "SessionCreated.expires_at") > now, f"expires_at {s.expires_at} is not ahead")
    who["client"] = AuthenticatedClient(base_url=BASE, token=s.token, raise_on_unexpected_status=True)
    m = status_is(me.sync_detailed(client=who["client"]), 200, f"me ({key})")
    check(enum_value(m.role, "Me.role") == "patient", f"me role {m.role!r}")
    check(
        not isinstance(m.patient, Unset) and m.patient is not None and m.patient.id == who["id"],
        f"me.patient {m.patient!r} is not patient {who['id']}",
    )


def step_register_a():
    new_patient("a", "Ada", 0)


def step_login_a():
    log_in("a")


def step_list_doctors():
    page = status_is(list_doctors.sync_detailed(client=public, limit=50), 200, "list doctors")
    check(len(page.items) > 0, "no doctors listed")
    for d in page.items:
        check(isinstance(d.id, int) and d.active is True, f"doctor {d!r}")
        check(bool(d.first_name) and bool(d.specialty) and bool(d.timezone), f"doctor fields {d!r}")
        check(isinstance(d.visit_minutes, int) and d.visit_minutes > 0, f"visit_minutes {d.visit_minutes!r}")
    state["doctors"] = page.items


def step_free_slots():
    # From two days ahead: the patient may change the visit later (the
    # cancellation window is 24 h by default).
    lo = (now + dt.timedelta(days=2)).replace(microsecond=0)
    hi = lo + dt.timedelta(days=12)
    for p in ("from_", "to"):
        declared(free_slots.sync_detailed, p, dt.datetime, f"format: date-time on the query parameter {p.rstrip('_')}")
    for d in state["doctors"]:
        page = status_is(free_slots.sync_detailed(d.id, client=public, from_=lo, to=hi), 200, f"slots of doctor {d.id}")
        slots = page.items
        prev = None
        for s in slots:
            start = utc_instant(s.start, "SlotView.start")
            end = utc_instant(s.end, "SlotView.end")
            check(lo <= start < hi, f"slot {start} outside [{lo}, {hi})")
            check(
                end - start == dt.timedelta(minutes=d.visit_minutes),
                f"slot {start}..{end} is not {d.visit_minutes} min",
            )
            check(prev is None or start > prev, f"slots not in order at {start}")
            prev = start
        if not slots:
            continue
        first = slots[0]
        # Another day for the reschedule (one active visit per doctor and day).
        later = [s for s in slots if s.start >= first.start + dt.timedelta(days=1)]
        if later:
            state["doctor"], state["slot"], state["slot2"] = d, first, later[0]
            return
    raise Failed("no listed doctor has free slots on two days in the next two weeks")


def step_book():
    d, slot = state["doctor"], state["slot"]
    key = uuid.uuid4().hex
    declared(BookRequest, "start", dt.datetime, "format: date-time")
    body = BookRequest(doctor_id=d.id, start=slot.start, reason="Booked through the generated client")
    a = status_is(book.sync_detailed(client=state["a"]["client"], body=body, idempotency_key=key), 201, "book")
    check(isinstance(a.id, int) and a.id > 0, f"appointment id {a.id!r}")
    check(enum_value(a.status, "AppointmentView.status") == "booked", f"status {a.status!r}")
    check(utc_instant(a.start, "AppointmentView.start") == slot.start, f"start {a.start} != slot {slot.start}")
    check(utc_instant(a.end, "AppointmentView.end") == slot.end, f"end {a.end} != slot {slot.end}")
    check(a.doctor_id == d.id and a.patient_id == state["a"]["id"], f"doctor/patient {a.doctor_id}/{a.patient_id}")
    check(a.doctor_name == f"{d.first_name} {d.last_name}", f"doctor_name {a.doctor_name!r}")
    check(a.patient_name == "Ada Generated", f"patient_name {a.patient_name!r}")
    check(a.reason == "Booked through the generated client", f"reason {a.reason!r}")
    check(
        enum_value(a.payment_status, "AppointmentView.payment_status") == "unpaid",
        f"payment_status {a.payment_status!r}",
    )
    created = utc_instant(a.created_at, "AppointmentView.created_at")
    check(abs(created - now) < dt.timedelta(minutes=10), f"created_at {created} is not about now ({now})")
    utc_instant(a.updated_at, "AppointmentView.updated_at")
    state["appt"] = a
    # The same Idempotency-Key again: the first answer, no second booking.
    again = status_is(
        book.sync_detailed(client=state["a"]["client"], body=body, idempotency_key=key), 201, "book again, same key"
    )
    check(again.id == a.id, f"a repeat with the same key booked {again.id}, not {a.id}")


def step_read_back():
    a = state["appt"]
    got = status_is(get_appointment.sync_detailed(a.id, client=state["a"]["client"]), 200, "get appointment")
    for f in ("id", "status", "start", "end", "doctor_id", "patient_id", "reason", "payment_status", "created_at"):
        check(getattr(got, f) == getattr(a, f), f"read back {f}: {getattr(got, f)!r} != {getattr(a, f)!r}")
    utc_instant(got.start, "AppointmentView.start")


def step_visit_room():
    # The visit is two days ahead: its room is not open yet, and says when it opens.
    a, who = state["appt"], state["a"]["client"]
    v = status_is(get_visit.sync_detailed(a.id, client=who), 200, "the visit's room")
    check(enum_value(v.state, "VisitView.state") == "not_open", f"room state {v.state!r}")
    opens = utc_instant(v.opens_at, "VisitView.opens_at")
    check(opens == a.start - dt.timedelta(minutes=10), f"opens_at {opens} is not 10 min before {a.start}")
    check(utc_instant(v.closes_at, "VisitView.closes_at") > a.end, f"closes_at {v.closes_at}")
    check(enum_value(v.you, "VisitView.you") == "patient", f"you {v.you!r}")
    check(v.present == [] and v.ice_servers == [], f"present {v.present!r}, ice {v.ice_servers!r}")
    check(enum_value(v.ice_transport_policy, "VisitView.ice_transport_policy") == "all", "ice policy")
    check(v.signal_url == f"/api/v1/appointments/{a.id}/visit/signal", f"signal_url {v.signal_url!r}")
    page = status_is(list_messages.sync_detailed(a.id, client=who), 200, "the visit's chat")
    check(page.items == [], f"chat of a visit not yet held: {page.items!r}")
    res = post_message.sync_detailed(a.id, client=who, body=ChatRequest(text="Hello?"))
    problem(res, 409, "visit_not_open", "chat before the room opens")
    res = put_note.sync_detailed(a.id, client=who, body=NoteRequest(body="I write my own note"))
    problem(res, 403, "forbidden", "a patient writes the visit note")


def find_own(key, appt_id, what):
    lo = state["slot"].start - dt.timedelta(days=1)
    hi = state["slot2"].start + dt.timedelta(days=1)
    for p in ("from_", "to"):
        declared(
            list_appointments.sync_detailed, p, dt.datetime, f"format: date-time on the query parameter {p.rstrip('_')}"
        )
    page = status_is(
        list_appointments.sync_detailed(client=state[key]["client"], from_=lo, to=hi, limit=200),
        200,
        f"list appointments ({what})",
    )
    for x in page.items:
        check(
            type(x) is type(state["appt"]),
            f"page items are {type(x).__name__}, not {type(state['appt']).__name__}: "
            "the page schema inlines a copy of the item schema instead of a $ref",
        )
        check(x.patient_id == state[key]["id"], f"someone else's appointment {x.id} in the list")
        utc_instant(x.start, "AppointmentView.start in a page")
    mine = [x for x in page.items if x.id == appt_id]
    check(len(mine) == 1, f"appointment {appt_id} not in the list ({what}): {[x.id for x in page.items]}")
    return mine[0]


def step_list_own():
    a = state["appt"]
    x = find_own("a", a.id, "after booking")
    check(x.start == a.start and enum_value(x.status, "status") == "booked", f"listed {x!r}")


def step_second_patient():
    new_patient("b", "Bea", 1)
    log_in("b")


def step_slot_taken():
    body = BookRequest(doctor_id=state["doctor"].id, start=state["slot"].start)
    problem(book.sync_detailed(client=state["b"]["client"], body=body), 409, "slot_taken", "book a taken slot")
    # And nobody else's appointment is visible: 404, never 403.
    res = get_appointment.sync_detailed(state["appt"].id, client=state["b"]["client"])
    problem(res, 404, "not_found", "read another patient's appointment")
    res = get_visit.sync_detailed(state["appt"].id, client=state["b"]["client"])
    problem(res, 404, "not_found", "enter another patient's visit room")


def step_reschedule():
    a, slot2 = state["appt"], state["slot2"]
    declared(RescheduleRequest, "start", dt.datetime, "format: date-time")
    r = status_is(
        reschedule.sync_detailed(a.id, client=state["a"]["client"], body=RescheduleRequest(start=slot2.start)),
        200,
        "reschedule",
    )
    check(r.id == a.id, f"rescheduled id {r.id}")
    check(enum_value(r.status, "status") == "booked", f"status after reschedule {r.status!r}")
    check(utc_instant(r.start, "AppointmentView.start") == slot2.start, f"start {r.start} != {slot2.start}")
    check(utc_instant(r.end, "AppointmentView.end") == slot2.end, f"end {r.end} != {slot2.end}")
    check(utc_instant(r.updated_at, "AppointmentView.updated_at") >= a.updated_at, "updated_at went back")
    # The old slot is free again: the other patient gets it.
    body = BookRequest(doctor_id=state["doctor"].id, start=state["slot"].start)
    b = status_is(book.sync_detailed(client=state["b"]["client"], body=body), 201, "book the freed slot")
    check(b.patient_id == state["b"]["id"] and b.start == state["slot"].start, f"freed slot booking {b!r}")
    state["appt"] = r


def step_cancel():
    a = state["appt"]
    c = status_is(
        cancel.sync_detailed(a.id, client=state["a"]["client"], body=CancelRequest(reason="Cannot make it")),
        200,
        "cancel",
    )
    check(c.id == a.id and enum_value(c.status, "status") == "cancelled", f"after cancel {c.id} {c.status!r}")
    check(c.cancel_reason == "Cannot make it", f"cancel_reason {c.cancel_reason!r}")
    x = find_own("a", a.id, "after cancelling")
    check(enum_value(x.status, "status") == "cancelled", f"listed status {x.status!r}")
    # Cancelling twice is not a transition. The body is optional: none is sent.
    again = cancel.sync_detailed(a.id, client=state["a"]["client"])
    problem(again, 409, "invalid_transition", "cancel a cancelled visit")


STEPS = [
    step_register_a,
    step_login_a,
    step_list_doctors,
    step_free_slots,
    step_book,
    step_read_back,
    step_visit_room,
    step_list_own,
    step_second_patient,
    step_slot_taken,
    step_reschedule,
    step_cancel,
]


def main():
    passed = failed = 0
    for i, step in enumerate(STEPS):
        name = step.__name__.removeprefix("step_")
        try:
            step()
        except Exception as e:  # noqa: BLE001 - every failure is reported the same way
            failed += 1
            print(f"FAIL {name}: {e}")
            if not isinstance(e, Failed):
                traceback.print_exc()
            # Each step needs the ones before it.
            print(f"{passed} passed, {failed} failed, {len(STEPS) - i - 1} not run")
            return 1
        passed += 1
        print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
