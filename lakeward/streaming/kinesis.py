"""A Kinesis consumer over the Kinesis API (boto3): every shard, from the positions the table holds.

Glue reads Kinesis with its own connector, which does not run outside Glue; locally (and anywhere
boto3 reaches Kinesis) this reader polls the stream: ListShards on every poll (new shards after a
reshard are found while running; a child shard is read once its parents are drained), one iterator per
shard (AFTER_SEQUENCE_NUMBER from the committed position, else the starting position), GetRecords up
to a limit per shard. Every poll returns the positions taken so far; the caller commits them with the
batch that holds the records, so a consumer that dies re-reads from the last commit. A throttled call
(ProvisionedThroughputExceeded, LimitExceeded) is retried with backoff, and an expired iterator (a
micro-batch that took over five minutes) is renewed after the last record taken.
"""
from __future__ import annotations

import gzip
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from lakeward.errors import SourceError

StartingPosition = str  # trim_horizon | latest
THROTTLED = ("ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException")


@dataclass(frozen=True)
class Message:
    source: str  # kinesis://stream/shardId-...
    position: str  # sequence number
    value: bytes
    key: str
    arrival_time: datetime


@dataclass
class Poll:
    messages: list[Message]
    positions: dict[str, str]  # shard -> last sequence number taken so far (committed with the batch)
    lag_ms: dict[str, int] = field(default_factory=dict)  # shard -> MillisBehindLatest
    caught_up: bool = False  # every open shard returned nothing and is at the tip


class _Expired(Exception):
    """GetRecords with an iterator older than five minutes."""


def _payload(data: bytes) -> bytes:
    """A gzip-compressed record (what many producers and Firehose write) is read decompressed."""
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data  # not gzip after all, or truncated: the message is kept as it came
    return data


class KinesisReader:
    def __init__(self, client: Any, stream: str, positions: dict[str, str] | None = None,
                 start: StartingPosition = "trim_horizon", limit_per_shard: int = 10_000, throttle_retries: int = 8):
        self.client = client
        self.stream = stream
        self.by = {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}
        self.name = stream.rsplit("/", 1)[-1]
        self.positions = dict(positions or {})
        self.start = start.upper()
        self.limit = limit_per_shard
        self.throttle_retries = throttle_retries
        self.iterators: dict[str, str | None] = {}
        self.finished: set[str] = set()  # closed shards read to their end
        self.opened_at: dict[str, datetime] = {}  # shards read from LATEST: when their first iterator was opened
        # the starting position applies to a new consumer's first shards only: a shard found later (a
        # reshard's child) or one a resumed consumer never read is read from its start
        self.initial: set[str] | None = None if not self.positions else set()

    def _call(self, action: str, **kwargs: Any) -> Any:
        for attempt in range(self.throttle_retries + 1):
            try:
                return getattr(self.client, action)(**kwargs)
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code == "ExpiredIteratorException":
                    raise _Expired from e
                if code not in THROTTLED or attempt == self.throttle_retries:
                    self._fail(action, e)
                time.sleep(min(0.1 * 2 ** attempt, 5.0))  # Kinesis allows 5 GetRecords per shard per second
            except BotoCoreError as e:
                raise SourceError(f"Kinesis stream {self.stream}: {action} failed: {e}") from e
        raise AssertionError("unreachable")

    def _fail(self, action: str, e: ClientError) -> NoReturn:
        code = e.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise SourceError(f"Kinesis stream {self.stream} does not exist (or is not readable here)") from e
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise SourceError(f"Kinesis stream {self.stream}: access denied for {action} "
                              f"({e.response['Error'].get('Message', code)})") from e
        raise SourceError(f"Kinesis stream {self.stream}: {action} failed: {e}") from e

    def shards(self) -> list[dict[str, Any]]:
        shards, token = [], None
        while True:
            response = self._call("list_shards", **({"NextToken": token} if token else self.by))
            shards.extend(response.get("Shards", []))
            token = response.get("NextToken")
            if not token:
                return shards

    def _iterator(self, shard: str) -> str | None:
        if shard in self.iterators:
            return self.iterators[shard]
        if shard in self.positions:
            spec = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": self.positions[shard]}
        elif shard in self.opened_at:  # renewing a LATEST iterator that took nothing: from when it was opened
            spec = {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": self.opened_at[shard]}
        elif self.start in ("TRIM_HORIZON", "EARLIEST") or shard not in (self.initial or set()):
            spec = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            spec = {"ShardIteratorType": "LATEST"}
            self.opened_at[shard] = datetime.now(timezone.utc)
        return self._call("get_shard_iterator", **self.by, ShardId=shard, **spec)["ShardIterator"]

    def poll(self) -> Poll:
        """The messages past the positions, from every readable shard, and the positions after them (the
        caller commits those with the records; a consumer that dies reads again from its last commit)."""
        messages: list[Message] = []
        positions = dict(self.positions)
        lag: dict[str, int] = {}
        shards = self.shards()
        ids = {s["ShardId"] for s in shards}
        if self.initial is None:
            self.initial = set(ids)
        caught_up = True
        for shard in shards:
            sid = shard["ShardId"]
            parents = [p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p and p in ids]
            if sid in self.finished or any(p not in self.finished for p in parents):
                continue  # drained, or its parents' records come first
            iterator = self._iterator(sid)
            if iterator is None:
                self.finished.add(sid)
                continue
            response = self._records(sid, iterator)
            self.iterators[sid] = response.get("NextShardIterator")
            records = response.get("Records", [])
            for r in records:
                arrival = r.get("ApproximateArrivalTimestamp") or datetime.now(timezone.utc)
                messages.append(Message(f"kinesis://{self.name}/{sid}", r["SequenceNumber"], _payload(r["Data"]),
                                        r.get("PartitionKey", ""), arrival))
                positions[sid] = r["SequenceNumber"]
            lag[sid] = int(response.get("MillisBehindLatest", 0))
            if records or lag[sid] > 0:
                caught_up = False
            if self.iterators[sid] is None:
                self.finished.add(sid)
        self.positions = positions
        return Poll(messages, positions, lag, caught_up)

    def _records(self, shard: str, iterator: str) -> dict[str, Any]:
        for _ in range(3):
            try:
                return self._call("get_records", ShardIterator=iterator, Limit=self.limit)
            except _Expired:
                self.iterators.pop(shard, None)  # a new one, after the last record taken
                iterator = self._iterator(shard)
        raise SourceError(f"Kinesis stream {self.stream}: shard {shard}'s iterators keep expiring")
