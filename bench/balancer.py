"""A small loopback load balancer for ``bench.deploy_bench``: TCP connections spread round-robin over the
web processes, as a platform's router or an nginx/HAProxy in front of several ``wapipe serve`` does.

Each new connection goes to the next backend; a backend that refuses the connection (a web process being
restarted) is skipped and the next one tried, so a client sees an error only when every backend refuses.
Once connected, bytes are copied both ways until either side closes. It prints one JSON line when it
listens, and writes its counts (connections per backend, refusals skipped, failures) to ``--stats`` every
half second.

    .venv/bin/python -m bench.balancer --port 8000 --backends 127.0.0.1:8001,127.0.0.1:8002
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
from pathlib import Path
from typing import Any


class Balancer:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.turn = itertools.cycle(range(len(backends)))
        self.connections = [0] * len(backends)
        self.skipped = 0  # a backend refused the connection; the next was tried
        self.failed = 0  # every backend refused

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for _ in range(len(self.backends)):
            index = next(self.turn)
            host, port = self.backends[index]
            try:
                upstream = await asyncio.open_connection(host, port)
            except OSError:
                self.skipped += 1
                continue
            self.connections[index] += 1
            break
        if upstream is None:
            self.failed += 1
            client_writer.close()
            return
        backend_reader, backend_writer = upstream
        await asyncio.gather(
            _copy(client_reader, backend_writer), _copy(backend_reader, client_writer), return_exceptions=True
        )
        for writer in (backend_writer, client_writer):
            writer.close()

    def stats(self) -> dict[str, Any]:
        return {
            "backends": [f"{host}:{port}" for host, port in self.backends],
            "connections": self.connections,
            "skipped_refused": self.skipped,
            "failed": self.failed,
        }


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:  # the other side learns this one is done; the connection closes once both are
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def serve(args: argparse.Namespace) -> None:
    backends = []
    for item in args.backends.split(","):
        host, port = item.rsplit(":", 1)
        backends.append((host, int(port)))
    balancer = Balancer(backends)
    server = await asyncio.start_server(balancer.handle, "127.0.0.1", args.port, backlog=1024)
    print(json.dumps({"listening": args.port}), flush=True)
    async with server:
        while True:
            if args.stats:
                _write(Path(args.stats), json.dumps(balancer.stats()))
            await asyncio.sleep(0.5)


def _write(path: Path, text: str) -> None:
    path.write_text(text)  # a few hundred bytes on a local disk: not worth a thread


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backends", required=True, help="host:port,host:port,…")
    parser.add_argument("--stats", default="", help="a file to write the counts to")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
