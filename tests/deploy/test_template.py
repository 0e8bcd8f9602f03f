"""template.yaml: clean under SAM's and cfn-lint's checks, and deploying what the function and
the README promise — its settings, its schedule, least privilege, the bucket, the alarms, the
saved views and the outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import cfn
from athena_local import BUCKET, REFS
from local_stack import ROOT, VENV_BIN

SAM = str(VENV_BIN / "sam")
SECRET_ARN = REFS["ApiTokenSecret"]
TOPIC_ARN = REFS["AlertTopic"]
CFN_LINT = str(VENV_BIN / "cfn-lint")

# Variables of src/config.rs that the template leaves at the code's defaults: tuning knobs
# for tests and slow networks. Any other variable the code reads must be a function setting.
TUNING_VARIABLES = {"PLANTRAK_READ_TIMEOUT_SECS", "PLANTRAK_RETRY_BASE_MS"}
# PLANTRAK_TOKEN is refused in Lambda: the token comes from the secret.
LOCAL_ONLY_VARIABLES = {"PLANTRAK_TOKEN"}


def tool_env() -> dict[str, str]:
    """SAM and cfn-lint offline: a region, no telemetry, no credential look-ups."""
    env = dict(os.environ)
    env.update({
        "AWS_DEFAULT_REGION": cfn.REGION,
        "AWS_REGION": cfn.REGION,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


@pytest.fixture(scope="module")
def translated(template) -> dict:
    return cfn.translate(template)


@pytest.fixture(scope="module")
def deployed(translated) -> cfn.Stack:
    """The translated stack with the default parameters (bucket and secret created)."""
    return cfn.Stack(translated, refs=REFS)


def function_env(stack: cfn.Stack) -> dict[str, str]:
    props = stack.resource("SyncFunction")["Properties"]
    return stack.resolve(props["Environment"])["Variables"]


def test_sam_validate_lint_is_clean():
    done = subprocess.run(
        [SAM, "validate", "--lint", "--template", str(cfn.TEMPLATE)],
        capture_output=True, text=True, env=tool_env(), cwd=ROOT, timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "is a valid SAM Template" in output, output
    assert not re.search(r"^\s*\[?[EW]\d{4}", output, re.M), output


def test_cfn_lint_is_clean_on_the_translated_template(translated, tmp_path):
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(translated, indent=1))
    done = subprocess.run(
        [CFN_LINT, "--regions", cfn.REGION, "--", str(path)],
        capture_output=True, text=True, env=tool_env(), timeout=300,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_the_function_is_the_rust_binary_on_provided_al2023(template):
    function = template["Resources"]["SyncFunction"]
    props = function["Properties"]
    assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert function["Metadata"]["BuildProperties"]["Binary"] == "plantrak-sync"
    assert (props["Runtime"], props["Handler"]) == ("provided.al2023", "bootstrap")
    assert props["Architectures"] == [{"Ref": "Architecture"}]
    architecture = template["Parameters"]["Architecture"]
    assert architecture["Default"] == "arm64"
    assert set(architecture["AllowedValues"]) == {"arm64", "x86_64"}
    assert props["MemorySize"] == 128
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["Timeout"] <= 300
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    # The metric lines carry no level, which Lambda reads as INFO: a level above INFO would
    # drop them and the missed-run alarm would fire every day.
    levels = template["Parameters"]["LogLevel"]["AllowedValues"]
    assert not {"WARN", "ERROR", "FATAL"} & set(levels)


def test_every_setting_of_the_code_is_an_environment_variable(template, stack):
    config = (ROOT / "src" / "config.rs").read_text()
    module = re.search(r"pub mod var \{(.*?)\n\}", config, re.S)
    assert module, "src/config.rs has no `pub mod var` listing the variables"
    in_code = set(re.findall(r'"(PLANTRAK_[A-Z_]+)"', module.group(1)))
    declared = set(function_env(stack))

    unknown = declared - in_code
    assert not unknown, f"the template sets variables the code does not read: {sorted(unknown)}"
    settings = in_code - TUNING_VARIABLES - LOCAL_ONLY_VARIABLES
    missing = settings - declared
    assert not missing, f"settings of src/config.rs the template does not set: {sorted(missing)}"
    assert not declared & LOCAL_ONLY_VARIABLES, "PLANTRAK_TOKEN is refused in Lambda"


def test_the_function_gets_the_stacks_bucket_secret_and_settings(stack):
    env = function_env(stack)
    params = stack.parameters
    assert env["PLANTRAK_DESTINATION"] == f"s3://{BUCKET}/{params['Prefix']}"
    assert env["PLANTRAK_SECRET_ID"] == SECRET_ARN
    assert env["PLANTRAK_TIMEZONE"] == params["TimeZone"] == "UTC"
    assert env["PLANTRAK_PAST_DAYS"] == "3"
    assert env["PLANTRAK_COMPRESSION"] == "gzip"
    assert env["PLANTRAK_SECRET_FIELD"] == "token"
    assert env["PLANTRAK_API_URL"].startswith("https://")

    given = cfn.Stack(stack.template, overrides={
        "BucketName": "customer-lake",
        "ExistingSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:vendor-x1Y2z3",
    }, refs=REFS)
    env = function_env(given)
    assert env["PLANTRAK_DESTINATION"] == "s3://customer-lake/plantrak"
    assert env["PLANTRAK_SECRET_ID"].endswith(":secret:vendor-x1Y2z3")
    assert not given.conditions["CreateBucket"] and not given.conditions["CreateSecret"]


def test_a_created_secret_holds_an_empty_token_field_until_filled(stack):
    secret = stack.resource("ApiTokenSecret")
    assert secret["Condition"] == "CreateSecret"
    assert json.loads(stack.resolve(secret["Properties"]["SecretString"])) == {"token": ""}


def test_events_env_json_sets_only_variables_the_template_declares(stack):
    overrides = json.loads((ROOT / "events" / "env.json").read_text())
    assert set(overrides) == {"SyncFunction"}, "env.json keys are function logical ids"
    declared = set(function_env(stack))
    extra = set(overrides["SyncFunction"]) - declared
    assert not extra, f"sam local invoke ignores variables the template does not declare: {extra}"
    assert set(overrides["SyncFunction"]) == declared


def test_the_schedule_runs_daily_with_retries_and_a_dead_letter_queue(deployed, template):
    schedules = deployed.resources_of("AWS::Scheduler::Schedule")
    assert len(schedules) == 1
    (schedule,) = schedules.values()
    props = deployed.resolve(schedule["Properties"])
    assert props["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "UTC"
    target = props["Target"]
    assert "Input" not in target, "the scheduler's own event carries the scheduled time"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert target["DeadLetterConfig"]["Arn"]
    # Expression and zone are parameters, not constants.
    raw = template["Resources"]["SyncFunction"]["Properties"]["Events"]["Daily"]["Properties"]
    assert raw["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert raw["ScheduleExpressionTimezone"] == {"Ref": "TimeZone"}
    env = function_env(deployed)
    assert env["PLANTRAK_TIMEZONE"] == props["ScheduleExpressionTimezone"], (
        "the run's date is the scheduled day in the schedule's zone"
    )


def test_failed_invocations_are_retried_then_reported(deployed):
    (config,) = deployed.resources_of("AWS::Lambda::EventInvokeConfig").values()
    props = deployed.resolve(config["Properties"])
    assert props["MaximumRetryAttempts"] >= 1
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == TOPIC_ARN


def _role_statements(stack: cfn.Stack, logical_id: str) -> list[dict]:
    role = stack.resolve(stack.resource(logical_id)["Properties"])
    statements = []
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            resources = statement.get("Resource", [])
            statements.append({
                **statement,
                "Action": [actions] if isinstance(actions, str) else actions,
                "Resource": [resources] if isinstance(resources, str) else resources,
            })
    assert not role.get("ManagedPolicyArns"), "managed policies grant more than the function needs"
    return statements


@pytest.mark.parametrize("overrides", [{}, {"BucketName": "customer-lake", "Prefix": "vendors/plantrak"}])
def test_the_function_role_is_least_privilege(translated, overrides):
    stack = cfn.Stack(translated, overrides=overrides, refs=REFS)
    function_role = stack.resource("SyncFunction")["Properties"]["Role"]
    assert function_role == {"Fn::GetAtt": ["SyncFunctionRole", "Arn"]}
    bucket = overrides.get("BucketName", BUCKET)
    prefix = stack.parameters["Prefix"]

    grants: dict[str, list] = {}
    for statement in _role_statements(stack, "SyncFunctionRole"):
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, f"wildcard action {action}"
            assert "*" != statement["Resource"] and "*" not in statement["Resource"], statement
            grants.setdefault(action, []).append(statement)

    assert set(grants) == {
        "logs:CreateLogStream", "logs:PutLogEvents",
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListBucket",
        "secretsmanager:GetSecretValue", "sns:Publish",
    }
    # Objects: read, write and delete (a rerun removes an earlier run's leftovers for its
    # date, a run releases its lock, a failed multipart upload is aborted) under the prefix.
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        (statement,) = grants[action]
        assert statement["Resource"] == [f"arn:aws:s3:::{bucket}/{prefix}/*"]
    (listing,) = grants["s3:ListBucket"]
    assert listing["Resource"] == [f"arn:aws:s3:::{bucket}"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": f"{prefix}/*"}}
    (secret,) = grants["secretsmanager:GetSecretValue"]
    assert secret["Resource"] == [SECRET_ARN]
    (publish,) = grants["sns:Publish"]
    assert publish["Resource"] == [TOPIC_ARN]
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        (statement,) = grants[action]
        assert statement["Resource"] == [REFS["SyncLogGroup.Arn"]]
    assert function_env(stack)["PLANTRAK_DESTINATION"] == f"s3://{bucket}/{prefix}"


# The IAM action each AWS SDK call of the code needs.
SDK_CALLS = {
    "put_object": ["s3:PutObject"],
    "get_object": ["s3:GetObject"],
    "head_object": ["s3:GetObject"],
    "delete_object": ["s3:DeleteObject"],
    "delete_objects": ["s3:DeleteObject"],
    "list_objects_v2": ["s3:ListBucket"],
    "create_multipart_upload": ["s3:PutObject"],
    "upload_part": ["s3:PutObject"],
    "complete_multipart_upload": ["s3:PutObject"],
    "abort_multipart_upload": ["s3:AbortMultipartUpload"],
    "list_parts": ["s3:ListMultipartUploadParts"],
    "copy_object": ["s3:GetObject", "s3:PutObject"],
    "get_secret_value": ["secretsmanager:GetSecretValue"],
}


def test_the_role_grants_every_aws_call_the_code_makes(deployed):
    calls = set()
    for path in (ROOT / "src").rglob("*.rs"):
        text = path.read_text()
        if "aws_sdk_s3" in text or "aws_sdk_secretsmanager" in text:
            calls |= {name for name in re.findall(r"\.([a-z0-9_]+)\(\)", text) if name in SDK_CALLS}
    assert {"put_object", "get_object", "list_objects_v2", "get_secret_value"} <= calls, calls
    granted = {action for s in _role_statements(deployed, "SyncFunctionRole") for action in s["Action"]}
    for call in sorted(calls):
        missing = set(SDK_CALLS[call]) - granted
        assert not missing, f"the code calls `{call}`, which needs {sorted(missing)}"


def test_no_role_of_the_stack_allows_wildcard_actions(deployed):
    for logical_id in deployed.resources_of("AWS::IAM::Role"):
        for statement in _role_statements(deployed, logical_id):
            for action in statement["Action"]:
                assert "*" not in action, f"{logical_id}: {action}"


def test_a_created_bucket_is_private_encrypted_tls_only_and_expires_raw_responses(stack):
    bucket = stack.resolve(stack.resource("DataBucket"))
    assert bucket["Condition"] == "CreateBucket"
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4

    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    raw = [r for r in rules.values() if r.get("Prefix", "").endswith("/raw/")]
    assert len(raw) == 1 and raw[0]["Prefix"] == f"{stack.parameters['Prefix']}/raw/"
    assert int(raw[0]["ExpirationInDays"]) == int(stack.parameters["RawRetentionDays"])

    policy = stack.resolve(stack.resource("DataBucketPolicy"))
    assert policy["Condition"] == "CreateBucket"
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}


def test_the_alarms_watch_errors_and_runs_missing_for_26_hours(stack):
    alarms = {k: stack.resolve(v["Properties"]) for k, v in stack.resources_of("AWS::CloudWatch::Alarm").items()}
    errors = alarms["FunctionErrorsAlarm"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": REFS["SyncFunction"]}]
    assert errors["AlarmActions"] == [TOPIC_ARN]

    # The contract with the function's embedded metrics: RunSucceeded = 1 per successful
    # run, namespace PlanTRAKSync, published without dimensions.
    missed = alarms["MissedRunAlarm"]
    assert (missed["Namespace"], missed["MetricName"]) == ("PlanTRAKSync", "RunSucceeded")
    assert "Dimensions" not in missed
    assert missed["Statistic"] == "Sum" and missed["Period"] == 3600
    assert missed["EvaluationPeriods"] * missed["Period"] == 26 * 3600
    assert missed["DatapointsToAlarm"] == missed["EvaluationPeriods"]
    assert (missed["ComparisonOperator"], missed["Threshold"]) == ("LessThanThreshold", 1)
    assert missed["TreatMissingData"] == "breaching"
    assert missed["AlarmActions"] == [TOPIC_ARN]

    subscription = stack.resource("AlertEmailSubscription")
    assert subscription["Condition"] == "HasAlarmEmail"
    assert not stack.conditions["HasAlarmEmail"]
    with_email = cfn.Stack(stack.template, overrides={"AlarmEmail": "ops@example.com"}, refs=REFS)
    assert with_email.conditions["HasAlarmEmail"]


def test_each_view_in_athena_is_a_saved_query_of_the_workgroup(stack):
    files = {path.stem: path.read_text() for path in sorted((ROOT / "athena").glob("*.sql"))}
    assert files, "athena/ holds no views"
    queries = {}
    for logical_id, resource in stack.resources_of("AWS::Athena::NamedQuery").items():
        props = stack.resolve(resource["Properties"])
        assert props["WorkGroup"] == REFS["AthenaWorkGroup"], logical_id
        assert props["Database"] == REFS["GlueDatabase"], logical_id
        queries[props["Name"]] = props["QueryString"]
    assert set(queries) == set(files)
    for name, sql in files.items():
        assert queries[name] == sql, (
            f"the saved query {name} differs from athena/{name}.sql: copy the file into its "
            "QueryString in template.yaml"
        )


def test_the_workgroup_keeps_results_in_the_bucket_and_caps_bytes_scanned(stack):
    (workgroup,) = stack.resources_of("AWS::Athena::WorkGroup").values()
    config = stack.resolve(workgroup["Properties"])["WorkGroupConfiguration"]
    assert config["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{BUCKET}/")
    assert int(config["BytesScannedCutoffPerQuery"]) >= 10 * 1024 * 1024
    assert config["EnforceWorkGroupConfiguration"] is True


def test_the_outputs_name_bucket_prefix_function_database_and_workgroup(stack):
    outputs = {k: stack.resolve(v["Value"]) for k, v in stack.template["Outputs"].items()}
    assert outputs["BucketName"] == BUCKET
    assert outputs["Prefix"] == stack.parameters["Prefix"]
    assert outputs["FunctionName"] == REFS["SyncFunction"]
    assert outputs["GlueDatabase"] == REFS["GlueDatabase"]
    assert outputs["AthenaWorkGroup"] == REFS["AthenaWorkGroup"]


def test_every_glue_table_is_projected_json_lines(tables, stack):
    assert set(tables) == {"snapshots", "changes", "state", "runs", "rejects"}
    start = stack.parameters["ProjectionStartDate"]
    for table in tables.values():
        params = table.parameters
        assert params["projection.enabled"] == "true", table.name
        assert table.serde == "org.apache.hive.hcatalog.data.JsonSerDe", table.name
        assert table.input_format == "org.apache.hadoop.mapred.TextInputFormat", table.name
        template = table.location_template
        assert template.endswith("/") and template.startswith(table.location), table.name
        keys = [key for key, _ in table.partition_keys]
        assert re.findall(r"\$\{([^}]+)\}", template) == keys, table.name
        for key, glue_type in table.partition_keys:
            kind = params[f"projection.{key}.type"]
            if key == "event_type":
                assert kind == "enum"
                assert params[f"projection.{key}.values"].split(",") == ["open", "holding", "recent_closed"]
            else:
                assert kind == "date", f"{table.name}.{key}"
                assert params[f"projection.{key}.format"] == "yyyy-MM-dd"
                assert params[f"projection.{key}.range"].split(",")[0] == start
                assert params[f"projection.{key}.range"].split(",")[1].startswith("NOW")
                assert params[f"projection.{key}.interval.unit"] == "DAYS"
            expected = "string" if kind == "enum" else "date"
            assert glue_type == expected, f"{table.name}.{key} is `{glue_type}`"
        names = [name for name, _ in table.columns]
        assert len(names) == len(set(names)), table.name
        assert not set(names) & set(keys), f"{table.name}: partition keys are not columns"


def test_the_sample_rule_event_is_what_sam_generates():
    done = subprocess.run(
        [SAM, "local", "generate-event", "cloudwatch", "scheduled-event"],
        capture_output=True, text=True, env=tool_env(), timeout=120,
    )
    assert done.returncode == 0, done.stderr
    sample = (ROOT / "events" / "scheduled-event.json").read_text()
    assert json.loads(done.stdout) == json.loads(sample)
