//! Human-friendly sizes (`100GB`, `-1`) and durations (`12h`) as they appear in the config.

use std::fmt;
use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A storage limit in bytes, or unlimited (`-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteLimit {
    Unlimited,
    Bytes(u64),
}

/// A storage limit in bytes (-1 unlimited) as people read it.
pub fn human_limit(limit: i64) -> String {
    if limit < 0 {
        "unlimited".into()
    } else {
        domain::service::registry::quota::human_bytes(limit)
    }
}

impl ByteLimit {
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match domain::policy::limits::parse_size(text)? {
            None => Self::Unlimited,
            Some(bytes) => Self::Bytes(bytes),
        })
    }

    /// Bytes as the database stores limits: -1 for unlimited.
    pub fn as_i64(self) -> i64 {
        match self {
            Self::Unlimited => -1,
            Self::Bytes(b) => i64::try_from(b).unwrap_or(i64::MAX),
        }
    }
}

impl<'de> Deserialize<'de> for ByteLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = ByteLimit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as 100GB, 512MiB, a number of bytes, or -1 for unlimited")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteLimit, E> {
                match v {
                    -1 => Ok(ByteLimit::Unlimited),
                    v if v >= 0 => Ok(ByteLimit::Bytes(v as u64)),
                    _ => Err(E::custom("a negative size other than -1 (unlimited)")),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteLimit, E> {
                Ok(ByteLimit::Bytes(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteLimit, E> {
                ByteLimit::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for ByteLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ByteLimit::Unlimited => s.serialize_i64(-1),
            ByteLimit::Bytes(b) => s.serialize_u64(*b),
        }
    }
}

/// A duration written as `90s`, `15m`, `12h` or `7d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let err = || format!("`{text}` is not a duration such as 90s, 15m, 12h or 7d");
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (number, unit) = text.split_at(split);
        let number: u64 = number.parse().map_err(|_| err())?;
        let seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(err()),
        };
        // Bounded like every user-given duration (`policy::limits::MAX_DAYS`, about 100
        // years), so that adding it to a date can never overflow.
        let max_seconds = domain::policy::limits::MAX_DAYS as u64 * 86_400;
        match number.checked_mul(seconds) {
            Some(total) if total <= max_seconds => Ok(Self(Duration::from_secs(total))),
            _ => Err(format!(
                "`{text}` is too long: at most {} days",
                domain::policy::limits::MAX_DAYS
            )),
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        HumanDuration::parse(&text).map_err(de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", self.0.as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_decimal_and_binary_units() {
        assert_eq!(
            ByteLimit::parse("100GB"),
            Ok(ByteLimit::Bytes(100_000_000_000))
        );
        assert_eq!(
            ByteLimit::parse("10TB"),
            Ok(ByteLimit::Bytes(10_000_000_000_000))
        );
        assert_eq!(ByteLimit::parse("512MiB"), Ok(ByteLimit::Bytes(512 << 20)));
        assert_eq!(ByteLimit::parse("1.5GiB"), Ok(ByteLimit::Bytes(3 << 29)));
        assert_eq!(ByteLimit::parse("-1"), Ok(ByteLimit::Unlimited));
        assert!(ByteLimit::parse("10 parsecs").is_err());
        assert!(ByteLimit::parse("GB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(
            HumanDuration::parse("12h").unwrap().0,
            Duration::from_secs(43_200)
        );
        assert_eq!(
            HumanDuration::parse("7d").unwrap().0,
            Duration::from_secs(604_800)
        );
        assert!(HumanDuration::parse("12").is_err());
        assert!(HumanDuration::parse("h").is_err());
        assert!(HumanDuration::parse("3w").is_err());
        // The boundaries: 36500 days is the longest; beyond, and past u64, a clear error.
        assert!(HumanDuration::parse("36500d").is_ok());
        for too_long in [
            "36501d",
            "876001h",
            "99999999999d",
            "18446744073709551615s",
            "18446744073709551616s",
            "999999999999999999999d",
        ] {
            assert!(HumanDuration::parse(too_long).is_err(), "{too_long}");
        }
    }
}
