"""WaPipe's AWS Signature Version 4 against answers computed elsewhere: the worked example in Amazon's S3
documentation ("Signature Calculations for the Authorization Header", GET Object), and botocore's own
signer (the one boto3 uses) on the requests WaPipe sends. moto checks real signatures in the other tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from server.storage.s3_signing import S3Credentials, Signer, encode_path

EXAMPLE_KEY = S3Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1")
OCTET_STREAM = "application/octet-stream"
MOMENT = datetime(2024, 3, 5, 6, 7, 8, tzinfo=UTC)


class At:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def test_the_documented_example_signs_the_same() -> None:
    headers = Signer(EXAMPLE_KEY, At(datetime(2013, 5, 24, tzinfo=UTC))).headers(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", headers={"Range": "bytes=0-9"}
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"


def botocore_signature(
    method: str, url: str, headers: dict[str, str], body: bytes, key: S3Credentials
) -> str:
    request = AWSRequest(method=method, url=url, headers=headers, data=body)

    class Frozen(datetime):
        @classmethod
        def utcnow(cls) -> Any:
            return MOMENT.replace(tzinfo=None)

        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return MOMENT if tz else MOMENT.replace(tzinfo=None)

    with mock.patch.object(botocore.auth.datetime, "datetime", Frozen):
        botocore.auth.S3SigV4Auth(
            Credentials(key.access_key_id, key.secret_access_key), "s3", key.region
        ).add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("method", "host", "path", "headers", "body"),
    [
        (
            "PUT",
            "127.0.0.1:9000",
            "/media/ab/" + "ab" * 32,
            {"Content-Type": "application/octet-stream"},
            b"x",
        ),
        ("GET", "acme.s3.eu-central-1.amazonaws.com", "/wapipe/media/ab/" + "cd" * 32, {}, b""),
        ("HEAD", "minio.internal:9000", "/bucket/a key with spaces/ä~é", {}, b""),
        ("DELETE", "s3.example.com", "/bucket/(odd)!*'name", {}, b""),
    ],
)
def test_botocore_signs_the_requests_wapipe_sends_the_same(
    method: str, host: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    key = S3Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-central-1")
    payload = hashlib.sha256(body).hexdigest()
    ours = Signer(key, At(MOMENT)).headers(
        method, host, encode_path(path), headers=headers, payload_sha256=payload
    )
    url = f"https://{host}{encode_path(path)}"
    assert ours["authorization"] == botocore_signature(method, url, headers, body, key)


def test_the_secret_is_in_no_header_and_no_repr() -> None:
    secret = EXAMPLE_KEY.secret_access_key
    headers = Signer(EXAMPLE_KEY, At(MOMENT)).headers("GET", "examplebucket.s3.amazonaws.com", "/x")
    assert all(secret not in value for value in headers.values())
    assert secret not in repr(EXAMPLE_KEY) and secret not in repr(Signer(EXAMPLE_KEY))


def test_the_signature_carries_the_time_in_utc() -> None:
    two_hours_east = datetime(2024, 3, 5, 8, 7, 8, tzinfo=timezone(timedelta(hours=2)))
    headers = Signer(EXAMPLE_KEY, At(two_hours_east)).headers("GET", "h", "/x")
    assert headers["x-amz-date"] == "20240305T060708Z"
    assert "/20240305/us-east-1/s3/aws4_request" in headers["authorization"]
