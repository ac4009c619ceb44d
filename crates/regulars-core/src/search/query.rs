//! Turning what the cashier typed into query words, with hostile input made
//! harmless here once: the text is cut to [`MAX_QUERY_CHARS`], to
//! [`MAX_TOKENS`] words of [`MAX_TOKEN_CHARS`], and anything that is not a
//! letter or digit only separates words (quotes, SQL, FTS operators, emoji).
//!
//! Owns: splitting into name words, phone digits and an email candidate, and
//! precomputing per word what matching needs (chars, phonetic key, nickname
//! links, whether the word is finished or still being typed).
//! Does not own: matching (`index.rs`) or scoring (`rank.rs`).

use super::nicknames::Nicknames;
use super::normalize::{fold_capped, words, MAX_QUERY_CHARS, MAX_TOKENS};
use super::phonetic;

/// Fewest digits that count as part of a phone number.
pub const MIN_PHONE_DIGITS: usize = 4;
/// Fewest chars for an email-prefix search.
pub const MIN_EMAIL_CHARS: usize = 3;

/// One name word of the query.
#[derive(Clone, Debug)]
pub struct NameWord {
    pub text: String,
    pub chars: Vec<char>,
    pub phonetic: String,
    /// Names linked to this one in the nickname table.
    pub related: Vec<String>,
    /// Followed by more text: meant as a whole word, not being typed.
    pub finished: bool,
}

impl NameWord {
    pub fn new(text: &str, finished: bool, nick: &Nicknames) -> Self {
        NameWord {
            text: text.to_owned(),
            chars: text.chars().collect(),
            phonetic: phonetic::key(text),
            related: nick.related(text).map(str::to_owned).collect(),
            finished,
        }
    }
}

/// A parsed query.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub names: Vec<NameWord>,
    /// Runs of at least [`MIN_PHONE_DIGITS`] digits (all digits of the
    /// query joined when it has no letters: "(555) 304-1234").
    pub digits: Vec<String>,
    /// The whole query as an email or the start of one, when it is one
    /// "word" (no spaces).
    pub email: Option<String>,
    /// The query has @ . _ - or digits, so an email match means more.
    pub looks_like_email: bool,
}

impl Query {
    pub fn parse(raw: &str, nick: &Nicknames) -> Query {
        let folded = fold_capped(raw, MAX_QUERY_CHARS);
        let trimmed = folded.trim();
        let mut q = Query::default();
        if trimmed.is_empty() {
            return q;
        }
        let has_letters = trimmed.chars().any(char::is_alphabetic);
        if !has_letters {
            let digits: String = trimmed
                .chars()
                .filter(char::is_ascii_digit)
                .take(20)
                .collect();
            if digits.len() >= MIN_PHONE_DIGITS {
                let d = if digits.len() == 11 && digits.starts_with('1') {
                    digits[1..].to_owned()
                } else {
                    digits
                };
                q.digits.push(d);
            }
            return q;
        }
        // The last word is "being typed" unless the query ends with a
        // separator (a space, comma...).
        let ends_open = folded.chars().last().is_some_and(char::is_alphanumeric);
        let all: Vec<&str> = words(trimmed).take(MAX_TOKENS).collect();
        let n = all.len();
        for (i, w) in all.into_iter().enumerate() {
            let finished = i + 1 < n || !ends_open;
            for run in letter_digit_runs(w) {
                if run.chars().all(|c| c.is_ascii_digit()) {
                    if run.len() >= MIN_PHONE_DIGITS {
                        q.digits.push(run.chars().take(20).collect());
                    }
                } else if q.names.len() < MAX_TOKENS && !q.redundant(run) {
                    q.names.push(NameWord::new(run, finished, nick));
                }
            }
        }
        if !trimmed.contains(char::is_whitespace) && trimmed.chars().count() >= MIN_EMAIL_CHARS {
            let email: String = trimmed.chars().take(254).collect();
            q.looks_like_email = email
                .chars()
                .any(|c| matches!(c, '@' | '.' | '_' | '-') || c.is_ascii_digit());
            q.email = Some(email);
        }
        q
    }

    /// Words beyond what any name needs only cost time ("j j j j j j"):
    /// a word is used at most twice, and at most three initials.
    fn redundant(&self, word: &str) -> bool {
        let same = self.names.iter().filter(|w| w.text == word).count();
        let initials = self.names.iter().filter(|w| w.chars.len() == 1).count();
        same >= 2 || (word.chars().count() == 1 && initials >= 3)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.digits.is_empty() && self.email.is_none()
    }

    /// Query words that count for coverage (names and phone digits).
    pub fn words(&self) -> usize {
        self.names.len() + self.digits.len()
    }
}

/// Splits "smith42" into "smith" and "42": names never hold digits, so a
/// digit run is a phone fragment (or part of an email, handled whole).
fn letter_digit_runs(w: &str) -> impl Iterator<Item = &str> {
    let mut rest = w;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest
            .char_indices()
            .find(|&(_, c)| c.is_ascii_digit() != digit)
            .map_or(rest.len(), |(i, _)| i);
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Query {
        Query::parse(s, Nicknames::embedded())
    }

    #[test]
    fn words_digits_and_email() {
        let q = parse("  José  Núñez ");
        let names: Vec<_> = q
            .names
            .iter()
            .map(|w| (w.text.as_str(), w.finished))
            .collect();
        assert_eq!(names, [("jose", true), ("nunez", true)]);
        let q = parse("marg smi");
        assert!(q.names[0].finished && !q.names[1].finished);
        assert_eq!(parse("(555) 304-1234").digits, ["5553041234"]);
        assert_eq!(parse("+1 555 304 1234").digits, ["5553041234"]);
        assert!(parse("123").is_empty());
        let q = parse("john.smith42@gm");
        assert_eq!(q.email.as_deref(), Some("john.smith42@gm"));
        assert!(q.looks_like_email);
        let names: Vec<_> = q.names.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(names, ["john", "smith", "gm"]);
    }

    #[test]
    fn hostile_input_is_bounded() {
        assert!(parse("").is_empty());
        assert!(parse(" \t\n").is_empty());
        let long = "ab ".repeat(10_000);
        let q = parse(&long);
        assert!(q.names.len() <= MAX_TOKENS);
        let q = parse("'; DROP TABLE customers; -- \"NEAR\" OR *");
        assert!(q.names.len() <= MAX_TOKENS);
        assert_eq!(parse("j j j j j j").names.len(), 2);
        assert_eq!(parse("a b c d e f").names.len(), 3);
        let q = parse("😀😀 مرحبا שלום");
        assert!(q.names.iter().all(|w| !w.text.contains('😀')));
    }
}
