//! Command lines: a small `getopt_long` that every program describes its
//! options to, `--help`, the two-line usage error coreutils prints
//! (`wc: invalid option -- 'z'` then `Try 'wc --help' for more information.`),
//! and the counts `head` and `tail` take.

use std::fmt::Display;

use syscalls::{ExitCode, Sys};

use crate::fail;

/// One option a program accepts: `-n` / `--lines`, with or without a value.
pub struct Opt {
    /// The short form, `'n'` for `-n`.
    pub short: char,
    /// The long form without dashes, `"lines"` for `--lines`; `""` for none.
    pub long: &'static str,
    /// Whether it takes a value (`-n 5`, `-n5`, `--lines=5`, `--lines 5`).
    pub takes_value: bool,
}

impl Opt {
    /// An option without a value.
    pub const fn flag(short: char, long: &'static str) -> Opt {
        Opt {
            short,
            long,
            takes_value: false,
        }
    }

    /// An option with a value.
    pub const fn value(short: char, long: &'static str) -> Opt {
        Opt {
            short,
            long,
            takes_value: true,
        }
    }
}

/// What an argument like `-5` means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Numbers {
    /// Nothing special: `-5` is the unknown option `5`.
    Invalid,
    /// `-5` is this option with the value `5` (`head -5` is `head -n 5`).
    Option(char),
    /// `-5` or `-.5` is a (negative) number: it and every argument after it
    /// are operands (GNU `seq`).
    Operand,
}

/// A program's command-line interface: its name, `--help` text and options.
pub struct Spec {
    /// The program's name, as messages show it.
    pub name: &'static str,
    /// The `--help` text, starting with `Usage: `.
    pub help: &'static str,
    /// The options.
    pub opts: &'static [Opt],
    /// What `-5` means.
    pub numbers: Numbers,
    /// Whether options may follow operands (GNU), or the first operand ends
    /// the options (POSIX, and GNU `yes` and `seq`).
    pub permute: bool,
    /// The status of a usage error: 1, or 2 for `grep`.
    pub status: ExitCode,
}

/// What a command line said.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// The options given, in order: `(short, value)`, value `""` for a flag.
    pub opts: Vec<(char, String)>,
    /// The operands, in order.
    pub operands: Vec<String>,
}

/// The outcome of parsing, before anything is printed.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// `--help` came before any error.
    Help,
    /// Options and operands.
    Args(Args),
}

impl Spec {
    /// A spec with GNU defaults: options anywhere, `-5` not special, usage
    /// errors exit 1.
    pub const fn new(name: &'static str, help: &'static str, opts: &'static [Opt]) -> Spec {
        Spec {
            name,
            help,
            opts,
            numbers: Numbers::Invalid,
            permute: true,
            status: 1,
        }
    }

    /// Reads `argv` (`argv[0]` is the program's name). `Err` holds the
    /// message of a usage error, without the program's name.
    pub fn parse_argv(&self, argv: &[String]) -> Result<Parsed, String> {
        let mut args = Args::default();
        let mut rest = argv.iter().skip(1);
        while let Some(arg) = rest.next() {
            if arg == "--" {
                args.operands.extend(rest.cloned());
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                match self.long(arg, long, &mut rest)? {
                    Some(opt) => args.opts.push(opt),
                    None => return Ok(Parsed::Help),
                }
                continue;
            }
            let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
                // An operand (`-` alone is one too: standard input).
                if !self.permute {
                    args.operands.push(arg.clone());
                    args.operands.extend(rest.cloned());
                    break;
                }
                args.operands.push(arg.clone());
                continue;
            };
            match self.numbers {
                Numbers::Operand
                    if cluster.starts_with(|c: char| c.is_ascii_digit() || c == '.') =>
                {
                    args.operands.push(arg.clone());
                    args.operands.extend(rest.cloned());
                    break;
                }
                Numbers::Option(short) if cluster.bytes().all(|b| b.is_ascii_digit()) => {
                    args.opts.push((short, cluster.to_string()));
                    continue;
                }
                _ => {}
            }
            self.cluster(cluster, &mut rest, &mut args)?;
        }
        Ok(Parsed::Args(args))
    }

    /// One `--name[=value]`; `Ok(None)` is `--help`.
    fn long<'a>(
        &self,
        arg: &str,
        body: &str,
        rest: &mut impl Iterator<Item = &'a String>,
    ) -> Result<Option<(char, String)>, String> {
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        // Every long name, `help` included; a unique prefix is enough.
        let longs = self
            .opts
            .iter()
            .filter(|o| !o.long.is_empty())
            .map(|o| (o.long, Some(o)))
            .chain(std::iter::once(("help", None)));
        let candidates: Vec<(&str, Option<&Opt>)> =
            longs.filter(|(long, _)| long.starts_with(name)).collect();
        let exact = candidates.iter().find(|(long, _)| *long == name);
        let (long, opt) = match (exact, candidates.as_slice()) {
            (Some(&found), _) => found,
            (None, [one]) => *one,
            (None, []) => return Err(format!("unrecognized option '{arg}'")),
            (None, many) => {
                let names: Vec<String> = many.iter().map(|(l, _)| format!("'--{l}'")).collect();
                return Err(format!(
                    "option '--{name}' is ambiguous; possibilities: {}",
                    names.join(" ")
                ));
            }
        };
        match (opt, value) {
            (None, None) => Ok(None),
            (Some(opt), None) if !opt.takes_value => Ok(Some((opt.short, String::new()))),
            (Some(opt), Some(value)) if opt.takes_value => Ok(Some((opt.short, value.to_string()))),
            (Some(opt), None) => match rest.next() {
                Some(value) => Ok(Some((opt.short, value.clone()))),
                None => Err(format!("option '--{long}' requires an argument")),
            },
            (_, Some(_)) => Err(format!("option '--{long}' doesn't allow an argument")),
        }
    }

    /// One `-abc` cluster (or `-n5`, or `-n` then a value).
    fn cluster<'a>(
        &self,
        cluster: &str,
        rest: &mut impl Iterator<Item = &'a String>,
        args: &mut Args,
    ) -> Result<(), String> {
        for (at, c) in cluster.char_indices() {
            let Some(opt) = self.opts.iter().find(|o| o.short == c) else {
                return Err(format!("invalid option -- '{c}'"));
            };
            if !opt.takes_value {
                args.opts.push((c, String::new()));
                continue;
            }
            let attached = &cluster[at + c.len_utf8()..];
            let value = if !attached.is_empty() {
                attached.to_string()
            } else if let Some(next) = rest.next() {
                next.clone()
            } else {
                return Err(format!("option requires an argument -- '{c}'"));
            };
            args.opts.push((c, value));
            return Ok(());
        }
        Ok(())
    }

    /// Parses `argv`, answering `--help` (usage on stdout) and usage errors
    /// (message on stderr) itself: `Err(status)` means the program is done
    /// and should return that status.
    pub async fn parse(&self, sys: &Sys, argv: &[String]) -> Result<Args, ExitCode> {
        match self.parse_argv(argv) {
            Ok(Parsed::Args(args)) => Ok(args),
            Ok(Parsed::Help) => Err(self.help(sys).await),
            Err(message) => Err(self.fail(sys, message).await),
        }
    }

    /// Prints the `--help` text on stdout; status 0.
    pub async fn help(&self, sys: &Sys) -> ExitCode {
        match sys.print(self.help).await {
            Ok(()) => 0,
            Err(errno) => fail::write_error(sys, self.name, errno).await,
        }
    }

    /// The one optional number operand of `pingpong [N]`, `primes [N]`:
    /// `default` when absent; a usage error for anything else.
    pub async fn optional_number(
        &self,
        sys: &Sys,
        operands: &[String],
        default: u64,
    ) -> Result<u64, ExitCode> {
        match self.at_most(sys, operands, 1).await? {
            [n] => match n.parse::<u64>() {
                Ok(n) => Ok(n),
                Err(_) => Err(self.fail(sys, format_args!("invalid number: '{n}'")).await),
            },
            _ => Ok(default),
        }
    }

    /// The operands, if there are at most `most` of them; else the usage
    /// error `extra operand 'X'` naming the first one too many.
    pub async fn at_most<'a>(
        &self,
        sys: &Sys,
        operands: &'a [String],
        most: usize,
    ) -> Result<&'a [String], ExitCode> {
        match operands.get(most) {
            None => Ok(operands),
            Some(extra) => Err(self
                .fail(sys, format_args!("extra operand '{extra}'"))
                .await),
        }
    }

    /// A usage error: `NAME: message` and the `Try` line on stderr; returns
    /// the usage-error status.
    pub async fn fail(&self, sys: &Sys, message: impl Display) -> ExitCode {
        let text = format!(
            "{0}: {message}\nTry '{0} --help' for more information.\n",
            self.name
        );
        let _ = sys.eprint(&text).await;
        self.status
    }
}

/// Parses a count as `head` and `tail` take it: digits with an optional
/// multiplier suffix (`b` 512, `kB` 1000, `K`/`KiB` 1024, `MB`, `M`/`MiB`, …
/// up to `E`). A count too big for 64 bits saturates (GNU treats it as
/// infinite too). `None` if it is not a count.
pub fn parse_count(text: &str) -> Option<u64> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    if digits.is_empty() {
        return None;
    }
    let multiplier = suffix_multiplier(suffix)?;
    let value = digits.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(value.saturating_mul(multiplier))
}

/// The factor a size suffix stands for, as GNU `xstrtoumax` reads it.
fn suffix_multiplier(suffix: &str) -> Option<u64> {
    if suffix.is_empty() {
        return Some(1);
    }
    if suffix == "b" {
        return Some(512);
    }
    let mut chars = suffix.chars();
    let letter = chars.next()?;
    let power = "KMGTPE".find(letter.to_ascii_uppercase())? as u32 + 1;
    // `k` and `m` are accepted for `K` and `M`, as GNU does; the other
    // letters are capitals only.
    if letter.is_ascii_lowercase() && !matches!(letter, 'k' | 'm') {
        return None;
    }
    let base: u64 = match chars.as_str() {
        "" | "iB" => 1024,
        "B" => 1000,
        _ => return None,
    };
    base.checked_pow(power)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt::flag('l', "lines"),
        Opt::flag('w', "words"),
        Opt::flag('L', "line-number"),
        Opt::value('n', "count"),
    ];
    const SPEC: Spec = Spec::new("t", "Usage: t\n", OPTS);

    fn argv(args: &[&str]) -> Vec<String> {
        std::iter::once("t")
            .chain(args.iter().copied())
            .map(String::from)
            .collect()
    }

    fn parse(spec: &Spec, args: &[&str]) -> Result<Args, String> {
        match spec.parse_argv(&argv(args))? {
            Parsed::Args(args) => Ok(args),
            Parsed::Help => Err("help".into()),
        }
    }

    fn opts(list: &[(char, &str)]) -> Vec<(char, String)> {
        list.iter().map(|&(c, v)| (c, v.to_string())).collect()
    }

    #[test]
    fn clusters_values_and_operands_mix_in_gnu_order() {
        let a = parse(&SPEC, &["-lw", "x", "-n5", "-n", "7", "y", "-"]).unwrap();
        assert_eq!(
            a.opts,
            opts(&[('l', ""), ('w', ""), ('n', "5"), ('n', "7")])
        );
        assert_eq!(a.operands, ["x", "y", "-"]);
    }

    #[test]
    fn double_dash_ends_the_options() {
        let a = parse(&SPEC, &["-l", "--", "-w", "--"]).unwrap();
        assert_eq!(a.opts, opts(&[('l', "")]));
        assert_eq!(a.operands, ["-w", "--"]);
    }

    #[test]
    fn long_options_take_values_and_unique_prefixes() {
        let a = parse(&SPEC, &["--count=3", "--count", "4", "--word", "--lines"]).unwrap();
        assert_eq!(
            a.opts,
            opts(&[('n', "3"), ('n', "4"), ('w', ""), ('l', "")])
        );
    }

    #[test]
    fn help_wins_when_it_comes_first() {
        assert_eq!(SPEC.parse_argv(&argv(&["--help", "-z"])), Ok(Parsed::Help));
        assert_eq!(SPEC.parse_argv(&argv(&["--he"])), Ok(Parsed::Help));
        assert!(SPEC.parse_argv(&argv(&["-z", "--help"])).is_err());
    }

    #[test]
    fn errors_read_like_getopt() {
        assert_eq!(parse(&SPEC, &["-lz"]), Err("invalid option -- 'z'".into()));
        assert_eq!(
            parse(&SPEC, &["-n"]),
            Err("option requires an argument -- 'n'".into())
        );
        assert_eq!(
            parse(&SPEC, &["--nope"]),
            Err("unrecognized option '--nope'".into())
        );
        assert_eq!(
            parse(&SPEC, &["--nope=1"]),
            Err("unrecognized option '--nope=1'".into())
        );
        assert_eq!(
            parse(&SPEC, &["--count"]),
            Err("option '--count' requires an argument".into())
        );
        assert_eq!(
            parse(&SPEC, &["--words=2"]),
            Err("option '--words' doesn't allow an argument".into())
        );
        assert_eq!(
            parse(&SPEC, &["--line"]),
            Err("option '--line' is ambiguous; possibilities: '--lines' '--line-number'".into())
        );
        assert_eq!(
            parse(&SPEC, &["--help=x"]),
            Err("option '--help' doesn't allow an argument".into())
        );
    }

    #[test]
    fn dash_number_can_mean_an_option_or_an_operand() {
        let head = Spec {
            numbers: Numbers::Option('n'),
            ..Spec::new("head", "", OPTS)
        };
        assert_eq!(
            parse(&head, &["-12", "x"]).unwrap().opts,
            opts(&[('n', "12")])
        );
        assert_eq!(parse(&SPEC, &["-5"]), Err("invalid option -- '5'".into()));

        let seq = Spec {
            numbers: Numbers::Operand,
            permute: false,
            ..Spec::new("seq", "", OPTS)
        };
        let a = parse(&seq, &["-l", "-5", "-l", "2"]).unwrap();
        assert_eq!(a.opts, opts(&[('l', "")]));
        assert_eq!(a.operands, ["-5", "-l", "2"]);
        assert_eq!(parse(&seq, &["-.5"]).unwrap().operands, ["-.5"]);
    }

    #[test]
    fn without_permutation_the_first_operand_ends_the_options() {
        let yes = Spec {
            permute: false,
            ..Spec::new("yes", "", OPTS)
        };
        let a = parse(&yes, &["-l", "a", "-w"]).unwrap();
        assert_eq!(a.opts, opts(&[('l', "")]));
        assert_eq!(a.operands, ["a", "-w"]);
    }

    #[test]
    fn counts_take_suffixes_and_saturate() {
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count("42"), Some(42));
        assert_eq!(parse_count("2b"), Some(1024));
        assert_eq!(parse_count("1K"), Some(1024));
        assert_eq!(parse_count("1k"), Some(1024));
        assert_eq!(parse_count("1KiB"), Some(1024));
        assert_eq!(parse_count("1kB"), Some(1000));
        assert_eq!(parse_count("3M"), Some(3 << 20));
        assert_eq!(parse_count("3m"), Some(3 << 20));
        assert_eq!(parse_count("1E"), Some(1 << 60));
        assert_eq!(parse_count("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_count("100E"), Some(u64::MAX));
        for bad in ["", "x", "-1", "+1", "1x", "1g", "1KB2", " 1", "1.5"] {
            assert_eq!(parse_count(bad), None, "{bad:?}");
        }
    }
}
