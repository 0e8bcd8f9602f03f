"""template.yaml as data: its YAML with CloudFormation's short tags, the SAM translation to
plain CloudFormation, and a resolver for the few intrinsic functions the template uses, so
tests can read the values a deployment would get (bucket, prefix, Glue locations, ARNs)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# Values a test deployment gets for what CloudFormation decides.
ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::StackName": "plantrak-test",
    "AWS::URLSuffix": "amazonaws.com",
}


class _Loader(yaml.SafeLoader):
    """YAML with `!Ref`, `!Sub`, `!GetAtt`… read as their long forms."""


def _tag(loader: _Loader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
        return {name: value}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


_Loader.add_multi_constructor("!", _tag)


def load(path: Path = TEMPLATE) -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)


def translate(template: dict) -> dict:
    """The CloudFormation that SAM's transform makes of the template (as `sam deploy` would,
    with the code already uploaded), offline: no managed policy is looked up."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/plantrak-sync.zip"
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(template, parameter_values={}, get_managed_policy_map=dict)


@dataclass
class Stack:
    """A deployment of the template with given parameters, for resolving values."""

    template: dict
    overrides: dict = field(default_factory=dict)
    # What `Ref` and `Fn::GetAtt` give for resources of the stack.
    refs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.parameters = {
            name: str(spec.get("Default", ""))
            for name, spec in self.template.get("Parameters", {}).items()
        }
        self.parameters.update(self.overrides)
        self.conditions = {
            name: bool(self.resolve(expr)) for name, expr in self.template.get("Conditions", {}).items()
        }

    def resource(self, logical_id: str) -> dict:
        return self.template["Resources"][logical_id]

    def resources_of(self, type_name: str) -> dict[str, dict]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_name}

    def lookup(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name.split(".")[0] in self.template["Resources"]:
            return f"<{name}>"
        raise KeyError(f"`{name}` is neither a parameter nor a resource")

    def resolve(self, node):
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {key: self.resolve(value) for key, value in node.items()}
        (key, arg), = node.items()
        if key == "Ref":
            return self.lookup(arg)
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            variables = {k: self.resolve(v) for k, v in variables.items()}

            def substitute(match: re.Match) -> str:
                inner = match.group(1)
                if inner.startswith("!"):
                    return "${" + inner[1:] + "}"
                if inner in variables:
                    return str(variables[inner])
                return str(self.lookup(inner))

            return re.sub(r"\$\{([^}]+)\}", substitute, text)
        if key == "Fn::If":
            condition, yes, no = arg
            return self.resolve(yes if self.conditions[condition] else no)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::GetAtt":
            logical_id, attribute = arg
            return self.lookup(f"{logical_id}.{attribute}")
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(item) for item in self.resolve(items))
        return {key: self.resolve(arg)}


@dataclass
class GlueTable:
    """One Glue table as a deployment resolves it."""

    logical_id: str
    name: str
    columns: list[tuple[str, str]]
    partition_keys: list[tuple[str, str]]
    parameters: dict
    location: str
    input_format: str
    serde: str

    @property
    def location_template(self) -> str:
        return self.parameters["storage.location.template"]


def glue_tables(stack: Stack) -> dict[str, GlueTable]:
    tables = {}
    for logical_id, resource in stack.resources_of("AWS::Glue::Table").items():
        table = stack.resolve(resource["Properties"]["TableInput"])
        storage = table["StorageDescriptor"]
        tables[table["Name"]] = GlueTable(
            logical_id=logical_id,
            name=table["Name"],
            columns=[(c["Name"], c["Type"]) for c in storage["Columns"]],
            partition_keys=[(c["Name"], c["Type"]) for c in table.get("PartitionKeys", [])],
            parameters=table.get("Parameters", {}),
            location=storage["Location"],
            input_format=storage["InputFormat"],
            serde=storage["SerdeInfo"]["SerializationLibrary"],
        )
    return tables
