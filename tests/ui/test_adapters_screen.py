"""Pilot and snapshot tests of the adapters screen and its profile form.

Listing, the form and testing a sandbox profile need no keyring (a sandbox profile has
no secret fields). Adding, showing and removing secrets use the real Secret Service
(gnome-keyring in a private D-Bus session, ``keyring_env``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from console.screens.adapters import AdapterFormScreen, AdaptersScreen
from console.screens.confirm import ConfirmModal
from engine.adapters import AdapterService, ProfileStore, parse_profile
from engine.workspace import Workspace
from tests.integration.keyring_session import keyring_env, secret_service
from tests.ui.helpers import wait_for
from tests.ui.screen_host import ScreenHost

__all__ = ["keyring_env", "secret_service"]  # fixtures, imported for the keyring tests


@pytest.fixture
def sandbox_workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / ".gateway").ensure()
    store = ProfileStore(ws)
    store.create(parse_profile({"name": "sim", "kind": "sandbox", "environment": "demo"}))
    store.create(parse_profile({"name": "sim-cash", "kind": "sandbox", "account_type": "CASH"}))
    (ws.adapters_dir / "broken.json").write_text("{not json")
    return ws


def _form_ready(app: ScreenHost) -> bool:
    # Pushed is not composed: under load the form's inputs mount a few frames later.
    return isinstance(app.screen, AdapterFormScreen) and bool(app.screen.query("#a-name"))


def screen_of(app: ScreenHost) -> AdaptersScreen:
    screen = app.screen_stack[1]
    assert isinstance(screen, AdaptersScreen)
    return screen


async def test_lists_profiles_and_tests_a_sandbox_profile(sandbox_workspace: Workspace) -> None:
    app = ScreenHost(AdaptersScreen(AdapterService(sandbox_workspace)))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = screen_of(app)
        await wait_for(pilot, lambda: screen.loads >= 2)
        assert [r.cells()[:4] for r in screen.rows.values()] == [
            ("broken", "unreadable", "", ""),
            ("sim", "sandbox", "demo", "MARGIN"),
            ("sim-cash", "sandbox", "demo", "CASH"),
        ]
        assert screen.rows["sim"].secrets == "none needed"
        assert "not valid JSON" in (screen.rows["broken"].error or "")
        await pilot.press("down", "t")  # the cursor on "sim"
        await wait_for(pilot, lambda: screen.rows["sim"].test == "reachable")


async def test_form_fields_follow_the_kind_and_errors_land_on_their_field(
    sandbox_workspace: Workspace,
) -> None:
    form = AdapterFormScreen(taken=frozenset({"sim"}))
    app = ScreenHost(form)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        row = form._row_of
        assert row("secrets.api_key").display and row("base_url_http").display
        assert not row("secrets.username").display and not row("options.venue").display
        form.query_one("#a-kind", Select).value = "ib_gateway"
        await wait_for(pilot, lambda: form.kind.value == "ib_gateway")
        assert not row("secrets.api_key").display and not row("base_url_http").display
        assert row("secrets.password").display and row("options.client_id").display
        form.query_one("#a-kind", Select).value = "binance_spot"
        await wait_for(pilot, lambda: form.kind.value == "binance_spot")
        form.query_one("#a-name", Input).value = "sim"
        form.query_one("#a-base_url_http", Input).value = "ftp://nowhere"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "taken" in form.field_error("name")
        assert "http" in form.field_error("base_url_http")
        assert "required" in form.field_error("secrets.api_key")
        assert not app.dismissed


async def test_secret_typed_into_the_form_is_never_shown(
    sandbox_workspace: Workspace, keyring_env: dict[str, str]
) -> None:
    key, secret = "UIKEY0123456789abcdefXYZ", "uisecret-9f8e7d6c5b4a39281706"
    service = AdapterService(sandbox_workspace)
    app = ScreenHost(AdaptersScreen(service))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = screen_of(app)
        await wait_for(pilot, lambda: screen.loads >= 2)
        await pilot.press("a")
        await wait_for(pilot, lambda: _form_ready(app))
        form = app.screen
        assert isinstance(form, AdapterFormScreen)
        form.query_one("#a-name", Input).value = "bn-ui"
        form.query_one("#a-secrets--api_key", Input).value = key
        form.query_one("#a-secrets--api_secret", Input).focus()
        await pilot.press(*secret[:6])
        form.query_one("#a-secrets--api_secret", Input).value = secret
        await pilot.pause()
        shot = app.export_screenshot()
        assert key not in shot and secret not in shot and secret[:6] not in shot
        await pilot.press("ctrl+s")
        # "…" alone is the placeholder while the secrets are read: wait for the masked key.
        await wait_for(
            pilot, lambda: "bn-ui" in screen.rows and key[:4] in screen.rows["bn-ui"].secrets
        )
        masked = screen.rows["bn-ui"].secrets
        assert key[:4] in masked and key not in masked
        await pilot.pause()
        shot = app.export_screenshot()
        assert key not in shot and secret not in shot
        assert service.secrets("bn-ui")["api_key"].reveal() == key

        # editing shows only masked placeholders; the inputs start empty
        screen.query_one(DataTable).move_cursor(row=list(screen.rows).index("bn-ui"))
        await pilot.press("e")
        await wait_for(pilot, lambda: _form_ready(app))
        edit = app.screen
        assert isinstance(edit, AdapterFormScreen)
        field = edit.query_one("#a-secrets--api_key", Input)
        assert field.value == "" and key[-4:] in field.placeholder
        assert key not in app.export_screenshot()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: "bn-ui" not in screen.rows)
    assert not (sandbox_workspace.adapters_dir / "bn-ui.json").exists()
    assert service.credentials.get("bn-ui", "api_key") is None


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_adapters(
    snap_compare: Any, sandbox_workspace: Workspace, size: tuple[int, int]
) -> None:
    app = ScreenHost(AdaptersScreen(AdapterService(sandbox_workspace)))

    def measured() -> bool:  # the rows' widths, not only the labels', are in the columns
        table = screen_of(app).query_one(DataTable)
        return all(c.content_width >= len("sim-cash") for c in list(table.columns.values())[:1])

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: screen_of(app).loads >= 2)
        await wait_for(pilot, measured)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_snapshot_adapter_form(snap_compare: Any) -> None:
    app = ScreenHost(AdapterFormScreen(taken=frozenset()))

    async def run_before(pilot: Pilot[Any]) -> None:
        form = app.screen
        assert isinstance(form, AdapterFormScreen)
        form.query_one("#a-name", Input).value = "bn-main"
        form.query_one("#a-secrets--api_key", Input).value = "SHOULD-NOT-SHOW-1234567"
        for field in form.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
