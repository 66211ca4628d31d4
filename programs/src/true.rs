//! `true`: do nothing, successfully.

use syscalls::{ExitCode, Sys};

use crate::usage::Spec;

const SPEC: Spec = Spec::new(
    "true",
    "Usage: true [ignored command line arguments]\n\
     Exit with a status code indicating success.\n",
    &[],
);

/// Exits 0. Arguments are ignored, except a lone `--help`, as in coreutils.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    if args.len() == 2 && args[1] == "--help" {
        return SPEC.help(&sys).await;
    }
    0
}

#[cfg(test)]
mod tests {
    use crate::run;

    #[test]
    fn true_succeeds_whatever_its_arguments() {
        let out = run(&["true", "-x", "--bogus"], "");
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (Some(0), "", "")
        );
    }
}
