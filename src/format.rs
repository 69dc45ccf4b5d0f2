//! Human-readable sizes, in the reader's language.

/// Formats a byte count the way people read file sizes (`1.5 MB`, `820 KB`, `12 bytes`),
/// with `decimal` as the decimal separator (`.` in English, `,` in German).
pub fn format_bytes(bytes: u64, decimal: char, bytes_word: &str) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} {bytes_word}");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let number = if value < 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    };
    format!(
        "{} {}",
        number.replace('.', &decimal.to_string()),
        UNITS[unit]
    )
}

#[cfg(test)]
mod tests {
    use super::format_bytes;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(format_bytes(12, '.', "bytes"), "12 bytes");
        assert_eq!(format_bytes(11_743, '.', "bytes"), "12 KB");
        assert_eq!(format_bytes(1_500_000, '.', "bytes"), "1.5 MB");
        assert_eq!(format_bytes(1_500_000, ',', "Bytes"), "1,5 MB");
        assert_eq!(format_bytes(10_485_760, '.', "bytes"), "10 MB");
    }
}
