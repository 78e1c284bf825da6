"""The node config store: atomic, validated writes; broken files reported, not fatal."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from engine.config.issues import ConfigInvalid
from engine.config.migrations import MIGRATIONS, MigrationError, migrate
from engine.config.model import SCHEMA_VERSION, NodeConfig
from engine.config.store import AmbiguousNode, ConfigStore, NodeNotFound
from engine.demo import demo_backtest, demo_sandbox, init_demo
from engine.workspace import Workspace


@pytest.fixture
def store(workspace: Workspace) -> ConfigStore:
    return ConfigStore(workspace)


def test_save_writes_node_dir_mode_file_with_schema_version(store: ConfigStore) -> None:
    store.save(demo_backtest())
    path = store.workspace.nodes_dir / "demo-backtest" / "backtest.json"
    stored = json.loads(path.read_text())
    assert stored["schema_version"] == SCHEMA_VERSION
    assert store.get("demo-backtest") == NodeConfig.model_validate(demo_backtest())


def test_invalid_update_never_replaces_a_valid_config(store: ConfigStore) -> None:
    store.save(demo_backtest())
    path = store.path_for("demo-backtest", "backtest")
    before = path.read_bytes()
    bad = demo_backtest() | {"trader_id": "nohyphen"}
    with pytest.raises(ConfigInvalid) as info:
        store.save(bad)
    assert [i.path for i in info.value.errors] == ["trader_id"]
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_create_refuses_to_overwrite_unless_asked(store: ConfigStore) -> None:
    store.save(demo_backtest())
    with pytest.raises(FileExistsError):
        store.save(demo_backtest() | {"description": "new"}, overwrite=False)
    store.save(demo_backtest() | {"description": "new"}, overwrite=True)
    assert store.get("demo-backtest").description == "new"


def test_corrupt_and_invalid_files_are_reported_and_others_still_load(
    store: ConfigStore,
) -> None:
    store.save(demo_backtest())
    broken = store.workspace.nodes_dir / "broken" / "backtest.json"
    broken.parent.mkdir()
    broken.write_text('{"node_id": "broken", ')
    invalid = store.workspace.nodes_dir / "invalid" / "backtest.json"
    invalid.parent.mkdir()
    invalid.write_text(json.dumps(demo_backtest() | {"node_id": "invalid", "log_level": "LOUD"}))
    loaded = {s.node_id: s for s in store.all()}
    assert loaded["demo-backtest"].ok
    assert not loaded["broken"].ok and "invalid JSON" in loaded["broken"].issues[0].message
    assert loaded["broken"].path == broken
    assert [i.path for i in loaded["invalid"].issues] == ["log_level"]
    with pytest.raises(ConfigInvalid) as info:
        store.get("invalid")
    assert info.value.source == str(invalid)


def test_file_whose_id_does_not_match_its_directory_is_invalid(store: ConfigStore) -> None:
    path = store.workspace.nodes_dir / "other" / "backtest.json"
    path.parent.mkdir()
    path.write_text(json.dumps(demo_backtest()))
    (stored,) = store.all()
    assert not stored.ok and stored.issues[0].path == "node_id"


@pytest.mark.parametrize(
    "node_id", ["../escape", "a/b", "/etc/passwd", "..", "", "A", "a" * 65, "a\x00b", "-a", "a-"]
)
def test_node_id_cannot_address_a_path_outside_the_store(store: ConfigStore, node_id: str) -> None:
    with pytest.raises(ConfigInvalid) as info:
        store.path_for(node_id, "backtest")
    assert info.value.issues[0].path == "node_id"
    with pytest.raises(ConfigInvalid):
        store.save(demo_backtest() | {"node_id": node_id})


def test_several_modes_per_node_need_a_choice(store: ConfigStore) -> None:
    store.save(demo_backtest())
    store.save(demo_sandbox() | {"node_id": "demo-backtest"}, deep=False)
    assert [m.value for m in store.modes("demo-backtest")] == ["backtest", "sandbox"]
    with pytest.raises(AmbiguousNode, match="--mode"):
        store.get("demo-backtest")
    assert store.get("demo-backtest", "sandbox").mode.value == "sandbox"


def test_delete_removes_the_file_and_the_empty_dir(store: ConfigStore) -> None:
    store.save(demo_backtest())
    store.delete("demo-backtest")
    assert not (store.workspace.nodes_dir / "demo-backtest").exists()
    with pytest.raises(NodeNotFound):
        store.get("demo-backtest")


def test_demo_init_never_overwrites_user_edits(workspace: Workspace) -> None:
    store = ConfigStore(workspace)
    init_demo(workspace)
    store.save(demo_backtest() | {"description": "mine"})
    assert init_demo(workspace) == []
    assert store.get("demo-backtest").description == "mine"


class TestMigrations:
    def test_registry_reaches_the_current_version(self) -> None:
        assert all(v in MIGRATIONS for v in range(SCHEMA_VERSION))

    def test_v0_document_is_migrated_on_load_and_by_migrate_all(self, store: ConfigStore) -> None:
        doc: dict[str, Any] = demo_backtest()
        del doc["strategies"]
        doc["strategy"] = demo_backtest()["strategies"][0]
        doc["id"] = doc.pop("node_id")
        path = store.workspace.nodes_dir / "demo-backtest" / "backtest.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(doc))
        loaded = store.load("demo-backtest")
        assert loaded.ok and loaded.migrated_from == 0
        assert json.loads(path.read_text()).get("schema_version") is None  # load does not write
        assert store.migrate_all() == [(path, 0)]
        assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
        assert store.get("demo-backtest") == NodeConfig.model_validate(demo_backtest())

    def test_newer_schema_is_refused_with_advice(self, store: ConfigStore) -> None:
        with pytest.raises(MigrationError, match="newer than this gateway"):
            migrate(demo_backtest() | {"schema_version": SCHEMA_VERSION + 1})
        with pytest.raises(ConfigInvalid) as info:
            store.save(demo_backtest() | {"schema_version": 99})
        assert info.value.issues[0].path == "schema_version"

    @pytest.mark.parametrize("bad", [-1, "1", 1.5, True])
    def test_malformed_schema_version(self, bad: Any) -> None:
        with pytest.raises(MigrationError, match="whole number"):
            migrate({"schema_version": bad})


def _writer(root: str, description: str, rounds: int) -> None:
    store = ConfigStore(Workspace(Path(root)))
    for i in range(rounds):
        store.save(demo_backtest() | {"description": f"{description} {i}" * 40}, deep=False)


def test_concurrent_writers_never_leave_a_torn_file(workspace: Workspace) -> None:
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_writer, args=(str(workspace.root), name, 40))
        for name in ("alpha", "beta", "gamma")
    ]
    for p in procs:
        p.start()
    store = ConfigStore(workspace)
    seen = 0
    path = store.path_for("demo-backtest", "backtest")
    while any(p.is_alive() for p in procs):
        if path.exists():
            json.loads(path.read_text())  # never a partial document
            seen += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert store.get("demo-backtest").description.split(" ")[0] in {"alpha", "beta", "gamma"}
    assert seen > 0
    assert [p.name for p in path.parent.iterdir()] == ["backtest.json"]
