//! `false`: do nothing, unsuccessfully.

use syscalls::{ExitCode, Sys};

use crate::usage::Spec;

const SPEC: Spec = Spec::new(
    "false",
    "Usage: false [ignored command line arguments]\n\
     Exit with a status code indicating failure.\n",
    &[],
);

/// Exits 1. Arguments are ignored, except a lone `--help`, which prints
/// the usage and still exits 1: `false` never succeeds (as in coreutils).
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    if args.len() == 2 && args[1] == "--help" {
        let _ = SPEC.help(&sys).await;
    }
    1
}

#[cfg(test)]
mod tests {
    use crate::run;

    #[test]
    fn false_fails_whatever_its_arguments() {
        let out = run(&["false", "-x", "--bogus"], "");
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (Some(1), "", "")
        );
    }

    #[test]
    fn false_help_prints_usage_and_still_fails() {
        let out = run(&["false", "--help"], "");
        assert_eq!(out.status, Some(1));
        assert!(out.stdout.starts_with("Usage: false"));
    }
}
