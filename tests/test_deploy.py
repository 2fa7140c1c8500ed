"""The deployment files in deploy/ stay in step with the code: NATS configs that nats-server
accepts, and only settings and commands the gateway knows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from gateway.cli.main import main as cli
from gateway.messaging.embedded import nats_server_binary

pytestmark = pytest.mark.unit
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
KNOWN = set(
    re.findall(
        r"FLEXGRID_[A-Z_]+",
        (Path(__file__).resolve().parent.parent / "gateway" / "settings.py").read_text(),
    )
)


@pytest.mark.parametrize("name", ["n1.conf", "n2.conf", "n3.conf"])
def test_nats_cluster_config_is_accepted_by_nats_server(name: str) -> None:
    checked = subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(DEPLOY / "nats" / name)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (DEPLOY / "nats" / name).read_text()
    assert "sync_interval: always" in text
    assert text.count("nats-route://") == 3


def _env_names(text: str) -> set[str]:
    return set(re.findall(r"\b(FLEXGRID_[A-Z_]+)\b", text))


@pytest.mark.parametrize(
    "path",
    [
        "compose.yaml",
        "k8s/flexgrid.yaml",
        "systemd/flexgrid-gateway.service",
        "systemd/flexgrid-worker@.service",
        "systemd/flexgrid-adapters.service",
        "Dockerfile",
    ],
)
def test_only_known_settings_are_used(path: str) -> None:
    unknown = _env_names((DEPLOY / path).read_text()) - KNOWN
    assert not unknown, f"{path} sets variables the gateway does not read: {sorted(unknown)}"


def _commands(documents: list[object]) -> list[list[str]]:
    found: list[list[str]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            command = node.get("command")
            if isinstance(command, list) and command and command[0] == "flexgrid":
                found.append([str(part) for part in command])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for document in documents:
        walk(document)
    return found


def _assert_real(command: list[str]) -> None:
    """Subcommands the CLI has, and options the (sub)command declares; `worker` passes its
    options through to engines/worker_main.py, so they are checked there."""
    group: click.Command = cli
    parts = command[1:]
    while parts and not parts[0].startswith("-"):
        assert isinstance(group, click.Group), command
        assert parts[0] in group.commands, command
        group, parts = group.commands[parts[0]], parts[1:]
    if group.name == "worker":
        from engines.worker_main import parse_args

        try:
            parse_args([p.replace("%H-%i", "host-1") for p in parts])
        except SystemExit:  # argparse's way of refusing an option
            pytest.fail(f"{command}: flexgrid worker refuses these options")
        return
    declared = {opt for param in group.params for opt in param.opts}
    unknown = [p.split("=")[0] for p in parts if p.startswith("-")]
    assert set(unknown) <= declared, f"{command}: {set(unknown) - declared} unknown"


@pytest.mark.parametrize("path", ["compose.yaml", "k8s/flexgrid.yaml"])
def test_manifests_parse_and_run_real_commands(path: str) -> None:
    documents = list(yaml.safe_load_all((DEPLOY / path).read_text()))
    commands = _commands(documents)
    assert {c[1] for c in commands} == {"serve", "worker", "adapters", "admin"}
    for command in commands:
        _assert_real(command)


@pytest.mark.parametrize("path", sorted((DEPLOY / "systemd").glob("flexgrid-*.service")))
def test_systemd_units_run_real_commands(path: Path) -> None:
    (line,) = [ln for ln in path.read_text().splitlines() if ln.startswith("ExecStart=")]
    executable, *args = line.removeprefix("ExecStart=").split()
    assert executable == "/opt/flexgrid/.venv/bin/flexgrid", line
    _assert_real(["flexgrid", *args])


def test_scaled_out_deployments_replicate_streams_and_use_external_workers() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    env = compose["x-flexgrid-env"]
    assert env["FLEXGRID_NATS_STREAM_REPLICAS"] == "3"
    assert env["FLEXGRID_ENGINES"] == "external"
    assert len(env["FLEXGRID_NATS_URL"].split(",")) == 3
    config = next(
        d
        for d in yaml.safe_load_all((DEPLOY / "k8s/flexgrid.yaml").read_text())
        if d["kind"] == "ConfigMap"
    )
    assert config["data"]["FLEXGRID_NATS_STREAM_REPLICAS"] == "3"
    assert config["data"]["FLEXGRID_ENGINES"] == "external"
