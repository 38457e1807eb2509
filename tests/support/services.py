"""Services as real processes on real ports, the way ``aireg up`` runs them, for integration and e2e tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from aireg_cli.keys import KeyRing
from aireg_cli.stack import ServiceSpec, free_port, service_env, start_service, stop_process


@dataclass
class ServiceProcess:
    spec: ServiceSpec
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.spec.port}"

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        self.process = start_service(self.spec)
        self.starts += 1
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not healthy after {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def log_tail(self, lines: int = 40) -> str:
        if self.spec.log_path is None or not self.spec.log_path.exists():
            return "(no log)"
        return "\n".join(self.spec.log_path.read_text(errors="replace").splitlines()[-lines:])


def service_process(
    name: str,
    *,
    database_url: str,
    bootstrap: str,
    keys: KeyRing,
    namespace: str,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    port = free_port()
    env = service_env(
        name,
        port=port,
        database_url=database_url,
        bootstrap=bootstrap,
        keys=keys,
        topic_namespace=namespace,
        extra=extra_env,
    )
    return ServiceProcess(ServiceSpec(name, port, env, log_dir / f"{name}.log"))


@contextmanager
def services_running(
    names: Sequence[str],
    *,
    database_url: Callable[[str], str],
    bootstrap: str,
    keys: KeyRing,
    namespace: str,
    log_dir: Path,
) -> Iterator[dict[str, ServiceProcess]]:
    """The services ``names`` as real processes on the test's broker, each on its own database
    (``database_url(name)``), started in order and stopped on the way out."""
    running = {
        name: service_process(
            name,
            database_url=database_url(name),
            bootstrap=bootstrap,
            keys=keys,
            namespace=namespace,
            log_dir=log_dir,
        )
        for name in names
    }
    try:
        for process in running.values():
            process.start()
        yield running
    finally:
        for process in running.values():
            process.stop()
