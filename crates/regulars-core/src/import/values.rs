//! Turning the text of one CSV cell into a typed value: money in cents,
//! quantities, timestamps, dates, yes/no, and the casing filters templates
//! use. Pure functions, no I/O.
//!
//! Owns: the accepted spellings of each value kind and their error messages.
//! Does not own: which column a value comes from (templates and mappings).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// How money is written in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyStyle {
    /// `12.34`, `1,234.50`, `$3`, `(2.00)`: currency units with a decimal point.
    Decimal,
    /// `12,34`, `1.234,50`: currency units with a decimal comma.
    DecimalComma,
    /// `1234`: whole cents.
    Cents,
}

/// Parses a money value to cents (half away from zero at the cent). Empty
/// input is `Ok(None)`.
pub fn money(raw: &str, style: MoneyStyle) -> Result<Option<i64>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let (dec, group) = match style {
        MoneyStyle::Decimal | MoneyStyle::Cents => ('.', ','),
        MoneyStyle::DecimalComma => (',', '.'),
    };
    let mut negative = false;
    let mut int: i128 = 0;
    let mut frac: i128 = 0;
    let mut frac_digits = 0u32;
    let mut round_up = false;
    let mut in_frac = false;
    let mut digits = 0;
    for c in s.chars() {
        match c {
            '0'..='9' => {
                let d = i128::from(c as u8 - b'0');
                digits += 1;
                if in_frac {
                    if frac_digits < 2 {
                        frac = frac * 10 + d;
                        frac_digits += 1;
                    } else if frac_digits == 2 {
                        round_up = d >= 5;
                        frac_digits += 1;
                    }
                } else {
                    int = int * 10 + d;
                    if int > 1_000_000_000_000_000 {
                        return Err(format!("'{}' is far too large an amount", clip(s)));
                    }
                }
            }
            '-' | '(' | ')' => negative = true,
            '+' | ' ' | '\u{a0}' | '\'' | '$' | '€' | '£' | '¥' => {}
            c if c == dec && style != MoneyStyle::Cents && !in_frac => in_frac = true,
            c if c == group && !in_frac => {}
            c if c.is_alphabetic() => {} // "USD 3.50", "3.50 EUR"
            _ => return Err(format!("'{}' is not an amount of money", clip(s))),
        }
    }
    if digits == 0 {
        return Err(format!("'{}' is not an amount of money", clip(s)));
    }
    let mut cents = if style == MoneyStyle::Cents {
        int
    } else {
        while frac_digits < 2 {
            frac *= 10;
            frac_digits += 1;
        }
        int * 100 + frac + i128::from(round_up)
    };
    if negative {
        cents = -cents;
    }
    Ok(Some(cents as i64))
}

/// Parses a quantity: units or a weight, any size, zero allowed (old
/// systems record voids and fuel that way). Empty input is `Ok(None)`.
pub fn quantity(raw: &str, decimal_comma: bool) -> Result<Option<f64>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let parsed = if decimal_comma {
        s.replace('.', "").replace(',', ".").parse::<f64>()
    } else {
        s.replace(',', "").parse::<f64>()
    };
    match parsed {
        Ok(q) if q.is_finite() => Ok(Some(q)),
        _ => Err(format!("'{}' is not a quantity", clip(s))),
    }
}

/// Yes/no as exports write it. Unknown words count as "no": consent must be
/// explicit.
pub fn yes(raw: &str) -> bool {
    matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "1" | "y" | "yes" | "true" | "t" | "x" | "subscribed" | "opted in" | "opt-in" | "on"
    )
}

/// The time zone a source's timestamps without an offset are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    Utc,
    /// This computer's zone (the shop's, when the export comes from the shop).
    Local,
    Fixed(FixedOffset),
}

impl Zone {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "utc" | "z" | "gmt" => return Ok(Zone::Utc),
            "local" => return Ok(Zone::Local),
            _ => {}
        }
        let bad = || {
            format!("timezone '{t}' is not \"utc\", \"local\" or an offset like \"+02:00\" or \"-05:00\"")
        };
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'+') => (1, &t[1..]),
            Some(b'-') => (-1, &t[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        FixedOffset::east_opt(sign * (h * 3600 + m * 60))
            .map(Zone::Fixed)
            .ok_or_else(bad)
    }

    fn to_utc(self, t: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::Utc => Some(t.and_utc()),
            // In the hour a clock goes back, the first of the two readings.
            Zone::Local => chrono::Local
                .from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc)),
            Zone::Fixed(o) => o
                .from_local_datetime(&t)
                .single()
                .map(|d| d.with_timezone(&Utc)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormatKind {
    WithOffset,
    DateTime,
    Date,
}

/// An ordered list of accepted timestamp formats (chrono `strftime`
/// syntax). The format that matched last is tried first, since a file uses
/// one format throughout.
#[derive(Clone, Debug)]
pub struct Formats {
    formats: Vec<(String, FormatKind)>,
    zone: Zone,
    last: usize,
}

/// Formats tried when a mapping names none: unambiguous ISO-like forms only.
/// `03/04/2024` could be March or April, so day/month orders must be named.
pub const DEFAULT_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d",
];

impl Formats {
    pub fn new(formats: &[String], zone: Zone) -> Result<Self, String> {
        let list: Vec<String> = if formats.is_empty() {
            DEFAULT_FORMATS.iter().map(|s| s.to_string()).collect()
        } else {
            formats.to_vec()
        };
        let mut out = Vec::new();
        for f in list {
            if chrono::format::StrftimeItems::new(&f)
                .any(|i| matches!(i, chrono::format::Item::Error))
            {
                return Err(format!(
                    "date format '{f}' is not valid strftime syntax (like \"%d/%m/%Y %H:%M\")"
                ));
            }
            let kind =
                if f.contains("%z") || f.contains("%:z") || f.contains("%#z") || f.ends_with('Z') {
                    FormatKind::WithOffset
                } else if ["%H", "%T", "%R", "%I", "%k", "%l", "%X"]
                    .iter()
                    .any(|p| f.contains(p))
                {
                    FormatKind::DateTime
                } else {
                    FormatKind::Date
                };
            out.push((f, kind));
        }
        Ok(Formats {
            formats: out,
            zone,
            last: 0,
        })
    }

    pub fn names(&self) -> Vec<&str> {
        self.formats.iter().map(|(f, _)| f.as_str()).collect()
    }

    /// A timestamp, converted to UTC. `Err(())` when no format matches.
    pub fn timestamp(&mut self, raw: &str) -> Result<DateTime<Utc>, ()> {
        let s = raw.trim();
        let n = self.formats.len();
        for k in 0..n {
            let i = (self.last + k) % n;
            if let Some(t) = self.try_one(i, s) {
                self.last = i;
                return Ok(t);
            }
        }
        Err(())
    }

    /// A calendar date (a timestamp's date part is accepted too).
    pub fn date(&mut self, raw: &str) -> Result<NaiveDate, ()> {
        let s = raw.trim();
        for (f, kind) in &self.formats {
            if *kind == FormatKind::Date {
                if let Ok(d) = NaiveDate::parse_from_str(s, f) {
                    return Ok(d);
                }
            }
        }
        self.timestamp(s).map(|t| t.date_naive())
    }

    fn try_one(&self, i: usize, s: &str) -> Option<DateTime<Utc>> {
        let (f, kind) = &self.formats[i];
        match kind {
            FormatKind::WithOffset => {
                if f.ends_with('Z') {
                    NaiveDateTime::parse_from_str(s, f)
                        .ok()
                        .map(|t| t.and_utc())
                } else {
                    DateTime::parse_from_str(s, f)
                        .ok()
                        .map(|t| t.with_timezone(&Utc))
                }
            }
            FormatKind::DateTime => NaiveDateTime::parse_from_str(s, f)
                .ok()
                .and_then(|t| self.zone.to_utc(t)),
            FormatKind::Date => NaiveDate::parse_from_str(s, f)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|t| self.zone.to_utc(t)),
        }
    }
}

/// Casing filters for names that arrive in capitals ("FLUID MILK").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    Lower,
    Upper,
    /// "Fluid milk white only"
    Sentence,
    /// "Fluid Milk White Only"
    Title,
    /// Only the digits ("(802) 555-0101" -> "8025550101").
    Digits,
}

impl Case {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "lower" => Case::Lower,
            "upper" => Case::Upper,
            "sentence" => Case::Sentence,
            "title" => Case::Title,
            "digits" => Case::Digits,
            _ => return None,
        })
    }

    pub fn apply(self, s: &str, out: &mut String) {
        match self {
            Case::Lower => out.extend(s.chars().flat_map(char::to_lowercase)),
            Case::Upper => out.extend(s.chars().flat_map(char::to_uppercase)),
            Case::Digits => out.extend(s.chars().filter(char::is_ascii_digit)),
            Case::Sentence => {
                let mut first = true;
                for c in s.chars() {
                    if first && c.is_alphabetic() {
                        out.extend(c.to_uppercase());
                        first = false;
                    } else {
                        out.extend(c.to_lowercase());
                    }
                }
            }
            Case::Title => {
                let mut start = true;
                for c in s.chars() {
                    if start && c.is_alphabetic() {
                        out.extend(c.to_uppercase());
                    } else {
                        out.extend(c.to_lowercase());
                    }
                    start = !c.is_alphanumeric() && c != '\'';
                }
            }
        }
    }
}

pub(crate) fn clip(s: &str) -> String {
    crate::error::clip(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_table() {
        let d = MoneyStyle::Decimal;
        type Case = (&'static str, MoneyStyle, Result<Option<i64>, ()>);
        let cases: &[Case] = &[
            ("1.43", d, Ok(Some(143))),
            ("0.5", d, Ok(Some(50))),
            ("3", d, Ok(Some(300))),
            ("$1,234.56", d, Ok(Some(123_456))),
            ("-2.5", d, Ok(Some(-250))),
            ("(2.50)", d, Ok(Some(-250))),
            ("0.335", d, Ok(Some(34))),
            ("0.334", d, Ok(Some(33))),
            ("USD 3.50", d, Ok(Some(350))),
            ("", d, Ok(None)),
            ("  ", d, Ok(None)),
            ("1.234,50", MoneyStyle::DecimalComma, Ok(Some(123_450))),
            ("12,5", MoneyStyle::DecimalComma, Ok(Some(1250))),
            ("1234", MoneyStyle::Cents, Ok(Some(1234))),
            ("abc", d, Err(())),
            ("1.2.3", d, Err(())),
            ("12#", d, Err(())),
        ];
        for (raw, style, want) in cases {
            let got = money(raw, *style).map_err(|_| ());
            assert_eq!(&got, want, "{raw:?}");
        }
    }

    #[test]
    fn quantities_accept_zero_and_huge() {
        assert_eq!(quantity("0", false), Ok(Some(0.0)));
        assert_eq!(quantity("10087", false), Ok(Some(10087.0)));
        assert_eq!(quantity("1,5", true), Ok(Some(1.5)));
        assert_eq!(quantity("", false), Ok(None));
        assert!(quantity("two", false).is_err());
        assert!(quantity("NaN", false).is_err());
    }

    #[test]
    fn timestamps_in_several_formats_and_zones() {
        let mut f = Formats::new(&[], Zone::Utc).unwrap();
        assert_eq!(
            f.timestamp("2017-01-01 11:53:26").unwrap().to_rfc3339(),
            "2017-01-01T11:53:26+00:00"
        );
        assert_eq!(
            f.timestamp("2024-03-05T10:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2024-03-05T08:00:00+00:00"
        );
        assert_eq!(
            f.timestamp("2024-03-05").unwrap().to_rfc3339(),
            "2024-03-05T00:00:00+00:00"
        );
        assert!(f.timestamp("05/03/2024").is_err());
        let mut us =
            Formats::new(&["%m/%d/%Y %H:%M".into()], Zone::parse("-05:00").unwrap()).unwrap();
        assert_eq!(
            us.timestamp("03/05/2024 10:00").unwrap().to_rfc3339(),
            "2024-03-05T15:00:00+00:00"
        );
        assert!(Formats::new(&["%Q".into()], Zone::Utc).is_err());
        assert!(Zone::parse("mars").is_err());
    }

    #[test]
    fn casing() {
        let run = |c: Case, s: &str| {
            let mut o = String::new();
            c.apply(s, &mut o);
            o
        };
        assert_eq!(
            run(Case::Sentence, "FLUID MILK WHITE ONLY"),
            "Fluid milk white only"
        );
        assert_eq!(
            run(Case::Title, "ICE - CRUSHED/CUBED"),
            "Ice - Crushed/Cubed"
        );
        assert_eq!(run(Case::Lower, "1 GAL"), "1 gal");
        assert_eq!(run(Case::Digits, "(802) 555-0101"), "8025550101");
        assert!(yes("Yes") && yes("subscribed") && !yes("no") && !yes(""));
    }
}
