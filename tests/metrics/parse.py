#!/usr/bin/env python3
"""The outside check of `GET /metrics` (issue 12, tests/api/metrics.rs).

Reads a Prometheus text-format exposition (0.0.4) on stdin, parses all of it
with the reference parser of the Prometheus Python client
(`prometheus_client.parser.text_string_to_metric_families`), and prints the
families as JSON:

    [{"name": ..., "type": ..., "help": ...,
      "samples": [{"name": ..., "labels": {...}, "value": ...}, ...]}, ...]

A value that JSON cannot hold (NaN, +/-Inf) is printed as its text. Any line
the parser refuses makes it exit 1 with the parser's message on stderr.

    python3 tests/metrics/parse.py < metrics.txt
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def value(v):
    return v if math.isfinite(v) else str(v)


def main():
    text = sys.stdin.read()
    try:
        families = [
            {
                "name": f.name,
                "type": f.type,
                "help": f.documentation,
                "samples": [
                    {"name": s.name, "labels": dict(s.labels), "value": value(s.value)}
                    for s in f.samples
                ],
            }
            for f in text_string_to_metric_families(text)
        ]
    except Exception as e:  # the parser raises ValueError and others
        print(f"not Prometheus text format: {e!r}", file=sys.stderr)
        return 1
    json.dump(families, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
