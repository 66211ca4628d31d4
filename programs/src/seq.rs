//! `seq [-s SEP] [-w] [FIRST [INCREMENT]] LAST`: print numbers from FIRST to
//! LAST by INCREMENT. Numbers are decimals (`1`, `-3`, `0.25`), computed
//! exactly in fixed point and printed with as many decimals as FIRST and
//! INCREMENT have, as GNU seq prints them.

use syscalls::{ExitCode, Sys};

use crate::fail;
use crate::output::Output;
use crate::usage::{Numbers, Opt, Spec};

const SPEC: Spec = Spec {
    // `seq -1 1`: a negative number is an operand, and ends the options, as
    // in GNU seq.
    numbers: Numbers::Operand,
    permute: false,
    ..Spec::new(
        "seq",
        "Usage: seq [OPTION]... LAST\n\
         \x20 or:  seq [OPTION]... FIRST LAST\n\
         \x20 or:  seq [OPTION]... FIRST INCREMENT LAST\n\
         Print numbers from FIRST to LAST, in steps of INCREMENT.\n\
         \n\
         \x20 -s, --separator=STRING   use STRING to separate numbers (default: \\n)\n\
         \x20 -w, --equal-width        equalize width by padding with leading zeroes\n\
         \x20     --help               display this help and exit\n\
         \n\
         If FIRST or INCREMENT is omitted, it defaults to 1.  That is, an\n\
         omitted INCREMENT defaults to 1 even when LAST is smaller than FIRST.\n\
         FIRST, INCREMENT and LAST are decimal numbers (like -2 or 0.25); the\n\
         output has as many decimals as FIRST and INCREMENT.\n",
        &[Opt::value('s', "separator"), Opt::flag('w', "equal-width")],
    )
};

/// A decimal number: `mantissa / 10^decimals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal {
    mantissa: i128,
    decimals: u32,
}

/// Most decimals a number may have.
const MAX_DECIMALS: u32 = 18;
/// Numbers must be below `10^MAX_DIGITS` as mantissas (20 digits: every
/// 64-bit integer fits).
const MAX_DIGITS: u32 = 20;

impl Decimal {
    /// Parses `[+-]DIGITS[.DIGITS]` (either side of the point may be empty,
    /// not both). `None` for anything else, or too many digits.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let decimals = u32::try_from(frac.len())
            .ok()
            .filter(|&d| d <= MAX_DECIMALS)?;
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(b - b'0'))?;
        }
        // Every operand is later scaled by up to 10^MAX_DECIMALS: below
        // 10^MAX_DIGITS, that stays below 10^38, within an i128.
        if mantissa >= 10i128.pow(MAX_DIGITS) {
            return None;
        }
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            decimals,
        })
    }

    /// The same value with `decimals` decimals (at least as many as now).
    fn scaled(self, decimals: u32) -> i128 {
        self.mantissa * 10i128.pow(decimals - self.decimals)
    }
}

/// Appends `value / 10^scale`, printed with `shown` decimals (fewer than
/// `scale` truncates; `value` is a multiple of `10^(scale - shown)` when
/// printing a sequence), left-padded with zeros after the sign to `width`.
fn push_number(out: &mut Vec<u8>, value: i128, scale: u32, shown: u32, width: usize) {
    let abs = value.unsigned_abs() / 10u128.pow(scale - shown);
    let mut digits = [0u8; 48];
    let mut at = digits.len();
    let mut rest = abs;
    // u64 arithmetic is much faster than u128: use it when the value fits.
    if let Ok(mut small) = u64::try_from(rest) {
        loop {
            at -= 1;
            digits[at] = b'0' + (small % 10) as u8;
            small /= 10;
            if small == 0 {
                break;
            }
        }
        rest = 0;
    }
    while rest > 0 {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    // At least one digit before the point.
    let shown = shown as usize;
    while digits.len() - at <= shown {
        at -= 1;
        digits[at] = b'0';
    }
    let body = &digits[at..];
    let negative = value < 0 && abs != 0;
    let len = body.len() + usize::from(shown > 0) + usize::from(negative);
    if negative {
        out.push(b'-');
    }
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(len)));
    let (int, frac) = body.split_at(body.len() - shown);
    out.extend_from_slice(int);
    if shown > 0 {
        out.push(b'.');
        out.extend_from_slice(frac);
    }
}

/// The sequence to print, all in one fixed-point scale.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    first: i128,
    step: i128,
    last: i128,
    /// The common scale of the three.
    scale: u32,
    /// Decimals printed: those of FIRST and INCREMENT.
    shown: u32,
    /// Zero-padded width, for `-w`; 0 otherwise.
    width: usize,
}

impl Plan {
    /// From the operands; `Err` is the usage error's message.
    fn new(operands: &[String], equal_width: bool) -> Result<Plan, String> {
        let parse = |text: &String| {
            Decimal::parse(text).ok_or_else(|| format!("invalid floating point argument: '{text}'"))
        };
        let one = Decimal {
            mantissa: 1,
            decimals: 0,
        };
        let (first, step, last) = match operands {
            [] => return Err("missing operand".into()),
            [last] => (one, one, parse(last)?),
            [first, last] => (parse(first)?, one, parse(last)?),
            [first, step, last] => (parse(first)?, parse(step)?, parse(last)?),
            [_, _, _, extra, ..] => return Err(format!("extra operand '{extra}'")),
        };
        if step.mantissa == 0 {
            let text = operands.get(1).map_or("0", String::as_str);
            return Err(format!("invalid Zero increment value: '{text}'"));
        }
        let scale = first.decimals.max(step.decimals).max(last.decimals);
        let shown = first.decimals.max(step.decimals);
        let mut plan = Plan {
            first: first.scaled(scale),
            step: step.scaled(scale),
            last: last.scaled(scale),
            scale,
            shown,
            width: 0,
        };
        if equal_width {
            let mut a = Vec::new();
            push_number(&mut a, plan.first, scale, shown, 0);
            let mut b = Vec::new();
            push_number(&mut b, plan.last, scale, shown, 0);
            plan.width = a.len().max(b.len());
        }
        Ok(plan)
    }

    /// Whether `value` is still within the sequence.
    fn within(&self, value: i128) -> bool {
        if self.step > 0 {
            value <= self.last
        } else {
            value >= self.last
        }
    }
}

/// Prints the sequence in 64 KiB writes. A reader that goes away ends it
/// quietly with status 0 (see the crate docs).
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut separator = "\n".to_string();
    let mut equal_width = false;
    for (opt, value) in args.opts {
        match opt {
            's' => separator = value,
            _ => equal_width = true,
        }
    }
    let plan = match Plan::new(&args.operands, equal_width) {
        Ok(plan) => plan,
        Err(message) => return SPEC.fail(&sys, message).await,
    };
    let mut out = Output::stdout(&sys);
    match print(&plan, separator.as_bytes(), &mut out).await {
        Ok(()) => 0,
        Err(errno) => fail::source_write_error(&sys, SPEC.name, errno).await,
    }
}

/// Writes the sequence, separated by `separator`, ended by a newline if it
/// is not empty.
async fn print(plan: &Plan, separator: &[u8], out: &mut Output) -> syscalls::SysResult<()> {
    let mut value = plan.first;
    let mut any = false;
    while plan.within(value) {
        let buf = out.buffer();
        if any {
            buf.extend_from_slice(separator);
        }
        push_number(buf, value, plan.scale, plan.shown, plan.width);
        any = true;
        out.flush_if_full().await?;
        match value.checked_add(plan.step) {
            Some(next) => value = next,
            None => break,
        }
    }
    if any {
        out.write(b"\n").await?;
    }
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;
    use kernel::testing::Harness;

    fn dec(text: &str) -> Option<(i128, u32)> {
        Decimal::parse(text).map(|d| (d.mantissa, d.decimals))
    }

    fn number(value: i128, scale: u32, shown: u32, width: usize) -> String {
        let mut out = Vec::new();
        push_number(&mut out, value, scale, shown, width);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(dec("12"), Some((12, 0)));
        assert_eq!(dec("-3"), Some((-3, 0)));
        assert_eq!(dec("+0.25"), Some((25, 2)));
        assert_eq!(dec(".5"), Some((5, 1)));
        assert_eq!(dec("5."), Some((5, 0)));
        for bad in ["", "-", ".", "1e3", "x", "1.2.3", " 1", "--1", "inf"] {
            assert_eq!(dec(bad), None, "{bad:?}");
        }
        assert_eq!(dec(&"9".repeat(21)), None);
        assert_eq!(dec(&"9".repeat(20)).map(|d| d.1), Some(0));
        assert_eq!(dec(&format!("0.{}", "1".repeat(19))), None);
    }

    #[test]
    fn numbers_print_with_their_decimals_and_padding() {
        assert_eq!(number(0, 0, 0, 0), "0");
        assert_eq!(number(-42, 0, 0, 0), "-42");
        assert_eq!(number(150, 2, 1, 0), "1.5");
        assert_eq!(number(5, 1, 1, 0), "0.5");
        assert_eq!(number(-5, 1, 1, 0), "-0.5");
        assert_eq!(number(7, 0, 0, 3), "007");
        assert_eq!(number(-7, 0, 0, 3), "-07");
        assert_eq!(
            number(i128::from(u64::MAX) * 10, 0, 0, 0),
            "184467440737095516150"
        );
    }

    #[test]
    fn operands_name_last_first_and_increment() {
        assert_eq!(run(&["seq", "3"], "").stdout, "1\n2\n3\n");
        assert_eq!(run(&["seq", "2", "4"], "").stdout, "2\n3\n4\n");
        assert_eq!(run(&["seq", "1", "3", "10"], "").stdout, "1\n4\n7\n10\n");
        assert_eq!(run(&["seq", "5", "-2", "0"], "").stdout, "5\n3\n1\n");
        assert_eq!(run(&["seq", "-1", "1"], "").stdout, "-1\n0\n1\n");
        assert_eq!(run(&["seq", "5", "1"], "").stdout, "");
        assert_eq!(run(&["seq", "0"], "").stdout, "");
    }

    #[test]
    fn decimals_print_like_gnu_seq() {
        assert_eq!(
            run(&["seq", "1", "0.5", "3"], "").stdout,
            "1.0\n1.5\n2.0\n2.5\n3.0\n"
        );
        assert_eq!(
            run(&["seq", "0.1", "0.1", "0.3"], "").stdout,
            "0.1\n0.2\n0.3\n"
        );
        // LAST's decimals do not count.
        assert_eq!(run(&["seq", "1", "2.5"], "").stdout, "1\n2\n");
    }

    #[test]
    fn separator_and_equal_width() {
        assert_eq!(run(&["seq", "-s", ", ", "3"], "").stdout, "1, 2, 3\n");
        assert_eq!(run(&["seq", "-s,", "1"], "").stdout, "1\n");
        assert_eq!(run(&["seq", "-w", "8", "10"], "").stdout, "08\n09\n10\n");
        assert_eq!(
            run(&["seq", "-w", "-10", "5", "0"], "").stdout,
            "-10\n-05\n000\n"
        );
        assert_eq!(
            run(&["seq", "--equal-width", "1", "0.5", "2"], "").stdout,
            "1.0\n1.5\n2.0\n"
        );
    }

    #[test]
    fn usage_errors() {
        let cases = [
            (&["seq"][..], "seq: missing operand"),
            (&["seq", "1", "2", "3", "4"][..], "seq: extra operand '4'"),
            (
                &["seq", "x"][..],
                "seq: invalid floating point argument: 'x'",
            ),
            (
                &["seq", "1", "0", "3"][..],
                "seq: invalid Zero increment value: '0'",
            ),
            (
                &["seq", "1", "-s,", "3"][..],
                "seq: invalid floating point argument: '-s,'",
            ),
        ];
        for (argv, first) in cases {
            let out = run(argv, "");
            assert_eq!(out.status, Some(1), "{argv:?}");
            assert_eq!(
                out.stderr,
                format!("{first}\nTry 'seq --help' for more information.\n"),
                "{argv:?}"
            );
        }
    }

    #[test]
    fn a_long_sequence_goes_out_in_big_writes() {
        let out = run(&["seq", "100000"], "");
        assert_eq!(out.stdout.lines().count(), 100_000);
        assert!(out.stdout.ends_with("99999\n100000\n"));
        assert!(out.stdout_writes <= 12, "{} writes", out.stdout_writes);
    }

    #[test]
    fn seq_stops_quietly_when_its_reader_goes_away() {
        let out = Harness::new(crate::registry())
            .stdout_closes_after(100)
            .run(&["seq", "1000000"]);
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""));
        let out = Harness::new(crate::registry())
            .pipeline(&[&["seq", "1000000000"], &["head", "-n", "3"]]);
        assert_eq!(out.stdout, "1\n2\n3\n");
        assert_eq!(out.statuses, [0, 0]);
    }

    #[test]
    fn the_sequence_stops_before_overflowing() {
        let max = i64::MAX.to_string();
        let out = run(&["seq", &max, &max], "");
        assert_eq!(out.stdout, format!("{max}\n"));
        // Hostile: at FIRST's 18 decimals the second number is 9e37, and
        // the third would pass i128::MAX (1.7e38) before passing LAST.
        let out = run(
            &[
                "seq",
                "0.000000000000000001",
                "90000000000000000000",
                "99999999999999999999",
            ],
            "",
        );
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(
            out.stdout,
            "0.000000000000000001\n90000000000000000000.000000000000000001\n"
        );
    }
}
