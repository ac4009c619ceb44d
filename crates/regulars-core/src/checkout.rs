//! Ringing up a sale: pure rules for what a scanned code is and what a line
//! is worth. No I/O here; the store applies these when a sale completes.
//!
//! Codes at a till (GS1 conventions):
//! - 13 digits starting `29`: a Regulars loyalty card (see [`crate::card`]);
//! - 13 digits starting `20`-`28`: a variable-measure label printed by a
//!   scale: `2d IIIII PPPPP c`, item code and price in cents;
//! - 8, 12 or 13 other digits: a product barcode (EAN-8, UPC-A, EAN-13);
//! - anything else: a legacy card code or a shop's own product code.

use crate::card::{ean13_check_digit, CardNumber};
use crate::model::DraftLine;
use crate::{Error, Result};

/// Largest quantity on one line: beyond this it is a typo (or a scanner
/// stuck on a key), not a sale.
pub const MAX_QUANTITY: f64 = 10_000.0;
pub const MAX_LINES: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub enum Code {
    Card(CardNumber),
    /// A scale label: the catalogue key (`2d` + item code) and the price.
    Weighed {
        key: String,
        price_cents: i64,
    },
    Product(String),
    /// Could be a legacy card or a shop's own product code.
    Either(String),
}

/// Classifies what a scanner or a person typed.
pub fn classify(raw: &str) -> Result<Code> {
    let s: String = raw.trim().chars().filter(|c| *c != ' ').collect();
    let all_digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if all_digits && s.len() == 13 {
        let expected = ean13_check_digit(&s[..12]);
        if s.as_bytes()[12] - b'0' != expected {
            return Err(Error::BadCheckDigit { value: s, expected });
        }
        if s.starts_with("29") {
            return Ok(Code::Card(CardNumber::parse(&s)?));
        }
        if s.starts_with('2') {
            let price_cents: i64 = s[7..12].parse().unwrap_or(0);
            return Ok(Code::Weighed {
                key: s[..7].to_string(),
                price_cents,
            });
        }
        return Ok(Code::Product(s));
    }
    if all_digits && (s.len() == 8 || s.len() == 12) {
        return Ok(Code::Product(s));
    }
    // Validates length and characters with the card rules.
    Ok(Code::Either(CardNumber::parse(&s)?.to_string()))
}

/// Gross value of `quantity` at `unit_price_cents`, rounded half away from
/// zero to the cent (weighed goods give fractions).
pub fn gross_cents(quantity: f64, unit_price_cents: i64) -> i64 {
    (quantity * unit_price_cents as f64).round() as i64
}

/// Checks one line and returns its amount (gross less discount).
pub fn line_amount(line: &DraftLine) -> Result<i64> {
    let q = line.quantity;
    if !q.is_finite() || q == 0.0 || q.abs() > MAX_QUANTITY {
        return Err(Error::invalid(
            "quantity",
            format!("{q} is not a quantity we can sell (between 0 and {MAX_QUANTITY}, not zero)"),
        ));
    }
    if line.unit_price_cents < 0 {
        return Err(Error::invalid(
            "price",
            "cannot be negative; use a refund instead",
        ));
    }
    let gross = gross_cents(q, line.unit_price_cents);
    if line.discount_cents < 0 || line.discount_cents > gross.abs() {
        return Err(Error::invalid(
            "discount",
            format!(
                "of {} cents on '{}' is more than the line is worth",
                line.discount_cents, line.description
            ),
        ));
    }
    Ok(if gross < 0 {
        gross + line.discount_cents
    } else {
        gross - line.discount_cents
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: f64, price: i64, discount: i64) -> DraftLine {
        DraftLine {
            product_id: None,
            description: "x".into(),
            quantity: q,
            unit_price_cents: price,
            discount_cents: discount,
            offer_key: None,
        }
    }

    #[test]
    fn classify_table() {
        let card = CardNumber::issue(5).unwrap();
        assert_eq!(classify(card.as_str()).unwrap(), Code::Card(card.clone()));
        // A scale label: item 01234 at $5.67.
        let body = "210123400567";
        let label = format!("{body}{}", ean13_check_digit(body));
        assert_eq!(
            classify(&label).unwrap(),
            Code::Weighed {
                key: "2101234".into(),
                price_cents: 567
            }
        );
        assert_eq!(
            classify("4006381333931").unwrap(),
            Code::Product("4006381333931".into())
        );
        assert_eq!(
            classify("036000291452").unwrap(),
            Code::Product("036000291452".into())
        );
        assert_eq!(
            classify("96385074").unwrap(),
            Code::Product("96385074".into())
        );
        assert_eq!(classify("cj-1234").unwrap(), Code::Either("CJ-1234".into()));
        assert!(matches!(
            classify("4006381333932"),
            Err(Error::BadCheckDigit { .. })
        ));
        assert!(classify("").is_err());
        assert!(classify(&"1".repeat(5000)).is_err());
    }

    #[test]
    fn line_amounts() {
        assert_eq!(line_amount(&line(2.0, 250, 0)).unwrap(), 500);
        assert_eq!(line_amount(&line(0.455, 899, 0)).unwrap(), 409);
        assert_eq!(line_amount(&line(3.0, 100, 50)).unwrap(), 250);
        assert_eq!(line_amount(&line(-1.0, 100, 0)).unwrap(), -100);
        for bad in [
            line(0.0, 100, 0),
            line(f64::NAN, 100, 0),
            line(1e9, 100, 0),
            line(1.0, -5, 0),
            line(1.0, 100, 101),
            line(1.0, 100, -1),
        ] {
            assert!(line_amount(&bad).is_err(), "{bad:?}");
        }
    }
}
