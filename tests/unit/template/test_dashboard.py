"""The CloudWatch dashboard (template.yaml, OperationsDashboard): every graph shows a metric that exists.

The metric names the code emits are collected from the code itself, not from a list kept here: the
opt-out dispositions (``Disposition``), the ``metric`` of each retryable error (what ``process`` counts for
an event that will come back), and every literal ``count("...")``/``add_metric(name="...")`` in the
handlers and the layer.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, TypeVar

import pytest
from stoplist import errors
from stoplist.domain.outcomes import Disposition
from stoplist.domain.replies import ReplyOutcome
from stoplist.domain.unsubscribe import LinkOutcome
from stoplist.observability import metrics

from devkit.template import load_template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
BODY_SOURCE: str = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
BODY: dict[str, Any] = json.loads(BODY_SOURCE)
SERVICE = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
SQS_METRICS = {
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateAgeOfOldestMessage",
    "NumberOfMessagesSent",
    "NumberOfMessagesReceived",
    "NumberOfMessagesDeleted",
}


E = TypeVar("E", bound=errors.StopListError)


def _subclasses(kind: type[E]) -> list[type[E]]:
    found: list[type[E]] = []
    for subclass in kind.__subclasses__():
        found += [subclass, *_subclasses(subclass)]
    return found


def _literal_metric_calls() -> set[str]:
    """``count("Name", ...)`` and ``add_metric(name="Name", ...)`` with a literal name, in handlers/ and shared/."""
    names = set()
    for path in [*ROOT.glob("handlers/*.py"), *ROOT.glob("shared/stoplist/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called == "count" and node.args and isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value))
            if called == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        names.add(str(keyword.value.value))
    return names


def emitted_metrics() -> set[str]:
    # The outcome enums: each value is the metric its outcome counts in (counted as ``count(outcome.value)``).
    names = {outcome.value for kind in (Disposition, ReplyOutcome, LinkOutcome) for outcome in kind}
    retryable: list[type[errors.RetryableError]] = [errors.RetryableError, *_subclasses(errors.RetryableError)]
    names |= {kind.metric for kind in retryable}
    return names | _literal_metric_calls()


def widget_metrics() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for widget in BODY["widgets"]:
        for line in widget["properties"].get("metrics", []):
            parts = [part for part in line if not isinstance(part, dict)]
            namespace, name, *dimensions = parts
            found.append((namespace, name, dict(zip(dimensions[::2], dimensions[1::2], strict=True))))
    return found


def test_the_collection_finds_the_known_kinds() -> None:
    emitted = emitted_metrics()
    # One of each source, so that a collector that finds nothing cannot pass the tests below.
    assert {
        "OptOutAdded",
        "ProviderTransientError",
        "SnapshotDurationMs",
        "SnapshotSucceeded",
        "ReplyOptOut",
    } <= emitted


def test_every_custom_metric_is_emitted_with_the_namespace_and_the_service_dimension() -> None:
    emitted = emitted_metrics()
    custom = [(ns, name, dims) for ns, name, dims in widget_metrics() if not ns.startswith("AWS/")]
    assert custom
    for namespace, name, dimensions in custom:
        assert namespace == "${MetricsNamespace}", name  # the parameter the functions get as their namespace
        assert name in emitted, f"{name} is on the dashboard but the code never emits it"
        assert dimensions == {"service": SERVICE}, name


def test_every_emitted_metric_has_a_graph() -> None:
    shown = {name for namespace, name, _ in widget_metrics() if namespace == "${MetricsNamespace}"}
    assert emitted_metrics() - shown == set()


def test_the_functions_namespace_is_the_parameter_the_dashboard_uses() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}


def test_powertools_emits_exactly_the_service_dimension() -> None:
    metrics.add_metric(name="OptOutAdded", unit="Count", value=1)
    try:
        document: dict[str, Any] = dict(metrics.serialize_metric_set())
    finally:
        metrics.clear_metrics()
    (definition,) = document["_aws"]["CloudWatchMetrics"]
    assert definition["Dimensions"] == [["service"]]
    assert document["service"] == SERVICE


def test_sqs_graphs_name_queues_of_this_template() -> None:
    queues = {name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::SQS::Queue"}
    sqs = [(name, dims) for namespace, name, dims in widget_metrics() if namespace == "AWS/SQS"]
    assert sqs
    shown = set()
    for name, dimensions in sqs:
        assert name in SQS_METRICS, name
        match = re.fullmatch(r"\$\{(\w+)\.QueueName\}", dimensions["QueueName"])
        assert match, dimensions
        assert match.group(1) in queues, dimensions
        shown.add(match.group(1))
    assert shown == queues  # the queue and both dead-letter queues


def test_lambda_graphs_name_functions_of_this_template() -> None:
    functions = {name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Function"}
    graphs = [(name, dims) for namespace, name, dims in widget_metrics() if namespace == "AWS/Lambda"]
    assert ("IteratorAge", {"FunctionName": "${ChangePublisherFunction}"}) in graphs
    for _, dimensions in graphs:
        match = re.fullmatch(r"\$\{(\w+)\}", dimensions["FunctionName"])
        assert match, dimensions
        assert match.group(1) in functions, dimensions


def test_alarm_widget_shows_every_alarm_of_the_template() -> None:
    alarms = {name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::CloudWatch::Alarm"}
    (widget,) = [widget for widget in BODY["widgets"] if widget["type"] == "alarm"]
    shown = {re.fullmatch(r"\$\{(\w+)\.Arn\}", arn).group(1) for arn in widget["properties"]["alarms"]}  # type: ignore[union-attr]
    assert shown == alarms


@pytest.mark.parametrize("token", sorted(set(re.findall(r"\$\{([^}]+)\}", BODY_SOURCE))))
def test_every_substitution_resolves(token: str) -> None:
    name = token.split(".")[0]
    assert token == "AWS::Region" or name in TEMPLATE["Parameters"] or name in RESOURCES, token


def test_the_alarm_names_output_lists_every_alarm() -> None:
    """`stoplist status` reads the alarms from this output: an alarm left out would never be reported."""
    alarms = {name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::CloudWatch::Alarm"}
    separator, names = TEMPLATE["Outputs"]["AlarmNames"]["Value"]["Fn::Join"]
    assert separator == ","
    assert {name["Ref"] for name in names} == alarms


def test_every_metric_counted_by_a_computed_name_comes_from_a_known_source() -> None:
    """A ``count(x.value)`` or ``count(exc.metric)`` names its metric at run time: the sources above must cover
    every such call, or a new outcome enum would have no graph and no test would notice."""
    computed = set()
    for path in [*ROOT.glob("handlers/*.py"), *ROOT.glob("shared/stoplist/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "count" and node.args:
                argument = node.args[0]
                if not isinstance(argument, ast.Constant):
                    computed.add(f"{path.name}:{ast.unparse(argument)}")
    known_forms = re.compile(r"\w+\.py:(exc\.metric|disposition\.value|outcome\.value|\w+Outcome\.\w+\.value)")
    assert {call for call in computed if not known_forms.fullmatch(call)} == set()
