"""Creates the local resources from template.yaml itself, so the local pipeline cannot drift from the template.

Reads the template's parameters (defaults, or overrides), queues (with their redrive policy), the
EventBridge rule's bus and pattern, the tables' key schemas, indexes and time to live, and the secrets, and
creates them on moto server and DynamoDB Local. It also resolves each function's environment (Globals plus the
function's own), so handlers run locally with the same variables they get in AWS.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from stoplist.adapters.pacing import SMS_PARTNER_LIMIT

from devkit.services import REPO_ROOT

TEMPLATE_PATH = REPO_ROOT / "template.yaml"
# Parameters of every local stack unless overridden: re-opt-ins on the bus are taken from the source of the
# sample events/eventbridge_optin.json (a CRM), as an operator who names theirs in OptInEventSources would.
LOCAL_PARAMETERS = {
    "OptInEventSources": json.loads((REPO_ROOT / "events" / "eventbridge_optin.json").read_text())["source"],
}
_INTRINSICS = ("Ref", "Condition")
_FN_TAGS = (
    "GetAtt",
    "Sub",
    "If",
    "Not",
    "And",
    "Or",
    "Equals",
    "FindInMap",
    "Join",
    "Select",
    "Split",
    "GetAZs",
    "ImportValue",
)


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML loader that turns CloudFormation short forms (!Ref, !GetAtt ...) into their long forms."""


def _construct(tag: str) -> Any:
    key = tag if tag in _INTRINSICS else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag in (*_INTRINSICS, *_FN_TAGS):
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


def scaled_provider_budget(limit_per_minute: float, template: dict[str, Any] | None = None) -> int:
    """``ProviderRequestsPerMinute`` for a stand-in allowing ``limit_per_minute``: the template's default in the
    same ratio to it as to SMS Partner's own limit (1,950 for 2,000), as the benchmarks scale the provider down."""
    default = float((template or load_template())["Parameters"]["ProviderRequestsPerMinute"]["Default"])
    return round(limit_per_minute * default / SMS_PARTNER_LIMIT)


@dataclass
class QueueSpec:
    logical_id: str
    attributes: dict[str, str]
    redrive_target: str | None = None
    max_receive_count: int | None = None


@dataclass
class LocalResources:
    """Names and addresses of what was created, by the template's logical ids."""

    parameters: dict[str, str]
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    secret_arn: str = ""  # ApiKeySecret's
    secret_arns: dict[str, str] = field(default_factory=dict)
    # What the template's generated bare-string secrets hold locally (webhook token, link key).
    secret_values: dict[str, str] = field(default_factory=dict)
    table_name: str = ""
    table_names: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    # A rule on the bus forwarding the stack's own announcements here, as a CRM's queue would get them.
    announcements_queue_url: str = ""
    event_bus: str = "default"
    rule_name: str = ""
    rule_pattern: dict[str, Any] = field(default_factory=dict)
    rule_delivery_queue_url: str = ""
    alarm_names: list[str] = field(default_factory=list)
    # The template's Outputs, resolved against the local resources (what `describe_stacks` would answer).
    outputs: dict[str, str] = field(default_factory=dict)
    function_env: dict[str, dict[str, str]] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)


_NO_VALUE = object()  # AWS::NoValue: the key or list item that holds it is left out


class _Resolver:
    """Evaluates the handful of intrinsic functions the template uses, against local resources.

    Conditions (``Fn::If``, ``Condition``, ``Fn::Equals`` / ``Not`` / ``And`` / ``Or``) are evaluated against the
    parameters, as CloudFormation does, and a value that resolves to ``AWS::NoValue`` disappears with its key.
    A ``CommaDelimitedList`` parameter is a list. With ``keep_unknown`` (the template rendered without local
    resources, ``render``), a reference to a resource stays as it is written instead of a local stand-in name.
    """

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str],
        physical: dict[str, dict[str, str]],
        keep_unknown: bool = False,
    ):
        self.template = template
        self.parameters = parameters
        self.physical = physical  # logical id -> {"Ref": ..., "Arn": ..., ...}
        self.keep_unknown = keep_unknown
        self._lists = {
            name for name, spec in template.get("Parameters", {}).items() if spec.get("Type") == "CommaDelimitedList"
        }

    def __call__(self, value: Any) -> Any:
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def condition(self, name: str) -> bool:
        return bool(self._resolve(self.template.get("Conditions", {})[name]))

    def _parameter(self, name: str) -> str | list[str]:
        value = self.parameters[name]
        return [part.strip() for part in value.split(",")] if name in self._lists else value

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                if argument in self.parameters:
                    return self._parameter(argument)
                if argument in self.physical:
                    return self.physical[argument]["Ref"]
                if argument == "AWS::NoValue":
                    return _NO_VALUE
                return value if self.keep_unknown else f"local-{argument}"
            if name == "Condition":
                return self.condition(argument)
            if name == "Fn::If":
                condition, when_true, when_false = argument
                return self._resolve(when_true if self.condition(condition) else when_false)
            if name == "Fn::Equals":
                left, right = (self._resolve(part) for part in argument)
                return str(left) == str(right)
            if name == "Fn::Not":
                return not self._resolve(argument[0])
            if name == "Fn::And":
                return all(self._resolve(part) for part in argument)
            if name == "Fn::Or":
                return any(self._resolve(part) for part in argument)
            if name == "Fn::GetAtt":
                logical, attribute = argument
                if logical not in self.physical and self.keep_unknown:
                    return value
                return self.physical.get(logical, {}).get(attribute, f"local-{logical}-{attribute}")
            if name == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                for key, replacement in self.parameters.items():
                    text = text.replace("${" + key + "}", str(replacement))
                return text
            if name == "Fn::Join":
                separator, parts = argument
                resolved = self._resolve(parts)
                return separator.join(str(part) for part in resolved)
            if name == "Fn::FindInMap":
                mapping, top, second = (self._resolve(part) for part in argument)
                return self.template["Mappings"][mapping][str(top)][second]
        if isinstance(value, dict):
            entries = {key: self._resolve(item) for key, item in value.items()}
            return {key: item for key, item in entries.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        return value


def render(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """The template as CloudFormation would deploy it with these parameters (defaults otherwise): its Globals,
    resources and outputs whose condition is false left out, ``Fn::If`` and conditions decided, ``AWS::NoValue``
    removed, parameters substituted; references to resources stay as written."""
    resolve = _Resolver(template, template_parameters(template, overrides), {}, keep_unknown=True)
    rendered = {"Globals": resolve(template.get("Globals", {}))}
    for section in ("Resources", "Outputs"):
        rendered[section] = {
            name: resolve({key: value for key, value in spec.items() if key != "Condition"})
            for name, spec in template.get(section, {}).items()
            if "Condition" not in spec or resolve.condition(spec["Condition"])
        }
    return rendered


def template_parameters(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    parameters.update(overrides or {})
    return parameters


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in template["Resources"].items() if spec["Type"] == kind}


def _queue_specs(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, QueueSpec]:
    resolve = _Resolver(template, parameters, {})
    specs = {}
    for logical_id, spec in _resources(template, "AWS::SQS::Queue").items():
        properties = spec.get("Properties", {})
        attributes = {
            name: str(resolve(properties[name]))
            for name in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
            if name in properties
        }
        if properties.get("SqsManagedSseEnabled"):
            attributes["SqsManagedSseEnabled"] = "true"
        redrive = properties.get("RedrivePolicy")
        target = None
        receives = None
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            receives = int(resolve(redrive["maxReceiveCount"]))
        specs[logical_id] = QueueSpec(logical_id, attributes, target, receives)
    return specs


def create_resources(
    template: dict[str, Any] | None = None,
    parameter_overrides: dict[str, str] | None = None,
    api_key: str = "local-key",
    prefix: str = "local",
) -> LocalResources:
    """Create everything the handlers touch; clients come from the environment (moto / DynamoDB Local).

    Parameters: the template's defaults, then ``LOCAL_PARAMETERS``, then ``parameter_overrides``."""
    template = template or load_template()
    parameters = template_parameters(template, {**LOCAL_PARAMETERS, **(parameter_overrides or {})})
    resources = LocalResources(parameters=parameters, template=template)
    physical: dict[str, dict[str, str]] = {}
    sqs: Any = boto3.client("sqs")

    # Queues: dead-letter targets first, so that redrive policies can name them.
    specs = _queue_specs(template, parameters)
    for spec in sorted(specs.values(), key=lambda queue: queue.redrive_target is not None):
        attributes: dict[str, Any] = dict(spec.attributes)
        if spec.redrive_target:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": physical[spec.redrive_target]["Arn"], "maxReceiveCount": spec.max_receive_count}
            )
        url = sqs.create_queue(QueueName=f"{prefix}-{spec.logical_id}", Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        physical[spec.logical_id] = {"Ref": url, "Arn": arn, "QueueName": f"{prefix}-{spec.logical_id}"}
        resources.queue_urls[spec.logical_id] = url
        resources.queue_arns[spec.logical_id] = arn

    # The API key secret holds the key the way the README's Deploy tells users to store it; the others hold what
    # GenerateSecretString would make (a bare string of PasswordLength letters and digits).
    for logical_id, secret_spec in _resources(template, "AWS::SecretsManager::Secret").items():
        generate = secret_spec["Properties"].get("GenerateSecretString", {})
        if "SecretStringTemplate" in generate:
            value = json.dumps({"apiKey": api_key})
        else:
            alphabet = string.ascii_letters + string.digits
            value = "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))
            resources.secret_values[logical_id] = value
        secret = boto3.client("secretsmanager").create_secret(Name=f"{prefix}-{logical_id}", SecretString=value)
        physical[logical_id] = {"Ref": secret["ARN"], "Arn": secret["ARN"]}
        resources.secret_arns[logical_id] = secret["ARN"]
        if "SecretStringTemplate" in generate:
            resources.secret_arn = secret["ARN"]

    # The tables, with the template's key schema, attribute definitions and stream.
    dynamodb = boto3.client("dynamodb")
    for logical_id, table_spec in _resources(template, "AWS::DynamoDB::Table").items():
        properties = table_spec["Properties"]
        name = f"{prefix}-{logical_id}"
        extra: dict[str, Any] = {}
        if "StreamSpecification" in properties:
            extra["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
        if "GlobalSecondaryIndexes" in properties:
            extra["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        created = dynamodb.create_table(
            TableName=name,
            KeySchema=properties["KeySchema"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
            **extra,
        )
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        time_to_live = properties.get("TimeToLiveSpecification")
        if time_to_live:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=time_to_live)
        stream_arn = created["TableDescription"].get("LatestStreamArn", "")
        physical[logical_id] = {
            "Ref": name,
            "Arn": f"arn:aws:dynamodb:local:000000000000:table/{name}",
            "StreamArn": stream_arn,
        }
        resources.table_names[logical_id] = name
        if stream_arn:
            resources.stream_arns[logical_id] = stream_arn
    resources.table_name = resources.table_names.get("StopListTable", "")

    resolve = _Resolver(template, parameters, physical)
    _create_rule(template, resolve, resources, prefix)
    _forward_announcements(resources, prefix)
    _create_alarms(template, resolve, resources, physical, prefix)
    for name, output in template.get("Outputs", {}).items():
        value = resolve(output["Value"])
        if isinstance(value, str) and "${" not in value:  # outputs that only AWS can resolve stay out
            resources.outputs[name] = value

    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for logical_id, function_spec in _resources(template, "AWS::Serverless::Function").items():
        own = function_spec["Properties"].get("Environment", {}).get("Variables", {})
        resources.function_env[logical_id] = {
            name: str(value) for name, value in resolve({**globals_env, **own}).items() if value is not None
        }
    return resources


def _create_alarms(
    template: dict[str, Any],
    resolve: _Resolver,
    resources: LocalResources,
    physical: dict[str, dict[str, str]],
    prefix: str,
) -> None:
    """The template's metric alarms on moto's CloudWatch (no action: nothing evaluates them locally); an alarm
    on one metric or on metric math (``Metrics``)."""
    cloudwatch = boto3.client("cloudwatch")
    for logical_id, spec in _resources(template, "AWS::CloudWatch::Alarm").items():
        properties = resolve({key: value for key, value in spec["Properties"].items() if key != "AlarmActions"})
        name = f"{prefix}-{logical_id}"
        if "Metrics" in properties:  # metric math
            metric: dict[str, Any] = {"Metrics": properties["Metrics"]}
        else:
            metric = {
                "Namespace": properties["Namespace"],
                "MetricName": properties["MetricName"],
                "Dimensions": properties.get("Dimensions", []),
                "Statistic": properties["Statistic"],
                "Period": int(properties["Period"]),
            }
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=properties.get("AlarmDescription", ""),
            EvaluationPeriods=int(properties["EvaluationPeriods"]),
            Threshold=float(properties["Threshold"]),
            ComparisonOperator=properties["ComparisonOperator"],
            TreatMissingData=properties.get("TreatMissingData", "missing"),
            **metric,
        )
        physical[logical_id] = {"Ref": name, "Arn": f"arn:aws:cloudwatch:local:000000000000:alarm:{name}"}
        resources.alarm_names.append(name)


def _create_rule(template: dict[str, Any], resolve: _Resolver, resources: LocalResources, prefix: str) -> None:
    """The EventBridge rule as the template declares it; locally it targets a delivery queue that the
    local pipeline drains into the EventBridge handler (moto does the pattern matching)."""
    events = boto3.client("events")
    sqs: Any = boto3.client("sqs")
    for function_id, spec in _resources(template, "AWS::Serverless::Function").items():
        for event_name, event in spec["Properties"].get("Events", {}).items():
            if event["Type"] != "EventBridgeRule":
                continue
            properties = resolve(event["Properties"])
            bus = properties.get("EventBusName", "default")
            if bus != "default":
                events.create_event_bus(Name=bus)
            rule_name = f"{prefix}-{function_id}{event_name}"
            events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(properties["Pattern"]))
            delivery_url = sqs.create_queue(QueueName=f"{prefix}-{function_id}-delivery")["QueueUrl"]
            delivery_arn = sqs.get_queue_attributes(QueueUrl=delivery_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_targets(Rule=rule_name, EventBusName=bus, Targets=[{"Id": "handler", "Arn": delivery_arn}])
            resources.event_bus = bus
            resources.rule_name = rule_name
            resources.rule_pattern = properties["Pattern"]
            resources.rule_delivery_queue_url = delivery_url


@dataclass(frozen=True)
class HttpRoute:
    """One ``HttpApi`` event of template.yaml: ``POST /u/{token}`` -> UnsubscribePageFunction."""

    method: str
    path: str
    function_id: str
    module: str  # the handler module, as imported from the repository root

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    routes = []
    for function_id, spec in _resources(template, "AWS::Serverless::Function").items():
        properties = spec["Properties"]
        module = properties["CodeUri"].strip("/").replace("/", ".") + "." + properties["Handler"].rsplit(".", 1)[0]
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.append(
                    HttpRoute(event["Properties"]["Method"].upper(), event["Properties"]["Path"], function_id, module)
                )
    return routes


def _forward_announcements(resources: LocalResources, prefix: str) -> None:
    """The example rule of docs/integrating.md: the stack's announcements, forwarded to a (CRM's) queue."""
    events = boto3.client("events")
    sqs: Any = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"{prefix}-announcements")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"{prefix}-announcements-to-crm"
    pattern = {"source": ["smspartner-stoplist"], "detail-type": ["SmsOptOutRecorded", "SmsOptInRecorded"]}
    events.put_rule(Name=rule, EventBusName=resources.event_bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=resources.event_bus, Targets=[{"Id": "crm", "Arn": arn}])
    resources.announcements_queue_url = url
