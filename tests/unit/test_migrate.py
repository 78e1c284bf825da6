"""Schema versions and `engine.migrate`: every migration from a stored fixture of every
earlier version, read back by the current code; hostile versions and files; the backup,
the lock, the stamp written last, and nothing lost when a write fails."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.migrate import apply as apply_mod
from engine.migrate.apply import MigrateFailed, migrate
from engine.migrate.guard import WorkspaceRefused, check_workspace
from engine.migrate.kinds import KINDS, RUN_META, TOKENS, DataKind, redis_layout_steps
from engine.migrate.plan import plan
from engine.migrate.stamp import WORKSPACE_VERSION, read_stamp, stamp_path, write_stamp
from engine.migrate.versions import NewerVersion, VersionError, check_version, read_version
from engine.runs import STATES, load_meta
from engine.workspace import Workspace

FIXTURES = Path(__file__).parent.parent / "fixtures" / "migrations"
RUN_ID = "20261101T120000123Z-a1b2c3"

# Where a fixture of each kind goes in a workspace (its canonical path).
PLACES = {
    "node_config": "nodes/demo-backtest/backtest.json",
    "run_meta": f"runs/demo-sandbox/{RUN_ID}/meta.json",
    "audit": "audit/audit.jsonl",
    "adapter_profile": "adapters/binance-test.json",
    "risk_state": "state/demo-sandbox/risk.json",
    "settings": "settings.json",
    "tokens": "tokens.json",
    "keyring_choice": "keyring.json",
}


def read_with_current_code(kind: str, ws: Workspace) -> Any:
    """Read the kind's file in ``ws`` the way the gateway does; raise if it cannot."""
    if kind == "node_config":
        from engine.config.store import ConfigStore

        return ConfigStore(ws).get("demo-backtest", "backtest")
    if kind == "run_meta":
        return load_meta(ws.runs_dir / "demo-sandbox" / RUN_ID)
    if kind == "audit":
        from engine.audit.log import AuditLog
        from engine.audit.verify import verify

        report = verify(AuditLog.of(ws), workers=1)
        assert report.ok, report.problem
        return report
    if kind == "adapter_profile":
        from engine.adapters.store import ProfileStore

        return ProfileStore(ws).get("binance-test")
    if kind == "risk_state":
        from engine.risk.store import load

        return load(ws, "demo-sandbox")
    if kind == "settings":
        from console.settings import load_settings

        loaded = load_settings(ws.settings_path)
        assert loaded.error is None, loaded.error
        return loaded.settings
    if kind == "tokens":
        from engine.services.tokens import TokenStore

        return TokenStore(ws).list()
    if kind == "keyring_choice":
        from engine.credentials.backend import read_settings

        return read_settings(ws)
    raise AssertionError(kind)


def fixtures() -> list[tuple[str, int, Path]]:
    out = []
    for kind_dir in sorted(FIXTURES.iterdir()):
        for version_dir in sorted(kind_dir.iterdir()):
            for file in sorted(version_dir.iterdir()):
                out.append((kind_dir.name, int(version_dir.name[1:]), file))
    return out


def first_version(kind: DataKind) -> int:
    return min(kind.migrations, default=kind.current)


def test_every_kind_has_a_fixture_of_every_version() -> None:
    stored = {(k, v) for k, v, _ in fixtures()}
    for kind in KINDS.values():
        for version in range(first_version(kind), kind.current + 1):
            assert (kind.name, version) in stored, (
                f"add tests/fixtures/migrations/{kind.name}/v{version}/"
            )


@pytest.mark.parametrize(
    ("kind", "version", "fixture"),
    [f for f in fixtures() if f[0] != "redis_layout"],
    ids=lambda x: x.name if isinstance(x, Path) else str(x),
)
def test_fixture_migrates_to_a_doc_the_current_code_reads(
    tmp_path: Path, kind: str, version: int, fixture: Path
) -> None:
    ws = Workspace(tmp_path / ".gateway")
    target = ws.root / PLACES[kind]
    target.parent.mkdir(parents=True)
    shutil.copyfile(fixture, target)
    before = target.read_bytes()

    found = plan(ws)
    assert found.problems == []
    current = KINDS[kind].current
    if version < current:
        assert [(c.path, c.from_version, c.to_version) for c in found.changes] == [
            (target, version, current)
        ]
    else:
        assert found.changes == []

    outcome = migrate(ws)
    assert outcome.stamped and read_stamp(ws).version == WORKSPACE_VERSION
    read_with_current_code(kind, ws)
    if version < current:
        backup = outcome.backup
        assert backup is not None
        assert (backup / "files" / PLACES[kind]).read_bytes() == before
        doc = json.loads(target.read_text())
        assert doc[KINDS[kind].field] == current
    else:
        assert target.read_bytes() == before  # a current file is never rewritten
    again = plan(ws)
    assert again.nothing_to_do  # idempotent: a migrated workspace has nothing left


def test_redis_layout_hook_is_a_no_op_at_version_1() -> None:
    doc = json.loads((FIXTURES / "redis_layout" / "v1" / "layout.json").read_text())
    assert redis_layout_steps(str(doc["layout"])) == []
    assert redis_layout_steps(None) == []  # a new Redis: the store writes the version
    assert redis_layout_steps(b"1") == []
    with pytest.raises(NewerVersion, match=r"gateway:layout: layout 2 is newer .*\(1\)"):
        redis_layout_steps(b"2")
    for bad in (b"-1", b"x", b"", "1" * 5000, b"\xff"):
        with pytest.raises(VersionError, match="gateway:layout"):
            redis_layout_steps(bad)


# -- property tests ------------------------------------------------------------------------

_text = st.text(min_size=1, max_size=20)
_slug = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_json_scalar = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)

meta_v0 = st.fixed_dictionaries(
    {
        "node_id": _slug,
        "run_id": st.just(RUN_ID),
        "mode": st.sampled_from(["backtest", "sandbox", "live"]),
    },
    optional={
        "state": st.sampled_from(STATES),
        "started": st.none() | _text,
        "ended": st.none() | _text,
        "pid": st.none() | st.integers(1, 2**22),
        "exit_code": st.none() | st.integers(-255, 255),
        "error": st.none() | _text,
        "extra": st.dictionaries(_text, _json_scalar, max_size=3),
    },
)


@settings(deadline=None)  # file system and a loaded 2-core machine
@given(meta_v0)
def test_any_v0_run_meta_migrates_to_a_v1_the_reader_reads_the_same(doc: dict[str, Any]) -> None:
    frozen = json.dumps(doc, sort_keys=True)
    new = RUN_META.migrate(doc, 0)
    assert json.dumps(doc, sort_keys=True) == frozen  # pure: the input is untouched
    assert new["schema_version"] == 1
    assert RUN_META.migrate(new, 1) == new  # nothing to do at the current version
    assert RUN_META.migrations[0](new) == new  # stamping twice is stamping once
    assert {k: v for k, v in new.items() if k != "schema_version"} == doc


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(meta_v0)
def test_any_v0_run_meta_file_migrates_and_reads_back(tmp_path: Path, doc: dict[str, Any]) -> None:
    root = tmp_path / f"ws{time.monotonic_ns()}"
    ws = Workspace(root)
    run_dir = ws.runs_dir / "n" / RUN_ID
    run_dir.mkdir(parents=True)
    (run_dir / "meta.json").write_text(json.dumps(doc))
    old = load_meta(run_dir)
    migrate(ws)
    assert load_meta(run_dir) == old
    assert plan(ws).nothing_to_do
    shutil.rmtree(root)


token_record = st.fixed_dictionaries(
    {
        "sha256": st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
        "scopes": st.lists(st.sampled_from(["read", "trade", "admin"]), unique=True),
        "nodes": st.none() | st.lists(_slug, max_size=3),
        "modes": st.none() | st.lists(st.sampled_from(["backtest", "sandbox", "live"]), max_size=3),
        "created": _text,
        "revoked": st.none() | _text,
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True), token_record, max_size=4
    )
)
def test_any_v0_tokens_file_migrates_and_lists_the_same(
    tmp_path: Path, tokens: dict[str, Any]
) -> None:
    from engine.services.tokens import TokenStore

    root = tmp_path / f"ws{time.monotonic_ns()}"
    ws = Workspace(root)
    root.mkdir()
    doc = {"tokens": tokens}
    new = TOKENS.migrate(doc, 0)
    assert new == {"schema_version": 1, "tokens": tokens} and TOKENS.migrations[0](new) == new
    (root / "tokens.json").write_text(json.dumps(doc))
    before = TokenStore(ws).list()
    migrate(ws)
    assert TokenStore(ws).list() == before
    assert json.loads((root / "tokens.json").read_text())["schema_version"] == 1
    shutil.rmtree(root)


@settings(deadline=None)  # file system and a loaded 2-core machine
@given(_slug)
def test_any_v0_node_config_migrates_to_a_valid_v1(node_id: str) -> None:
    from engine.config.model import NodeConfig

    doc = json.loads((FIXTURES / "node_config" / "v0" / "backtest.json").read_text())
    doc["id"] = node_id
    new = KINDS["node_config"].migrate(doc, 0)
    config = NodeConfig.model_validate(new)
    assert config.node_id == node_id and len(config.strategies) == 1
    assert KINDS["node_config"].migrate(new, 1) == new


@settings(deadline=None)  # file system and a loaded 2-core machine
@given(_json)
def test_a_version_is_a_whole_number_or_a_clear_error(value: Any) -> None:
    try:
        version = check_version({"v": value}, "v", "x/f.json", 1, missing=None)
    except NewerVersion as exc:
        assert isinstance(value, int) and value > 1
        assert str(exc).startswith("x/f.json: v ") and "newer than this gateway reads (1)" in str(
            exc
        )
    except VersionError as exc:
        assert str(exc).startswith("x/f.json: v")
        assert not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1)
    else:
        assert version == value and type(value) is int and 0 <= value <= 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (10**40, r"v 10000000… \(41 digits\) is newer than this gateway reads \(1\)"),
        (2, r"v 2 is newer"),
        (-1, r"v: expected a whole number >= 0, got -1"),
        ("1", r'v: expected a whole number, got "1" \(string\)'),
        (1.0, r"v: expected a whole number, got 1.0 \(number\)"),
        (True, r"v: expected a whole number, got true \(boolean\)"),
        (None, r"v: expected a whole number, got null \(null\)"),
    ],
)
def test_hostile_versions_are_named(value: Any, message: str) -> None:
    with pytest.raises(VersionError, match=message):
        check_version({"v": value}, "v", "f.json", 1, missing=None)
    with pytest.raises(VersionError, match=r"f\.json: v is missing"):
        read_version({}, "v", "f.json", missing=None)
    with pytest.raises(VersionError, match="expected a JSON object, got array"):
        read_version([], "v", "f.json", missing=0)


# -- the workspace -------------------------------------------------------------------------


def legacy_workspace(root: Path) -> Workspace:
    """A workspace from before versions: every v0 fixture, every v1 one, no schema.json."""
    ws = Workspace(root)
    for kind, version, fixture in fixtures():
        if kind == "redis_layout" or (
            version > 0 and (kind, 0) in {(k, v) for k, v, _ in fixtures()}
        ):
            continue
        target = root / PLACES[kind]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fixture, target)
    return ws


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not p.name.endswith(".lock")
    }


def test_a_legacy_workspace_is_read_in_place_and_migrated_whole(tmp_path: Path) -> None:
    ws = legacy_workspace(tmp_path / ".gateway")
    assert check_workspace(ws).version == 0 and "gateway migrate" in (
        check_workspace(ws).hint() or ""
    )
    before = snapshot(ws.root)
    dry = plan(ws)
    assert sorted(c.kind for c in dry.changes) == ["node_config", "run_meta", "tokens"]
    assert snapshot(ws.root) == before  # planning writes nothing

    outcome = migrate(ws)
    assert outcome.stamped and len(outcome.written) == 3
    assert check_workspace(ws).hint() is None
    manifest = json.loads((outcome.backup / "manifest.json").read_text())  # type: ignore[operator]
    assert {f["path"] for f in manifest["files"]} == {
        PLACES[k] for k in ("node_config", "run_meta", "tokens")
    }
    for rel in manifest["files"]:
        assert (outcome.backup / "files" / rel["path"]).read_bytes() == before[rel["path"]]  # type: ignore[operator]
    for kind in PLACES:
        read_with_current_code(kind, ws)
    assert migrate(ws).plan.nothing_to_do


def test_a_failed_write_puts_back_every_file_and_leaves_no_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = legacy_workspace(tmp_path / ".gateway")
    before = snapshot(ws.root)
    real = apply_mod._install  # type: ignore[attr-defined]
    calls: list[Path] = []

    def fail_on_second(tmp: Path, path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:  # the first file is already renamed over its target
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        real(tmp, path)

    monkeypatch.setattr(apply_mod, "_install", fail_on_second)
    with pytest.raises(MigrateFailed, match=r"read-only file system.*put back") as info:
        migrate(ws)
    assert len(info.value.remaining) == 3
    after = {k: v for k, v in snapshot(ws.root).items() if not k.startswith("backups/")}
    assert after == before and not stamp_path(ws).exists()  # no staged file left either
    monkeypatch.undo()
    assert migrate(ws).stamped  # and it completes once the disk takes writes


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"node_id": "n", "run_id": "x", "mode": "backtest", "\xff": 1}', "not UTF-8 text"),
        (b'{"schema_version": 1' + b"0" * 40 + b', "node_id": "n"}', r"\(41 digits\) is newer"),
        (b'{"schema_version": -1}', "expected a whole number >= 0, got -1"),
        (b'{"schema_version": "1"}', 'got "1" \\(string\\)'),
        (b'{"schema_version": 2}', r"schema_version 2 is newer than this gateway reads \(1\)"),
        (b"[1]", "expected a JSON object, got array"),
        (b'{"schema_version": ' + b"9" * 5000 + b"}", "a number longer than 4300 digits"),
    ],
)
def test_a_hostile_file_stops_the_migration_and_nothing_is_written(
    tmp_path: Path, content: bytes, message: str
) -> None:
    ws = legacy_workspace(tmp_path / ".gateway")
    bad = ws.runs_dir / "other" / RUN_ID / "meta.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(content)
    before = snapshot(ws.root)
    outcome = migrate(ws)
    assert [p.path for p in outcome.plan.problems] == [bad]
    assert str(bad) in outcome.plan.problems[0].message or bad == outcome.plan.problems[0].path
    import re

    assert re.search(message, outcome.plan.problems[0].message), outcome.plan.problems[0].message
    assert snapshot(ws.root) == before and not (ws.root / "backups").exists()


def test_symlinks_are_not_followed_or_replaced(tmp_path: Path) -> None:
    ws = legacy_workspace(tmp_path / ".gateway")
    outside = tmp_path / "elsewhere"
    (outside / RUN_ID).mkdir(parents=True)
    meta = json.loads((FIXTURES / "run_meta" / "v0" / "meta.json").read_text())
    (outside / RUN_ID / "meta.json").write_text(json.dumps(meta))
    (ws.runs_dir / "linked").symlink_to(outside)  # a node's runs live elsewhere
    link = ws.root / "adapters" / "linked.json"
    link.symlink_to(ws.root / "adapters" / "binance-test.json")
    before = snapshot(tmp_path)
    problems = {p.path: p.message for p in migrate(ws).plan.problems}
    assert "outside the workspace" in problems[ws.runs_dir / "linked" / RUN_ID / "meta.json"]
    assert "is a symbolic link" in problems[link] and link.is_symlink()
    assert snapshot(tmp_path) == before


def test_a_second_migrate_waits_then_is_told(tmp_path: Path) -> None:
    ws = legacy_workspace(tmp_path / ".gateway")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock\n"
            "with FileLock(sys.argv[1]):\n print('held', flush=True); time.sleep(30)",
            str(ws.root / "migrate.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = snapshot(ws.root)
        with pytest.raises(MigrateFailed, match="another `gateway migrate` holds"):
            migrate(ws, lock_wait_s=0.2)
        assert snapshot(ws.root) == before
    finally:
        holder.kill()
        holder.wait()
    assert migrate(ws).stamped


def test_a_running_node_host_stops_the_migration(tmp_path: Path) -> None:
    ws = legacy_workspace(tmp_path / ".gateway")
    host = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", RUN_ID])
    try:
        ws.run_dir.mkdir(parents=True)
        (ws.run_dir / "demo-sandbox.json").write_text(
            json.dumps({"pid": host.pid, "run_id": RUN_ID})
        )
        before = snapshot(ws.root)
        with pytest.raises(MigrateFailed, match=r"node hosts are running \(demo-sandbox\)"):
            migrate(ws)
        assert snapshot(ws.root) == before
    finally:
        host.kill()
        host.wait()
    assert migrate(ws).stamped


# -- entry points and readers --------------------------------------------------------------


def newer_stamp(ws: Workspace, version: Any = 2) -> None:
    ws.root.mkdir(parents=True, exist_ok=True)
    write_stamp(ws)
    doc = json.loads(stamp_path(ws).read_text())
    doc["schema_version"] = version
    stamp_path(ws).write_text(json.dumps(doc))


@pytest.mark.parametrize("version", [2, 10**40])
def test_a_newer_workspace_is_refused_by_the_service_core(tmp_path: Path, version: int) -> None:
    from engine.services import ServiceError, Services

    ws = Workspace(tmp_path / ".gateway")
    newer_stamp(ws, version)
    before = snapshot(ws.root)
    with pytest.raises(WorkspaceRefused, match=r"schema.json: schema_version .* is newer"):
        check_workspace(ws)
    with pytest.raises(ServiceError, match=r"schema.json: schema_version .* is newer") as info:
        Services(ws)
    assert info.value.exit_code == 2
    assert migrate(ws).plan.problems and snapshot(ws.root) == before


def test_a_newer_kind_in_the_stamp_is_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway")
    ws.root.mkdir()
    write_stamp(ws)
    doc = json.loads(stamp_path(ws).read_text())
    doc["kinds"]["run_meta"] = 5
    stamp_path(ws).write_text(json.dumps(doc))
    with pytest.raises(
        WorkspaceRefused, match=r"kinds.run_meta 5 is newer than this gateway reads \(1\)"
    ):
        check_workspace(ws)


def test_a_new_workspace_is_stamped_and_an_old_one_is_not(tmp_path: Path) -> None:
    new = Workspace(tmp_path / "new").ensure()
    assert read_stamp(new).version == WORKSPACE_VERSION and check_workspace(new).hint() is None
    old = legacy_workspace(tmp_path / "old").ensure()
    assert not stamp_path(old).exists() and check_workspace(old).version == 0
    assert check_workspace(Workspace(tmp_path / "absent")).version == WORKSPACE_VERSION


def test_readers_refuse_a_newer_file_by_name_and_leave_it(tmp_path: Path) -> None:
    from console.settings import load_settings
    from engine.adapters.store import ProfileCorrupt, ProfileStore
    from engine.audit.log import AuditLog, AuditWriteError
    from engine.principal import Principal
    from engine.risk.store import RiskStateError, load
    from engine.services import ServiceError
    from engine.services.tokens import TokenStore

    ws = legacy_workspace(tmp_path / ".gateway")
    for rel, field in [
        (PLACES["run_meta"], "schema_version"),
        (PLACES["risk_state"], "schema_version"),
        (PLACES["adapter_profile"], "version"),
        (PLACES["settings"], "schema_version"),
        (PLACES["tokens"], "schema_version"),
        (PLACES["keyring_choice"], "schema_version"),
    ]:
        path = ws.root / rel
        doc = json.loads(path.read_text())
        doc[field] = 3
        path.write_text(json.dumps(doc))
    audit = ws.root / PLACES["audit"]
    audit.write_bytes(audit.read_bytes().replace(b'{"v":1,', b'{"v":3,'))
    before = snapshot(ws.root)
    newer = r"3 is newer than this gateway reads \(1\)"
    with pytest.raises(ValueError, match=f"meta.json: schema_version {newer}"):
        load_meta(ws.runs_dir / "demo-sandbox" / RUN_ID)
    with pytest.raises(RiskStateError, match=f"risk.json: schema_version {newer}"):
        load(ws, "demo-sandbox")
    with pytest.raises(ProfileCorrupt, match=f"binance-test.json: version {newer}"):
        ProfileStore(ws).get("binance-test")
    loaded = load_settings(ws.settings_path)
    assert not loaded.writable and "settings.json: schema_version 3 is newer" in (
        loaded.error or ""
    )
    with pytest.raises(ServiceError, match=f"tokens.json: schema_version {newer}"):
        TokenStore(ws).list()
    from engine.credentials.backend import CredentialsError, read_settings

    with pytest.raises(CredentialsError, match=f"keyring.json: schema_version {newer}"):
        read_settings(ws)
    with pytest.raises(AuditWriteError, match="has v 3, newer than this gateway writes"):
        AuditLog.of(ws).append(Principal("ana", "cli"), "x")
    problems = plan(ws).problems
    assert len(problems) == 6 + 1 and all("newer" in p.message for p in problems)
    assert snapshot(ws.root) == before


def test_new_files_carry_their_version(tmp_path: Path) -> None:
    from engine.principal import Principal
    from engine.runs import create_run
    from engine.services.tokens import TokenStore

    ws = Workspace(tmp_path / ".gateway").ensure()
    run = create_run(ws, "n", "backtest")
    assert json.loads((run.path / "meta.json").read_text())["schema_version"] == 1
    TokenStore(ws).create(Principal("ana", "cli"), "t", ["read"])
    assert json.loads((ws.root / "tokens.json").read_text())["schema_version"] == 1
    assert plan(ws).nothing_to_do


def test_a_required_version_that_is_missing_is_named(tmp_path: Path) -> None:
    ws = legacy_workspace(tmp_path / ".gateway")
    risk = ws.root / PLACES["risk_state"]
    doc = json.loads(risk.read_text())
    del doc["schema_version"]
    risk.write_text(json.dumps(doc))
    before = snapshot(ws.root)
    problems = migrate(ws).plan.problems
    assert [p.message for p in problems] == [
        f"{risk}: schema_version is missing (expected a whole number >= 1)"
    ]
    assert snapshot(ws.root) == before


_any_file = st.one_of(
    st.binary(max_size=200),
    _json.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda version, rest: json.dumps({**rest, "schema_version": version}).encode(),
        _json,
        st.dictionaries(_text, _json_scalar, max_size=3),
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(["run_meta", "tokens", "risk_state", "settings"]), content=_any_file)
def test_any_bytes_in_any_file_give_a_named_problem_or_a_clean_migration(
    tmp_path: Path, kind: str, content: bytes
) -> None:
    root = tmp_path / f"ws{time.monotonic_ns()}"
    ws = Workspace(root)
    target = root / PLACES[kind]
    target.parent.mkdir(parents=True)
    target.write_bytes(content)
    outcome = migrate(ws)  # never raises for what a file holds
    if outcome.plan.problems:
        assert [p.path for p in outcome.plan.problems] == [target]
        assert outcome.plan.problems[0].message.startswith(f"{target}: ")
        assert target.read_bytes() == content and not stamp_path(ws).exists()
    else:
        assert outcome.stamped and plan(ws).nothing_to_do
        if outcome.written:
            assert (outcome.backup / "files" / PLACES[kind]).read_bytes() == content  # type: ignore[operator]
        else:
            assert target.read_bytes() == content
    shutil.rmtree(root)
