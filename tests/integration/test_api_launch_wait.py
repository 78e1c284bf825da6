"""POST /nodes/{id}/launch (and restart) with ``wait``: the outcome the CLI reports too.

Real node hosts behind a real ``gateway serve``: a sandbox answers running, a backtest
completed, a backtest that fails at start failed with the error that ``gateway launch``
prints (and exits 1 for), a wait that runs out says so and leaves the node running. The
request's ``wait``/``timeout_s`` are checked as an input surface (hypothesis).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.client import GatewayClient
from engine.demo import demo_backtest, demo_sandbox
from engine.services.follow import exit_code_for
from engine.services.models import Launched
from tests.integration.api_support import Server, running_server
from tests.integration.backtest_support import small_workspace, write_node
from tests.integration.cli import gateway

pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("api-launch-wait")]
SANDBOX = "wait-sbx"
FAILS = "wait-fails"
MISSING = "no-catalog-here"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("launch-wait")
    ws = small_workspace(root / ".gateway", ticks=3_000)  # demo-backtest and its data
    sandbox = copy.deepcopy(demo_sandbox())
    sandbox.update(node_id=SANDBOX, strategies=[])
    sandbox.pop("restart", None)
    sandbox["data_clients"][0]["options"].update(rate=20)
    write_node(ws, sandbox)
    fails = demo_backtest()
    fails["node_id"] = FAILS
    fails["data"][0]["catalog_path"] = str(root / MISSING)  # fails at start (the host's check)
    write_node(ws, fails)
    with running_server(ws) as running:
        yield running


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.token("launcher", "read,trade")


def _post(server: Server, token: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(
        server.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def test_a_sandbox_launched_with_wait_running_answers_running(server: Server, token: str) -> None:
    response = _post(server, token, f"/nodes/{SANDBOX}/launch", {"wait": "running"})
    assert response.status_code == 200, response.text
    launched = Launched.model_validate(response.json())
    gw = GatewayClient(server.url, token)
    try:
        outcome = launched.outcome
        assert outcome is not None
        assert (outcome.state, outcome.ended, outcome.timed_out) == ("running", False, False)
        assert outcome.exit_code == 0 and outcome.error is None
        assert outcome.message == f"{SANDBOX} is running (run {launched.run_id})"
        (row,) = [r for r in gw.ps() if r.node_id == SANDBOX]
        assert row.alive and row.state == "running" and row.run_id == launched.run_id

        # A restart whose wait for the end runs out: said so, and the node goes on.
        response = _post(
            server, token, f"/nodes/{SANDBOX}/restart", {"wait": "ended", "timeout_s": 1.5}
        )
        assert response.status_code == 202, response.text
        again = Launched.model_validate(response.json())
        assert again.run_id != launched.run_id and again.outcome is not None
        late = again.outcome
        assert late.timed_out and not late.ended and late.exit_code is None
        assert late.state in ("created", "starting", "running")
        assert "did not end within 1.5 s: it keeps" in late.message and late.state in late.message
        (row,) = [r for r in gw.ps() if r.node_id == SANDBOX]
        assert row.alive and row.run_id == again.run_id
    finally:
        stopped = gw.stop(SANDBOX)
        gw.close()
    assert stopped.state == "stopped"


def test_a_backtest_with_wait_ended_answers_completed(server: Server, token: str) -> None:
    response = _post(server, token, "/nodes/demo-backtest/launch", {"wait": "ended"})
    assert response.status_code == 200, response.text
    launched = Launched.model_validate(response.json())
    outcome = launched.outcome
    assert outcome is not None
    assert (outcome.state, outcome.ended, outcome.reported) == ("completed", True, True)
    assert outcome.exit_code == exit_code_for("completed") == 0
    assert outcome.host_exit_code == 0 and outcome.error is None
    with GatewayClient(server.url, token) as gw:
        run = gw.run(launched.run_id)
    assert (run.state, run.exit_code) == ("completed", 0)
    # The CLI's exit code for the same node is the core's mapping.
    cli = gateway("launch", "demo-backtest", "--json", workspace=server.workspace.root)
    assert cli.code == outcome.exit_code, cli.err


def test_a_backtest_that_fails_at_start_answers_failed_as_the_cli_says(
    server: Server, token: str
) -> None:
    with GatewayClient(server.url, token) as gw:
        launched = gw.launch(FAILS, wait="ended", timeout_s=120)
        outcome = launched.outcome
        assert outcome is not None
        assert (outcome.state, outcome.ended, outcome.timed_out) == ("failed", True, False)
        assert outcome.exit_code == 1 and outcome.host_exit_code == 1
        assert outcome.error is not None and f"{MISSING} does not exist" in outcome.error
        assert outcome.message.endswith(f": failed: {outcome.error}")
        assert (gw.results(launched.run_id).error or {}).get("message") == outcome.error

    cli = gateway("launch", FAILS, "--headless", workspace=server.workspace.root)
    assert cli.code == 1, cli.err
    assert f"error: {outcome.error}" in cli.err.splitlines()


# -- the request's wait and timeout_s, as an input surface -------------------------------
_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "wait": st.one_of(st.sampled_from(["running", "ended"]), _ANY),
        "timeout_s": st.one_of(st.floats(0.1, 600), _ANY),
        "mode": st.one_of(st.sampled_from(["backtest", "sandbox", "live"]), _ANY),
    },
)


def _first_bad_field(body: dict[str, Any]) -> str | None:
    """The field a 422 must name (the model's order: wait, timeout_s, mode), or None."""
    if any(isinstance(v, float) and not math.isfinite(v) for v in body.values()):
        return "body"  # NaN and Infinity literals are not JSON: the body is malformed
    wait = body.get("wait")
    if wait not in (None, "running", "ended"):
        return "wait"
    limit = body.get("timeout_s")
    if limit is not None:
        number = isinstance(limit, int | float) and not isinstance(limit, bool)
        if not (number and math.isfinite(limit) and 0.1 <= limit <= 600 and wait is not None):
            return "timeout_s"
    if body.get("mode") not in (None, "backtest", "sandbox", "live"):
        return "mode"
    return None


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_BODIES)
@example(body={"wait": "ended", "timeout_s": math.nan})
@example(body={"wait": "ended", "timeout_s": math.inf})
@example(body={"wait": "running", "timeout_s": -1.0})
@example(body={"wait": "running", "timeout_s": 0})
@example(body={"wait": "running", "timeout_s": 600.5})
@example(body={"wait": "running", "timeout_s": "5"})
@example(body={"wait": "running", "timeout_s": True})
@example(body={"timeout_s": 5})
@example(body={"wait": "later"})
@example(body={"wait": "ended", "timeout_s": 600})
def test_launch_wait_fields_are_checked_naming_the_field(
    server: Server, token: str, body: dict[str, Any]
) -> None:
    # A node that does not exist: a valid request gets as far as the lookup (404), an
    # invalid one never does (422 naming the field, the value echoed safely).
    response = httpx.post(
        server.url + "/nodes/ghost-node/launch",
        content=json.dumps(body),  # NaN and Infinity as Python writes them
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    bad = _first_bad_field(body)
    if bad is None:
        assert response.status_code == 404, (body, response.text)
        return
    assert response.status_code == 422, (body, response.text)
    error = response.json()
    assert error["code"] == "invalid" and error["field"] == bad, (body, error)
    assert error["message"].startswith(f"{bad}: "), error


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("1e400", "timeout_s"),  # beyond a float: kept as its text, refused as no number
        ("-1e400", "timeout_s"),
        ("1e-400", "timeout_s"),  # would round to 0
        ("NaN", "body"),  # not JSON at all
        ("-Infinity", "body"),
    ],
)
def test_a_timeout_beyond_floats_is_refused_naming_it(
    server: Server, token: str, raw: str, field: str
) -> None:
    response = httpx.post(
        server.url + "/nodes/ghost-node/restart",
        content='{"wait": "ended", "timeout_s": ' + raw + "}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
