#!/usr/bin/env python3
"""The outside check of every FHIR resource the server emits in the tests
(issue 11, tests/api/fhir_outside.rs).

Reads a JSON list of FHIR resources on stdin (each may be wrapped as
{"label": "...", "resource": {...}} so a report names where it came from),
validates each with the `fhir.resources` package at 6.4.0 (R4 4.0.1,
pydantic 1): `parse_obj` of the class its resourceType names, Bundles with
their entries. That package checks structure and primitive formats only, so
this script also checks what it does not:

- codes in their R4 value sets (required bindings): Appointment.status,
  Appointment.participant.status and .required, Slot.status, Bundle.type,
  Bundle.entry.search.mode, OperationOutcome.issue.severity and .code,
  CapabilityStatement's status, kind, fhirVersion, rest.mode, interactions,
  searchParam types and versioning, HumanName.use, ContactPoint.system;
- the cardinalities it lets through: Appointment.participant 1..*,
  participant.status 1..1, Slot.schedule/start/end/status 1..1,
  Schedule.actor 1..*, OperationOutcome.issue 1..*, Bundle.type 1..1;
- the Appointment invariants app-1 to app-4 (R4 4.0.1, their FHIRPath as
  published) and that a searchset entry's fullUrl agrees with its
  resource's type and id.

Prints a JSON report {"checked": n, "problems": [...]} and exits 1 when
there is any problem (2 when the input is not a JSON list).

Run it with the virtualenv's python (.venv-fhir, made by .ci/run):
    .venv-fhir/bin/python tests/fhir/validate.py < resources.json
"""

import json
import sys

import fhir.resources
from fhir.resources import get_fhir_model_class

# The package's top-level classes must be R4 (4.0.1); 6.5.0 and later are
# R4B or R5, whose Appointment differs.
assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__

# Required value sets of FHIR R4 (4.0.1).
APPOINTMENT_STATUS = {
    "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled",
    "noshow", "entered-in-error", "checked-in", "waitlist",
}
PARTICIPATION_STATUS = {"accepted", "declined", "tentative", "needs-action"}
PARTICIPANT_REQUIRED = {"required", "optional", "information-only"}
SLOT_STATUS = {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"}
BUNDLE_TYPE = {
    "document", "message", "transaction", "transaction-response", "batch",
    "batch-response", "history", "searchset", "collection",
}
SEARCH_ENTRY_MODE = {"match", "include", "outcome"}
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPE = {
    "invalid", "structure", "required", "value", "invariant", "security",
    "login", "unknown", "expired", "forbidden", "suppressed", "processing",
    "not-supported", "duplicate", "multiple-matches", "not-found", "deleted",
    "too-long", "code-invalid", "extension", "too-costly", "business-rule",
    "conflict", "transient", "lock-error", "no-store", "exception", "timeout",
    "incomplete", "throttled", "informational",
}
PUBLICATION_STATUS = {"draft", "active", "retired", "unknown"}
CAPABILITY_KIND = {"instance", "capability", "requirements"}
RESTFUL_MODE = {"client", "server"}
TYPE_INTERACTION = {
    "read", "vread", "update", "patch", "delete", "history-instance",
    "history-type", "create", "search-type",
}
SEARCH_PARAM_TYPE = {
    "number", "date", "string", "token", "reference", "composite",
    "quantity", "uri", "special",
}
VERSIONING_POLICY = {"no-version", "versioned", "versioned-update"}
NAME_USE = {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"}
CONTACT_POINT_SYSTEM = {"phone", "fax", "email", "pager", "url", "sms", "other"}


class Checker:
    def __init__(self):
        self.problems = []

    def problem(self, where, message):
        self.problems.append({"where": where, "problem": message})

    def code(self, where, value, allowed):
        if value is None:
            return
        if not isinstance(value, str) or value not in allowed:
            self.problem(where, f"code {value!r} is not in the value set {sorted(allowed)}")

    def required(self, where, resource, name):
        """1..1 (or 1..*): present and not empty."""
        value = resource.get(name)
        if value is None or value == [] or value == "":
            self.problem(f"{where}.{name}", "required (min 1) but missing")
            return False
        return True

    # --- the outside package -------------------------------------------------

    def structure(self, where, resource):
        kind = resource.get("resourceType")
        try:
            klass = get_fhir_model_class(kind)
        except KeyError:
            self.problem(where, f"unknown resourceType {kind!r}")
            return
        try:
            klass.parse_obj(resource)
        except Exception as e:  # pydantic.ValidationError and friends
            self.problem(where, f"fhir.resources {fhir.resources.__version__} rejects it: {e}")

    # --- what it does not check ---------------------------------------------

    def resource(self, where, r):
        if not isinstance(r, dict):
            self.problem(where, "not a JSON object")
            return
        kind = r.get("resourceType")
        where = f"{where}:{kind}" + (f"/{r['id']}" if "id" in r else "")
        self.structure(where, r)
        check = getattr(self, "check_" + str(kind), None)
        if check is not None:
            check(where, r)
        for i, name in enumerate(r.get("name") or []):
            if isinstance(name, dict):
                self.code(f"{where}.name[{i}].use", name.get("use"), NAME_USE)
        for i, t in enumerate(r.get("telecom") or []):
            if isinstance(t, dict):
                self.code(f"{where}.telecom[{i}].system", t.get("system"), CONTACT_POINT_SYSTEM)

    def check_Appointment(self, where, a):
        self.required(where, a, "status")
        self.code(f"{where}.status", a.get("status"), APPOINTMENT_STATUS)
        if self.required(where, a, "participant"):
            for i, p in enumerate(a["participant"]):
                pw = f"{where}.participant[{i}]"
                if self.required(pw, p, "status"):
                    self.code(f"{pw}.status", p["status"], PARTICIPATION_STATUS)
                self.code(f"{pw}.required", p.get("required"), PARTICIPANT_REQUIRED)
                # app-1: type.exists() or actor.exists()
                if not p.get("type") and not p.get("actor"):
                    self.problem(pw, "app-1: Either the type or actor on the participant SHALL be specified")
        has_start, has_end = "start" in a, "end" in a
        # app-2: start.exists() = end.exists()
        if has_start != has_end:
            self.problem(where, "app-2: Either start and end are specified, or neither")
        # app-3: (start.exists() and end.exists()) or
        #        (status in ('proposed' | 'cancelled' | 'waitlist'))
        if not (has_start and has_end) and a.get("status") not in ("proposed", "cancelled", "waitlist"):
            self.problem(where, "app-3: Only proposed or cancelled appointments can be missing start/end dates")
        # app-4, as R4 publishes it: Appointment.cancelationReason.exists()
        # implies (Appointment.status='no-show' or Appointment.status='cancelled').
        # ('no-show' is not a code of the value set, so in R4 only a cancelled
        # appointment may carry a cancelationReason; checked literally.)
        if "cancelationReason" in a and a.get("status") not in ("no-show", "cancelled"):
            self.problem(where, "app-4: Cancelation reason is only used for appointments that have been cancelled, or no-show")
        if "start" in a and "end" in a and isinstance(a["start"], str) and isinstance(a["end"], str):
            # Not an R4 invariant, but a booking whose end is before its start is wrong.
            from datetime import datetime
            try:
                s = datetime.fromisoformat(a["start"].replace("Z", "+00:00"))
                e = datetime.fromisoformat(a["end"].replace("Z", "+00:00"))
                if e <= s:
                    self.problem(where, "end is not after start")
            except ValueError:
                pass  # the structure check reports the format

    def check_Slot(self, where, s):
        for name in ("schedule", "start", "end", "status"):
            self.required(where, s, name)
        self.code(f"{where}.status", s.get("status"), SLOT_STATUS)

    def check_Schedule(self, where, s):
        self.required(where, s, "actor")

    def check_OperationOutcome(self, where, o):
        if self.required(where, o, "issue"):
            for i, issue in enumerate(o["issue"]):
                iw = f"{where}.issue[{i}]"
                if self.required(iw, issue, "severity"):
                    self.code(f"{iw}.severity", issue["severity"], ISSUE_SEVERITY)
                if self.required(iw, issue, "code"):
                    self.code(f"{iw}.code", issue["code"], ISSUE_TYPE)

    def check_CapabilityStatement(self, where, c):
        for name in ("status", "date", "kind", "fhirVersion", "format"):
            self.required(where, c, name)
        self.code(f"{where}.status", c.get("status"), PUBLICATION_STATUS)
        self.code(f"{where}.kind", c.get("kind"), CAPABILITY_KIND)
        if c.get("fhirVersion") != "4.0.1":
            self.problem(f"{where}.fhirVersion", f"{c.get('fhirVersion')!r}, not 4.0.1")
        for i, rest in enumerate(c.get("rest") or []):
            rw = f"{where}.rest[{i}]"
            self.code(f"{rw}.mode", rest.get("mode"), RESTFUL_MODE)
            for j, res in enumerate(rest.get("resource") or []):
                resw = f"{rw}.resource[{j}]"
                self.required(resw, res, "type")
                for k, inter in enumerate(res.get("interaction") or []):
                    self.code(f"{resw}.interaction[{k}].code", inter.get("code"), TYPE_INTERACTION)
                for k, sp in enumerate(res.get("searchParam") or []):
                    self.code(f"{resw}.searchParam[{k}].type", sp.get("type"), SEARCH_PARAM_TYPE)
                self.code(f"{resw}.versioning", res.get("versioning"), VERSIONING_POLICY)

    def check_Bundle(self, where, b):
        if self.required(where, b, "type"):
            self.code(f"{where}.type", b["type"], BUNDLE_TYPE)
        for i, entry in enumerate(b.get("entry") or []):
            ew = f"{where}.entry[{i}]"
            search = entry.get("search") or {}
            self.code(f"{ew}.search.mode", search.get("mode"), SEARCH_ENTRY_MODE)
            r = entry.get("resource")
            if r is None:
                if b.get("type") == "searchset":
                    self.problem(ew, "a searchset entry without a resource")
                continue
            full_url = entry.get("fullUrl")
            if b.get("type") == "searchset" and isinstance(r, dict):
                # The fullUrl SHALL NOT disagree with the id in the resource.
                tail = f"/{r.get('resourceType')}/{r.get('id')}"
                if not isinstance(full_url, str) or not full_url.endswith(tail):
                    self.problem(f"{ew}.fullUrl", f"{full_url!r} disagrees with the resource ({tail[1:]})")
            # The entry on its own, with every check above (the Bundle's own
            # parse_obj already validated its structure).
            self.resource(ew, r)


def main():
    try:
        items = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        print(json.dumps({"error": f"stdin is not JSON: {e}"}))
        return 2
    if not isinstance(items, list):
        print(json.dumps({"error": "stdin must be a JSON list of resources"}))
        return 2
    checker = Checker()
    kinds = {}
    for i, item in enumerate(items):
        label = f"[{i}]"
        resource = item
        if isinstance(item, dict) and "resource" in item and "resourceType" not in item:
            label = f"[{i}] {item.get('label', '')}".rstrip()
            resource = item["resource"]
        if isinstance(resource, dict):
            kind = resource.get("resourceType", "?")
            kinds[kind] = kinds.get(kind, 0) + 1
        checker.resource(label, resource)
    report = {
        "validator": f"fhir.resources {fhir.resources.__version__} (FHIR {fhir.resources.__fhir_version__})",
        "checked": len(items),
        "resource_types": kinds,
        "problems": checker.problems,
    }
    print(json.dumps(report, indent=2))
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
