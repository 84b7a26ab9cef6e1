//! Bounds on the numbers people give Berth — durations in days and minutes, storage sizes —
//! checked before anything is stored or computed, so that no user-given value can overflow
//! date or size arithmetic. Each check names the field it refuses, for the error shown.

use chrono::{DateTime, Duration, Utc};

/// The longest span in days anything takes (about 100 years): robot lifetimes, retention.
pub const MAX_DAYS: i64 = 36_500;
/// The largest storage limit in bytes: 1 EiB.
pub const MAX_STORAGE_BYTES: i64 = 1 << 60;

/// `now` plus `days` (1 ..= [`MAX_DAYS`]).
pub fn days_after(field: &str, now: DateTime<Utc>, days: i64) -> Result<DateTime<Utc>, String> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(format!(
            "{field} must be from 1 to {MAX_DAYS} days, not {days}"
        ));
    }
    Duration::try_days(days)
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| format!("{field} of {days} days is out of range"))
}

/// A duration of `minutes` (0 ..= `max`) minutes.
pub fn minutes(field: &str, minutes: i64, max: i64) -> Result<Duration, String> {
    if !(0..=max).contains(&minutes) {
        return Err(format!(
            "{field} must be from 0 to {max} minutes, not {minutes}"
        ));
    }
    Duration::try_minutes(minutes).ok_or_else(|| format!("{field} is out of range"))
}

/// A project's storage limit in bytes: -1 (unlimited) or 1 ..= [`MAX_STORAGE_BYTES`].
pub fn storage_limit(field: &str, bytes: i64) -> Result<i64, String> {
    if bytes == -1 || (1..=MAX_STORAGE_BYTES).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!(
            "{field} must be -1 (unlimited) or a size from 1 byte to 1 EiB, not {bytes}"
        ))
    }
}

/// A size as people write it (`100GB`, `512MiB`, `1.5GiB`, a number of bytes), or `-1` for
/// unlimited (`None`).
pub fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text == "-1" {
        return Ok(None);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 100GB, 512MiB or -1"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (expected B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
            ))
        }
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(Some(bytes.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every boundary of every check, and the extremes of the integer types.
    #[test]
    fn every_boundary_is_refused_or_computed_without_overflow() {
        let now = Utc::now();
        let far_future = DateTime::<Utc>::MAX_UTC - Duration::days(1);
        for (days, ok) in [
            (i64::MIN, false),
            (-1, false),
            (0, false),
            (1, true),
            (MAX_DAYS, true),
            (MAX_DAYS + 1, false),
            (99_999_999_999, false),
            (i64::from(u32::MAX), false),
            (i64::MAX, false),
        ] {
            assert_eq!(days_after("expiry", now, days).is_ok(), ok, "{days} days");
            if !ok {
                assert!(days_after("expiry", now, days)
                    .unwrap_err()
                    .starts_with("expiry"));
            }
        }
        // Near the end of representable time the sum is refused, not a panic.
        assert!(days_after("expiry", far_future, MAX_DAYS).is_err());
        for (m, ok) in [
            (i64::MIN, false),
            (-1, false),
            (0, true),
            (10_080, true),
            (10_081, false),
            (i64::MAX, false),
        ] {
            assert_eq!(minutes("window", m, 10_080).is_ok(), ok, "{m} minutes");
        }
        assert!(minutes("window", i64::MAX, i64::MAX).is_err());
        for (b, ok) in [
            (i64::MIN, false),
            (-2, false),
            (-1, true),
            (0, false),
            (1, true),
            (MAX_STORAGE_BYTES, true),
            (MAX_STORAGE_BYTES + 1, false),
            (i64::MAX, false),
        ] {
            assert_eq!(storage_limit("storage_limit", b).is_ok(), ok, "{b} bytes");
        }
    }
}
