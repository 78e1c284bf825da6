"""The service core's pieces that need no server: the error model, stream parameters,
tokens (hashed, 0600, revocable), the rate limit, and the bind rule."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from api.ratelimit import RateLimiter
from api.server import check_bind, is_loopback
from engine.principal import Principal
from engine.services.errors import EXIT_CODES, HTTP_STATUSES, ServiceError
from engine.services.events import parse_stream
from engine.services.tokens import TokenStore, token_hash
from engine.workspace import Workspace

WHO = Principal("tester", "cli")


def test_each_error_code_has_an_exit_code_and_a_status() -> None:
    assert set(EXIT_CODES) == set(HTTP_STATUSES)
    assert (EXIT_CODES["invalid"], HTTP_STATUSES["invalid"]) == (2, 422)
    assert (EXIT_CODES["not_found"], HTTP_STATUSES["not_found"]) == (2, 404)
    assert HTTP_STATUSES["conflict"] == 409 and HTTP_STATUSES["unreachable"] == 503
    err = ServiceError.invalid("price", "x" * 10_000, "expected a number")
    body = err.to_dict()
    assert set(body) == {"code", "field", "value", "expected", "message", "issues"}
    assert len(body["value"]) <= 200  # a 10k-character value is not echoed whole
    json.dumps(ServiceError.invalid("qty", float("nan"), "expected a number").to_dict())


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=300)))
@settings(max_examples=300)
def test_stream_parameters_are_parsed_or_refused_by_name(nodes: str, from_seq: str | None) -> None:
    try:
        specs = parse_stream(nodes, from_seq)
    except ServiceError as exc:
        assert exc.code == "invalid" and exc.field in ("nodes", "node_id", "from_seq")
        return
    assert specs and all(s.after_seq >= 0 for s in specs)


def test_stream_parameters() -> None:
    specs = parse_stream("a,b", "a:5,b:7")
    assert [(s.node_id, s.after_seq) for s in specs] == [("a", 5), ("b", 7)]
    assert [s.after_seq for s in parse_stream("a,b", "9")] == [9, 9]
    for bad in ("-1", "١٢٣", "1e400", "c:1", "9" * 400, "nan"):
        with pytest.raises(ServiceError) as exc:
            parse_stream("a,b", bad)
        assert exc.value.field == "from_seq"


def test_a_token_is_stored_only_as_its_hash_in_a_private_file(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    store = TokenStore(ws)
    token = store.create(WHO, "agent", ["read", "trade"], nodes=["a"], modes=["sandbox"])
    text = store.path.read_text()
    assert token not in text and token_hash(token) in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    grant = store.authenticate(token)
    assert grant is not None and grant.principal == Principal("agent", "api")
    assert grant.scopes == {"read", "trade"} and grant.nodes == {"a"}
    assert store.authenticate(token + "x") is None
    with pytest.raises(ServiceError) as twice:
        store.create(WHO, "agent", ["read"])
    assert twice.value.code == "conflict"
    store.revoke(WHO, "agent")
    assert store.authenticate(token) is None
    assert store.list()[0].revoked is not None
    for bad in (["reed"], [""], ["read", "root"]):
        with pytest.raises(ServiceError) as exc:
            store.create(WHO, "other", bad)
        assert exc.value.field == "scope"
    with pytest.raises(ServiceError):
        store.create(WHO, "x" * 65, ["read"])
    with pytest.raises(ServiceError):
        store.create(WHO, "other", ["read"], nodes=["../etc"])


def test_tokens_cli_prints_the_token_once(tmp_path: Path) -> None:
    from console.cli.main import cli

    ws = str(tmp_path / ".gateway")
    runner = CliRunner()
    made = runner.invoke(cli, ["-w", ws, "tokens", "create", "bot", "--scope", "read"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("gw_") and len(token) > 40
    listed = runner.invoke(cli, ["-w", ws, "tokens", "list", "--json"])
    assert token not in listed.output and json.loads(listed.stdout)[0]["name"] == "bot"
    bad = runner.invoke(cli, ["-w", ws, "tokens", "create", "bot2", "--scope", "write"])
    assert bad.exit_code == 2 and "scope" in bad.output
    assert runner.invoke(cli, ["-w", ws, "tokens", "revoke", "bot"]).exit_code == 0
    assert runner.invoke(cli, ["-w", ws, "tokens", "revoke", "bot"]).exit_code == 2


def test_serving_beyond_loopback_needs_tls(tmp_path: Path) -> None:
    from console.cli.main import cli

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
    check_bind("127.0.0.1", None, None)
    with pytest.raises(ServiceError) as exc:
        check_bind("0.0.0.0", None, None)
    assert exc.value.field == "--host"
    with pytest.raises(ServiceError):
        check_bind("127.0.0.1", tmp_path / "cert.pem", None)
    result = CliRunner().invoke(cli, ["-w", str(tmp_path), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--tls-cert" in result.output


def test_the_rate_limit_allows_a_burst_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(10)
    assert all(limiter.take("a") is None for _ in range(20))  # burst: twice the rate
    wait = limiter.take("a")
    assert wait is not None and 0 < wait <= 0.1 + 1e-9
    assert limiter.take("b") is None  # per token
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            RateLimiter(bad)


def test_serving_on_a_port_in_use_says_so_with_exit_2(tmp_path: Path) -> None:
    import socket

    from console.cli.main import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["-w", str(tmp_path), "serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "serving" not in result.output


def test_the_config_list_follows_every_change_on_disk(tmp_path: Path) -> None:
    from engine.config.store import ConfigStore
    from engine.demo import demo_sandbox
    from engine.services.configs import ConfigService

    ws = Workspace(tmp_path / ".gateway").ensure()
    service = ConfigService(ws)
    assert service.list() == []
    ConfigStore(ws).save(demo_sandbox(), deep=False)
    assert [(c.node_id, c.ok) for c in service.list()] == [("demo-sandbox", True)]
    path = ws.nodes_dir / "demo-sandbox" / "sandbox.json"
    path.write_text("{not json")  # changed by hand, behind the store's back
    (listed,) = service.list()
    assert not listed.ok and "invalid JSON" in listed.issues[0].message
    doc = {**demo_sandbox(), "description": "edited"}
    ConfigStore(ws).save(doc, deep=False)
    assert [c.description for c in service.list()] == ["edited"]
    path.unlink()
    assert service.list() == []


def test_the_cached_config_list_is_the_list_until_a_config_changes(tmp_path: Path) -> None:
    # GET /nodes answers from list_if_cached on the event loop; a changed config must send
    # it back to a full read (None), never serve the stale row.
    from engine.config.store import ConfigStore
    from engine.demo import demo_sandbox
    from engine.services.configs import ConfigService

    ws = Workspace(tmp_path).ensure()
    ConfigStore(ws).save(demo_sandbox(), deep=False)
    service = ConfigService(ws)
    assert service.list_if_cached() is None  # nothing read yet
    full = service.list()
    assert service.list_if_cached() == full
    changed = {**demo_sandbox(), "trader_id": "OTHER-002"}
    ConfigStore(ws).save(changed, deep=False)
    path = ConfigStore(ws).path_for("demo-sandbox", "sandbox")
    path.touch()  # a new mtime even within the filesystem's timestamp granularity
    if service.list_if_cached() is not None:  # same size and mtime: nothing to tell apart
        return
    assert service.list() != [] and service.list_if_cached() is not None
