"""settings.json is checked as a whole: every problem named, defaults for refused entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.keymap_check import RESERVED_KEYS, check_keymap, known_bindings
from console.screens.main import MainScreen
from console.screens.templates import TemplatePicker
from console.settings import ConsoleSettings, load_settings
from engine.workspace import Workspace
from tests.ui.conftest import AppFactory
from tests.ui.helpers import wait_for


def _load(tmp_path: Path, data: Any) -> Any:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return load_settings(path)


def test_every_problem_is_named_and_valid_entries_are_kept(tmp_path: Path) -> None:
    load = _load(
        tmp_path,
        {
            "theme": "gateway-light",
            "keymap": {
                "node.launch": "ctrl+q",  # reserved: quit
                "app.quit": "\U0001f600",  # quit stays on ctrl+q
                "node.stop": "\U0001f600",  # not a key
                "node.nope": "x",  # unknown id
                "node.create": "",  # empty
                "node.edit": "ctrl+e",  # fine
            },
            "ui": {"refresh_hz": 500},
            "event_log": {"max_lines": "many"},
        },
    )
    assert not load.writable
    paths = sorted(p.split(": ")[0] for p in load.problems)
    assert paths == [
        "event_log.max_lines",
        "keymap.app.quit",
        "keymap.node.create",
        "keymap.node.launch",
        "keymap.node.nope",
        "keymap.node.stop",
        "ui.refresh_hz",
    ]
    # The valid entries survive; the refused ones fall back to their defaults.
    assert load.settings.theme == "gateway-light"
    assert load.settings.keymap == {"node.edit": "ctrl+e"}
    assert load.settings.ui.refresh_hz == ConsoleSettings().ui.refresh_hz


def test_a_key_taken_from_another_binding_in_the_same_scope_is_refused() -> None:
    bindings = known_bindings()
    launch, create = bindings["node.launch"], bindings["node.create"]
    assert launch.scope == create.scope
    usable, problems = check_keymap({"node.launch": create.keys[0]})
    assert usable == {}
    assert problems == [
        f"keymap.node.launch: {create.keys[0]} is already node.create's key in {launch.scope}"
    ]
    # Swapping two keys is not a collision: each takes the other's freed key.
    usable, problems = check_keymap({"node.launch": create.keys[0], "node.create": launch.keys[0]})
    assert problems == [] and set(usable) == {"node.launch", "node.create"}


def test_reserved_keys_are_refused_for_every_other_binding() -> None:
    for key in RESERVED_KEYS:
        _, problems = check_keymap({"node.launch": key})
        assert problems and "reserved" in problems[0], key


def test_spaces_around_commas_are_normalised() -> None:
    assert check_keymap({"node.edit": " ctrl+e , f6"}) == ({"node.edit": "ctrl+e,f6"}, [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keymap=st.dictionaries(
        st.sampled_from(sorted(known_bindings())) | st.text(max_size=20),
        st.text(max_size=30),
        max_size=8,
    )
)
def test_any_keymap_gives_usable_entries_or_named_problems(keymap: dict[str, str]) -> None:
    usable, problems = check_keymap(keymap)
    assert set(usable) <= set(keymap)
    refused = set(keymap) - set(usable)
    for binding_id in refused:
        assert any(p.startswith(f"keymap.{binding_id}: ") for p in problems), binding_id
    claimed: dict[tuple[str, str], str] = {}
    bindings = known_bindings()
    for binding_id, keys in usable.items():
        for key in keys.split(","):
            assert key and key == key.strip()
            assert key not in RESERVED_KEYS or key in bindings[binding_id].keys
            scope_key = (bindings[binding_id].scope, key)
            assert claimed.setdefault(scope_key, binding_id) == binding_id


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    doc=st.fixed_dictionaries(
        {},
        optional={
            "theme": JSON,
            "keymap": JSON,
            "ui": st.fixed_dictionaries({}, optional={"refresh_hz": JSON}) | JSON,
            "event_log": st.fixed_dictionaries({}, optional={"max_lines": JSON}) | JSON,
            "orders": JSON,
            "alerts": JSON,
            "schema_version": JSON,
        },
    )
)
def test_any_settings_document_loads_with_problems_named(tmp_path: Path, doc: Any) -> None:
    load = _load(tmp_path, json.dumps(doc).replace("NaN", "0").replace("Infinity", "1"))
    assert isinstance(load.settings, ConsoleSettings)
    assert load.source == str(tmp_path / "settings.json")
    assert all(p.split(": ")[0] for p in load.problems)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    for data, words in (
        (b"\xff\xfe{", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b"[1]", "expected a JSON object"),
        (b'{"ui": {"refresh_hz": NaN}}', "NaN is not a JSON value"),
    ):
        path.write_bytes(data)
        load = load_settings(path)
        assert load.error is not None and words in load.error and str(path) in load.error


async def test_console_lists_every_problem_and_keeps_valid_keys(
    make_app: AppFactory, workspace: Workspace
) -> None:
    workspace.settings_path.write_text(
        json.dumps({"keymap": {"node.create": "ctrl+n", "node.launch": "ctrl+q", "x.y": "z"}})
    )
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        messages = " ".join(n.message for n in app._notifications)
        assert "keymap.node.launch: ctrl+q is reserved for quit" in messages
        assert "keymap.x.y: unknown binding id" in messages
        await pilot.press("ctrl+n")  # the valid entry is used
        await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))


def test_first_paint_never_binds_a_reserved_key_from_the_file(tmp_path: Path) -> None:
    from console.quick_settings import peek_settings

    path = tmp_path / "settings.json"
    keymap = {"node.launch": "ctrl+q", "app.quit": "x", "node.stop": "", "node.edit": "ctrl+e"}
    path.write_text(json.dumps({"keymap": keymap}))
    assert peek_settings(path).keymap == {"node.edit": "ctrl+e"}
