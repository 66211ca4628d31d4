//! Panics inside tasks. The kernel polls each task inside `catch_unwind`; a
//! panic ends that task (status 101), never the kernel. The process-wide
//! panic hook is wrapped once so that a panic on a kernel thread while it
//! polls a task is recorded for the kernel's one-line message instead of
//! being printed by the default hook; every other panic is printed as before.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Is this thread inside a task's code right now?
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic caught inside a task.
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_TASK.with(Cell::get) {
                let text = payload_text(info.payload());
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                MESSAGE.with(|m| *m.borrow_mut() = Some(format!("{text}{place}")));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-text panic)".to_string()
    }
}

/// Runs task code (a poll, a drop, a closure making a future); a panic comes
/// back as `Err(message)`.
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let was = IN_TASK.with(|t| t.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    IN_TASK.with(|t| t.set(was));
    result.map_err(|payload| {
        MESSAGE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| payload_text(&*payload))
    })
}
