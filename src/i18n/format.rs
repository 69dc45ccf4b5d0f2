//! Human-readable sizes, in the reader's language.

/// Formats a byte count the way people read file sizes (`1.5 MB`, `820 KB`, `12 bytes`),
/// with `decimal` as the decimal separator (`.` in English, `,` in German).
pub fn format_bytes(bytes: u64, decimal: char, bytes_word: &str) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} {bytes_word}");
    }
    // Integer arithmetic only: formatting floats would pull core's float printer (about
    // 15 KB of wasm) into every page that shows the widget.
    let mut unit = 0;
    let mut divisor: u64 = 1000;
    while unit < UNITS.len() - 1 && bytes >= divisor * 1000 {
        divisor *= 1000;
        unit += 1;
    }
    // Saturating: only sizes beyond any real file (exabytes) could overflow u64 here, and u128
    // arithmetic would add its own division routines to the wasm.
    let tenths = bytes.saturating_mul(10).saturating_add(divisor / 2) / divisor;
    if tenths < 100 {
        format!("{}{decimal}{} {}", tenths / 10, tenths % 10, UNITS[unit])
    } else {
        format!(
            "{} {}",
            bytes.saturating_add(divisor / 2) / divisor,
            UNITS[unit]
        )
    }
}

/// A time left as people say it, roughly: `4 s`, `12 min`, `2 h` (these symbols are the same
/// in English and German). Seconds up to 99, minutes up to 99, then hours, each rounded.
pub fn format_duration(seconds: u64) -> String {
    if seconds < 100 {
        format!("{seconds} s")
    } else if seconds < 100 * 60 {
        format!("{} min", (seconds + 30) / 60)
    } else {
        format!("{} h", (seconds + 1_800) / 3_600)
    }
}

#[cfg(test)]
mod tests {
    use super::{format_bytes, format_duration};

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
        assert_eq!(format_bytes(12, '.', "bytes"), "12 bytes");
        assert_eq!(format_bytes(11_743, '.', "bytes"), "12 KB");
        assert_eq!(format_bytes(1_500_000, '.', "bytes"), "1.5 MB");
        assert_eq!(format_bytes(1_500_000, ',', "Bytes"), "1,5 MB");
        assert_eq!(format_bytes(10_485_760, '.', "bytes"), "10 MB");
        assert_eq!(format_bytes(5_000, '.', "bytes"), "5.0 KB");
        assert_eq!(
            format_bytes(9_960, '.', "bytes"),
            "10 KB",
            "rounding up to 10 drops the decimal"
        );
        assert_eq!(format_bytes(999_999, '.', "bytes"), "1000 KB");
        assert_eq!(format_bytes(2_500_000_000_000, '.', "bytes"), "2.5 TB");
    }
}
