"""An older workspace opens as it is, and the console says how to migrate it."""

from __future__ import annotations

from engine.migrate.guard import check_workspace
from engine.migrate.stamp import stamp_path
from engine.workspace import Workspace
from tests.ui.conftest import AppFactory
from tests.ui.helpers import wait_for


async def test_an_older_workspace_is_opened_and_the_user_told_to_migrate(
    make_app: AppFactory, workspace: Workspace
) -> None:
    stamp_path(workspace).unlink()  # as a gateway before schema versions left it
    before = {p: p.read_bytes() for p in workspace.root.rglob("*.json")}
    hint = check_workspace(workspace).hint()
    assert hint is not None and "gateway migrate --dry-run" in hint
    app = make_app()
    app.notices = (hint,)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        messages = [str(n.message) for n in app._notifications]
        assert any("schema 0, this gateway writes 1" in m for m in messages), messages
    assert {p: p.read_bytes() for p in workspace.root.rglob("*.json")} == before  # not migrated
    assert not stamp_path(workspace).exists()
