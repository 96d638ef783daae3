"""schemathesis hooks for scripts/api-fuzz.sh: how to make valid values of the
custom string formats the OpenAPI document declares. Without them the fuzzer
writes random text, which is almost never a real phone number or time zone,
and never reaches the code behind the validation."""

import schemathesis
from hypothesis import strategies as st

# `phone`: a number as people write it. 202-555-0100..0199 is a range kept for
# fiction, valid to libphonenumber; a few are the demo's (409, also fine).
schemathesis.openapi.format(
    "phone",
    st.tuples(
        st.integers(100, 199),
        st.sampled_from(["+1202555{:04d}", "(202) 555-{:04d}", "202-555-{:04d}"]),
    ).map(lambda t: t[1].format(t[0])),
)

# `iana-time-zone`: a name from the IANA time zone database.
schemathesis.openapi.format(
    "iana-time-zone",
    st.sampled_from(
        [
            "UTC",
            "Europe/Berlin",
            "Europe/London",
            "America/New_York",
            "America/Los_Angeles",
            "Asia/Tokyo",
            "Australia/Sydney",
            "Africa/Nairobi",
        ]
    ),
)

# `date` and `date-time`: within a lifetime of today rather than anywhere in
# years 0001..9999, so that birth dates, override dates and time-off ranges
# are mostly plausible (the API refuses births before 1900 or in the future,
# and time off longer than a year).
import datetime as _dt

_today = _dt.date.today()
schemathesis.openapi.format(
    "date",
    st.integers(-365 * 90, 365).map(lambda d: (_today + _dt.timedelta(days=d)).isoformat()),
)
schemathesis.openapi.format(
    "date-time",
    st.tuples(
        st.integers(-400 * 86_400, 400 * 86_400),
        st.sampled_from(["Z", "+00:00", "+01:00", "-05:00", "+05:30"]),
    ).map(
        lambda t: (
            _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0, second=0)
            + _dt.timedelta(seconds=t[0] - t[0] % 300)
        )
        .isoformat()
        .replace("+00:00", t[1] if t[1] == "Z" else "+00:00")
    ),
)
