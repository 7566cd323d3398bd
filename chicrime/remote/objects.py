"""The object store at `LAKE_URL` (any S3-compatible service), through boto3.

Endpoint, region and credentials come from boto3's usual sources: `AWS_ENDPOINT_URL`,
`AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`,
`~/.aws/config`, an instance role. Every failure is raised as `ObjectStoreError` naming the
store and what to check; a lost conditional write raises `PreconditionFailed`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chicrime.errors import ConfigError, ObjectStoreError

__all__ = ["ObjectStore", "PreconditionFailed", "StoredObject"]

# Short connect and read timeouts: a store that does not answer is reported within seconds,
# and the dashboard keeps serving what it has.
_CONNECT_SECONDS = 5
_READ_SECONDS = 60
_ATTEMPTS = 4


class PreconditionFailed(ObjectStoreError):
    """A conditional write (`If-Match` / `If-None-Match`) found the key changed: nothing written."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: dt.datetime  # aware, UTC


class ObjectStore:
    """The keys under `s3://bucket/prefix`; `key` arguments are relative to the prefix."""

    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._client: Any = client if client is not None else _client()

    def read(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when there is no such key."""
        with self._errors(f"read {key}"):
            try:
                answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            except self._client.exceptions.NoSuchKey:
                return None
            return answer["Body"].read(), answer["ETag"]

    def write(
        self, key: str, body: bytes, *, if_match: str | None = None, if_absent: bool = False
    ) -> str:
        """Store `body` at `key` and return its ETag. With `if_match` (an ETag) or `if_absent`,
        the store writes only if the key still has that ETag / does not exist yet, and
        `PreconditionFailed` is raised otherwise."""
        conditions: dict[str, str] = {}
        if if_match is not None:
            conditions["IfMatch"] = if_match
        if if_absent:
            conditions["IfNoneMatch"] = "*"
        with self._errors(f"write {key}", conditional=bool(conditions)):
            answer = self._client.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=body, **conditions
            )
            return str(answer["ETag"])

    def upload(self, path: Path, key: str) -> None:
        """Copy the file at `path` to `key` (in parts, for large files)."""
        with self._errors(f"upload {path} to {key}"):
            self._client.upload_file(str(path), self.bucket, self.prefix + key)

    def download(self, key: str, path: Path) -> None:
        """Copy `key` into the file `path` (replaced if it exists)."""
        with self._errors(f"download {key}"):
            self._client.download_file(self.bucket, self.prefix + key, str(path))

    def objects(self, under: str) -> list[StoredObject]:
        """Every object whose key starts with `under`, keys relative to the prefix."""
        found: list[StoredObject] = []
        with self._errors(f"list {under}"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + under
            )
            for page in pages:
                for item in page.get("Contents", []):
                    found.append(
                        StoredObject(
                            key=item["Key"].removeprefix(self.prefix),
                            size=int(item["Size"]),
                            modified=item["LastModified"].astimezone(dt.UTC),
                        )
                    )
        return found

    def delete(self, keys: list[str]) -> None:
        """Delete `keys` (missing ones are no error), a thousand per request."""
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            with self._errors(f"delete {len(batch)} object(s)"):
                answer = self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.prefix + k} for k in batch], "Quiet": True},
                )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise ObjectStoreError(
                    f"{self.url}: could not delete {len(answer['Errors'])} object(s), e.g. "
                    f"{first.get('Key')}: {first.get('Message')}"
                )

    @contextmanager
    def _errors(self, action: str, conditional: bool = False) -> Iterator[None]:
        """Raise boto3's exceptions as `ObjectStoreError`s that say what to check; for a
        `conditional` write, a lost condition as `PreconditionFailed`: 412, S3's 409 for a
        concurrent conditional write, or 404 for an `If-Match` key deleted meanwhile."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if conditional and (
                status in (409, 412)
                or error.get("Code")
                in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey")
            ):
                raise PreconditionFailed(
                    f"{self.url}: could not {action}: it changed since it was read"
                ) from None
            raise ObjectStoreError(
                f"{self.url}: could not {action}: {error.get('Code', status)} "
                f"{error.get('Message', '')}".rstrip()
                + ". Check the bucket exists and the credentials (AWS_ACCESS_KEY_ID, "
                "AWS_PROFILE, ...) may read and write it."
            ) from None
        except (BotoCoreError, Boto3Error) as exc:
            raise ObjectStoreError(
                f"{self.url}: could not {action}: {exc}. Check the store is reachable "
                "(AWS_ENDPOINT_URL for a store other than Amazon S3) and the credentials."
            ) from None


def _client() -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigError(
            "LAKE_URL",
            "s3://...",
            "chicrime installed with its cloud extra: "
            "pip install 'chicrime[cloud]' (boto3 is missing)",
        ) from None
    try:
        return boto3.client(
            "s3",
            config=Config(
                connect_timeout=_CONNECT_SECONDS,
                read_timeout=_READ_SECONDS,
                retries={"max_attempts": _ATTEMPTS, "mode": "standard"},
            ),
        )
    except Exception as exc:  # a missing profile, a malformed endpoint: boto3's own settings
        raise ObjectStoreError(
            f"cannot set up the S3 client for LAKE_URL: {exc}. Check AWS_PROFILE, "
            "AWS_ENDPOINT_URL, AWS_DEFAULT_REGION and ~/.aws/config."
        ) from None
