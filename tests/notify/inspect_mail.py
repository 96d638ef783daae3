"""Reads the messages an SMTP sink stored (a Maildir) with Python's own email
parser and the `icalendar` package, and prints what the tests check, as JSON:
outside parsers, not medimeet's idea of the formats.

Usage: python3 inspect_mail.py MAILDIR
"""

import email.header
import json
import mailbox
import sys

import icalendar


def text(value):
    return str(email.header.make_header(email.header.decode_header(value))) if value else None


out = []
for _, msg in sorted(mailbox.Maildir(sys.argv[1], create=False).items(), key=lambda kv: kv[0]):
    m = {
        "message_id": msg["Message-ID"],
        "to": msg["To"],
        "from": msg["From"],
        "subject": text(msg["Subject"]),
        "list_unsubscribe": msg["List-Unsubscribe"],
        "list_unsubscribe_post": msg["List-Unsubscribe-Post"],
        "multipart": msg.get_content_type(),
    }
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html"):
            m[kind] = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        elif kind == "text/calendar":
            cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
            event = cal.walk("VEVENT")[0]
            m["ics"] = {
                "method": str(cal["METHOD"]),
                "uid": str(event["UID"]),
                "sequence": int(event["SEQUENCE"]),
                "start": event["DTSTART"].dt.isoformat(),
                "end": event["DTEND"].dt.isoformat(),
                "status": str(event["STATUS"]),
            }
    out.append(m)
print(json.dumps(out))
