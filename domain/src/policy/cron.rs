//! Schedules in the five-field cron form Harbor's console and every operator know
//! (`minute hour day-of-month month day-of-week`, UTC): `*`, numbers, ranges `a-b`, lists
//! `a,b`, steps `*/n` and `a-b/n`; day-of-week 0–7 with 0 and 7 both Sunday. As in classic
//! cron, when both day fields are restricted a day matches if either does.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

fn field(text: &str, name: &str, min: u32, max: u32) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{name}: step {s:?} is not a positive number"))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (number(a, name, min, max)?, number(b, name, min, max)?)
        } else {
            let n = number(range, name, min, max)?;
            // `5/15` means from 5 to the end, every 15.
            (n, if part.contains('/') { max } else { n })
        };
        if lo > hi {
            return Err(format!("{name}: range {range:?} runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            let Some(next) = v.checked_add(step) else {
                break;
            };
            v = next;
        }
    }
    Ok((bits, text != "*"))
}

fn number(text: &str, name: &str, min: u32, max: u32) -> Result<u32, String> {
    text.parse()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{name}: {text:?} is not a number from {min} to {max}"))
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [m, h, dom, mon, dow] = fields[..] else {
            return Err(format!(
                "{text:?}: a schedule has five fields (minute hour day-of-month month day-of-week)"
            ));
        };
        let (minutes, _) = field(m, "minute", 0, 59)?;
        let (hours, _) = field(h, "hour", 0, 23)?;
        let (days, days_restricted) = field(dom, "day of month", 1, 31)?;
        let (months, _) = field(mon, "month", 1, 12)?;
        let (mut weekdays, weekdays_restricted) = field(dow, "day of week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        // Days of the month that no chosen month has (31 April, 30 February): the schedule
        // would never run, which is never what was meant.
        if days_restricted && !weekdays_restricted {
            const LONGEST: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            let possible = (1..=12u32)
                .filter(|m| months & (1 << m) != 0)
                .any(|m| (1..=LONGEST[m as usize - 1]).any(|d| days & (1 << d) != 0));
            if !possible {
                return Err(format!(
                    "{text:?} never runs: no chosen month has the chosen day of the month"
                ));
            }
        }
        Ok(Self {
            text: fields.join(" "),
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_restricted,
            weekdays_restricted,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the schedule fires in the minute containing `t`.
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        let bit = |set: u64, v: u32| set & (1 << v) != 0;
        let day = bit(self.days, t.day());
        let weekday = bit(self.weekdays, t.weekday().num_days_from_sunday());
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            _ => day && weekday,
        };
        bit(self.minutes, t.minute())
            && bit(self.hours, t.hour())
            && bit(self.months, t.month())
            && day_ok
    }

    /// The minutes in `(after, until]` at which the schedule fires, oldest first.
    pub fn fired_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut t = truncate(until);
        let mut out = Vec::new();
        while t > after {
            if self.matches(t) {
                out.push(t);
            }
            t -= Duration::minutes(1);
        }
        out.reverse();
        out
    }

    /// The next firing strictly after `t`, within about four years (`None` for a schedule that
    /// never fires, such as 31 February).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut c = truncate(t) + Duration::minutes(1);
        let end = c + Duration::days(4 * 366);
        while c < end {
            if !self.bit_month(c.month()) {
                // Jump to the first minute of the next month.
                let (y, m) = if c.month() == 12 {
                    (c.year() + 1, 1)
                } else {
                    (c.year(), c.month() + 1)
                };
                c = chrono::NaiveDate::from_ymd_opt(y, m, 1)?
                    .and_hms_opt(0, 0, 0)?
                    .and_utc();
                continue;
            }
            if self.matches(c) {
                return Some(c);
            }
            c += Duration::minutes(1);
        }
        None
    }

    fn bit_month(&self, m: u32) -> bool {
        self.months & (1 << m) != 0
    }
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn malformed_or_never_firing_schedules_are_refused() {
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "-1 * * * *",
            "5-1 * * * *",
            "a * * * *",
            "99999999999 * * * *",
            "0 0 30 2 *",
            "0 0 31 4,6,9,11 *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} must be refused");
        }
        // Huge steps end the range instead of overflowing.
        let s = Schedule::parse("1-59/4294967295 * * * *").unwrap();
        assert!(s.matches(at(2026, 11, 27, 3, 1)));
        assert!(!s.matches(at(2026, 11, 27, 3, 2)));
        // 29 February is a real day; a weekday restriction makes any day possible.
        assert!(Schedule::parse("0 0 29 2 *").is_ok());
        assert!(Schedule::parse("0 0 31 2 1").is_ok());
    }

    #[test]
    fn nightly_at_two() {
        let s = Schedule::parse("0 2 * * *").unwrap();
        assert!(s.matches(at(2026, 11, 27, 2, 0)));
        assert!(!s.matches(at(2026, 11, 27, 2, 1)));
        assert!(!s.matches(at(2026, 11, 27, 3, 0)));
        assert_eq!(
            s.next_after(at(2026, 11, 27, 2, 0)),
            Some(at(2026, 11, 28, 2, 0))
        );
        assert_eq!(
            s.next_after(at(2026, 11, 27, 1, 59)),
            Some(at(2026, 11, 27, 2, 0))
        );
    }

    #[test]
    fn steps_ranges_and_lists() {
        let s = Schedule::parse("*/15 9-17 * * 1-5").unwrap();
        assert!(s.matches(at(2026, 11, 27, 9, 45))); // a Friday
        assert!(!s.matches(at(2026, 11, 28, 9, 45))); // Saturday
        assert!(!s.matches(at(2026, 11, 27, 18, 0)));
        assert!(!s.matches(at(2026, 11, 27, 9, 10)));
        let s = Schedule::parse("5,35 0 1 1,7 *").unwrap();
        assert!(s.matches(at(2027, 7, 1, 0, 35)));
        assert!(!s.matches(at(2027, 8, 1, 0, 35)));
        let s = Schedule::parse("10/20 * * * *").unwrap();
        assert!(s.matches(at(2026, 1, 1, 0, 10)) && s.matches(at(2026, 1, 1, 0, 50)));
        assert!(!s.matches(at(2026, 1, 1, 0, 0)));
    }

    #[test]
    fn sunday_is_0_and_7_and_restricted_day_fields_combine_with_or() {
        let sunday = at(2026, 11, 29, 0, 0);
        assert!(Schedule::parse("0 0 * * 0").unwrap().matches(sunday));
        assert!(Schedule::parse("0 0 * * 7").unwrap().matches(sunday));
        // The 13th, or any Friday.
        let s = Schedule::parse("0 0 13 * 5").unwrap();
        assert!(s.matches(at(2026, 11, 13, 0, 0)));
        assert!(s.matches(at(2026, 11, 20, 0, 0)));
        assert!(!s.matches(at(2026, 11, 21, 0, 0)));
    }

    #[test]
    fn fired_between_lists_missed_minutes_in_order() {
        let s = Schedule::parse("*/2 * * * *").unwrap();
        let fired = s.fired_between(at(2026, 1, 1, 0, 0), at(2026, 1, 1, 0, 5));
        assert_eq!(fired, vec![at(2026, 1, 1, 0, 2), at(2026, 1, 1, 0, 4)]);
    }

    #[test]
    fn impossible_and_malformed_schedules() {
        // 31 February never comes: refused when written, not left to never run.
        let e = Schedule::parse("0 0 31 2 *").unwrap_err();
        assert!(e.contains("never runs"), "{e}");
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "5-1 * * * *",
            "a * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
