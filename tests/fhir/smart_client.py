#!/usr/bin/env python3
"""A FHIR client nobody here wrote, against a running medimeet (issue 11,
tests/api/fhir_outside.rs): the SMART on FHIR Python client `fhirclient`
(4.4.0, models of FHIR R4 4.0.1, parsed strictly).

    smart_client.py --base http://127.0.0.1:PORT/fhir --token TOKEN \
        --practitioner 7 --from 2027-01-15T00:00:00Z [--to ...] [--count 5]

1. reads the CapabilityStatement through the client (`server.capabilityStatement`);
2. finds the practitioner's Schedule (`Schedule.where({"actor": ...})`) and
   its free Slots in [from, to) (`Slot.where(...).perform_resources_iter`,
   which follows the Bundles' `next` links: `--count` makes small pages);
3. reads the first slot's `$find` proposal `Appointment/p<doctor>-<unix start>`
   (`Appointment.read`) and books it with `POST Appointment/$book` and a
   `Parameters` (built with the client's models) whose
   `appointment-reference` names it;
4. reads the booked Appointment back (`Appointment.read`).

The bearer token goes on the client's server object: `FHIRServer.session`
is the `requests.Session` every request of the client goes through, so its
`Authorization` header signs them all (the server's CapabilityStatement has
no SMART OAuth URIs, so fhirclient's own auth stays "none").

Prints one JSON object of what it saw (and every resource it received, as
the client's models serialize them, under "resources"); exits 1 on any error.
"""

import argparse
import json
import sys

from fhirclient import client
from fhirclient.models.appointment import Appointment
from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirreference import FHIRReference
from fhirclient.models.parameters import Parameters, ParametersParameter
from fhirclient.models.schedule import Schedule
from fhirclient.models.slot import Slot


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="the FHIR base URL, .../fhir")
    ap.add_argument("--token", required=True, help="a bearer token of the API")
    ap.add_argument("--practitioner", required=True, help="the doctor's id")
    ap.add_argument("--from", dest="start", required=True, help="slots from this instant")
    ap.add_argument("--to", dest="end", help="slots before this instant")
    ap.add_argument("--count", default="5", help="_count: the page size")
    args = ap.parse_args()

    out = {"resources": []}
    seen = out["resources"]

    smart = client.FHIRClient(settings={"app_id": "medimeet-outside-test", "api_base": args.base})
    server = smart.server
    server.session.headers["Authorization"] = f"Bearer {args.token}"

    # 1. The CapabilityStatement, through the client.
    cap = server.capabilityStatement
    seen.append(cap.as_json())
    out["capability"] = {
        "fhirVersion": cap.fhirVersion,
        "format": cap.format,
        "resources": {
            r.type: sorted(i.code for i in (r.interaction or []))
            for rest in (cap.rest or [])
            for r in (rest.resource or [])
        },
        "operations": sorted(
            o.name
            for rest in (cap.rest or [])
            for r in (rest.resource or [])
            for o in (r.operation or [])
        ),
    }

    # 2. The practitioner's Schedule, then its free Slots, page by page.
    schedules = list(
        Schedule.where({"actor": f"Practitioner/{args.practitioner}"}).perform_resources_iter(server)
    )
    seen.extend(s.as_json() for s in schedules)
    out["schedules"] = [s.id for s in schedules]
    if not schedules:
        raise RuntimeError(f"no Schedule of Practitioner/{args.practitioner}")
    start = [f"ge{args.start}"] + ([f"lt{args.end}"] if args.end else [])
    query = {
        "schedule": f"Schedule/{schedules[0].id}",
        "status": "free",
        # A repeated parameter (start=ge...&start=lt...) in fhirclient's
        # query structure.
        "start": {"$and": start} if len(start) > 1 else start[0],
        "_count": args.count,
    }
    search = Slot.where(query)
    out["slot_query"] = search.construct()
    pages = list(search.perform_iter(server))
    seen.extend(b.as_json() for b in pages)
    slots = [e.resource for b in pages for e in (b.entry or []) if e.resource is not None]
    out["slot_pages"] = len(pages)
    out["slots"] = [
        {"id": s.id, "status": s.status, "start": s.start.as_json(), "end": s.end.as_json(),
         "schedule": s.schedule.reference}
        for s in slots
    ]
    if not slots:
        raise RuntimeError("no free slot found")
    slot = slots[0]

    # 3. The slot's $find proposal, read through the client, then $book.
    proposal = Appointment.read(f"p{slot.id}", server)
    seen.append(proposal.as_json())
    out["proposal"] = {"id": proposal.id, "status": proposal.status,
                       "start": proposal.start.as_json()}
    params = Parameters()
    param = ParametersParameter()
    param.name = "appointment-reference"
    param.valueReference = FHIRReference({"reference": f"Appointment/{proposal.id}"})
    params.parameter = [param]
    res = server.post_json("Appointment/$book", params.as_json())
    booked_bundle = Bundle(res.json())
    seen.append(booked_bundle.as_json())
    booked = [e.resource for e in (booked_bundle.entry or []) if e.resource is not None]
    if len(booked) != 1 or booked[0].resource_type != "Appointment":
        raise RuntimeError(f"$book answered {res.text}")
    out["book"] = {
        "http_status": res.status_code,
        "content_type": res.headers.get("Content-Type"),
        "etag": res.headers.get("ETag"),
        "id": booked[0].id,
        "status": booked[0].status,
    }

    # 4. The Appointment, read back.
    appt = Appointment.read(booked[0].id, server)
    seen.append(appt.as_json())
    out["read_back"] = {
        "id": appt.id,
        "status": appt.status,
        "start": appt.start.as_json(),
        "end": appt.end.as_json(),
        "versionId": appt.meta.versionId if appt.meta else None,
        "participants": [p.actor.reference for p in appt.participant if p.actor],
        "slot": [s.reference for s in (appt.slot or [])],
    }
    out["slot_start"] = slot.start.as_json()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - the report says what failed
        detail = getattr(getattr(e, "response", None), "text", None)
        print(json.dumps({"error": f"{type(e).__name__}: {e}", "response": detail}))
        sys.exit(1)
