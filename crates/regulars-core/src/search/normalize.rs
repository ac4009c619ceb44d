//! Text folding and tokenising shared by indexing and querying, so a name is
//! cut into words exactly the same way on both sides.
//!
//! Owns: accent and case folding (Unicode NFKD, combining marks dropped,
//! lower-cased, a few letters that NFKD keeps whole spelled out), name
//! tokens, phone digits and email keys, and the hard caps that keep hostile
//! input cheap.
//! Does not own: deciding what a token means (see `query` in `mod.rs`) or how
//! well two tokens match (see `index.rs` and `rank.rs`).

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Longest query (in chars) that is looked at at all. Anything past it is a
/// paste accident or an attack, never a name.
pub const MAX_QUERY_CHARS: usize = 512;
/// At most this many words of a query are used.
pub const MAX_TOKENS: usize = 8;
/// Words are cut to this many chars.
pub const MAX_TOKEN_CHARS: usize = 64;

/// Apostrophes join rather than split: "O'Brien" is one word, "obrien".
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}'
    )
}

/// Letters NFKD leaves alone but that people type in ASCII.
fn spell_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'ł' | 'Ł' => "l",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        _ => return None,
    })
}

/// Folds `s` for comparison: NFKD, combining marks removed, lower case,
/// apostrophes removed. Other characters (spaces, punctuation, symbols) are
/// kept so callers can still split on them. At most `max_chars` input chars
/// are read.
pub fn fold_capped(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    for c in s.chars().take(max_chars) {
        if is_apostrophe(c) {
            continue;
        }
        if let Some(sp) = spell_out(c) {
            out.push_str(sp);
            continue;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        decompose_compatible(c, |d| {
            if !is_combining_mark(d) {
                out.extend(d.to_lowercase());
            }
        });
    }
    out
}

/// [`fold_capped`] without a practical cap (for stored data, which is
/// already validated by the store).
pub fn fold(s: &str) -> String {
    fold_capped(s, usize::MAX)
}

/// Splits folded text into words: maximal runs of alphanumeric characters,
/// each cut to [`MAX_TOKEN_CHARS`].
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| match w.char_indices().nth(MAX_TOKEN_CHARS) {
            Some((i, _)) => &w[..i],
            None => w,
        })
}

/// The words of a stored name field ("Mary-Ann O'Neil" -> mary, ann, oneil).
pub fn name_tokens(s: &str) -> Vec<String> {
    words(&fold(s)).map(str::to_owned).collect()
}

/// The digits of a phone number as typed, in any format. A leading US
/// country code on an 11-digit number is dropped so "+1 555 304 1234" and
/// "(555) 304-1234" are the same phone. Full-width digits fold to ASCII.
pub fn phone_digits(s: &str) -> String {
    let d: String = fold_capped(s, 64)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if d.len() == 11 && d.starts_with('1') {
        d[1..].to_owned()
    } else {
        d
    }
}

/// The comparison key of an email address: trimmed and folded (emails are
/// compared case-insensitively).
pub fn email_key(s: &str) -> String {
    fold_capped(s.trim(), 256)
}

/// Title case for display of a folded name ("mcdonald" -> "McDonald",
/// "robert" -> "Robert").
pub fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphabetic();
    }
    if out.len() > 2 && out.starts_with("Mc") {
        let rest = &out[2..];
        let mut r = rest.chars();
        if let Some(f) = r.next() {
            return format!("Mc{}{}", f.to_uppercase(), r.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_table() {
        let cases = [
            ("José Núñez", "jose nunez"),
            ("ZOË", "zoe"),
            ("O'Brien", "obrien"),
            ("O’Brien", "obrien"),
            ("Straße", "strasse"),
            ("Søren Łukasz", "soren lukasz"),
            ("ＡＢＣ１２３", "abc123"),
            ("Ǆ", "dz"),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want, "{input}");
        }
    }

    #[test]
    fn tokens_split_on_punctuation_and_cap() {
        assert_eq!(name_tokens("Mary-Ann  O'Neil"), ["mary", "ann", "oneil"]);
        assert_eq!(name_tokens("  "), Vec::<String>::new());
        let long = "a".repeat(500);
        assert_eq!(name_tokens(&long)[0].len(), MAX_TOKEN_CHARS);
    }

    #[test]
    fn phone_digits_ignore_format() {
        assert_eq!(phone_digits("(555) 304-1234"), "5553041234");
        assert_eq!(phone_digits("+1 555.304.1234"), "5553041234");
        assert_eq!(phone_digits("555-304-1234"), "5553041234");
    }

    #[test]
    fn title_case_names() {
        assert_eq!(title_case("robert"), "Robert");
        assert_eq!(title_case("MCDONALD"), "McDonald");
        assert_eq!(title_case("mary-ann"), "Mary-Ann");
    }
}
