"""The local run with its HTTP doors (what `bash scripts/run-local.sh` does): sample replies and a link click
through the local HTTP API, counted in the summary and accounted for like every other event."""

from __future__ import annotations

import io

import pytest

from devkit.pipeline import RunOptions, run_pipeline
from devkit.run import render

pytestmark = pytest.mark.integration


def test_local_run_counts_replies_and_link_clicks() -> None:
    summary = run_pipeline(RunOptions(http_samples=True))

    assert summary.events_in["http"] == 3  # two STOP replies, one confirmed link
    assert summary.accounted == summary.total_in
    counts = {name: int(summary.metrics[name]) for name in ("ReplyOptOut", "ReplyIgnored", "ReplyRefused")}
    assert counts == {"ReplyOptOut": 2, "ReplyIgnored": 1, "ReplyRefused": 1}
    assert summary.metrics["UnsubscribePageShown"] == 1  # the preview's GET, which opted nobody out
    assert summary.metrics["UnsubscribeConfirmed"] == 1
    assert {"+33644556677", "+33655443322"} <= summary.stop_list
    out = io.StringIO()
    render(summary, out)
    assert "SMS replies" in out.getvalue()
    assert "(opt-outs 2, ignored 1, refused 1)" in out.getvalue()
    assert summary.sample_link in out.getvalue()
    assert "curl -i" in summary.webhook_curl
