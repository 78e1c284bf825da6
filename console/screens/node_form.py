"""Edit a node config in a form: one field per leaf, engine issues placed on their fields.

Structural checks run in a worker as the user types (debounced); the deep check, which
imports NautilusTrader, runs in a worker on validate and on save.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Static

from console.form_fields import FormField, field_for, flatten, parse_text, unflatten
from console.screens.confirm import ConfirmModal
from console.services import Services

if TYPE_CHECKING:
    from engine.config.issues import ConfigIssue


class FieldRow(Vertical):
    """A label, an input and the field's error line."""

    def __init__(self, form_field: FormField, index: int) -> None:
        super().__init__(classes="field-row", id=f"row-{index}")
        self.form_field = form_field
        self.index = index

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            yield Label(self.form_field.path, classes="field-label", markup=False)
            yield Input(
                self.form_field.text,
                compact=True,
                id=f"field-{self.index}",
                classes="field-input",
                select_on_focus=False,
            )
        yield Static("", classes="field-error", id=f"error-{self.index}", markup=False)

    def show_issues(self, issues: list[ConfigIssue]) -> None:
        error = self.query_one(".field-error", Static)
        if not issues:
            error.update("")
            self.remove_class("-error", "-warning")
            return
        worst = "error" if any(i.severity == "error" for i in issues) else "warning"
        text = "; ".join(
            i.message + ("" if i.path == self.form_field.path else f" ({i.path})") for i in issues
        )
        error.update(("✗ " if worst == "error" else "! ") + text)
        self.set_class(worst == "error", "-error")
        self.set_class(worst == "warning", "-warning")


class NodeFormScreen(Screen[str | None]):
    """A form over one node config; dismisses with the saved node id, or None."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", tooltip="Validate deeply and save", id="form.save"),
        Binding(
            "f5",
            "validate",
            "Validate",
            tooltip="Validate with NautilusTrader (imports, strategy configs)",
            id="form.validate",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            tooltip="Close the form (asks if edited)",
            id="form.cancel",
        ),
        Binding("down", "app.focus_next", "Next", show=False, tooltip="Next field", id="form.next"),
        Binding(
            "up",
            "app.focus_previous",
            "Previous",
            show=False,
            tooltip="Previous field",
            id="form.previous",
        ),
    ]
    DEBOUNCE_S = 0.25

    class Checked(Message):
        """A validation finished (posted from a worker thread)."""

        def __init__(self, issues: list[ConfigIssue], deep: bool, generation: int) -> None:
            super().__init__()
            self.issues = issues
            self.deep = deep
            self.generation = generation

    def __init__(self, services: Services, doc: dict[str, Any], *, new: bool) -> None:
        super().__init__()
        self.services = services
        self.new = new
        self.fields = flatten(doc)
        self.paths = [f.path for f in self.fields]
        self.issues: list[ConfigIssue] = []
        self.status = "not checked yet"
        self._generation = 0
        self._debounce: Timer | None = None
        self._deep_generation = -1  # the text generation F5 last asked a deep check for
        self._saving = False
        self.title_text = (
            "New node" if new else f"Edit {doc.get('node_id', '?')} ({doc.get('mode', '?')})"
        )

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, classes="screen-title")
        yield Static("", id="form-status", markup=False)
        yield Static("", id="form-issues", markup=False)
        with VerticalScroll(id="form-fields"):
            for i, form_field in enumerate(self.fields):
                yield FieldRow(form_field, i)
        yield Footer()

    def on_mount(self) -> None:
        if self.fields:
            self.query_one("#field-0", Input).focus()
        self._show_status()
        self._start_check(deep=False)

    # -- values -------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        """The document the form holds now."""
        values = []
        for i, form_field in enumerate(self.fields):
            text = self.query_one(f"#field-{i}", Input).value
            values.append((form_field.path, parse_text(text, form_field.kind)))
        return unflatten(values)

    def set_field(self, path: str, text: str) -> None:
        """Set a field's text by path (used by tests and the palette)."""
        self.query_one(f"#field-{self.paths.index(path)}", Input).value = text

    def field_error(self, path: str) -> str:
        """The error text shown under a field ("" when none)."""
        error = self.query_one(f"#error-{self.paths.index(path)}", Static)
        return str(error.render())

    # -- checking -----------------------------------------------------------------
    @on(Input.Changed, ".field-input")
    def _changed(self) -> None:
        self._generation += 1
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(self.DEBOUNCE_S, lambda: self._start_check(deep=False))

    @property
    def dirty(self) -> bool:
        return any(
            self.query_one(f"#field-{i}", Input).value != f.text for i, f in enumerate(self.fields)
        )

    def _start_check(self, *, deep: bool) -> None:
        self._check(self.document(), deep, self._generation)

    @work(thread=True, exclusive=True, group="form-check")
    def _check(self, doc: dict[str, Any], deep: bool, generation: int) -> None:
        try:
            issues = self.services.check(doc, deep=deep)
        except Exception as exc:  # a bug: say so on the form, the app logs it and goes on
            from engine.config.issues import ConfigIssue

            failed = ConfigIssue("", f"the check itself failed ({type(exc).__name__}: {exc})")
            self.post_message(self.Checked([failed], deep, generation))
            raise
        self.post_message(self.Checked(issues, deep, generation))

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        if event.generation != self._generation:
            return  # the user typed since; a newer check is on its way
        if not event.deep and self._deep_generation == event.generation:
            return  # F5 asked for more for this text: the deep check's word is the one shown
        self.place_issues(event.issues)
        errors = [i for i in event.issues if i.severity == "error"]
        depth = "deep" if event.deep else "structure"
        self.status = f"{depth}: {len(errors)} error(s)" if errors else f"{depth}: valid"
        warnings = len(event.issues) - len(errors)
        if warnings:
            self.status += f", {warnings} warning(s)"
        self._show_status()

    def place_issues(self, issues: list[ConfigIssue]) -> None:
        """Show each issue under its field; the rest go to the box at the top."""
        self.issues = issues
        by_field: dict[str, list[ConfigIssue]] = {}
        general: list[ConfigIssue] = []
        for issue in issues:
            target = field_for(issue.path, self.paths)
            if target is None:
                general.append(issue)
            else:
                by_field.setdefault(target, []).append(issue)
        for row in self.query(FieldRow):
            row.show_issues(by_field.get(row.form_field.path, []))
        box = self.query_one("#form-issues", Static)
        box.update(
            "\n".join(("✗ " if i.severity == "error" else "! ") + i.render() for i in general)
        )
        box.set_class(bool(general), "-shown")
        first = next((r for r in self.query(FieldRow) if r.has_class("-error")), None)
        if first is not None:
            self.query_one("#form-fields", VerticalScroll).scroll_to_widget(first, animate=False)

    def _show_status(self) -> None:
        hint = "Ctrl+S save · F5 validate · Esc cancel"
        self.query_one("#form-status", Static).update(f"{self.status} · {hint}")

    # -- actions ------------------------------------------------------------------
    def action_validate(self) -> None:
        # F5 right after typing (keys in one burst) left the structural check pending: it
        # then replaced the deep check in the worker group, and its "structure: valid"
        # was all the user saw of the F5.
        if self._debounce is not None:
            self._debounce.stop()
        self._deep_generation = self._generation
        self.status = "validating with NautilusTrader…"
        self._show_status()
        self._start_check(deep=True)

    def action_save(self) -> None:
        if self._saving:
            return
        self._saving = True
        self.status = "validating and saving…"
        self._show_status()
        self._save(self.document())

    @work(thread=True, exclusive=True, group="form-save")
    def _save(self, doc: dict[str, Any]) -> None:
        from engine.config.issues import ConfigInvalid

        try:
            issues = self.services.save(doc, new=self.new)
        except ConfigInvalid as exc:
            self.app.call_from_thread(self._save_failed, exc.issues, None)
            return
        except (FileExistsError, OSError, ValueError) as exc:
            self.app.call_from_thread(self._save_failed, [], str(exc))
            return
        except Exception as exc:  # a bug: the form stays usable, the app logs it
            self.app.call_from_thread(self._save_failed, [], f"{type(exc).__name__}: {exc}")
            raise
        self.app.call_from_thread(self._saved, str(doc.get("node_id")), issues)

    def _save_failed(self, issues: list[ConfigIssue], message: str | None) -> None:
        self._saving = False
        if issues:
            self.place_issues(issues)
            errors = sum(1 for i in issues if i.severity == "error")
            self.status = f"not saved: {errors} error(s)"
        else:
            self.status = f"not saved: {message}"
        self._show_status()
        self.notify(self.status, severity="error", markup=False)

    def _saved(self, node_id: str, issues: list[ConfigIssue]) -> None:
        self._saving = False
        warnings = [i.render() for i in issues if i.severity == "warning"]
        note = f"saved {node_id}" + (f" ({'; '.join(warnings)})" if warnings else "")
        self.notify(note, severity="warning" if warnings else "information")
        self.dismiss(node_id)

    def action_cancel(self) -> None:
        if not self.dirty:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmModal("Discard your changes?", "Discard", "Keep editing"), answered
        )
