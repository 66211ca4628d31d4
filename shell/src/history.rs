//! The command lines a shell has run, for the `history` builtin.
//!
//! A subshell sees the lines its parent ran before it started. It shares
//! them instead of copying them: the lines are the script's text, and 64
//! nested `( … )` would otherwise copy the script 64 times.

use std::cell::RefCell;
use std::rc::Rc;

/// The command lines run so far, oldest first. A clone (what a subshell
/// gets) shares the lines and sees those recorded before it was made.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    /// Every line the top-level shell recorded, each shared with the tree
    /// parsed from it; a clone's view is a prefix.
    lines: Rc<RefCell<Vec<Rc<str>>>>,
    /// How many of `lines` this shell sees.
    seen: usize,
}

impl History {
    /// Records `line`. Caller must be the shell that made this history (a
    /// subshell never records: its view would take in its parent's lines
    /// recorded since it was made).
    pub fn push(&mut self, line: Rc<str>) {
        let mut lines = self.lines.borrow_mut();
        lines.push(line);
        self.seen = lines.len();
    }

    /// `history`'s output: numbered from 1, as bash prints it.
    pub fn listing(&self) -> String {
        self.lines.borrow()[..self.seen]
            .iter()
            .enumerate()
            .map(|(i, line)| format!("{:>5}  {line}\n", i + 1))
            .collect()
    }

    /// Line `i` (from 0), shared.
    #[cfg(test)]
    pub fn line(&self, i: usize) -> Option<Rc<str>> {
        self.lines.borrow()[..self.seen].get(i).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_numbered_like_bash() {
        let mut h = History::default();
        assert_eq!(h.listing(), "");
        h.push("echo a".into());
        h.push("seq 3 | wc -l".into());
        assert_eq!(h.listing(), "    1  echo a\n    2  seq 3 | wc -l\n");
    }

    #[test]
    fn a_clone_shares_the_lines_and_sees_those_before_it() {
        let mut h = History::default();
        let script: Rc<str> = Rc::from("echo a");
        h.push(script.clone());
        let sub = h.clone();
        h.push("echo b".into());
        assert_eq!(sub.listing(), "    1  echo a\n");
        assert_eq!(h.listing(), "    1  echo a\n    2  echo b\n");
        let line = sub.line(0).expect("the line recorded before the clone");
        assert!(Rc::ptr_eq(&line, &script), "the clone copied the line");
    }
}
