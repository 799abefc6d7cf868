"""Reads the CloudWatch Embedded Metric Format (EMF) documents that Powertools Metrics prints.

Each flush prints one JSON object per line whose ``_aws.CloudWatchMetrics`` lists the metric names; the
values sit at the top level, a number or a list of numbers. Both the local pipeline (its summary) and the
tests (what a handler counted) add them up here, so there is one reading of the format.
"""

from __future__ import annotations

import json
from collections import Counter


def tally_metrics(text: str) -> Counter[str]:
    """Sum of each metric over the EMF lines of ``text`` (other lines, e.g. JSON logs, are skipped)."""
    totals: Counter[str] = Counter()
    for line in text.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for definition in document["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return totals
