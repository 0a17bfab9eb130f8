//! Timestamps as the engine writes them (RFC 3339 with nanoseconds), read to the nanosecond:
//! the clocks checks compare differ by less than the SDK parsers keep.

/// Parses an RFC 3339 timestamp as the engine writes it (`2024-05-01T12:00:00.123456789Z`,
/// or with a `+02:00` offset) into nanoseconds since the Unix epoch.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i128> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let offset_at = rest.find(['Z', 'z', '+', '-'])?;
    let (time, zone) = rest.split_at(offset_at);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock_parts = clock.splitn(3, ':');
    let hour: i64 = clock_parts.next()?.parse().ok()?;
    let minute: i64 = clock_parts.next()?.parse().ok()?;
    let second: i64 = clock_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = fraction.chars().take(9).collect();
    let fraction_ns: i128 = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    let offset_seconds: i64 = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(i128::from(seconds) * 1_000_000_000 + fraction_ns)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_timestamps_parse_like_the_engine_writes_them() {
        let ns = |s: &str| parse_rfc3339(s);
        assert_eq!(ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ns("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(
            ns("2026-11-22T04:32:22.118405046Z"),
            Some(1_795_321_942_118_405_046)
        );
        assert_eq!(
            ns("2026-11-22T06:32:22.118405046+02:00"),
            ns("2026-11-22T04:32:22.118405046Z")
        );
        assert_eq!(ns("2000-03-01T00:00:00Z"), Some(951_868_800_000_000_000));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-22T04:32:22",
            "2026-11-22T04:32:22.x1Z",
        ] {
            assert_eq!(ns(bad), None, "{bad:?}");
        }
    }
}
