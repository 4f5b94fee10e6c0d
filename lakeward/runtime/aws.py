"""Which AWS endpoint the commands talk to, and boto3 clients for it.

With AWS settings in the environment (AWS_ENDPOINT_URL, credentials, a profile, or running on Glue)
the standard boto3 resolution applies. Without any, the embedded emulator is used. LAKEWARD_AWS=embedded
or LAKEWARD_AWS=env forces one or the other.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import boto3
from botocore.config import Config

from lakeward.runtime.emulator import EmbeddedEmulator
from lakeward.runtime.settings import Settings
from lakeward.runtime.spark import on_glue

_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
             "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
EMBEDDED_CREDENTIALS = {"aws_access_key_id": "lakeward", "aws_secret_access_key": "lakeward"}
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


@dataclass
class AwsContext:
    session: boto3.Session
    endpoint_url: str | None
    embedded: bool = False
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.session.region_name or "us-east-1"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url, config=_RETRIES)
        return self._clients[service]

    def storage_options(self) -> dict[str, str]:
        """delta-rs / object_store options for s3:// locations."""
        credentials = self.session.get_credentials()
        options = {"AWS_REGION": self.region}
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options.update({"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key})
            if frozen.token:
                options["AWS_SESSION_TOKEN"] = frozen.token
        if self.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["AWS_ALLOW_HTTP"] = "true"
        return options


def use_embedded(settings: Settings, environ: Mapping[str, str] = os.environ) -> bool:
    if settings.aws:
        return settings.aws == "embedded"
    return not (any(environ.get(k) for k in _SETTINGS) or on_glue(settings))


@contextmanager
def aws_context(settings: Settings) -> Iterator[AwsContext]:
    """Clients for the environment's AWS, or for the embedded emulator (state in ``settings.home``)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if not use_embedded(settings):
        yield AwsContext(boto3.Session(region_name=region), os.environ.get("AWS_ENDPOINT_URL"))
        return
    with EmbeddedEmulator(Path(settings.home).resolve() / "emulator") as emulator:
        yield AwsContext(boto3.Session(region_name=region, **EMBEDDED_CREDENTIALS), emulator.endpoint_url,
                         embedded=True)
