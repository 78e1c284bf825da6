"""Which Redis a node uses, the workspace's own redis-server, and refusals (issue 19).

Real redis-server processes: the workspace's own (started by the code under test) and one
on a free port for URLs. No node runs here except one launch that must be refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.state.namespace import LAYOUT_KEY, TRADERS_KEY, NamespaceConflict
from engine.state.prepare import prepare_node_redis
from engine.state.redis_server import (
    RedisUnavailable,
    ServerPaths,
    ensure_workspace_redis,
    read_info,
    stop_workspace_redis,
)
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.redis_support import RedisServer, free_port

pytestmark = pytest.mark.timeout(90)

RACE = (
    "import sys, json; from pathlib import Path;"
    "from engine.state.redis_server import ensure_workspace_redis, read_info;"
    "from engine.workspace import Workspace;"
    "ws = Workspace(Path(sys.argv[1])); t = ensure_workspace_redis(ws);"
    "print(json.dumps({'port': t.port, 'pid': read_info(ws)['pid']}))"
)


def _servers_in(directory: Path) -> list[int]:
    out = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "redis-server":
            try:
                if proc.cwd() == str(directory):
                    out.append(proc.pid)
            except psutil.Error:
                continue
    return out


def test_two_racing_launchers_start_one_server_that_outlives_them(workspace: Workspace) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(workspace.root)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(Path(__file__).parents[2]),
        )
        for _ in range(2)
    ]
    answers = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    try:
        assert answers[0] == answers[1], answers  # both got the one server
        paths = ServerPaths.of(workspace)
        assert _servers_in(paths.data_dir) == [answers[0]["pid"]]  # alive after they exited
        assert paths.socket.exists() and oct(workspace.run_dir.stat().st_mode)[-3:] == "700"
        assert (paths.data_dir / "appendonlydir").is_dir()
        info = read_info(workspace)
        assert info is not None and info["appendfsync"] == "everysec"
    finally:
        stop_workspace_redis(workspace)


def test_a_killed_server_comes_back_on_its_port_with_its_data(workspace: Workspace) -> None:
    first = ensure_workspace_redis(workspace)
    try:
        client = first.client()
        client.set("probe", "kept")
        time.sleep(1.2)  # appendfsync everysec: on disk within a second
        os.kill(read_info(workspace)["pid"], signal.SIGKILL)  # type: ignore[index]
        time.sleep(0.2)
        again = ensure_workspace_redis(workspace)
        assert again.port == first.port  # running nodes' connections find it again
        assert again.client().get("probe") == b"kept"
    finally:
        stop_workspace_redis(workspace)


def test_no_redis_server_binary_is_a_clear_error(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RedisUnavailable) as err:
        ensure_workspace_redis(workspace)
    message = str(err.value)
    assert "redis-server not found on PATH" in message
    assert str(workspace.root / "redis") in message and "apt-get install redis-server" in message


def _sandbox(node_id: str, trader_id: str, **extra: object) -> dict[str, object]:
    doc = {**demo_sandbox(), "node_id": node_id, "trader_id": trader_id, **extra}
    doc.pop("restart", None)
    return doc


def test_a_redis_url_that_does_not_answer_stops_the_launch(workspace: Workspace) -> None:
    ConfigStore(workspace).save(_sandbox("down", "DOWN-001"), deep=False)
    url = f"redis://127.0.0.1:{free_port()}"
    workspace.settings_path.write_text(json.dumps({"redis": {"url": url}}))
    r = gateway("launch", "down", workspace=workspace.root, timeout=90)
    assert r.code == 1, (r.out, r.err)
    assert url in r.err and "settings.json redis.url" in r.err and "does not answer" in r.err
    assert "Traceback" not in r.err
    assert read_info(workspace) is None  # no fallback: not even the workspace's own server
    runs = gateway("runs", "list", "down", "--json", workspace=workspace.root)
    assert json.loads(runs.out)[0]["state"] == "failed"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:hunter2@127.0.0.1:6390", "no password in a file"),
        ("http://127.0.0.1:6390", "redis://HOST:PORT"),
        ("redis://127.0.0.1:6390/3", "database 0"),
        ("redis+unix:///tmp/r.sock", "redis://HOST:PORT"),
    ],
)
def test_a_bad_redis_url_in_a_node_config_is_refused_with_exit_2(
    workspace: Workspace, url: str, expected: str
) -> None:
    doc = _sandbox("bad-url", "BAD-001", redis_url=url)
    r = gateway("nodes", "create", "-f", "-", workspace=workspace.root, stdin=json.dumps(doc))
    assert r.code == 2, r.err
    assert "redis_url" in r.err and expected in r.err
    assert "hunter2" not in r.err + r.out
    assert not (workspace.nodes_dir / "bad-url").exists()


def test_two_node_configs_with_one_trader_id_are_refused(workspace: Workspace) -> None:
    ConfigStore(workspace).save(_sandbox("first", "SAME-001"), deep=False)
    doc = _sandbox("second", "SAME-001")
    r = gateway("nodes", "create", "-f", "-", workspace=workspace.root, stdin=json.dumps(doc))
    assert r.code == 2, r.err
    assert "trader_id" in r.err and "'first'" in r.err and "SAME-001" in r.err
    # A file written behind the store's back is refused at launch, before any host starts.
    path = workspace.nodes_dir / "second" / "sandbox.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    r = gateway("launch", "second", workspace=workspace.root)
    assert r.code == 2 and "trader_id" in r.err, r.err


def test_two_workspaces_on_one_redis_never_share_a_trader_id(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    ws_a = Workspace(tmp_path / "a" / ".gateway").ensure()
    ws_b = Workspace(tmp_path / "b" / ".gateway").ensure()
    node = _sandbox("shared", "SHARED-001", redis_url=redis_server.url)
    a = ConfigStore(ws_a)
    a.save(node, deep=False)
    b = ConfigStore(ws_b)
    b.save(node, deep=False)
    prepared = prepare_node_redis(ws_a, a.get("shared"))
    assert prepared.target.url == redis_server.url
    assert prepare_node_redis(ws_a, a.get("shared")).target.port == redis_server.port  # again
    with pytest.raises(NamespaceConflict) as err:
        prepare_node_redis(ws_b, b.get("shared"))
    assert str(ws_a.root) in str(err.value) and "SHARED-001" in str(err.value)
    client = prepared.target.client()
    assert client.get(LAYOUT_KEY) == b"1"
    assert json.loads(client.hget(TRADERS_KEY, "SHARED-001"))["path"] == str(ws_a.root)
    client.set(LAYOUT_KEY, 2)  # a newer gateway's layout: refused, nothing changed
    try:
        with pytest.raises(NamespaceConflict, match="newer"):
            prepare_node_redis(ws_a, a.get("shared"))
    finally:
        client.set(LAYOUT_KEY, 1)


def test_events_stored_twice_are_dropped_before_a_node_loads_them(
    redis_server: RedisServer,
) -> None:
    from engine.state.integrity import dedupe_key, drop_duplicate_events

    client = redis.Redis(port=redis_server.port)
    prefix = "trader-DUPE-001:"
    client.rpush(prefix + "orders:O-1", b"init", b"sub", b"init", b"sub", b"fill")
    client.rpush(prefix + "orders:O-2", b"init", b"sub")
    client.rpush(prefix + "positions:P-1", b"fill", b"fill")
    client.set(prefix + "accounts:odd", "not a list")  # not ours to touch
    client.rpush("trader-OTHER-001:orders:O-1", b"x", b"x")  # another trader's
    done = drop_duplicate_events(client, "DUPE-001")
    assert done["checked"] == 4
    assert sorted(done["rewritten"]) == [prefix + "orders:O-1", prefix + "positions:P-1"]
    assert client.lrange(prefix + "orders:O-1", 0, -1) == [b"init", b"sub", b"fill"]
    assert client.lrange("trader-OTHER-001:orders:O-1", 0, -1) == [b"x", b"x"]
    assert client.get(prefix + "accounts:odd") == b"not a list"
    client.rpush(prefix + "orders:O-2", b"sub")
    assert dedupe_key(client, prefix + "orders:O-2") is True
    assert dedupe_key(client, prefix + "orders:O-2") is False
    assert client.lrange(prefix + "orders:O-2", 0, -1) == [b"init", b"sub"]


def test_a_deleted_nodes_trader_id_passes_to_the_node_that_now_has_it(
    workspace: Workspace, redis_server: RedisServer
) -> None:
    store = ConfigStore(workspace)
    store.save(_sandbox("one", "HANDED-001", redis_url=redis_server.url), deep=False)
    prepare_node_redis(workspace, store.get("one"))
    two = _sandbox("two", "HANDED-001", redis_url=redis_server.url)
    path = workspace.nodes_dir / "two" / "sandbox.json"  # behind the store's back
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(two))
    with pytest.raises(NamespaceConflict, match="'one'"):
        prepare_node_redis(workspace, store.get("two"))  # "one" still has it
    store.delete("one")
    prepare_node_redis(workspace, store.get("two"))
    owner = redis.Redis(port=redis_server.port).hget(TRADERS_KEY, "HANDED-001")
    assert json.loads(owner)["node_id"] == "two"
