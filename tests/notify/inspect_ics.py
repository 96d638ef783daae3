"""Reads an iCalendar file (a calendar feed or one visit's download) with the
`icalendar` package and prints what the tests check, as JSON: an outside
parser's reading, not medimeet's idea of the format.

Usage: python3 inspect_ics.py FILE   (or - for standard input)
"""

import json
import sys

import icalendar


def when(prop):
    """An instant as the parser read it, and whether it is UTC with no TZID."""
    dt = prop.dt
    return {
        "iso": dt.isoformat(),
        "utc": dt.tzinfo is not None and dt.utcoffset().total_seconds() == 0
        and "TZID" not in prop.params,
    }


data = sys.stdin.buffer.read() if sys.argv[1] == "-" else open(sys.argv[1], "rb").read()
cal = icalendar.Calendar.from_ical(data)
out = {
    "version": str(cal.get("VERSION")),
    "method": str(cal["METHOD"]) if "METHOD" in cal else None,
    "name": str(cal["X-WR-CALNAME"]) if "X-WR-CALNAME" in cal else None,
    "timezones": len(cal.walk("VTIMEZONE")),
    "events": [],
}
for event in cal.walk("VEVENT"):
    start, end, stamp = when(event["DTSTART"]), when(event["DTEND"]), when(event["DTSTAMP"])
    out["events"].append({
        "uid": str(event["UID"]),
        "sequence": int(event["SEQUENCE"]),
        "status": str(event["STATUS"]),
        "summary": str(event["SUMMARY"]),
        "description": str(event["DESCRIPTION"]),
        "url": str(event["URL"]),
        "start": start["iso"],
        "end": end["iso"],
        "stamp": stamp["iso"],
        "all_utc": start["utc"] and end["utc"] and stamp["utc"],
    })
print(json.dumps(out))
