"""lakeward's Kinesis consumer against the moto server: throttled calls are retried and an expired
iterator is renewed after the last record taken, so nothing is lost or read twice."""
import json
from types import SimpleNamespace

import boto3
import pytest

from lakeward.errors import SourceError
from lakeward.streaming.kinesis import KinesisReader

pytestmark = pytest.mark.aws


@pytest.fixture
def kinesis(aws_env):
    client = boto3.client("kinesis", endpoint_url=aws_env, region_name="us-east-1")
    client.create_stream(StreamName="faults", ShardCount=2)
    return client


def put(client, first, count):
    for i in range(first, first + count):
        client.put_record(StreamName="faults", Data=json.dumps({"id": i}).encode(), PartitionKey=f"k{i}")


def inject(client, codes):
    """The next GetRecords calls answer with these AWS error codes (the real call is not made)."""
    pending = list(codes)

    def answer(**_):
        if pending:
            code = pending.pop(0)
            return SimpleNamespace(status_code=400, headers={}), {"Error": {"Code": code, "Message": "injected"}}
        return None

    client.meta.events.register("before-call.kinesis.GetRecords", answer)
    return pending


def ids(messages):
    return [json.loads(m.value)["id"] for m in messages]


def test_throttling_is_retried_and_an_expired_iterator_resumes_after_the_last_record_taken(kinesis):
    put(kinesis, 0, 20)
    reader = KinesisReader(kinesis, "faults", limit_per_shard=5)
    taken = ids(reader.poll().messages)
    assert len(taken) == 10  # 5 from each shard
    left = inject(kinesis, ["ProvisionedThroughputExceededException", "ThrottlingException",
                            "ExpiredIteratorException", "ExpiredIteratorException"])
    while (poll := reader.poll()).messages:
        taken += ids(poll.messages)
    assert left == [] and sorted(taken) == list(range(20))  # every record once, none lost at the renewals
    put(kinesis, 20, 4)
    assert sorted(ids(reader.poll().messages)) == [20, 21, 22, 23]


def test_throttling_that_does_not_end_and_a_missing_stream_are_named(kinesis):
    put(kinesis, 0, 2)
    reader = KinesisReader(kinesis, "faults", throttle_retries=2)
    inject(kinesis, ["ProvisionedThroughputExceededException"] * 3)
    with pytest.raises(SourceError, match="Kinesis stream faults: get_records failed"):
        reader.poll()
    with pytest.raises(SourceError, match="Kinesis stream missing does not exist"):
        KinesisReader(kinesis, "missing").poll()
