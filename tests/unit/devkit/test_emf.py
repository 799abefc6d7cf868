"""EMF documents as Powertools prints them are summed per metric; other lines are skipped."""

from __future__ import annotations

import json

from devkit.emf import tally_metrics


def emf(**values: float | list[float]) -> str:
    metrics = [{"Name": name, "Unit": "Count"} for name in values]
    document = {
        "_aws": {"Timestamp": 0, "CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [], "Metrics": metrics}]}
    }
    return json.dumps({**document, **values})


def test_values_and_lists_of_values_are_summed_across_documents() -> None:
    text = "\n".join(
        [
            emf(OptOutAdded=2, OptOutRejected=1),
            '{"level":"INFO","message":"opt-out done","OptOutAdded":99}',
            "not json at all",
            emf(OptOutAdded=[1, 1, 1]),
        ]
    )

    assert tally_metrics(text) == {"OptOutAdded": 5, "OptOutRejected": 1}
