//! Keyboard shortcuts, once the page is hydrated: `/` search, `j`/`k` move through the rows of
//! a list, `x` selects the current row, `Enter` opens it, `g o` / `g f` / `g e` go to the
//! overview, the findings or the estate, `?` lists them all in a dialog. Never while the reader
//! types in a field, never with Ctrl, Alt or Meta held (those belong to the browser).
//!
//! This module owns the bindings (one table: the dialog lists exactly what the keys do), the
//! key-sequence state machine ([`next`], pure and tested), which row is current, and the
//! dialog. It knows no page: a list takes part by marking its rows `<tr data-row>`; the row's
//! first link is what `Enter` opens and where focus goes, its `[data-shortcut="select"]`
//! checkbox (or first checkbox) is what `x` toggles, and `[data-shortcut="search"]` (or the
//! first search field) is what `/` focuses. Page-specific keys do not belong here.
//!
//! Without JavaScript nothing here exists for the reader: the dialog stays closed, its button
//! is hidden, and every page is used by Tab as before.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// What a key sequence asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Focus the search field.
    Search,
    /// Make the next row current.
    Down,
    /// Make the previous row current.
    Up,
    /// Toggle the current row's selection checkbox.
    Select,
    /// Open the current row's link.
    Open,
    /// Go to this path (a client-side route change).
    Go(&'static str),
    /// Show the list of shortcuts.
    Help,
}

/// One shortcut: the keys in order (`KeyboardEvent.key` values), what they do, and how the
/// dialog says it.
struct Binding {
    keys: &'static [&'static str],
    command: Command,
    does: &'static str,
}

/// Every shortcut, in the order the dialog lists them.
const BINDINGS: &[Binding] = &[
    Binding {
        keys: &["/"],
        command: Command::Search,
        does: "Search",
    },
    Binding {
        keys: &["j"],
        command: Command::Down,
        does: "Next row of the list",
    },
    Binding {
        keys: &["k"],
        command: Command::Up,
        does: "Previous row of the list",
    },
    Binding {
        keys: &["x"],
        command: Command::Select,
        does: "Select or unselect the current row",
    },
    Binding {
        keys: &["Enter"],
        command: Command::Open,
        does: "Open the current row",
    },
    Binding {
        keys: &["g", "o"],
        command: Command::Go("/"),
        does: "Go to the overview",
    },
    Binding {
        keys: &["g", "f"],
        command: Command::Go("/findings"),
        does: "Go to the findings",
    },
    Binding {
        keys: &["g", "e"],
        command: Command::Go("/estate"),
        does: "Go to the estate",
    },
    Binding {
        keys: &["?"],
        command: Command::Help,
        does: "Show these shortcuts",
    },
];

/// How long the first key of a two-key shortcut (`g`) waits for the second, in milliseconds.
pub const PREFIX_WAIT_MS: f64 = 1500.0;

/// Where a key sequence stands.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum State {
    /// No key pending.
    #[default]
    Idle,
    /// The first key of a two-key shortcut was pressed at `at` (milliseconds).
    Prefix { key: &'static str, at: f64 },
}

/// What to do with one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Carry out the command.
    Run(Command),
    /// The key starts a shortcut: wait for the next.
    Wait,
    /// Not a shortcut: the browser handles the key as usual.
    Pass,
}

/// The state machine: the state after `key` (a `KeyboardEvent.key`) pressed at `now`
/// (milliseconds), and what to do. A pending prefix that has waited longer than
/// [`PREFIX_WAIT_MS`], or is followed by a key that completes nothing, is dropped and the key
/// counts on its own (`g` then `j` moves a row). Modifier keys pressed alone change nothing,
/// so that `?` (Shift and `/`) works after `g` too.
pub fn next(state: State, key: &str, now: f64) -> (State, Step) {
    if matches!(
        key,
        "Shift" | "Control" | "Alt" | "Meta" | "AltGraph" | "CapsLock"
    ) {
        return (state, Step::Pass);
    }
    if let State::Prefix { key: first, at } = state
        && now - at <= PREFIX_WAIT_MS
        && let Some(b) = BINDINGS.iter().find(|b| b.keys == [first, key])
    {
        return (State::Idle, Step::Run(b.command));
    }
    if let Some(b) = BINDINGS.iter().find(|b| b.keys == [key]) {
        return (State::Idle, Step::Run(b.command));
    }
    match BINDINGS
        .iter()
        .find(|b| b.keys.len() > 1 && b.keys[0] == key)
    {
        Some(b) => (
            State::Prefix {
                key: b.keys[0],
                at: now,
            },
            Step::Wait,
        ),
        None => (State::Idle, Step::Pass),
    }
}

/// Whether keys pressed in an element of this tag (upper case, as the DOM gives it), `type`
/// attribute and editability are typing: text fields, text areas, selects and editable
/// content are; checkboxes, radios and buttons are not.
pub fn is_typing_field(tag: &str, kind: &str, editable: bool) -> bool {
    editable
        || matches!(tag, "TEXTAREA" | "SELECT")
        || (tag == "INPUT"
            && !matches!(
                kind.to_ascii_lowercase().as_str(),
                "checkbox" | "radio" | "button" | "submit" | "reset" | "image" | "range" | "color"
            ))
}

/// Whether `Enter` on a focused element of this tag already does something of its own (follow
/// the link, press the button, open the details): then `Enter` is left to the browser.
pub fn acts_on_enter(tag: &str) -> bool {
    matches!(
        tag,
        "A" | "BUTTON" | "SUMMARY" | "INPUT" | "SELECT" | "TEXTAREA"
    )
}

/// The row that becomes current when moving `down` (or up) from `current` in a list of `len`
/// rows: the first row when none is current yet, and it stays at either end.
pub fn step(current: Option<usize>, len: usize, down: bool) -> Option<usize> {
    let last = len.checked_sub(1)?;
    Some(match current {
        None => 0,
        Some(i) if down => (i + 1).min(last),
        Some(i) => i.saturating_sub(1).min(last),
    })
}

/// The shortcuts: the key listener (installed once, in the browser), the dialog that lists
/// them and the button that opens it (hidden until hydrated, since without JavaScript it would
/// do nothing). Mount it once, inside the `Router`.
#[component]
pub fn Shortcuts() -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let ready = RwSignal::new(false);
    let navigate = use_navigate();
    let open_help = move || {
        if let Some(d) = dialog.get_untracked() {
            browser::open_dialog(&d);
        }
    };
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        ready.set(true);
        let navigate = navigate.clone();
        let handle = browser::install(move |path| navigate(path, Default::default()), open_help);
        on_cleanup(move || handle.remove());
    });
    let list = BINDINGS
        .iter()
        .map(|b| {
            let keys = b
                .keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    view! {
                        {(i > 0).then_some(" then ")}
                        <kbd>{*k}</kbd>
                    }
                })
                .collect_view();
            view! {
                <dt>{keys}</dt>
                <dd>{b.does}</dd>
            }
        })
        .collect_view();
    view! {
        <button type="button" class="shortcuts-button" hidden=move || !ready.get()
            aria-haspopup="dialog" aria-keyshortcuts="?" on:click=move |_| open_help()>
            "Keyboard shortcuts "<kbd>"?"</kbd>
        </button>
        <dialog class="shortcuts" node_ref=dialog aria-labelledby="shortcuts-heading">
            <h2 id="shortcuts-heading">"Keyboard shortcuts"</h2>
            <p class="muted">"They work whenever you are not typing in a field."</p>
            <dl class="facts">{list}</dl>
            <button type="button" class="button-link" on:click=move |_| {
                if let Some(d) = dialog.get_untracked() {
                    d.close();
                }
            }>"Close"</button>
        </dialog>
    }
}

/// The browser side: the key listener and what each command does to the page.
#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;

    use leptos::leptos_dom::helpers::WindowListenerHandle;
    use leptos::prelude::*;
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;
    use web_sys::{
        AddEventListenerOptions, Element, FocusOptions, HtmlDialogElement, HtmlElement,
        HtmlInputElement, KeyboardEvent, ScrollIntoViewOptions, ScrollLogicalPosition,
    };

    use super::{Command, State, Step};

    /// The rows of the lists on the page, in document order.
    const ROWS: &str = "[data-row]";

    /// Listens for shortcuts on the window until the handle is removed.
    pub fn install(
        navigate: impl Fn(&str) + 'static,
        help: impl Fn() + 'static,
    ) -> WindowListenerHandle {
        let state = Cell::new(State::default());
        window_event_listener(leptos::ev::keydown, move |ev: KeyboardEvent| {
            if ev.default_prevented()
                || ev.ctrl_key()
                || ev.alt_key()
                || ev.meta_key()
                || ev.is_composing()
                || typing()
                || dialog_open()
            {
                state.set(State::Idle);
                return;
            }
            let (after, step) = super::next(state.get(), &ev.key(), ev.time_stamp());
            state.set(after);
            if let Step::Run(command) = step
                && run(command, &navigate, &help)
            {
                ev.prevent_default();
            }
        })
    }

    /// Carries out a command; whether it did something (then the key's default is prevented).
    fn run(command: Command, navigate: &dyn Fn(&str), help: &dyn Fn()) -> bool {
        match command {
            Command::Search => search(),
            Command::Down => move_row(true),
            Command::Up => move_row(false),
            Command::Select => select(),
            Command::Open => open(),
            Command::Go(path) => {
                navigate(path);
                true
            }
            Command::Help => {
                help();
                true
            }
        }
    }

    /// Opens the dialog as a modal; when it closes (Esc, its button), focus returns to where
    /// it was.
    pub fn open_dialog(dialog: &HtmlDialogElement) {
        let before = document()
            .active_element()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok());
        if dialog.open() || dialog.show_modal().is_err() {
            return;
        }
        let back = Closure::once_into_js(move || {
            if let Some(el) = before {
                let _ = el.focus();
            }
        });
        let once = AddEventListenerOptions::new();
        once.set_once(true);
        let _ = dialog.add_event_listener_with_callback_and_add_event_listener_options(
            "close",
            back.unchecked_ref(),
            &once,
        );
    }

    fn typing() -> bool {
        let Some(el) = document().active_element() else {
            return false;
        };
        let kind = el.get_attribute("type").unwrap_or_default();
        let editable = el
            .dyn_ref::<HtmlElement>()
            .is_some_and(HtmlElement::is_content_editable);
        super::is_typing_field(&el.tag_name(), &kind, editable)
    }

    fn dialog_open() -> bool {
        matches!(document().query_selector("dialog[open]"), Ok(Some(_)))
    }

    fn search() -> bool {
        let doc = document();
        let field = [r#"[data-shortcut="search"]"#, r#"input[type="search"]"#]
            .into_iter()
            .find_map(|s| doc.query_selector(s).ok().flatten());
        let Some(field) = field.and_then(|f| f.dyn_into::<HtmlElement>().ok()) else {
            return false;
        };
        let _ = field.focus();
        if let Some(input) = field.dyn_ref::<HtmlInputElement>() {
            input.select();
        }
        true
    }

    fn rows() -> Vec<Element> {
        let Ok(list) = document().query_selector_all(ROWS) else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|n| n.dyn_into::<Element>().ok())
            .collect()
    }

    fn is_current(row: &Element) -> bool {
        row.get_attribute("aria-current").as_deref() == Some("true")
    }

    fn current() -> Option<Element> {
        rows().into_iter().find(is_current)
    }

    fn move_row(down: bool) -> bool {
        let rows = rows();
        let from = rows.iter().position(is_current);
        let Some(to) = super::step(from, rows.len(), down) else {
            return false;
        };
        if let Some(from) = from {
            let _ = rows[from].remove_attribute("aria-current");
            let _ = rows[from].class_list().remove_1("row-current");
        }
        let row = &rows[to];
        let _ = row.set_attribute("aria-current", "true");
        let _ = row.class_list().add_1("row-current");
        let scroll = ScrollIntoViewOptions::new();
        scroll.set_block(ScrollLogicalPosition::Nearest);
        row.scroll_into_view_with_scroll_into_view_options(&scroll);
        // focus follows, so that a screen reader reads the row's link
        if let Some(link) = first(row, "a[href]") {
            let options = FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = link.focus_with_options(&options);
        }
        true
    }

    fn first(row: &Element, selector: &str) -> Option<HtmlElement> {
        row.query_selector(selector)
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    }

    fn select() -> bool {
        let Some(row) = current() else {
            return false;
        };
        let Some(checkbox) = first(&row, r#"[data-shortcut="select"]"#)
            .or_else(|| first(&row, r#"input[type="checkbox"]"#))
        else {
            return false;
        };
        // a click, so that the change events fire as if the reader had clicked it
        checkbox.click();
        true
    }

    fn open() -> bool {
        // on a link or a button, Enter already does what the focused element does
        let focused = document().active_element().map(|e| e.tag_name());
        if focused.is_some_and(|tag| super::acts_on_enter(&tag)) {
            return false;
        }
        let Some(link) = current().and_then(|row| first(&row, "a[href]")) else {
            return false;
        };
        // a click, so that the router makes it a client-side route change
        link.click();
        true
    }
}

/// On the server (and in unit tests) there are no keys: nothing is installed.
#[cfg(not(feature = "hydrate"))]
mod browser {
    pub struct Handle;

    impl Handle {
        pub fn remove(self) {}
    }

    pub fn install(_navigate: impl Fn(&str) + 'static, _help: impl Fn() + 'static) -> Handle {
        Handle
    }

    pub fn open_dialog<D>(_dialog: &D) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(keys: &[(&str, f64)]) -> Vec<Step> {
        let mut state = State::default();
        keys.iter()
            .map(|(key, at)| {
                let (after, step) = next(state, key, *at);
                state = after;
                step
            })
            .collect()
    }

    #[test]
    fn single_keys_run_their_command() {
        for (key, command) in [
            ("/", Command::Search),
            ("j", Command::Down),
            ("k", Command::Up),
            ("x", Command::Select),
            ("Enter", Command::Open),
            ("?", Command::Help),
        ] {
            assert_eq!(press(&[(key, 0.0)]), [Step::Run(command)], "{key}");
        }
    }

    #[test]
    fn g_waits_for_its_second_key() {
        assert_eq!(
            press(&[("g", 0.0), ("o", 100.0)]),
            [Step::Wait, Step::Run(Command::Go("/"))]
        );
        assert_eq!(
            press(&[("g", 0.0), ("f", 1500.0)]),
            [Step::Wait, Step::Run(Command::Go("/findings"))]
        );
        assert_eq!(
            press(&[("g", 0.0), ("e", 10.0)]),
            [Step::Wait, Step::Run(Command::Go("/estate"))]
        );
    }

    #[test]
    fn g_gives_up_after_the_wait() {
        assert_eq!(
            press(&[("g", 0.0), ("f", 1501.0)]),
            [Step::Wait, Step::Pass]
        );
        // and a late `g` starts over
        assert_eq!(
            press(&[("g", 0.0), ("g", 2000.0), ("o", 2100.0)]),
            [Step::Wait, Step::Wait, Step::Run(Command::Go("/"))]
        );
    }

    #[test]
    fn a_key_that_completes_nothing_counts_on_its_own() {
        assert_eq!(
            press(&[("g", 0.0), ("j", 10.0), ("o", 20.0)]),
            [Step::Wait, Step::Run(Command::Down), Step::Pass]
        );
        assert_eq!(
            press(&[("g", 0.0), ("Escape", 10.0)]),
            [Step::Wait, Step::Pass]
        );
    }

    #[test]
    fn modifier_keys_alone_keep_the_sequence() {
        let (state, step) = next(State::Idle, "g", 0.0);
        assert_eq!(step, Step::Wait);
        let (state, step) = next(state, "Shift", 5.0);
        assert_eq!(step, Step::Pass);
        assert_eq!(next(state, "e", 10.0).1, Step::Run(Command::Go("/estate")));
    }

    #[test]
    fn other_keys_pass_to_the_browser() {
        for key in ["a", "J", "o", "Tab", " ", "ArrowDown", "Escape"] {
            assert_eq!(press(&[(key, 0.0)]), [Step::Pass], "{key}");
        }
    }

    #[test]
    fn typing_fields_are_left_alone() {
        assert!(is_typing_field("INPUT", "", false));
        assert!(is_typing_field("INPUT", "search", false));
        assert!(is_typing_field("INPUT", "date", false));
        assert!(is_typing_field("TEXTAREA", "", false));
        assert!(is_typing_field("SELECT", "", false));
        assert!(is_typing_field("DIV", "", true));
        assert!(!is_typing_field("INPUT", "checkbox", false));
        assert!(!is_typing_field("INPUT", "Radio", false));
        assert!(!is_typing_field("A", "", false));
        assert!(!is_typing_field("BODY", "", false));
    }

    #[test]
    fn enter_is_left_to_links_and_buttons() {
        for tag in ["A", "BUTTON", "SUMMARY", "INPUT"] {
            assert!(acts_on_enter(tag), "{tag}");
        }
        for tag in ["BODY", "MAIN", "TR", "TD"] {
            assert!(!acts_on_enter(tag), "{tag}");
        }
    }

    #[test]
    fn moving_starts_at_the_first_row_and_stops_at_the_ends() {
        assert_eq!(step(None, 0, true), None);
        assert_eq!(step(None, 3, true), Some(0));
        assert_eq!(step(None, 3, false), Some(0));
        assert_eq!(step(Some(0), 3, true), Some(1));
        assert_eq!(step(Some(2), 3, true), Some(2));
        assert_eq!(step(Some(1), 3, false), Some(0));
        assert_eq!(step(Some(0), 3, false), Some(0));
    }

    #[test]
    fn every_binding_is_reachable_and_listed_once() {
        for (i, b) in BINDINGS.iter().enumerate() {
            let mut state = State::Idle;
            let mut last = Step::Pass;
            for key in b.keys {
                (state, last) = next(state, key, 0.0);
            }
            assert_eq!(last, Step::Run(b.command), "{:?}", b.keys);
            assert!(
                BINDINGS[i + 1..].iter().all(|o| o.keys != b.keys),
                "{:?} bound twice",
                b.keys
            );
        }
    }
}
