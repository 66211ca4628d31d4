//! A scratch folder for a test (a history file, a home): made empty, named
//! for the test process and the test, removed when the test is done.

use std::path::{Path, PathBuf};

/// A folder of the test's own, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// An empty folder named for this test process and `name` (unique
    /// among the tests of one file).
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("coos-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Every file below the folder, as paths relative to it, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.0, &self.0, &mut files);
        files.sort();
        files
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
