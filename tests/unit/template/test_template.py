"""What template.yaml must keep true (read with the same loader the local pipeline uses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devkit.template import load_template, render

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
GLOBAL_FUNCTION = TEMPLATE["Globals"]["Function"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in RESOURCES.items() if spec["Type"] == kind}


FUNCTIONS = of_type("AWS::Serverless::Function")


@pytest.mark.parametrize(
    ("layer", "content"),
    [("SharedLayer", "shared/"), ("LinksLayer", "layers/links/"), ("TracingLayer", "layers/tracing/")],
)
def test_layers_build_from_their_locks(layer: str, content: str) -> None:
    assert RESOURCES[layer]["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert RESOURCES[layer]["Properties"]["ContentUri"] == content
    assert (Path(__file__).parents[3] / content / "requirements.txt").is_file()


def layers(function: str, overrides: dict[str, str] | None = None) -> list[str]:
    """The layers a function gets as deployed: the Globals' then its own."""
    rendered = render(TEMPLATE, overrides)
    own = rendered["Resources"][function]["Properties"].get("Layers", [])
    return [layer["Ref"] for layer in rendered["Globals"]["Function"]["Layers"] + own]


@pytest.mark.parametrize("tracing", ["PassThrough", "Active"])
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_only_the_unsubscribe_page_carries_the_links_layer(function: str, tracing: str) -> None:
    """cryptography and cffi (the links layer) serve the one function that opens links."""
    attached = layers(function, {"Tracing": tracing})
    assert attached[0] == "SharedLayer"
    assert ("LinksLayer" in attached) == (function == "UnsubscribePageFunction")


def test_tracing_is_off_by_default() -> None:
    rendered = render(TEMPLATE)["Globals"]["Function"]
    assert TEMPLATE["Parameters"]["Tracing"]["Default"] == "PassThrough"
    assert rendered["Tracing"] == "PassThrough"
    assert rendered["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert all("TracingLayer" not in layers(function) for function in FUNCTIONS)


def test_active_tracing_traces_every_function_with_the_sdk_layer() -> None:
    rendered = render(TEMPLATE, {"Tracing": "Active"})["Globals"]["Function"]
    assert rendered["Tracing"] == "Active"
    assert rendered["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
    assert all("TracingLayer" in layers(function, {"Tracing": "Active"}) for function in FUNCTIONS)


def test_runtime_and_layer_build() -> None:
    assert GLOBAL_FUNCTION["Runtime"] == "python3.13"
    assert set(FUNCTIONS) == {
        "OptOutSqsFunction",
        "OptOutEventBridgeFunction",
        "SnapshotFunction",
        "RepliesWebhookFunction",
        "UnsubscribePageFunction",
        "ChangePublisherFunction",
    }


@pytest.mark.parametrize("queue", sorted(of_type("AWS::SQS::Queue")))
def test_every_queue_is_encrypted(queue: str) -> None:
    assert RESOURCES[queue]["Properties"]["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize(
    "queue", ["OptOutDeadLetterQueue", "OptOutEventsDeadLetterQueue", "ChangeEventsDeadLetterQueue"]
)
def test_dead_letter_queues_keep_messages_14_days(queue: str) -> None:
    assert RESOURCES[queue]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_queue_visibility_is_at_least_six_function_timeouts() -> None:
    timeout = FUNCTIONS["OptOutSqsFunction"]["Properties"].get("Timeout", GLOBAL_FUNCTION["Timeout"])
    assert RESOURCES["OptOutQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_redrive_count_is_the_parameter_the_function_also_gets() -> None:
    redrive = RESOURCES["OptOutQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["OptOutDeadLetterQueue", "Arn"]}
    env = FUNCTIONS["OptOutSqsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["MAX_RECEIVE_COUNT"] == {"Ref": "MaxReceiveCount"}


def test_sqs_event_source_reports_partial_failures_and_is_bounded() -> None:
    source = FUNCTIONS["OptOutSqsFunction"]["Properties"]["Events"]["OptOutQueueEvent"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "MaximumConcurrency"}


def test_eventbridge_rule_has_retries_and_dead_letters() -> None:
    properties = FUNCTIONS["OptOutEventBridgeFunction"]["Properties"]
    rule = properties["Events"]["OptOutRequested"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBusName"}
    assert rule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert rule["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["OptOutEventsDeadLetterQueue", "Arn"]}
    on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["OptOutEventsDeadLetterQueue", "Arn"]}


def bus_pattern(overrides: dict[str, str] | None = None) -> Any:
    function = render(TEMPLATE, overrides)["Resources"]["OptOutEventBridgeFunction"]
    return function["Properties"]["Events"]["OptOutRequested"]["Properties"]["Pattern"]


def test_by_default_the_bus_takes_opt_outs_and_erasures_from_anyone_and_re_opt_ins_from_no_one() -> None:
    parameter = TEMPLATE["Parameters"]["OptInEventSources"]
    assert (parameter["Type"], parameter["Default"]) == ("CommaDelimitedList", "")
    # No empty list in the pattern either.
    assert bus_pattern() == {"detail-type": ["SmsOptOutRequested", "SmsErasureRequested"]}


def test_re_opt_ins_come_only_from_the_named_sources() -> None:
    from stoplist.domain.events import DETAIL_TYPES

    pattern = bus_pattern({"OptInEventSources": "com.example.crm, com.example.shop"})
    assert pattern == {
        "$or": [
            {"detail-type": ["SmsOptOutRequested", "SmsErasureRequested"]},
            {"detail-type": ["SmsOptInRequested"], "source": ["com.example.crm", "com.example.shop"]},
        ]
    }
    assert {kind for branch in pattern["$or"] for kind in branch["detail-type"]} == set(DETAIL_TYPES)


def test_api_url_parameter_reaches_every_function() -> None:
    assert TEMPLATE["Parameters"]["SmsPartnerApiUrl"]["Default"] == "https://api.smspartner.fr/v1"
    assert GLOBAL_FUNCTION["Environment"]["Variables"]["SMSPARTNER_API_URL"] == {"Ref": "SmsPartnerApiUrl"}


@pytest.mark.parametrize("name", ["StopListTable", "StopListHistoryTable"])
def test_tables_are_encrypted_recoverable_and_retained(name: str) -> None:
    table = RESOURCES[name]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"][0] == {"AttributeName": "phoneNumber", "KeyType": "HASH"}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_history_is_keyed_by_number_then_time_and_event() -> None:
    properties = RESOURCES["StopListHistoryTable"]["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "phoneNumber", "KeyType": "HASH"},
        {"AttributeName": "changeKey", "KeyType": "RANGE"},
    ]


def test_changes_are_published_from_the_table_stream_with_retries_and_a_destination() -> None:
    assert RESOURCES["StopListTable"]["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    properties = FUNCTIONS["ChangePublisherFunction"]["Properties"]
    source = properties["Events"]["TableChanges"]["Properties"]
    assert source["Stream"] == {"Fn::GetAtt": ["StopListTable", "StreamArn"]}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BisectBatchOnFunctionError"] is True
    assert source["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["ChangeEventsDeadLetterQueue", "Arn"]
    }
    assert properties["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": "EventBusName"}
    [put_events] = [policy for policy in properties["Policies"] if "EventBridgePutEventsPolicy" in policy]
    assert put_events["EventBridgePutEventsPolicy"]["EventBusName"] == {"Ref": "EventBusName"}


def test_read_policy_grants_reads_on_the_table_only() -> None:
    [statement] = RESOURCES["StopListReadPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["StopListTable", "Arn"]},
        {"Fn::GetAtt": ["StopListHistoryTable", "Arn"]},
    ]


def test_no_policy_uses_a_wildcard_resource() -> None:
    text = json.dumps({name: spec.get("Properties", {}).get("Policies") for name, spec in FUNCTIONS.items()})
    text += json.dumps(RESOURCES["StopListReadPolicy"])
    assert '"Resource": "*"' not in text
    assert '"Action": "*"' not in text


def test_each_function_sends_only_to_its_own_dead_letter_queue() -> None:
    def queues(function: str) -> list[Any]:
        return [
            policy["SQSSendMessagePolicy"]["QueueName"]
            for policy in FUNCTIONS[function]["Properties"]["Policies"]
            if isinstance(policy, dict) and "SQSSendMessagePolicy" in policy
        ]

    assert queues("OptOutSqsFunction") == [{"Fn::GetAtt": ["OptOutDeadLetterQueue", "QueueName"]}]
    assert queues("OptOutEventBridgeFunction") == [{"Fn::GetAtt": ["OptOutEventsDeadLetterQueue", "QueueName"]}]
    assert queues("SnapshotFunction") == []
    assert queues("UnsubscribePageFunction") == [{"Fn::GetAtt": ["OptOutQueue", "QueueName"]}]
    # The webhook keeps a STOP that OptOutQueue refused in the queue's dead-letter queue, for replay.
    assert queues("RepliesWebhookFunction") == [
        {"Fn::GetAtt": ["OptOutQueue", "QueueName"]},
        {"Fn::GetAtt": ["OptOutDeadLetterQueue", "QueueName"]},
    ]
    assert queues("ChangePublisherFunction") == [{"Fn::GetAtt": ["ChangeEventsDeadLetterQueue", "QueueName"]}]


@pytest.mark.parametrize(
    ("alarm", "metric"),
    [
        ("OptOutDeadLetterQueueAlarm", "ApproximateNumberOfMessagesVisible"),
        ("OptOutEventsDeadLetterQueueAlarm", "ApproximateNumberOfMessagesVisible"),
        ("ChangeEventsDeadLetterQueueAlarm", "ApproximateNumberOfMessagesVisible"),
        ("SnapshotStaleAlarm", "SnapshotSucceeded"),
        ("ProviderAuthErrorAlarm", "ProviderAuthError"),
        ("ConfigurationErrorAlarm", "ConfigurationError"),
        ("ChangePublisherIteratorAgeAlarm", "IteratorAge"),
        ("ReplyPublishFailedAlarm", "ReplyPublishFailed"),
    ],
)
def test_alarms(alarm: str, metric: str) -> None:
    assert RESOURCES[alarm]["Properties"]["MetricName"] == metric


def test_a_single_configuration_error_alarms() -> None:
    """An empty API key after the deploy: the snapshot meets it within one interval (it counts the metric too)."""
    properties = RESOURCES["ConfigurationErrorAlarm"]["Properties"]
    assert properties["Namespace"] == {"Ref": "MetricsNamespace"}
    assert (properties["Statistic"], properties["Threshold"]) == ("Sum", 1)
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_queue_age_alarm_compares_minutes_with_its_parameter() -> None:
    properties = RESOURCES["OptOutQueueAgeAlarm"]["Properties"]
    seconds, minutes = properties["Metrics"]
    stat = seconds["MetricStat"]
    assert stat["Metric"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert stat["Metric"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["OptOutQueue", "QueueName"]}}
    ]
    assert (stat["Stat"], seconds["ReturnData"]) == ("Maximum", False)
    assert minutes == {
        "Id": "ageMinutes",
        "Expression": f"{seconds['Id']} / 60",
        "Label": minutes["Label"],
        "ReturnData": True,
    }
    assert properties["Threshold"] == {"Ref": "OptOutQueueAgeAlarmMinutes"}
    parameter = TEMPLATE["Parameters"]["OptOutQueueAgeAlarmMinutes"]
    retention_minutes = RESOURCES["OptOutQueue"]["Properties"]["MessageRetentionPeriod"] // 60
    assert parameter["MinValue"] < parameter["Default"] < parameter["MaxValue"] == retention_minutes


def test_the_iterator_age_alarm_watches_the_stream_function_well_before_the_stream_forgets() -> None:
    properties = RESOURCES["ChangePublisherIteratorAgeAlarm"]["Properties"]
    assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ChangePublisherFunction"}}]
    assert properties["Statistic"] == "Maximum"
    source = FUNCTIONS["ChangePublisherFunction"]["Properties"]["Events"]["TableChanges"]["Properties"]
    assert properties["Threshold"] < source["MaximumRecordAgeInSeconds"] * 1000 / 4  # milliseconds


@pytest.mark.parametrize("alarm", sorted(of_type("AWS::CloudWatch::Alarm")))
def test_every_alarm_notifies_the_optional_topic(alarm: str) -> None:
    assert RESOURCES[alarm]["Properties"]["AlarmActions"] == {
        "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
    }


def test_staleness_alarm_spans_three_intervals() -> None:
    properties = RESOURCES["SnapshotStaleAlarm"]["Properties"]
    assert properties["EvaluationPeriods"] == 3
    assert properties["TreatMissingData"] == "breaching"
    seconds = TEMPLATE["Mappings"]["SnapshotIntervals"]
    assert all(seconds[minutes]["Seconds"] == int(minutes) * 60 for minutes in seconds)
    allowed = TEMPLATE["Parameters"]["SnapshotIntervalMinutes"]["AllowedValues"]
    assert sorted(allowed, key=int) == sorted(seconds, key=int)


def test_snapshot_has_time_and_memory() -> None:
    properties = FUNCTIONS["SnapshotFunction"]["Properties"]
    assert properties["Timeout"] == 900
    assert properties["MemorySize"] >= 1769


def reservations(rendered: dict[str, Any]) -> dict[str, Any]:
    return {
        name: spec["Properties"]["ReservedConcurrentExecutions"]
        for name, spec in rendered["Resources"].items()
        if "ReservedConcurrentExecutions" in spec.get("Properties", {})
    }


def test_default_parameters_reserve_no_concurrency_anywhere() -> None:
    """A new account's quota (10) leaves nothing to reserve: AWS refuses any reservation, the stack rolls back."""
    assert reservations(render(TEMPLATE)) == {}
    assert "ReservedConcurrentExecutions" not in json.dumps(GLOBAL_FUNCTION)


def test_reservations_are_there_when_asked_for() -> None:
    rendered = render(TEMPLATE, {"EventBridgeReservedConcurrency": "5", "SnapshotReservedConcurrency": "1"})
    assert reservations(rendered) == {"OptOutEventBridgeFunction": "5", "SnapshotFunction": "1"}
    assert TEMPLATE["Parameters"]["SnapshotReservedConcurrency"]["MaxValue"] == 1  # one snapshot at a time


def test_the_snapshot_may_take_and_give_back_its_lease() -> None:
    [statement] = [
        statement
        for policy in FUNCTIONS["SnapshotFunction"]["Properties"]["Policies"]
        for statement in (policy.get("Statement", []) if isinstance(policy, dict) else [])
        if statement.get("Sid") == "SyncTable"
    ]
    assert {"dynamodb:PutItem", "dynamodb:DeleteItem"} <= set(statement["Action"])
    assert statement["Resource"] == {"Fn::GetAtt": ["StopListTable", "Arn"]}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_variable_the_template_sets_is_a_setting(function: str) -> None:
    """A variable the code does not read is a setting that silently does nothing (a typo, a renamed field)."""
    from stoplist.config import Settings

    variables = {
        **GLOBAL_FUNCTION["Environment"]["Variables"],
        **FUNCTIONS[function]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    unknown = {name for name in variables if not name.startswith("POWERTOOLS_")} - set(Settings.variables().values())
    assert unknown == set()


def test_one_provider_budget_under_the_limit_reaches_every_caller_with_its_shared_counts() -> None:
    import math

    from stoplist.adapters.pacing import SMS_PARTNER_LIMIT
    from stoplist.config import Settings

    default = TEMPLATE["Parameters"]["ProviderRequestsPerMinute"]["Default"]
    assert default == Settings().provider_requests_per_minute
    # Any 60 s meets 61 seconds' places: under SMS Partner's limit.
    assert default + math.ceil(default / 60) < SMS_PARTNER_LIMIT
    env = GLOBAL_FUNCTION["Environment"]["Variables"]
    assert env["PROVIDER_REQUESTS_PER_MINUTE"] == {"Ref": "ProviderRequestsPerMinute"}
    assert env["PROVIDER_CALLS_TABLE"] == {"Ref": "ProviderCallsTable"}
    callers = {  # the functions that read the API key call the provider
        name
        for name, spec in FUNCTIONS.items()
        for policy in spec["Properties"]["Policies"]
        if isinstance(policy, dict)
        and policy.get("AWSSecretsManagerGetSecretValuePolicy", {}).get("SecretArn") == {"Ref": "ApiKeySecret"}
    }
    counting = {
        name
        for name, spec in FUNCTIONS.items()
        for policy in spec["Properties"]["Policies"]
        for statement in (policy.get("Statement", []) if isinstance(policy, dict) else [])
        if statement.get("Resource") == {"Fn::GetAtt": ["ProviderCallsTable", "Arn"]}
        and statement["Action"] == "dynamodb:UpdateItem"
    }
    assert callers == counting == {"OptOutSqsFunction", "OptOutEventBridgeFunction", "SnapshotFunction"}
    table = TEMPLATE["Resources"]["ProviderCallsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_one_wave_per_batch_by_default() -> None:
    parameters = TEMPLATE["Parameters"]
    assert parameters["RecordConcurrency"]["Default"] >= parameters["BatchSize"]["Default"]


def test_the_opt_out_functions_may_postpone_and_requeue_in_the_queue() -> None:
    def queue_actions(function: str) -> set[str]:
        actions: set[str] = set()
        for policy in FUNCTIONS[function]["Properties"]["Policies"]:
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                if statement["Resource"] == {"Fn::GetAtt": ["OptOutQueue", "Arn"]}:
                    listed = statement["Action"]
                    actions |= {listed} if isinstance(listed, str) else set(listed)
        return actions

    assert queue_actions("OptOutSqsFunction") == {"sqs:ChangeMessageVisibility", "sqs:SendMessage"}
    assert queue_actions("OptOutEventBridgeFunction") == {"sqs:SendMessage"}
    for function in ("OptOutSqsFunction", "OptOutEventBridgeFunction"):
        assert FUNCTIONS[function]["Properties"]["Environment"]["Variables"]["OPT_OUT_QUEUE_URL"] == {
            "Ref": "OptOutQueue"
        }


# --- the HTTP doors -------------------------------------------------------------------------------------------
HTTP_FUNCTIONS = {"RepliesWebhookFunction": "WebhookTokenSecret", "UnsubscribePageFunction": "LinkSigningKeySecret"}


def test_http_api_routes_throttling_and_access_log_without_tokens() -> None:
    api = RESOURCES["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    settings = api["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "HttpApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "HttpApiThrottlingBurstLimit"}
    log_format = api["Properties"]["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    assert "$context.path" not in log_format  # the path carries link tokens
    assert "$context.http" not in log_format
    routes = {
        (event["Properties"]["Method"], event["Properties"]["Path"]): name
        for name, spec in FUNCTIONS.items()
        for event in spec["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }
    assert routes == {
        ("POST", "/webhooks/smspartner/replies"): "RepliesWebhookFunction",
        ("GET", "/u/{token}"): "UnsubscribePageFunction",
        ("POST", "/u/{token}"): "UnsubscribePageFunction",
    }


def test_custom_domain_is_optional() -> None:
    assert TEMPLATE["Conditions"]["HasCustomDomain"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]}
    assert TEMPLATE["Parameters"]["DomainName"]["Default"] == ""
    for name in ("HttpApiDomain", "HttpApiDomainMapping"):
        assert RESOURCES[name]["Condition"] == "HasCustomDomain"
    assert "CustomDomainNeedsCertificate" in TEMPLATE["Rules"]


@pytest.mark.parametrize("secret", ["WebhookTokenSecret", "LinkSigningKeySecret"])
def test_generated_secrets_are_bare_strings(secret: str) -> None:
    generate = RESOURCES[secret]["Properties"]["GenerateSecretString"]
    assert "SecretStringTemplate" not in generate  # a bare string, not JSON
    assert generate["PasswordLength"] >= 32
    assert generate["ExcludePunctuation"] is True  # safe in a query string


@pytest.mark.parametrize(("function", "secret"), sorted(HTTP_FUNCTIONS.items()))
def test_http_functions_read_only_their_secret_and_never_the_api_key(function: str, secret: str) -> None:
    policies = FUNCTIONS[function]["Properties"]["Policies"]
    readable = [
        p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]
        for p in policies
        if "AWSSecretsManagerGetSecretValuePolicy" in p
    ]
    assert readable == [{"Ref": secret}]
    statements = [statement for policy in policies for statement in policy.get("Statement", [])]
    # No DynamoDB, nothing else: only the link key's versions may be listed (its key ring), by the page.
    expected = (
        [] if function == "RepliesWebhookFunction" else [("secretsmanager:ListSecretVersionIds", {"Ref": secret})]
    )
    assert [(statement["Action"], statement["Resource"]) for statement in statements] == expected


def test_stop_keywords_default_is_the_settings_default() -> None:
    from stoplist.config import DEFAULT_STOP_KEYWORDS

    assert TEMPLATE["Parameters"]["StopKeywords"]["Default"] == DEFAULT_STOP_KEYWORDS
    env = FUNCTIONS["RepliesWebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert env["STOP_KEYWORDS"] == {"Ref": "StopKeywords"}


def test_outputs_for_the_http_doors() -> None:
    outputs = TEMPLATE["Outputs"]
    for name in (
        "HttpApiUrl",
        "UnsubscribeLinkBaseUrl",
        "RepliesWebhookUrl",
        "WebhookTokenSecretArn",
        "LinkSigningKeySecretArn",
    ):
        assert name in outputs
    assert "token=" in json.dumps(outputs["RepliesWebhookUrl"]["Value"])


# --- fan-outs into the queue ----------------------------------------------------------------------------------
TOPIC = "arn:aws:sns:eu-west-3:123456789012:crm-opt-outs"
RULE = "arn:aws:events:eu-west-3:123456789012:rule/crm-bus/opt-outs"


def queue_policy(overrides: dict[str, str] | None = None) -> list[dict[str, Any]] | None:
    policy = render(TEMPLATE, overrides)["Resources"].get("OptOutQueuePolicy")
    if policy is None:
        return None
    assert policy["Properties"]["Queues"] == [{"Ref": "OptOutQueue"}]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_by_default_nothing_outside_the_account_may_send_to_the_queue() -> None:
    for name in ("OptOutTopicArns", "OptOutRuleArns"):
        assert (TEMPLATE["Parameters"][name]["Type"], TEMPLATE["Parameters"][name]["Default"]) == (
            "CommaDelimitedList",
            "",
        )
    assert queue_policy() is None


@pytest.mark.parametrize(
    ("overrides", "allowed"),
    [
        ({"OptOutTopicArns": TOPIC}, {"sns.amazonaws.com": [TOPIC]}),
        ({"OptOutRuleArns": f"{RULE},{RULE}-2"}, {"events.amazonaws.com": [RULE, f"{RULE}-2"]}),
        (
            {"OptOutTopicArns": TOPIC, "OptOutRuleArns": RULE},
            {"sns.amazonaws.com": [TOPIC], "events.amazonaws.com": [RULE]},
        ),
    ],
    ids=["topic", "two-rules", "both"],
)
def test_the_named_topics_and_rules_and_only_they_may_send(
    overrides: dict[str, str], allowed: dict[str, list[str]]
) -> None:
    statements = queue_policy(overrides)
    assert statements is not None
    granted = {}
    for statement in statements:
        assert (statement["Effect"], statement["Action"]) == ("Allow", "sqs:SendMessage")
        assert statement["Resource"] == {"Fn::GetAtt": ["OptOutQueue", "Arn"]}
        granted[statement["Principal"]["Service"]] = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert granted == allowed


def test_history_entries_expire_after_the_retention_and_opt_outs_never_do() -> None:
    parameter = TEMPLATE["Parameters"]["HistoryRetentionDays"]
    assert parameter["Default"] == 1095
    assert parameter["MinValue"] == 0
    assert GLOBAL_FUNCTION["Environment"]["Variables"]["HISTORY_RETENTION_DAYS"] == {"Ref": "HistoryRetentionDays"}
    history = RESOURCES["StopListHistoryTable"]["Properties"]
    assert history["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert "TimeToLiveSpecification" not in RESOURCES["StopListTable"]["Properties"]


def test_the_history_has_an_index_by_day_with_what_the_report_reads_and_no_free_text() -> None:
    from stoplist.adapters.history import DAY, DAY_INDEX

    properties = RESOURCES["StopListHistoryTable"]["Properties"]
    [index] = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == DAY_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": DAY, "KeyType": "HASH"},
        {"AttributeName": "changeKey", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": DAY, "AttributeType": "S"} in properties["AttributeDefinitions"]
    projected = set(index["Projection"]["NonKeyAttributes"])
    assert {"change", "source", "honourSeconds"} <= projected
    assert not projected & {"optOutReason", "consentText", "providerStopId", "expiresAt"}
