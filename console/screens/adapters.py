"""Adapter profiles in the console: list, add, edit, remove and test them.

Profile files are read in a thread worker, and so is every keyring call (the Secret
Service talks D-Bus and may block) and every probe. Secrets are typed into masked inputs
and leave the form only as :class:`engine.credentials.Secret` values; what is stored is
only ever shown masked (``abcd…wxyz``), never put back into an input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Label, Select, Static

from console.screens.confirm import ConfirmModal
from engine.adapters.kinds import ALL_SECRET_FIELDS, KINDS, AdapterKind, kind_info
from engine.adapters.model import ProfileInvalid, ProfileIssue, parse_profile
from engine.credentials import Secret
from engine.principal import Principal
from engine.services.adapters import URL_FIELDS, AdapterProfiles

if TYPE_CHECKING:
    from engine.adapters.model import AdapterProfile
    from engine.adapters.service import AdapterService, ProfileView

COLUMNS = ("name", "kind", "environment", "account", "secrets", "test")
ALL_OPTIONS: tuple[str, ...] = tuple(dict.fromkeys(o for i in KINDS.values() for o in i.options))


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One row of the profiles table (plain data; secrets only masked)."""

    name: str
    kind: str = ""
    environment: str = ""
    account: str = ""
    secrets: str = "…"
    test: str = ""
    error: str | None = None

    def cells(self) -> tuple[str, ...]:
        if self.error is not None:
            return (self.name, "unreadable", "", "", "", self.error)
        return (self.name, self.kind, self.environment, self.account, self.secrets, self.test)


@dataclass(frozen=True, slots=True)
class ProfileEdit:
    """What the form produced: the profile document and the secrets typed (only those).

    ``secrets`` holds :class:`Secret` values, so printing or logging this never shows them.
    """

    name: str
    data: dict[str, Any]
    secrets: dict[str, Secret] = field(default_factory=dict)
    new: bool = True


def masked_secrets(view: ProfileView) -> str:
    """Return a profile's secrets for the table: masked values, or what is missing."""
    parts = [f"{name} {value}" for name, value in view.secrets.items() if value]
    parts += [f"{name} missing" for name in view.missing]
    return ", ".join(parts) if parts else "none needed"


class AdaptersScreen(Screen[None]):
    """Every adapter profile of the workspace, with add, edit, remove and test."""

    DEFAULT_CSS = """
    AdaptersScreen #adapters-table { height: 1fr; }
    AdaptersScreen #adapters-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", tooltip="Add a profile", id="adapters.add"),
        Binding("e,enter", "edit", "Edit", tooltip="Edit the selected profile", id="adapters.edit"),
        Binding(
            "d,delete",
            "remove",
            "Remove",
            tooltip="Remove the profile and its keyring secrets (asks first)",
            id="adapters.remove",
        ),
        Binding(
            "t",
            "test",
            "Test",
            tooltip="Reach the venue and check the keys (signed request / handshake)",
            id="adapters.test",
        ),
        Binding("r", "reload", "Reload", tooltip="Read profiles again", id="adapters.reload"),
        Binding("escape", "close", "Back", tooltip="Back to the main screen", id="adapters.close"),
    ]

    class Loaded(Message):
        """Profile rows read (posted from a worker thread)."""

        def __init__(self, rows: tuple[ProfileRow, ...]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, service: AdapterService) -> None:
        super().__init__()
        self.service = service
        self.profiles = AdapterProfiles(service.workspace, engine=service)  # audited writes
        self.rows: dict[str, ProfileRow] = {}
        self.status = "reading profiles…"
        self.loads = 0  # completed loads (tests wait on it)

    def compose(self) -> ComposeResult:
        yield Static("Adapter profiles", classes="screen-title")
        yield Static("", id="adapters-status", markup=False)
        table: DataTable[str] = DataTable(
            id="adapters-table", cursor_type="row", zebra_stripes=True
        )
        for column in COLUMNS:
            table.add_column(column, key=column)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self._show_status()
        self.action_reload()

    # -- loading --------------------------------------------------------------------
    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="adapters-load")
    def _load(self) -> None:
        # Files first (a fast first paint), then the keyring for the masked secrets.
        listed = self.service.profiles()
        rows = [
            ProfileRow(p.name, error=(p.error or "").removeprefix(f"{p.path}: ")[:60])
            if p.profile is None
            else ProfileRow(
                p.name,
                p.profile.kind.value,
                p.profile.env.value,
                p.profile.account_type or "",
                secrets="…" if p.profile.info.all_secret_fields else "none needed",
            )
            for p in listed
        ]
        self.post_message(self.Loaded(tuple(rows)))
        out = []
        for row in rows:
            if row.error is not None or row.secrets == "none needed":
                out.append(row)
                continue
            try:
                view = self.service.view(row.name)
            except Exception as exc:  # keyring down or locked: say so, keep the row
                out.append(_replace(row, secrets=f"keyring: {type(exc).__name__}"))
                self.app.call_from_thread(self.notify, _keyring_hint(exc), severity="error")
                break
            out.append(_replace(row, secrets=masked_secrets(view)))
        out += rows[len(out) :]
        self.post_message(self.Loaded(tuple(out)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        tests = {name: row.test for name, row in self.rows.items()}
        rows = {r.name: _replace(r, test=tests.get(r.name, r.test)) for r in event.rows}
        if rows != self.rows:  # (a second read with nothing new: no clear, no narrow frame)
            self.rows = rows
            self._show_rows()
        self.loads += 1
        self.status = f"{len(self.rows)} profile(s)"
        self._show_status()

    def _show_rows(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected
        table.clear()
        for row in self.rows.values():
            table.add_row(*row.cells(), key=row.name)
        if selected in self.rows:
            table.move_cursor(row=list(self.rows).index(selected))

    def _show_status(self) -> None:
        hint = "a add · e edit · d remove · t test · esc back"
        self.query_one("#adapters-status", Static).update(f"{self.status} · {hint}")

    @property
    def selected(self) -> str | None:
        """The name of the profile under the cursor."""
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        names = list(self.rows)
        return names[table.cursor_row] if table.cursor_row < len(names) else None

    # -- add / edit -----------------------------------------------------------------
    def action_add(self) -> None:
        self.app.push_screen(AdapterFormScreen(taken=frozenset(self.rows)), self._form_done)

    def action_edit(self) -> None:
        name = self.selected
        if name is None:
            self.notify("no profile selected: add one with a", severity="warning")
            return
        self._open_edit(name)

    @work(thread=True, group="adapters-open")
    def _open_edit(self, name: str) -> None:
        try:
            profile = self.service.get(name)
        except Exception as exc:
            self.app.call_from_thread(self.notify, f"cannot open {name}: {exc}", severity="error")
            return
        masked: dict[str, str | None] = {}
        if profile.info.all_secret_fields:
            try:
                masked = self.service.view(name).secrets
            except Exception as exc:
                self.app.call_from_thread(self.notify, _keyring_hint(exc), severity="warning")
        form = AdapterFormScreen(profile=profile, masked=masked)
        self.app.call_from_thread(self.app.push_screen, form, self._form_done)

    def _form_done(self, edit: ProfileEdit | None) -> None:
        if edit is not None:
            self.status = f"saving {edit.name}…"
            self._show_status()
            self._save(edit)

    @work(thread=True, group="adapters-save")
    def _save(self, edit: ProfileEdit) -> None:
        try:
            who = Principal.local("console")
            if edit.new:
                self.profiles.add(who, parse_profile(edit.data), edit.secrets)
            else:
                self.profiles.replace(who, edit.name, edit.data, edit.secrets)
        except Exception as exc:  # the message names fields, never secret values
            self.app.call_from_thread(
                self.notify, f"{edit.name} not saved: {exc}", severity="error", timeout=12
            )
        else:
            self.app.call_from_thread(self.notify, f"saved {edit.name}")
        self.app.call_from_thread(self._load)

    # -- remove ---------------------------------------------------------------------
    def action_remove(self) -> None:
        name = self.selected
        if name is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(name)

        self.app.push_screen(
            ConfirmModal(
                f"Remove adapter profile {name} and its secrets from the keyring?",
                "Remove",
                "Keep",
            ),
            answered,
        )

    @work(thread=True, group="adapters-remove")
    def _remove(self, name: str) -> None:
        try:
            deleted = self.profiles.remove(Principal.local("console"), name).secrets_deleted
        except Exception as exc:
            self.app.call_from_thread(
                self.notify, f"{name} not removed: {exc}", severity="error", timeout=12
            )
            return
        note = f" and {len(deleted)} secret(s)" if deleted else ""
        self.app.call_from_thread(self.notify, f"removed {name}{note}")
        self.app.call_from_thread(self._load)

    # -- test -----------------------------------------------------------------------
    def action_test(self) -> None:
        name = self.selected
        if name is None or self.rows[name].error is not None:
            return
        self._set_test(name, "testing…")
        self.run_worker(self._probe(name), group=f"probe-{name}", exclusive=True)

    async def _probe(self, name: str) -> None:
        import asyncio

        from engine.adapters.probe import ProbeMissingSecrets, probe_async
        from engine.adapters.service import required_secret_fields

        try:
            profile = await asyncio.to_thread(self.service.get, name)
            secrets: Mapping[str, Secret] = {}
            if required_secret_fields(profile):
                secrets = await asyncio.to_thread(self.service.secrets, name)
            result = await probe_async(profile, secrets)
        except ProbeMissingSecrets as exc:
            self._set_test(name, "missing secrets")
            self.notify(str(exc), severity="warning", timeout=10)
            return
        except Exception as exc:
            self._set_test(name, "error")
            self.notify(f"{name}: test failed: {_keyring_hint(exc)}", severity="error")
            return
        self._set_test(name, result.state.value)
        self.notify(
            f"{name}: {result.state.value}: {result.message}",
            severity="information" if result.ok else "error",
            timeout=10,
        )

    def _set_test(self, name: str, state: str) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        self.rows[name] = _replace(row, test=state)
        self.query_one(DataTable).update_cell(name, "test", state)

    def action_close(self) -> None:
        self.dismiss(None)


def _replace(row: ProfileRow, **changes: str) -> ProfileRow:
    import dataclasses

    return dataclasses.replace(row, **changes)


def _keyring_hint(exc: BaseException) -> str:
    from engine.credentials.errors import CredentialsError

    if isinstance(exc, CredentialsError):
        return (
            f"keyring: {exc} (on a headless server, see `gateway adapters keyring` "
            "for the encrypted-file backend)"
        )
    return str(exc)


class AdapterFormScreen(ModalScreen[ProfileEdit | None]):
    """Add or edit one profile; the fields follow the kind (from :data:`KINDS`).

    Parameters
    ----------
    profile : AdapterProfile, optional
        The profile to edit (its kind and name are fixed); ``None`` adds a new one.
    masked : dict, optional
        The stored secrets, masked, shown as placeholders (the inputs start empty:
        leave one empty to keep what is stored).
    taken : frozenset, optional
        Profile names already in use (adding refuses them on the field).
    """

    DEFAULT_CSS = """
    AdapterFormScreen .adapter-dialog { width: 90; max-width: 100%; height: 100%; max-height: 40;
        padding: 0 1; border: thick $primary; background: $surface; }
    AdapterFormScreen #adapter-title { height: 1; text-style: bold; }
    AdapterFormScreen #adapter-fields { height: 1fr; }
    AdapterFormScreen .adapter-row { height: auto; }
    AdapterFormScreen .adapter-label { width: 22; color: $text-muted; }
    AdapterFormScreen .adapter-row:focus-within .adapter-label { color: $text; text-style: bold; }
    AdapterFormScreen .adapter-row.-error .adapter-label { color: $text-error; text-style: bold; }
    AdapterFormScreen .adapter-cell { width: 1fr; height: auto; }
    AdapterFormScreen .adapter-error { display: none; height: auto; color: $text-error; }
    AdapterFormScreen .adapter-row.-error .adapter-error { display: block; }
    AdapterFormScreen #adapter-issues { height: auto; color: $text-error; }
    AdapterFormScreen #adapter-status { height: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", tooltip="Check and save the profile", id="adapter.save"),
        Binding("escape", "cancel", "Cancel", tooltip="Close without saving", id="adapter.cancel"),
    ]

    def __init__(
        self,
        profile: AdapterProfile | None = None,
        *,
        masked: Mapping[str, str | None] | None = None,
        taken: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.profile = profile
        self.masked = dict(masked or {})
        self.taken = taken
        self.kind = profile.kind if profile is not None else AdapterKind.BINANCE_SPOT
        self.issues: list[ProfileIssue] = []

    # -- layout ---------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        p = self.profile
        title = "New adapter profile" if p is None else f"Edit adapter profile {p.name}"
        with Vertical(classes="adapter-dialog"):
            yield Static(title, id="adapter-title", markup=False)
            with VerticalScroll(id="adapter-fields"):
                yield from self._row("name", Input(p.name if p else "", compact=True))
                kinds = [(f"{i.label} ({k.value})", k.value) for k, i in KINDS.items()]
                kind_select: Select[str] = Select(
                    kinds, value=self.kind.value, allow_blank=False, compact=True
                )
                yield from self._row("kind", kind_select)
                yield from self._row("environment", Select([], compact=True))
                yield from self._row("account_type", Select([], compact=True))
                for name in URL_FIELDS:
                    value = getattr(p, name, None) if p else None
                    yield from self._row(name, Input(value or "", compact=True))
                for option in ALL_OPTIONS:
                    value = p.options.get(option) if p else None
                    text = (
                        ""
                        if value is None
                        else str(value).lower()
                        if isinstance(value, bool)
                        else str(value)
                    )
                    yield from self._row(f"options.{option}", Input(text, compact=True))
                for secret in ALL_SECRET_FIELDS:
                    yield from self._row(
                        f"secrets.{secret}", Input("", password=True, compact=True)
                    )
                yield from self._row("description", Input(p.description if p else "", compact=True))
            yield Static("", id="adapter-issues", markup=False)
            yield Static("ctrl+s save · esc cancel · tab next field", id="adapter-status")

    def _row(self, name: str, widget: Input | Select[str]) -> ComposeResult:
        slug = _slug(name)
        widget.id = f"a-{slug}"
        widget.add_class("adapter-input")
        if isinstance(widget, Input):
            widget.select_on_focus = False
        with Horizontal(classes="adapter-row", id=f"arow-{slug}"):
            yield Label(
                name.removeprefix("options.").removeprefix("secrets."), classes="adapter-label"
            )
            with Vertical(classes="adapter-cell"):
                yield widget
                yield Static("", classes="adapter-error", id=f"aerr-{slug}", markup=False)

    def on_mount(self) -> None:
        if self.profile is not None:
            self.query_one("#a-name", Input).disabled = True
            self.query_one("#a-kind", Select).disabled = True
        self._apply_kind(self.kind)
        first = "#a-name" if self.profile is None else "#a-environment"
        self.query_one(first).focus()

    def _apply_kind(self, kind: AdapterKind) -> None:
        self.kind = kind
        info = kind_info(kind)
        p = self.profile
        env = self.query_one("#a-environment", Select)
        env.set_options([(e.value, e.value) for e in info.environments])
        env.value = (p.env if p else info.default_environment).value
        account = self.query_one("#a-account_type", Select)
        account.set_options([(a, a) for a in info.account_types])
        account.value = p.account_type if p and p.account_type else info.account_types[0]
        for name in URL_FIELDS:
            self._row_of(name).display = info.takes_base_urls
        for option in ALL_OPTIONS:
            spec = info.options.get(option)
            self._row_of(f"options.{option}").display = spec is not None
            if spec is not None:
                widget = self.query_one(f"#a-{_slug('options.' + option)}", Input)
                default = (
                    ""
                    if spec.default is None
                    else str(spec.default).lower()
                    if isinstance(spec.default, bool)
                    else str(spec.default)
                )
                choices = f" ({'/'.join(spec.choices)})" if spec.choices else ""
                widget.placeholder = f"{default or '-'} · {spec.help}{choices}"
        required = set(info.secret_fields)
        for secret in ALL_SECRET_FIELDS:
            shown = secret in info.all_secret_fields
            self._row_of(f"secrets.{secret}").display = shown
            widget = self.query_one(f"#a-{_slug('secrets.' + secret)}", Input)
            stored = self.masked.get(secret)
            if stored:
                widget.placeholder = f"stored {stored} · leave empty to keep"
            else:
                widget.placeholder = "required" if secret in required else "optional"

    def _row_of(self, name: str) -> Horizontal:
        return self.query_one(f"#arow-{_slug(name)}", Horizontal)

    @on(Select.Changed, "#a-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.kind.value:
            self._apply_kind(AdapterKind(event.value))

    # -- reading --------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        """The profile document the form holds (no secrets)."""
        info = kind_info(self.kind)

        def text(name: str) -> str:
            return self.query_one(f"#a-{_slug(name)}", Input).value.strip()

        data: dict[str, Any] = {
            "name": text("name"),
            "kind": self.kind.value,
            "environment": self.query_one("#a-environment", Select).value,
            "account_type": self.query_one("#a-account_type", Select).value,
        }
        if info.takes_base_urls:
            for name in URL_FIELDS:
                if text(name):
                    data[name] = text(name)
        options = {o: text(f"options.{o}") for o in info.options if text(f"options.{o}")}
        if options:
            data["options"] = options
        if text("description"):
            data["description"] = text("description")
        return data

    def typed_secrets(self) -> dict[str, Secret]:
        """The secrets typed into the form (empty inputs left out: they keep what is stored)."""
        out = {}
        for secret in kind_info(self.kind).all_secret_fields:
            value = self.query_one(f"#a-{_slug('secrets.' + secret)}", Input).value
            if value:
                out[secret] = Secret(value)
        return out

    def field_error(self, name: str) -> str:
        """The error shown under a field ("" when none)."""
        row = self._row_of(name)
        if not row.has_class("-error"):
            return ""
        return str(self.query_one(f"#aerr-{_slug(name)}", Static).render())

    # -- checking and saving ------------------------------------------------------------
    def check(self) -> ProfileEdit | None:
        """Check the form (pure: no keyring, no files); place issues; return the edit."""
        from engine.adapters.service import check_secrets

        issues: list[ProfileIssue] = []
        data = self.document()
        new = self.profile is None
        if new and data["name"] in self.taken:
            issues.append(ProfileIssue("name", "is taken; pick another name", data["name"]))
        secrets = self.typed_secrets()
        try:
            profile = parse_profile(data)
        except ProfileInvalid as exc:
            issues += exc.issues
            info = kind_info(self.kind)  # still say which secrets are missing, all at once
            issues += [
                ProfileIssue(f"secrets.{name}", f"required for {info.label}")
                for name in info.secret_fields
                if new and name not in secrets
            ]
        else:
            if new:
                data = profile.to_json_dict()
            try:
                check_secrets(profile, secrets, complete=new)
            except ProfileInvalid as exc:
                issues += exc.issues
        self.place_issues(issues)
        if issues:
            return None
        return ProfileEdit(data["name"], data, secrets, new)

    def place_issues(self, issues: list[ProfileIssue]) -> None:
        """Show each issue under its field; issues of no shown field go to the box."""
        self.issues = issues
        by_row: dict[str, list[ProfileIssue]] = {}
        general: list[ProfileIssue] = []
        for issue in issues:
            name = issue.field
            if name.startswith("base_url_http/"):
                name = "base_url_http"
            try:
                row: Horizontal | None = self._row_of(name)
            except NoMatches:
                row = None
            if row is None or not row.display:
                general.append(issue)
            else:
                by_row.setdefault(name, []).append(issue)
        for line in self.query(".adapter-row"):
            name = _unslug((line.id or "").removeprefix("arow-"))
            shown = by_row.get(name, [])
            line.set_class(bool(shown), "-error")
            error = self.query_one(f"#aerr-{_slug(name)}", Static)
            error.update("✗ " + "; ".join(_issue_text(i) for i in shown) if shown else "")
        self.query_one("#adapter-issues", Static).update(
            "\n".join(f"✗ {_issue_text(i, with_field=True)}" for i in general)
        )

    def action_save(self) -> None:
        edit = self.check()
        if edit is not None:
            self.dismiss(edit)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_cancel(self) -> None:
        self.dismiss(None)


def _slug(name: str) -> str:
    return name.replace(".", "--")


def _unslug(slug: str) -> str:
    return slug.replace("--", ".")


def _issue_text(issue: ProfileIssue, *, with_field: bool = False) -> str:
    # Never echo a value typed into a secret field (ProfileIssue leaves those out already).
    shown = (
        ""
        if issue.value is None or issue.field.startswith("secrets.")
        else f" (got {issue.value!r})"
    )
    head = f"{issue.field or 'profile'}: " if with_field else ""
    return f"{head}{issue.message}{shown}"
