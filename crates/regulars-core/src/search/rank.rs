//! Ranking: a pure function from "how well did each query word match" and
//! "how regular is this customer" to one score. Nothing here looks at the
//! index, so the rules can be read, tested and tuned in one place.
//!
//! Owns: the worth of each kind of word match, coverage, the regular boost,
//! and the email channel's worth.
//! Does not own: finding candidates (`index.rs`) or explaining hits.
//!
//! # Scoring
//!
//! Each query word gets the quality of its best match in the customer's
//! name (each stored word can be used by one query word only):
//!
//! | match | quality |
//! | --- | --- |
//! | exact word | 1.00 |
//! | prefix of a word still being typed (the last word) | 0.80 + 0.08 x typed/length |
//! | nickname (Bob ~ Robert, either way) | 0.72 + 0.03 x popularity |
//! | initial ("j" of "j smith") of a given or preferred name / of a family name | 0.66 / 0.40 |
//! | prefix of a finished word ("marg " in "marg smi") | 0.62 + 0.06 x typed/length |
//! | sound-alike (same phonetic key) | 0.59 - 0.015 x spelling distance (at most 4) + 0.01 x popularity |
//! | one typo (Damerau: a transposition is one) | 0.45 + 0.04 x popularity |
//! | two typos | 0.30 + 0.04 x popularity |
//! | phone: whole number or its ending / other part | 1.00 / 0.90 |
//!
//! A finished word (one followed by a space) is meant whole, so a longer
//! name that merely starts with it ("Bobby" for "bob ") counts less than a
//! nickname; the word being typed is treated as the start of a name. A word
//! matching the family name gets +0.01 (surnames say more about who is
//! meant). "popularity" is how common the matched name is in this shop
//! (log-scaled 0..1): when a misspelling fits two names, the common one is
//! the likelier intent.
//!
//! The name score is the mean quality over query words. Each query word that
//! matched nothing halves it (all words matching beats any partial
//! match of good quality), each stored given/family word that no query word
//! used costs 0.01 (at most 0.02; "Mary Smith" prefers Mary Smith over Mary
//! Ann Smith), given-before-family order earns 0.005, and matching two or
//! more words without touching the family name costs 0.03 ("day david" is
//! David Day before David "Day" Cason).
//!
//! The regular boost (visits and recency, see [`regular_boost`]) adds at most
//! `0.7 x 0.04 / words`. Quality levels above are at least 0.04 apart, so the
//! boost can reorder customers whose names match equally well (or nearly:
//! two prefixes of different length) but can never lift a regular over a
//! customer whose match is a whole level better on any word.
//!
//! An email match is scored on its own ([`email_quality`]); a customer's
//! score is the better of name and email, plus 0.05 when both agree (0.02
//! unless the query looks like an email: has @ . _ - or digits), since two
//! pieces of evidence for one customer beat one.

/// What kind of match a query word made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchKind {
    Exact,
    Prefix,
    Nickname,
    Initial,
    Phonetic,
    Typo1,
    Typo2,
    PhoneEnd,
    PhonePart,
}

/// Which part of the customer a word matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Given,
    Family,
    Preferred,
    Phone,
}

/// Everything ranking needs to know about one word's match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenMatch {
    pub kind: MatchKind,
    pub field: Field,
    /// Length of the query word, in chars.
    pub typed_len: usize,
    /// Length of the matched stored word, in chars.
    pub term_len: usize,
    /// Spelling distance for sound-alikes (0 if unknown or equal).
    pub distance: usize,
    /// The word was followed by more text (not being typed right now).
    pub finished: bool,
    /// How common the matched stored word is, 0..=1.
    pub popularity: f32,
}

/// The smallest gap between two quality levels in the table above.
pub const LEVEL_GAP: f32 = 0.04;
/// Cost of a several-word match that never touches the family name: people
/// type "first last" or "last first", rarely a given and a preferred name.
/// Larger than any regular boost.
pub const FAMILY_MISSED: f32 = 0.03;
/// Penalty factor for each query word that matched nothing.
pub const MISSING_FACTOR: f32 = 0.5;
/// Bonus when an email match and a name match agree on a customer, for a
/// query that looks like an email and for one that does not.
pub const AGREE_BONUS: f32 = 0.05;
pub const AGREE_BONUS_PLAIN: f32 = 0.02;

/// The quality of one word's match (see the module table).
pub fn token_quality(m: &TokenMatch) -> f32 {
    let ratio = if m.term_len == 0 {
        1.0
    } else {
        (m.typed_len as f32 / m.term_len as f32).min(1.0)
    };
    let pop = m.popularity.clamp(0.0, 1.0);
    let q = match m.kind {
        MatchKind::Exact => 1.0,
        MatchKind::Prefix if m.finished => 0.62 + 0.06 * ratio,
        MatchKind::Prefix => 0.80 + 0.08 * ratio,
        MatchKind::Nickname => 0.72 + 0.03 * pop,
        // "j smith" means a given name starting with J; a family name
        // starting with J is a poor reading of it.
        MatchKind::Initial if m.field == Field::Family => 0.40,
        MatchKind::Initial => 0.66,
        MatchKind::Phonetic => 0.59 - 0.015 * (m.distance.min(4) as f32) + 0.01 * pop,
        MatchKind::Typo1 => 0.45 + 0.04 * pop,
        MatchKind::Typo2 => 0.30 + 0.04 * pop,
        MatchKind::PhoneEnd => 1.0,
        MatchKind::PhonePart => 0.90,
    };
    if m.field == Field::Family {
        q + 0.01
    } else {
        q
    }
}

/// How one customer's name matched the whole query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coverage {
    /// Number of query words.
    pub words: usize,
    /// Sum of the qualities of the words that matched.
    pub quality_sum: f32,
    /// Query words that matched nothing.
    pub missing: usize,
    /// Stored given/family words no query word used.
    pub unused_name_words: usize,
    /// A given (or preferred) name match came before a family name match in
    /// the query.
    pub in_order: bool,
    /// Two or more words matched the name, none of them the family name
    /// ("day david" against David "Day" Cason).
    pub family_missed: bool,
}

/// The name score (see the module doc), before the regular boost.
pub fn name_score(c: &Coverage) -> f32 {
    if c.words == 0 || c.missing >= c.words {
        return 0.0;
    }
    let mut s = c.quality_sum / c.words as f32;
    s *= MISSING_FACTOR.powi(c.missing as i32);
    s -= 0.01 * c.unused_name_words.min(2) as f32;
    if c.in_order {
        s += 0.005;
    }
    if c.family_missed {
        s -= FAMILY_MISSED;
    }
    s
}

/// How much of a regular this customer is, 0..=1: frequency (log-scaled,
/// 60 visits counts as fully frequent) weighted 0.6 and recency (halving
/// every 45 days since the last visit) weighted 0.4. A visit "in the future"
/// (clock skew between tills) counts as today.
pub fn regularity(visits: u32, last_visit_unix: Option<i64>, now_unix: i64) -> f32 {
    0.6 * frequency(visits) + 0.4 * recency(last_visit_unix, now_unix)
}

/// The frequency half of [`regularity`], 0..=1. Depends on the customer
/// only, so the index keeps it ready.
pub fn frequency(visits: u32) -> f32 {
    ((1.0 + visits as f32).ln() / 61f32.ln()).min(1.0)
}

/// The recency half of [`regularity`], 0..=1.
pub fn recency(last_visit_unix: Option<i64>, now_unix: i64) -> f32 {
    match last_visit_unix {
        Some(t) => {
            let days = (now_unix.saturating_sub(t)).max(0) as f32 / 86_400.0;
            (-days / 45.0).exp2()
        }
        None => 0.0,
    }
}

/// The regular boost added to a name score for a query of `words` words;
/// always below what separates two quality levels on one word.
pub fn regular_boost(
    visits: u32,
    last_visit_unix: Option<i64>,
    now_unix: i64,
    words: usize,
) -> f32 {
    boost_from(frequency(visits), last_visit_unix, now_unix, words)
}

/// [`regular_boost`] with the frequency already computed.
pub fn boost_from(
    frequency: f32,
    last_visit_unix: Option<i64>,
    now_unix: i64,
    words: usize,
) -> f32 {
    max_boost(words) * (0.6 * frequency + 0.4 * recency(last_visit_unix, now_unix))
}

/// The largest possible regular boost for a query of `words` words.
pub fn max_boost(words: usize) -> f32 {
    0.7 * LEVEL_GAP / words.max(1) as f32
}

/// How an email matched the query text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailMatch {
    /// The whole address.
    Whole,
    /// The whole part before the @.
    LocalPart,
    /// The start of the address: typed chars and local-part length.
    Prefix { typed: usize, local_len: usize },
}

/// Worth of an email match, on the same scale as a name score. A query
/// that looks like an email ("jones.chris") is one: the start of an address
/// then counts like an exact name; a bare word ("kenyon") is more likely a
/// name, so an email starting with it counts like a name prefix.
pub fn email_quality(m: EmailMatch, looks_like_email: bool) -> f32 {
    match m {
        EmailMatch::Whole => 1.10,
        EmailMatch::LocalPart => 1.08,
        EmailMatch::Prefix { typed, local_len } => {
            let ratio = (typed as f32 / local_len.max(1) as f32).min(1.0);
            if looks_like_email {
                1.0 + 0.05 * ratio
            } else {
                0.80 + 0.08 * ratio
            }
        }
    }
}

/// Combines the channels into the final score.
pub fn combine(name: f32, email: f32, looks_like_email: bool, boost: f32) -> f32 {
    let mut s = name.max(email);
    if name > 0.0 && email > 0.0 {
        s += if looks_like_email {
            AGREE_BONUS
        } else {
            AGREE_BONUS_PLAIN
        };
    }
    s + boost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MatchKind) -> TokenMatch {
        TokenMatch {
            kind,
            field: Field::Given,
            typed_len: 4,
            term_len: 6,
            distance: 1,
            finished: false,
            popularity: 0.5,
        }
    }

    #[test]
    fn quality_order_is_exact_prefix_nickname_phonetic_typo() {
        let order = [
            MatchKind::Exact,
            MatchKind::Prefix,
            MatchKind::Nickname,
            MatchKind::Phonetic,
            MatchKind::Typo1,
            MatchKind::Typo2,
        ];
        for w in order.windows(2) {
            // Worst case of the better kind beats best case of the worse.
            let mut better = m(w[0]);
            better.popularity = 0.0;
            better.typed_len = 1;
            better.term_len = 20;
            better.distance = 5;
            let mut worse = m(w[1]);
            worse.popularity = 1.0;
            worse.typed_len = 20;
            worse.term_len = 20;
            worse.distance = 0;
            let (b, x) = (token_quality(&better), token_quality(&worse));
            assert!(
                b - x >= LEVEL_GAP - 1e-6,
                "{:?} {b} vs {:?} {x}",
                w[0],
                w[1]
            );
        }
    }

    #[test]
    fn boost_never_bridges_a_level_on_one_word() {
        for words in 1..=8 {
            let better = Coverage {
                words,
                quality_sum: words as f32 - 1.0 + 0.80,
                missing: 0,
                unused_name_words: 0,
                in_order: false,
                family_missed: false,
            };
            let worse = Coverage {
                quality_sum: words as f32 - 1.0 + 0.80 - LEVEL_GAP,
                ..better
            };
            let regular = name_score(&worse) + max_boost(words);
            assert!(name_score(&better) > regular, "{words} words");
        }
    }

    #[test]
    fn regularity_rises_with_visits_and_recency() {
        let now = 1_750_000_000;
        let day = 86_400;
        assert!(regularity(50, Some(now - day), now) > regularity(1, Some(now - day), now));
        assert!(regularity(5, Some(now - day), now) > regularity(5, Some(now - 200 * day), now));
        assert!(regularity(u32::MAX, Some(i64::MAX), i64::MIN) <= 1.0);
        assert!(regularity(0, None, now) == 0.0);
    }

    #[test]
    fn full_coverage_beats_partial() {
        let full_weak = Coverage {
            words: 2,
            quality_sum: 0.30 * 2.0,
            missing: 0,
            unused_name_words: 2,
            in_order: false,
            family_missed: false,
        };
        let partial_exact = Coverage {
            words: 2,
            quality_sum: 1.01,
            missing: 1,
            unused_name_words: 0,
            in_order: true,
            family_missed: false,
        };
        assert!(name_score(&full_weak) > name_score(&partial_exact));
    }
}
