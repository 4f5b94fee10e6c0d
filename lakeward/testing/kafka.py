"""A real single-node Kafka broker (KRaft) in its own JVM, from the jars ./dev.sh setup fetched, on free
ports (the ``kafka_broker`` fixture, the Kafka tests, bench/stream_latency.py):
``with KafkaBroker() as broker: broker.bootstrap``."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def jar_cache() -> Path:
    return Path(os.environ.get("LAKEWARD_JAR_CACHE") or Path.home() / ".cache/lakeward/jars")


def broker_jars() -> Path:
    return jar_cache() / "kafka-broker"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KafkaBroker:
    def __init__(self, heap: str = "-Xmx512m"):
        self.jars = broker_jars()
        if not any(self.jars.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"no Kafka broker jars in {self.jars}: run ./dev.sh setup (it fetches them with mvn)")
        self.port, self.controller = _free_port(), _free_port()
        self.heap = heap
        self.process: subprocess.Popen | None = None
        self.home = Path(tempfile.mkdtemp(prefix="lakeward-kafka-"))

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, main: str, *args: str) -> list[str]:
        return ["java", self.heap, "-cp", str(self.jars / "*"), main, *args]

    def start(self) -> "KafkaBroker":
        properties = self.home / "server.properties"
        properties.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.home / 'data'}", "num.partitions=2",
            "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1", "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1", "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true", ""]))
        cluster = subprocess.run(self._java("kafka.tools.StorageTool", "random-uuid"), capture_output=True,
                                 text=True, check=True).stdout.strip()
        subprocess.run(self._java("kafka.tools.StorageTool", "format", "--standalone", "-t", cluster, "-c",
                                  str(properties)), capture_output=True, text=True, check=True)
        return self._launch()

    def restart(self) -> "KafkaBroker":
        """Stop the broker and start it again on the same ports and data (clients reconnect)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self._launch()

    def _launch(self) -> "KafkaBroker":
        log = open(self.home / "broker.log", "a")
        self.process = subprocess.Popen(self._java("kafka.Kafka", str(self.home / "server.properties")), stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Kafka broker exited: {(self.home / 'broker.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the Kafka broker did not listen within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "KafkaBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
