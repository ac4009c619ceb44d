//! Deterministic synthetic people for demos, tests and benchmarks: names
//! drawn by 1990 US Census frequency (so there are many Smiths and many Johns
//! and names collide as in life), real nicknames as preferred names, US-style
//! phones, plausible emails and birthdays.
//!
//! Owns: the name pools (embedded compact census lists, or the full surname
//! list read from a census file for benchmarks), the tiny PRNG everything
//! synthetic uses ([`crate::rng::Rng`]), and [`generate`].
//! Does not own: visits or sales (callers invent those), storing people
//! (the store), or searching them (`search`).
//!
//! The same `(n, seed)` always gives the same people on every machine.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;

use crate::rng::Rng;
use crate::search::nicknames::Nicknames;
use crate::search::normalize::{fold, title_case};
use crate::Error;

const FIRST_MALE: &str = include_str!("../../../assets/names/first_male.txt");
const FIRST_FEMALE: &str = include_str!("../../../assets/names/first_female.txt");
const LAST_TOP: &str = include_str!("../../../assets/names/last_top5000.txt");

/// Names with cumulative weights, sampled by binary search.
#[derive(Clone, Debug, Default)]
pub struct WeightedNames {
    names: Vec<String>,
    cumulative: Vec<u64>,
}

impl WeightedNames {
    fn push(&mut self, name: String, weight: u64) {
        let total = self.total() + weight.max(1);
        self.names.push(name);
        self.cumulative.push(total);
    }
    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    pub fn sample(&self, rng: &mut Rng) -> &str {
        let r = rng.below(self.total());
        let i = self.cumulative.partition_point(|&c| c <= r);
        &self.names[i.min(self.names.len() - 1)]
    }
    /// Parses "NAME WEIGHT" lines (the shipped format); weights are scaled
    /// by `scale` so lists of different precision can be mixed.
    fn parse_compact(text: &str, scale: u64) -> Self {
        let mut w = WeightedNames::default();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            if let (Some(name), Some(weight)) = (parts.next(), parts.next()) {
                if let Ok(weight) = weight.parse::<u64>() {
                    w.push(title_case(name), weight * scale);
                }
            }
        }
        w
    }
}

/// The names people are drawn from.
#[derive(Clone, Debug)]
pub struct NamePool {
    pub male: WeightedNames,
    pub female: WeightedNames,
    pub surnames: WeightedNames,
    /// Says where the surnames came from, for benchmark reports.
    pub source: String,
}

impl NamePool {
    /// The pools shipped with the app: every census first name and the 5,000
    /// most common surnames. Weights are in units of 0.0001%.
    pub fn embedded() -> &'static NamePool {
        static POOL: OnceLock<NamePool> = OnceLock::new();
        POOL.get_or_init(|| NamePool {
            male: WeightedNames::parse_compact(FIRST_MALE, 10),
            female: WeightedNames::parse_compact(FIRST_FEMALE, 10),
            surnames: WeightedNames::parse_compact(LAST_TOP, 10),
            source: "embedded census lists (all first names, top 5,000 surnames)".into(),
        })
    }

    /// The embedded first names with every surname of a census file such as
    /// `dist.all.last.gz` (gzipped or plain: "NAME FREQ% CUM% RANK" lines).
    /// Surnames listed with frequency 0.000 get a weight of 0.0002%, about
    /// their true share.
    pub fn with_census_surnames(path: &Path) -> Result<NamePool, Error> {
        use std::io::Read;
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let raw = std::fs::read(path).map_err(io)?;
        let mut text = String::new();
        if raw.starts_with(&[0x1f, 0x8b]) {
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .map_err(io)?;
        } else {
            text = String::from_utf8_lossy(&raw).into_owned();
        }
        let mut surnames = WeightedNames::default();
        for (i, line) in text.lines().enumerate() {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(freq)) = (parts.next(), parts.next()) else {
                continue;
            };
            let freq: f64 = freq.parse().map_err(|_| Error::Import {
                file: path.display().to_string(),
                line: i as u64 + 1,
                reason: format!("'{freq}' is not a frequency"),
            })?;
            surnames.push(title_case(name), ((freq * 10_000.0).round() as u64).max(2));
        }
        if surnames.is_empty() {
            return Err(Error::Import {
                file: path.display().to_string(),
                line: 0,
                reason: "no surnames found".into(),
            });
        }
        let base = Self::embedded();
        Ok(NamePool {
            male: base.male.clone(),
            female: base.female.clone(),
            source: format!(
                "embedded first names, all {} surnames from {}",
                surnames.len(),
                path.display()
            ),
            surnames,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
}

/// One synthetic person.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub given_name: String,
    pub family_name: String,
    /// What they like to be called, a real nickname of the given name
    /// (about 10% of people).
    pub preferred_name: Option<String>,
    pub gender: Gender,
    /// US-style numbers in the formats people type them; no two people share
    /// a number.
    pub phones: Vec<String>,
    /// About 70% of people; unique.
    pub email: Option<String>,
    pub birthday: Option<NaiveDate>,
}

/// `n` people drawn from the embedded census lists; the same for a seed.
pub fn generate(n: usize, seed: u64) -> Vec<Person> {
    generate_with(NamePool::embedded(), n, seed)
}

/// Area codes of one metro area (a shop's customers are mostly local), with
/// weights.
const AREA_CODES: [(&str, u64); 8] = [
    ("312", 30),
    ("773", 30),
    ("872", 8),
    ("708", 12),
    ("630", 8),
    ("847", 8),
    ("219", 2),
    ("414", 2),
];

const DOMAINS: [(&str, u64); 12] = [
    ("gmail.com", 45),
    ("yahoo.com", 14),
    ("hotmail.com", 9),
    ("outlook.com", 7),
    ("icloud.com", 8),
    ("aol.com", 4),
    ("comcast.net", 5),
    ("att.net", 3),
    ("msn.com", 2),
    ("live.com", 1),
    ("sbcglobal.net", 1),
    ("protonmail.com", 1),
];

fn pick_weighted<'a>(rng: &mut Rng, items: &[(&'a str, u64)]) -> &'a str {
    let total: u64 = items.iter().map(|x| x.1).sum();
    let mut r = rng.below(total);
    for (s, w) in items {
        if r < *w {
            return s;
        }
        r -= w;
    }
    items[0].0
}

/// `n` people drawn from `pool`; the same for a seed.
pub fn generate_with(pool: &NamePool, n: usize, seed: u64) -> Vec<Person> {
    let mut rng = Rng::new(seed ^ 0x5EED_5EED_9E09_1E00);
    let nick = Nicknames::embedded();
    let mut phones_used: HashSet<u64> = HashSet::with_capacity(n * 2);
    let mut emails_used: HashSet<String> = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let gender = if rng.chance(0.5) {
            Gender::Female
        } else {
            Gender::Male
        };
        let given = match gender {
            Gender::Female => pool.female.sample(&mut rng),
            Gender::Male => pool.male.sample(&mut rng),
        }
        .to_owned();
        let family = pool.surnames.sample(&mut rng).to_owned();
        let given_key = fold(&given);
        // The table lists a few pairs both ways round ("bob" -> "robert");
        // a preferred name is the shorter one.
        let nicks: Vec<&String> = nick
            .nicknames_of(&given_key)
            .iter()
            .filter(|n| n.len() < given_key.len())
            .collect();
        let preferred = if !nicks.is_empty() && rng.chance(0.14) {
            Some(title_case(nicks[rng.index(nicks.len())]))
        } else {
            None
        };

        let phone_count = match rng.below(100) {
            0..=3 => 0,
            4..=85 => 1,
            86..=97 => 2,
            _ => 3,
        };
        let mut phones = Vec::with_capacity(phone_count);
        while phones.len() < phone_count {
            let area = pick_weighted(&mut rng, &AREA_CODES);
            let exchange = rng.range(201, 999);
            let line = rng.below(10_000);
            let key = area.parse::<u64>().unwrap_or(0) * 10_000_000 + exchange * 10_000 + line;
            if !phones_used.insert(key) {
                continue;
            }
            let formatted = match rng.below(20) {
                0..=8 => format!("({area}) {exchange}-{line:04}"),
                9..=15 => format!("{area}-{exchange}-{line:04}"),
                16 => format!("{area}.{exchange}.{line:04}"),
                17 => format!("+1 {area} {exchange} {line:04}"),
                _ => format!("{area}{exchange}{line:04}"),
            };
            phones.push(formatted);
        }

        let birthday = if rng.chance(0.6) {
            let year = 2025 - rng.range(16, 90) as i32;
            NaiveDate::from_yo_opt(year, rng.range(1, 365) as u32)
        } else {
            None
        };

        let email = if rng.chance(0.7) {
            Some(make_email(
                &mut rng,
                &given_key,
                &fold(&family),
                preferred.as_deref(),
                birthday,
                &mut emails_used,
            ))
        } else {
            None
        };

        out.push(Person {
            given_name: given,
            family_name: family,
            preferred_name: preferred,
            gender,
            phones,
            email,
            birthday,
        });
    }
    out
}

fn letters(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn make_email(
    rng: &mut Rng,
    given: &str,
    family: &str,
    preferred: Option<&str>,
    birthday: Option<NaiveDate>,
    used: &mut HashSet<String>,
) -> String {
    let g = match preferred {
        Some(p) if rng.chance(0.5) => letters(&fold(p)),
        _ => letters(given),
    };
    let f = letters(family);
    let gi = &g[..g.len().min(1)];
    let year = birthday.map_or_else(
        || rng.range(1950, 2005) as i32,
        |b| chrono::Datelike::year(&b),
    );
    let local = match rng.below(12) {
        0..=2 => format!("{g}.{f}"),
        3 => format!("{g}{f}"),
        4 => format!("{gi}{f}"),
        5 => format!("{g}_{f}"),
        6 => format!("{f}{gi}"),
        7 => format!("{g}{f}{}", rng.range(1, 99)),
        8 => format!("{g}.{f}{}", year % 100),
        9 => format!("{g}{year}"),
        10 => format!("{gi}{f}{}", rng.range(1, 999)),
        _ => format!("{f}.{g}"),
    };
    let domain = pick_weighted(rng, &DOMAINS);
    let mut email = format!("{local}@{domain}");
    while !used.insert(email.clone()) {
        email = format!("{local}{}@{domain}", rng.range(1, 9999));
    }
    email
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(generate(500, 7), generate(500, 7));
        assert_ne!(generate(50, 7), generate(50, 8));
    }

    #[test]
    fn names_collide_as_in_life() {
        let people = generate(20_000, 1);
        let smiths = people.iter().filter(|p| p.family_name == "Smith").count();
        let johns = people.iter().filter(|p| p.given_name == "John").count();
        assert!(smiths > 100, "{smiths} Smiths");
        assert!(johns > 150, "{johns} Johns");
        let preferred = people.iter().filter(|p| p.preferred_name.is_some()).count();
        assert!(
            (1_000..3_000).contains(&preferred),
            "{preferred} preferred names"
        );
        let emails = people.iter().filter(|p| p.email.is_some()).count();
        assert!((13_000..15_000).contains(&emails), "{emails} emails");
    }

    #[test]
    fn phones_and_emails_are_unique() {
        let people = generate(20_000, 3);
        let mut phones = HashSet::new();
        let mut emails = HashSet::new();
        for p in &people {
            for ph in &p.phones {
                let digits = crate::search::normalize::phone_digits(ph);
                assert_eq!(digits.len(), 10, "{ph}");
                assert!(phones.insert(digits), "duplicate phone {ph}");
            }
            if let Some(e) = &p.email {
                assert!(e.contains('@'));
                assert!(emails.insert(e.clone()), "duplicate email {e}");
            }
        }
    }

    #[test]
    fn census_surnames_load_when_present() {
        let path = Path::new("../../../shared/datasets/names/dist.all.last.gz");
        if !path.exists() {
            eprintln!("skipping: {} not present", path.display());
            return;
        }
        let pool = NamePool::with_census_surnames(path).unwrap();
        assert_eq!(pool.surnames.len(), 88_799);
        assert!(!generate_with(&pool, 10, 1).is_empty());
    }
}
