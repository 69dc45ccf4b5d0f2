//! Human-readable sizes and numbers, in the reader's language, and the sentences they go
//! into.
//!
//! None of it goes through `core::fmt`: each `format!` costs its caller an argument table and
//! a call into the formatting machinery, and each type formatted links its own `Display`. The
//! widget's texts need only decimal integers and whole strings, which a loop does.

/// `n` in decimal, appended to `out`. Recursive: at most 20 digits deep, and no buffer whose
/// indexing could panic; each digit a one-byte `&str`, as `String::push(char)` would link a
/// UTF-8 encoder.
pub(crate) fn push_number(out: &mut String, n: u64) {
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    if n >= 10 {
        push_number(out, n / 10);
    }
    out.push_str(DIGITS[(n % 10) as usize]);
}

/// `n` in decimal.
pub(crate) fn number(n: u64) -> String {
    let mut out = String::new();
    push_number(&mut out, n);
    out
}

/// `template` with each `{0}` … `{9}` replaced by that entry of `args` (an empty string where
/// there is none). Templates have no other `{`: the languages' tables are the only ones. A
/// byte loop: `str::split` would link core's pattern searcher and `memchr`.
pub(crate) fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.bytes().position(|b| b == b'{') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let arg = rest
            .as_bytes()
            .get(at + 1)
            .and_then(|digit| args.get(usize::from(digit.wrapping_sub(b'0'))));
        out.push_str(arg.copied().unwrap_or_default());
        rest = rest.get(at + 3..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// Formats a byte count the way people read file sizes (`1.5 MB`, `820 KB`, `12 bytes`),
/// with `decimal` as the decimal separator (`.` in English, `,` in German).
pub fn format_bytes(bytes: u64, decimal: &str, bytes_word: &str) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    let mut out = String::new();
    if bytes < 1000 {
        push_number(&mut out, bytes);
        out.push(' ');
        out.push_str(bytes_word);
        return out;
    }
    // Integer arithmetic only: formatting floats would pull core's float printer (about
    // 15 KB of wasm) into every page that shows the widget.
    let mut unit = 0;
    let mut divisor: u64 = 1000;
    while unit < UNITS.len() - 1 && bytes >= divisor * 1000 {
        divisor *= 1000;
        unit += 1;
    }
    // Capped: only sizes beyond any real file (exabytes) could overflow u64 here; u128
    // arithmetic would add its own division routines to the wasm, and `saturating_mul` a
    // 128-bit multiplication routine (`__multi3` on wasm32).
    let tenths = (bytes.min(u64::MAX / 10) * 10).saturating_add(divisor / 2) / divisor;
    if tenths < 100 {
        push_number(&mut out, tenths / 10);
        out.push_str(decimal);
        push_number(&mut out, tenths % 10);
    } else {
        push_number(&mut out, bytes.saturating_add(divisor / 2) / divisor);
    }
    out.push(' ');
    out.push_str(UNITS[unit]);
    out
}

/// A time left as people say it, roughly: `4 s`, `12 min`, `2 h` (these symbols are the same
/// in English and German). Seconds up to 99, minutes up to 99, then hours, each rounded.
pub fn format_duration(seconds: u64) -> String {
    let (count, unit) = if seconds < 100 {
        (seconds, " s")
    } else if seconds < 100 * 60 {
        ((seconds + 30) / 60, " min")
    } else {
        ((seconds + 1_800) / 3_600, " h")
    };
    number(count) + unit
}

#[cfg(test)]
mod tests {
    use super::{fill, format_bytes, format_duration, number};

    #[test]
    fn numbers_and_templates() {
        assert_eq!(number(0), "0");
        assert_eq!(number(7), "7");
        assert_eq!(number(1_234_567_890), "1234567890");
        assert_eq!(number(u64::MAX), u64::MAX.to_string());
        assert_eq!(fill("{1} of {0}, ä {0}", &["a", "bé"]), "bé of a, ä a");
        assert_eq!(fill("no args", &[]), "no args");
        assert_eq!(fill("{0}{1}", &["x"]), "x", "a missing argument is empty");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(4), "4 s");
        assert_eq!(format_duration(99), "99 s");
        assert_eq!(format_duration(100), "2 min");
        assert_eq!(format_duration(5_969), "99 min");
        assert_eq!(format_duration(6_000), "2 h");
        assert_eq!(format_duration(90_000), "25 h");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(format_bytes(12, ".", "bytes"), "12 bytes");
        assert_eq!(format_bytes(11_743, ".", "bytes"), "12 KB");
        assert_eq!(format_bytes(1_500_000, ".", "bytes"), "1.5 MB");
        assert_eq!(format_bytes(1_500_000, ",", "Bytes"), "1,5 MB");
        assert_eq!(format_bytes(10_485_760, ".", "bytes"), "10 MB");
        assert_eq!(format_bytes(5_000, ".", "bytes"), "5.0 KB");
        assert_eq!(
            format_bytes(9_960, ".", "bytes"),
            "10 KB",
            "rounding up to 10 drops the decimal"
        );
        assert_eq!(format_bytes(999_999, ".", "bytes"), "1000 KB");
        assert_eq!(format_bytes(2_500_000_000_000, ".", "bytes"), "2.5 TB");
    }
}
