//! `sh`, the coos shell, and (later) the interactive terminal that feeds
//! the console.
//!
//! `sh` is a program like any other: it talks to the kernel through the
//! `syscalls` crate alone. [`parse`] turns text into a command tree; the
//! interpreter runs it as jobs.

mod history;
mod jobs;
mod lines;
pub mod parse;
mod sh;
pub mod term;

pub use sh::{main, ABOUT};
