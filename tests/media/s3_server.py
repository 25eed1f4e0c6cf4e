"""A real S3-compatible server for the tests: moto's S3 behind its threaded HTTP server, on a free loopback
port of this test process, with signatures checked.

moto checks nothing until told to: the server is asked (``/moto-api/reset-auth``) to let the first three
calls through unsigned (creating an IAM user, its access key and a policy allowing it S3), and from then on
it checks every request's AWS Signature Version 4 against that key's secret, as S3 does, and refuses a wrong
one (``SignatureDoesNotMatch``). The tests' own look at the bucket goes through boto3 with the same key,
never through WaPipe's client.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

REGION = "eu-central-1"
UNSIGNED_SET_UP = 3  # create_user, create_access_key, put_user_policy
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@dataclass
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    server: ThreadedMotoServer = field(repr=False)

    def client(self) -> Any:
        """boto3's S3 client with the server's key: the tests' independent view of the buckets."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"wapipe-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every object in ``bucket`` with its bytes."""
        s3 = self.client()
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def start_s3_server() -> S3Server:
    """Start the server and give it a key; raises whatever stops it (the caller fails the test run)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        answer = httpx.post(f"{endpoint}/moto-api/reset-auth", content=str(UNSIGNED_SET_UP).encode())
        answer.raise_for_status()
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            aws_access_key_id="set-up",
            aws_secret_access_key="set-up",
            region_name="us-east-1",
        )
        iam.create_user(UserName="wapipe")
        key = iam.create_access_key(UserName="wapipe")["AccessKey"]
        iam.put_user_policy(UserName="wapipe", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
        return S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], server)
    except BaseException:
        server.stop()
        raise
