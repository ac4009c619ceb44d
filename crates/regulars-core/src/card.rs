//! Loyalty card numbers, parsed once at the edge.
//!
//! Two kinds exist in a shop:
//! - **EAN-13 in the in-store range** (first digit 2, "restricted circulation"):
//!   the cards Regulars issues itself. The check digit is verified, so a
//!   mis-scan or a typo in one digit is caught before any lookup.
//! - **Legacy codes** from an older system (Code128, alphanumeric): accepted
//!   as printed, upper-cased, since their check scheme (if any) is unknown.
//!
//! Owns: parsing, validation, check digits and the issue format. Does not own
//! which customer holds which card (the store does).

use std::fmt;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::clip;
use crate::{Error, Result};

/// The EAN-13 prefix Regulars issues cards under: `29` is in the GS1
/// restricted-circulation range (20-29) that shops use for their own codes,
/// and is rarely used for variable-weight product labels (which favour 20-28).
pub const ISSUE_PREFIX: &str = "29";

/// Legacy codes longer than this are almost certainly not a card.
const LEGACY_MAX: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    Ean13,
    Legacy,
}

/// A validated card number in canonical form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(type = "string")]
pub struct CardNumber(String);

impl CardNumber {
    /// Parses what a scanner or a person typed. Spaces and dashes between
    /// digit groups are ignored for EAN-13 (people type "2 900000 000018").
    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Error::InvalidCard {
                value: String::new(),
                reason: "it is empty",
            });
        }
        let digits: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if digits.len() == 13 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let body = &digits[..12];
            let expected = ean13_check_digit(body);
            let got = digits.as_bytes()[12] - b'0';
            if got != expected {
                return Err(Error::BadCheckDigit {
                    value: digits,
                    expected,
                });
            }
            if !digits.starts_with('2') {
                return Err(Error::InvalidCard {
                    value: digits,
                    reason: "it is a product barcode, not a store card (store cards start with 2)",
                });
            }
            return Ok(CardNumber(digits));
        }
        if trimmed.chars().count() > LEGACY_MAX {
            return Err(Error::InvalidCard {
                value: clip(trimmed),
                reason: "it is far too long for a card",
            });
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '_'))
        {
            return Err(Error::InvalidCard {
                value: clip(trimmed),
                reason: "cards hold only letters, digits and - . / _",
            });
        }
        Ok(CardNumber(trimmed.to_ascii_uppercase()))
    }

    /// Builds the EAN-13 card for an issue serial (the store's counter).
    pub fn issue(serial: u64) -> Result<Self> {
        if serial >= 10_000_000_000 {
            return Err(Error::invalid("card serial", "the card range is exhausted"));
        }
        let body = format!("{ISSUE_PREFIX}{serial:010}");
        let check = ean13_check_digit(&body);
        Ok(CardNumber(format!("{body}{check}")))
    }

    pub fn kind(&self) -> CardKind {
        if self.0.len() == 13 && self.0.bytes().all(|b| b.is_ascii_digit()) {
            CardKind::Ean13
        } else {
            CardKind::Legacy
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The issue serial of a card Regulars issued, if it is one.
    pub fn issued_serial(&self) -> Option<u64> {
        if self.kind() == CardKind::Ean13 && self.0.starts_with(ISSUE_PREFIX) {
            self.0[2..12].parse().ok()
        } else {
            None
        }
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.0)
    }
}

/// GS1 mod-10 check digit over the first 12 digits of an EAN-13.
/// `body` must be 12 ASCII digits.
pub fn ean13_check_digit(body: &str) -> u8 {
    debug_assert_eq!(body.len(), 12);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d
            } else {
                d * 3
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, expected canonical form or the error code it must give)
    const CASES: &[(&str, Result<&str, &str>)] = &[
        ("2900000000018", Ok("2900000000018")),
        ("  2900000000018\n", Ok("2900000000018")),
        ("2 900000 000018", Ok("2900000000018")),
        ("2900000000017", Err("bad_check_digit")),
        ("4006381333931", Err("invalid_input")), // a real product EAN
        ("abc-123", Ok("ABC-123")),
        ("1", Ok("1")),
        ("", Err("invalid_input")),
        ("   ", Err("invalid_input")),
        ("'; DROP TABLE cards;--", Err("invalid_input")),
        ("ÄÖÜ", Err("invalid_input")),
    ];

    #[test]
    fn parse_table() {
        for (input, want) in CASES {
            let got = CardNumber::parse(input);
            match (want, &got) {
                (Ok(w), Ok(c)) => assert_eq!(c.as_str(), *w, "input {input:?}"),
                (Err(code), Err(e)) => {
                    let c = serde_json::to_string(&e.code()).unwrap();
                    assert_eq!(c, format!("\"{code}\""), "input {input:?}: {e}");
                }
                _ => panic!("input {input:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn known_check_digits() {
        // Published examples.
        assert_eq!(ean13_check_digit("400638133393"), 1);
        assert_eq!(ean13_check_digit("590123412345"), 7);
    }

    #[test]
    fn issued_cards_validate_and_round_trip() {
        for serial in [0, 1, 42, 9_999_999_999] {
            let c = CardNumber::issue(serial).unwrap();
            assert_eq!(c.kind(), CardKind::Ean13);
            assert_eq!(CardNumber::parse(c.as_str()).unwrap(), c);
            assert_eq!(c.issued_serial(), Some(serial));
        }
        assert!(CardNumber::issue(10_000_000_000).is_err());
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let c = CardNumber::issue(123_456).unwrap();
        let s = c.as_str().as_bytes().to_vec();
        for i in 0..13 {
            for d in b'0'..=b'9' {
                if d == s[i] {
                    continue;
                }
                let mut t = s.clone();
                t[i] = d;
                let t = String::from_utf8(t).unwrap();
                assert!(CardNumber::parse(&t).is_err(), "typo {t} accepted");
            }
        }
    }

    #[test]
    fn huge_input_is_clipped_in_the_message() {
        let long = "A".repeat(10_000);
        let e = CardNumber::parse(&long).unwrap_err();
        assert!(e.to_string().len() < 300);
    }
}
