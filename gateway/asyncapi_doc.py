"""The committed AsyncAPI 3.0 document, rendered from the subject registry and the message Structs.

Channels and operations come from `subjects.REGISTRY`, payload schemas from msgspec's JSON Schema
of each message family, so a new subject or a changed Struct shows up here without edits (and the
drift test fails until `make asyncapi` is run). `asyncapi/validate.mjs` checks the result with the
official parser.

    python -m gateway.asyncapi_doc --output asyncapi/asyncapi.yaml
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import yaml  # type: ignore[import-untyped, unused-ignore]

import gateway.messages
from gateway.messages import subjects
from gateway.messages.problems import ProblemDetails
from gateway.messaging.streams import DUPLICATE_WINDOW_S

ASYNCAPI_VERSION = "3.0.0"
# The version of the messaging contract (the subjects are `atp.v1`): additive changes bump the
# minor version, a breaking one means new `v2` subjects.
DOCUMENT_VERSION = "1.0.0"
SCHEMAS = "#/components/schemas/"
PROBLEM = "Problem"
PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

PARAMETERS = {
    "zone_id": "Grid zone identifier; `*` subscribes to every zone.",
    "engine_kind": "Engine kind, e.g. `fmct-needs`; one work queue per kind.",
    "job_id": "Job identifier, as returned when the job was submitted.",
    "session_id": "Market session identifier; `*` subscribes to every session.",
}

DESCRIPTION = f"""\
Subjects, streams and message families of FlexGrid ATP on NATS. Generated from
`gateway.messages.subjects.REGISTRY` and the msgspec Structs of `gateway.messages`
(`make asyncapi`); do not edit by hand.

- **Authentication**: partner platforms submit orders by NATS request/reply on the intake
  subjects and authenticate every request with their API key in the `Flexgrid-Api-Key` header
  (the keys of the REST API).
- **Idempotency**: an intake request with an `Idempotency-Key` header is safe to retry: the
  same key with the same body replies with the order stored the first time; the same key with
  another body is refused with a problem.
- **Deduplication**: every message published to a JetStream stream carries a `Nats-Msg-Id`
  header; the server drops a repeat within the duplicate window ({DUPLICATE_WINDOW_S:g} s).
- **Errors**: a refused request gets a reply with the `Nats-Service-Error-Code` header (the
  HTTP status of the same error over REST) and an RFC 9457 problem details body.
- **Payloads** are JSON; a tagged union carries its tag in the `type` field.
- **Evolution**: subjects are versioned (`atp.v1...`); new fields get defaults, nothing is
  retyped, and a breaking change means a new `v2` subject.
"""


def _header(description: str, **schema: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **schema}


HEADERS: dict[str, dict[str, Any]] = {
    "StreamHeaders": {
        "type": "object",
        "properties": {
            "Nats-Msg-Id": _header(
                "Unique id of the message (e.g. `order.<id>.stored`); JetStream drops a repeat "
                f"within the stream's duplicate window ({DUPLICATE_WINDOW_S:g} s).",
                minLength=1,
            ),
        },
        "required": ["Nats-Msg-Id"],
    },
    "IntakeHeaders": {
        "type": "object",
        "properties": {
            "Flexgrid-Api-Key": _header(
                "API key of the submitting participant (the keys of the REST API).", minLength=1
            ),
            "Idempotency-Key": _header(
                "Makes a retry safe: the same key with the same body replies with the stored "
                "order; with another body the request is refused.",
                minLength=1,
                maxLength=200,
            ),
        },
        "required": ["Flexgrid-Api-Key"],
    },
    "ErrorReplyHeaders": {
        "type": "object",
        "properties": {
            "Nats-Service-Error-Code": _header(
                "Status code of the error: the HTTP status of the same error over REST.",
                pattern="^[1-5][0-9][0-9]$",
            ),
            "Nats-Service-Error": _header("Short description of the error (its title)."),
        },
        "required": ["Nats-Service-Error-Code"],
    },
}


def resolve_family(name: str) -> Any:
    """The Struct or tagged union named `name` in `gateway.messages` (`events` wins a tie)."""
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(gateway.messages.__path__):
        module = importlib.import_module(f"gateway.messages.{info.name}")
        value = getattr(module, name, None)
        # A Struct counts where it is defined, not where it is imported.
        is_struct = (
            isinstance(value, type)
            and issubclass(value, msgspec.Struct)
            and value.__module__ == module.__name__
        )
        if is_struct or isinstance(value, types.UnionType):
            found[info.name] = value
    if "events" in found:
        return found["events"]
    if len(found) != 1:
        where = ", ".join(sorted(found)) or "no module"
        raise LookupError(
            f"message family {name!r} must be one Struct or union in gateway.messages "
            f"(found in {where}); define it in gateway/messages/events.py"
        )
    return next(iter(found.values()))


def reply_family(spec: subjects.SubjectSpec) -> str:
    """The reply of a request/reply subject: its `reply`, else the stored order
    (`FlexOfferSubmit` -> `FlexOffer`)."""
    if spec.reply is not None:
        return spec.reply
    reply = spec.message.removesuffix("Submit")
    if reply == spec.message:
        raise LookupError(f"no reply family for {spec.name}: name its request `<Reply>Submit`")
    return reply


def _tagged_unions(node: Any) -> Any:
    """msgspec's `anyOf` + OpenAPI discriminator object -> `oneOf` + AsyncAPI discriminator."""
    if isinstance(node, list):
        return [_tagged_unions(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _tagged_unions(value) for key, value in node.items()}
    discriminator = out.pop("discriminator", None)
    if isinstance(discriminator, dict) and "anyOf" in out:
        out["oneOf"] = out.pop("anyOf")
        out["discriminator"] = discriminator["propertyName"]
        mapping = discriminator.get("mapping", {})
        out["x-discriminator-mapping"] = {tag: mapping[tag] for tag in sorted(mapping)}
    elif discriminator is not None:
        out["discriminator"] = discriminator
    return out


def _camel(name: str) -> str:
    return name[:1].upper() + name[1:]


def _parameters(pattern: str) -> dict[str, Any]:
    return {
        name: {"description": PARAMETERS.get(name, f"The `{name}` token of the subject.")}
        for name in PARAMETER.findall(pattern)
    }


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(parts)}


def _message(name: str, payload: dict[str, Any], headers: str | None, doc: str) -> dict[str, Any]:
    message: dict[str, Any] = {"name": name, "title": name, "summary": doc}
    message["contentType"] = "application/json"
    if headers is not None:
        message["headers"] = {"$ref": SCHEMAS + headers}
    message["payload"] = payload
    return message


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI document as plain data, in a fixed order."""
    registry = subjects.REGISTRY
    names: list[str] = []
    for spec in registry:
        names.append(spec.message)
        if spec.request_reply:
            names.append(reply_family(spec))
    names = list(dict.fromkeys(names))
    roots, components = msgspec.json.schema_components(
        [*(resolve_family(name) for name in names), ProblemDetails],
        ref_template=SCHEMAS + "{name}",
    )
    schemas: dict[str, Any] = dict(components)
    payloads: dict[str, dict[str, Any]] = {}
    for name, root in zip([*names, PROBLEM], roots, strict=True):
        if "$ref" in root:
            payloads[name] = root
        else:  # a union has no name of its own in msgspec: the family name becomes its schema's
            if name in schemas:
                raise LookupError(f"schema name {name!r} is taken by a Struct: rename the union")
            schemas[name] = {"title": name, **root}
            payloads[name] = {"$ref": SCHEMAS + name}
    for name, header in HEADERS.items():
        if name in schemas:
            raise LookupError(f"schema name {name!r} is taken by a Struct")
        schemas[name] = header

    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in registry:
        channel: dict[str, Any] = {"address": spec.pattern, "title": spec.name}
        channel["description"] = spec.description + (
            f" JetStream stream `{spec.stream}`." if spec.stream else " Core NATS request/reply."
        )
        if params := _parameters(spec.pattern):
            channel["parameters"] = params
        channel["messages"] = {spec.message: _ref("components", "messages", spec.message)}
        channels[spec.name] = channel
        sent = [_ref("channels", spec.name, "messages", spec.message)]
        if spec.request_reply:
            messages[spec.message] = _message(
                spec.message, payloads[spec.message], spec.request_headers, spec.description
            )
            reply = reply_family(spec)
            summary = f"The stored {reply}." if spec.reply is None else f"The reply: {reply}."
            messages[reply] = _message(reply, payloads[reply], None, summary)
            reply_channel = f"{spec.name}Reply"
            channels[reply_channel] = {
                "address": None,
                "title": reply_channel,
                "description": "The requester's inbox: the reply subject of the request.",
                "messages": {
                    reply: _ref("components", "messages", reply),
                    PROBLEM: _ref("components", "messages", PROBLEM),
                },
            }
            operations[spec.name] = {
                "action": "receive",
                "channel": _ref("channels", spec.name),
                "summary": spec.description,
                "messages": sent,
                "reply": {
                    "channel": _ref("channels", reply_channel),
                    "messages": [
                        _ref("channels", reply_channel, "messages", reply),
                        _ref("channels", reply_channel, "messages", PROBLEM),
                    ],
                },
            }
        else:
            messages[spec.message] = _message(
                spec.message, payloads[spec.message], "StreamHeaders", spec.description
            )
            for action, verb in (("send", "Publish to"), ("receive", "Consume")):
                operations[f"{action}{_camel(spec.name)}"] = {
                    "action": action,
                    "channel": _ref("channels", spec.name),
                    "summary": f"{verb} {spec.name}.",
                    "description": spec.description,
                    "messages": sent,
                }
    messages[PROBLEM] = _message(
        PROBLEM, payloads[PROBLEM], "ErrorReplyHeaders", "Error reply: RFC 9457 problem details."
    )

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "FlexGrid ATP messaging",
            "version": DOCUMENT_VERSION,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "The nats-server with JetStream that the gateway starts when "
                "FLEXGRID_NATS_URL is unset; set it to use a server or cluster of your own.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {name: schemas[name] for name in sorted(schemas)},
            "messages": {name: messages[name] for name in sorted(messages)},
        },
    }


def _represent_str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


# A private dumper: multi-line strings as literal blocks, never anchors/aliases for shared nodes.
_Dumper: Any = type("_Dumper", (yaml.SafeDumper,), {"ignore_aliases": lambda self, data: True})
_Dumper.add_representer(str, _represent_str)


def render_asyncapi() -> str:
    """YAML, deterministic: the order of `build_asyncapi`, no anchors, literal multi-line text."""
    document = _tagged_unions(build_asyncapi())
    text: str = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.asyncapi_doc", description=__doc__)
    parser.add_argument("--output", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    text = render_asyncapi()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
