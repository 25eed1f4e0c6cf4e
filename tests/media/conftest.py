from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.media.s3_server import S3Server, start_s3_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3, once per test process; a server that does not start fails the tests that need it."""
    try:
        server = start_s3_server()
    except Exception as error:
        pytest.fail(
            f"The S3-compatible test server (moto) did not start: {error!r}. `make install` installs it "
            "(moto[s3], flask, flask-cors: the dev dependencies in pyproject.toml).",
            pytrace=False,
        )
    yield server
    server.server.stop()
