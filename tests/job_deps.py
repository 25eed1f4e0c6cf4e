"""The jobs' dependencies (``JobDeps``) for tests: real stores over a test database, or stand-ins where a test
fakes the rest. A part a test did not wire fails loudly when a job touches it."""

from __future__ import annotations

from dataclasses import MISSING, fields, replace
from typing import Any

from server.jobs.context import job_deps_for
from server.jobs.deps import JobDeps, job_ctx, job_deps
from server.storage.engine import Database


class Unwired:
    """Stands for a dependency the test did not give: any use of it fails and names it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the test wired no JobDeps.{self._name} (asked for .{attribute})")


def deps_over(engine: Database, *, queue: Any = None, **changes: Any) -> JobDeps:
    """Every store over ``engine``; ``changes`` replace parts (a fake, the clock, the timings ...)."""
    deps = job_deps_for(engine, queue=queue if queue is not None else Unwired("queue"), kind="test")
    return replace(deps, **changes)


def fake_deps(**given: Any) -> JobDeps:
    """Only the parts ``given``; the other required ones are ``Unwired``, the optional ones their defaults."""
    required = {
        f.name: Unwired(f.name)
        for f in fields(JobDeps)
        if f.name not in given and f.default is MISSING and f.default_factory is MISSING
    }
    return JobDeps(**required, **given)


def run_ctx(deps: JobDeps, **run: Any) -> dict[str, Any]:
    """A job's ``ctx``: the dependencies and what arq adds per run (``job_try``, ``job_id``)."""
    return {**job_ctx(deps), **run}


def rewire(ctx: dict[str, Any], **changes: Any) -> JobDeps:
    """Replace parts of the dependencies a running job runner holds in ``ctx`` (its next jobs see them)."""
    deps = replace(job_deps(ctx), **changes)
    ctx.update(job_ctx(deps))
    return deps
