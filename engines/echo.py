"""A trivial engine: hashes its text. The round-trip benchmark's job, and a smoke test of a
deployment (`kind = "echo"`), since it needs nothing but the runner."""

from __future__ import annotations

import hashlib

import msgspec

from engines.base import ProgressFn


class EchoInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: str


class EchoOutput(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    sha256: str


class EchoEngine:
    kind = "echo"
    input_type = EchoInput
    output_type = EchoOutput

    def run(self, data: EchoInput, progress: ProgressFn) -> EchoOutput:
        return EchoOutput(text=data.text, sha256=hashlib.sha256(data.text.encode()).hexdigest())
