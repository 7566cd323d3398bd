"""The real-server fixtures: moto's S3 server (conditional writes, stop and start) and Redis."""

from __future__ import annotations

import pytest
import redis
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.servers import RedisServer, S3Server


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_s3_put_if_none_match_creates_once(s3_server: S3Server) -> None:
    """A put with IfNoneMatch='*' creates the key; a second fails with 412, keeping the first."""
    s3 = s3_server.client()
    first = s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"one", IfNoneMatch="*")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"two", IfNoneMatch="*")
    assert _error(info) == ("PreconditionFailed", 412)
    stored = s3.get_object(Bucket=s3_server.bucket, Key="state")
    assert (stored["Body"].read(), stored["ETag"]) == (b"one", first["ETag"])


def test_s3_put_if_match_stale_etag_fails(s3_server: S3Server) -> None:
    """A put with IfMatch on a replaced object's ETag fails with 412; on the current one it wins."""
    s3 = s3_server.client()
    stale = s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"one")["ETag"]
    current = s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"two")["ETag"]
    assert stale != current
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"three", IfMatch=stale)
    assert _error(info) == ("PreconditionFailed", 412)
    s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"four", IfMatch=current)
    assert s3.get_object(Bucket=s3_server.bucket, Key="state")["Body"].read() == b"four"


def test_s3_stop_refuses_connections_and_start_comes_back_empty(s3_server: S3Server) -> None:
    """After stop() requests cannot connect; after start() the same endpoint answers, empty."""
    s3 = s3_server.client()
    endpoint = s3_server.endpoint
    s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"one")
    s3_server.stop()
    with pytest.raises(EndpointConnectionError):
        s3.head_object(Bucket=s3_server.bucket, Key="state")
    s3_server.start()
    assert s3_server.endpoint == endpoint
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket=s3_server.bucket)
    assert _error(info) == ("404", 404)
    with pytest.raises(ValueError, match="was not created since moto_server last started"):
        s3_server.environ(s3_server.bucket)
    s3_server.create_bucket(s3_server.bucket)
    s3.put_object(Bucket=s3_server.bucket, Key="state", Body=b"two")
    assert s3.get_object(Bucket=s3_server.bucket, Key="state")["Body"].read() == b"two"


def test_s3_environ_points_at_the_server(s3_server: S3Server) -> None:
    """environ() gives exactly the endpoint, fixed credentials and region, no metadata lookups."""
    assert s3_server.environ(s3_server.bucket) == {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3_server.port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_redis_round_trips_bytes(redis_server: RedisServer) -> None:
    """Every byte value set under a key comes back from get exactly."""
    value = bytes(range(256))
    client = redis_server.client()
    assert client.set("key", value) is True
    assert client.get("key") == value
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"


def test_redis_stop_refuses_connections(redis_server: RedisServer) -> None:
    """After stop() a command fails with redis.exceptions.ConnectionError."""
    client = redis_server.client()
    assert client.ping() is True
    redis_server.stop()
    with pytest.raises(redis.exceptions.ConnectionError):
        client.ping()
