"""schemathesis against the server's own OpenAPI schema: no 5xx, responses match it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from engine.config.store import ConfigStore
from engine.demo import demo_backtest, demo_sandbox
from engine.workspace import Workspace
from tests.integration.api_support import Server, journaled_run, running_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("schema")
    ws = Workspace(root / ".gateway").ensure()
    ConfigStore(ws).save(demo_sandbox(), deep=False)
    ConfigStore(ws).save(demo_backtest(), deep=False)
    journaled_run(ws, "demo-sandbox", 50, mode="sandbox")
    with running_server(ws) as running:
        yield running


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.token("fuzz")


@pytest.fixture(scope="module")
def api_schema(server: Server) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_answers_as_its_schema_says(case: schemathesis.Case, token: str) -> None:
    body = case.body
    if isinstance(body, dict) and body.get("wait") in ("running", "ended"):
        # A launch that waits holds its request until the node runs or ends (up to 600 s):
        # kept short here; its bounds have their own test (test_api_launch_wait).
        limit = body.get("timeout_s")
        if limit is None or (isinstance(limit, int | float) and 0.1 <= limit <= 600):
            body["timeout_s"] = 2.0
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


def test_the_docs_pages_work_without_the_internet(server: Server) -> None:
    """/docs and /redoc load their scripts from the server itself, never from a CDN."""
    import re

    import httpx

    for page in ("/docs", "/redoc"):
        html = httpx.get(server.url + page).text
        assert "/openapi.json" in html
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        scripts = [s for s in sources if s.endswith((".js", ".css"))]
        assert scripts and all(s.startswith("/") for s in scripts), (page, sources)
        for path in scripts:
            asset = httpx.get(server.url + path)
            assert asset.status_code == 200 and len(asset.content) > 10_000, path
