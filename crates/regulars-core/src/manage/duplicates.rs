//! The duplicate finder's decisions: which pairs of customers to compare
//! (blocking keys, never all n² pairs) and how strongly a pair looks like one
//! person (a score with its evidence, in words).
//!
//! Owns: [`DupRecord`] (the plain facts compared), [`blocking_keys`],
//! [`score_pair`] and [`rank_pairs`] (which blocks, scores and ranks). Pure: no I/O; the
//! store loads the records and the facade attaches summaries.
//! Does not own: remembering dismissed pairs (store), merging (store).
//!
//! Reuses the search code's name handling (folding, the sound-alike key,
//! the nickname table, edit distance), so "Bob Smyth" and "Robert Smith"
//! are as close here as they are at the till's search box.

use std::collections::{HashMap, HashSet};

use crate::ids::CustomerId;
use crate::search::index::osa_distance;
use crate::search::nicknames::Nicknames;
use crate::search::normalize::{email_key, fold, name_tokens, phone_digits};
use crate::search::phonetic;

/// A block (customers sharing one key) larger than this says nothing about
/// any one pair ("everyone called John S.") and would cost O(size²): it is
/// skipped. Keys that identify (phone, email, card) are rarely this big;
/// a shared shop phone or an "none@none.com" placeholder is not evidence.
pub const MAX_BLOCK: usize = 60;

/// Pairs scoring below this are not reported.
pub const MIN_SCORE: f32 = 40.0;

/// What the finder compares about one customer, already normalised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DupRecord {
    pub id: CustomerId,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    /// Phones as stored (digits are taken here).
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub birthday: Option<String>,
    pub address_line1: Option<String>,
    pub postcode: Option<String>,
    /// Card codes, retired ones too.
    pub cards: Vec<String>,
    pub household: Option<String>,
}

/// A scored pair: indices into the record slice, `a < b`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredPair {
    pub a: usize,
    pub b: usize,
    pub score: f32,
    pub evidence: Vec<String>,
}

/// Normalised comparison values of one record, computed once.
#[derive(Debug, Default)]
struct Keys {
    given: String,
    family: String,
    /// Sound-alike keys of the two, computed once (pairs compare them often).
    given_ph: String,
    family_ph: String,
    /// The given name, the preferred name, and the formal names they are
    /// nicknames of (so Bob and Robert share "robert").
    given_forms: Vec<String>,
    phones: Vec<String>,
    email: Option<String>,
    address: Option<String>,
    cards: Vec<String>,
}

fn first_token(s: &str) -> String {
    name_tokens(s).into_iter().next().unwrap_or_default()
}

fn keys(r: &DupRecord, nick: &Nicknames) -> Keys {
    let given = first_token(&r.given_name);
    let family = name_tokens(&r.family_name).join("");
    let mut given_forms = vec![given.clone()];
    if let Some(p) = r.preferred_name.as_deref().map(first_token) {
        given_forms.push(p);
    }
    for g in given_forms.clone() {
        given_forms.extend(nick.formals_of(&g).iter().cloned());
    }
    given_forms.retain(|g| !g.is_empty());
    given_forms.sort();
    given_forms.dedup();
    let mut phones: Vec<String> = r
        .phones
        .iter()
        .map(|p| phone_digits(p))
        .filter(|d| d.len() >= 7)
        .collect();
    phones.sort();
    phones.dedup();
    Keys {
        given_ph: phonetic::key(&given),
        family_ph: phonetic::key(&family),
        given,
        family,
        given_forms,
        phones,
        email: r
            .email
            .as_deref()
            .map(email_key)
            .filter(|e| e.contains('@')),
        address: address_key(r.address_line1.as_deref(), r.postcode.as_deref()),
        cards: r.cards.iter().map(|c| card_key(c)).collect(),
    }
}

/// Postcode + house number ("60614|1423"): the part of an address people
/// type the same way; street names come abbreviated a dozen ways.
pub fn address_key(line1: Option<&str>, postcode: Option<&str>) -> Option<String> {
    let pc: String = fold(postcode?)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let line = fold(line1?);
    let number = line
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    (!pc.is_empty()).then(|| format!("{pc}|{number}"))
}

/// A card's identity across re-typing: digits without leading zeros (old
/// systems padded legacy numbers differently).
pub fn card_key(code: &str) -> String {
    let d: String = code.chars().filter(char::is_ascii_digit).collect();
    let t = d.trim_start_matches('0');
    if t.is_empty() {
        code.to_string()
    } else {
        t.to_string()
    }
}

/// The blocking keys of one record: any two records sharing a key are
/// compared. Phone digits, email, postcode + house number, card, and two
/// name keys (sound-alike given form + sound-alike family name; sound-alike
/// family name + given initial, which catches typos in the given name).
pub fn blocking_keys(r: &DupRecord) -> Vec<String> {
    key_list(&keys(r, Nicknames::embedded()))
}

fn key_list(k: &Keys) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(k.phones.iter().map(|p| format!("p:{p}")));
    if let Some(e) = &k.email {
        out.push(format!("e:{e}"));
    }
    if let Some(a) = &k.address {
        out.push(format!("a:{a}"));
    }
    out.extend(k.cards.iter().map(|c| format!("c:{c}")));
    let fam = &k.family_ph;
    if !fam.is_empty() {
        for g in &k.given_forms {
            let gk = phonetic::key(g);
            if !gk.is_empty() {
                out.push(format!("n:{gk}:{fam}"));
            }
        }
        if let Some(initial) = k.given.chars().next() {
            out.push(format!("i:{initial}:{fam}"));
        }
        // A typo in the family name changes its sound-alike key; the given
        // name's key with the family name's first two letters still meets.
        let fam2: String = k.family.chars().take(2).collect();
        if let Some(g) = k.given_forms.first() {
            out.push(format!("f:{}:{fam2}", phonetic::key(g)));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn typo_close(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let max = if a.len().min(b.len()) >= 5 { 2 } else { 1 };
    osa_distance(&a, &b, max).is_some()
}

fn tail(d: &str) -> &str {
    &d[d.len().saturating_sub(4)..]
}

/// How alike two records are: a score (0-100) and the evidence, in words.
/// Identifying facts (phone, email, card) weigh most; names and address
/// confirm; clearly different first names or birthdays count against (two
/// people of one household share a phone and an address, not a name).
pub fn score_pair(a: &DupRecord, b: &DupRecord) -> (f32, Vec<String>) {
    let nick = Nicknames::embedded();
    score_keys(a, b, &keys(a, nick), &keys(b, nick), nick)
}

fn score_keys(
    a: &DupRecord,
    b: &DupRecord,
    ka: &Keys,
    kb: &Keys,
    nick: &Nicknames,
) -> (f32, Vec<String>) {
    let mut score = 0.0f32;
    let mut ev = Vec::new();
    // Identifying facts.
    if let Some(p) = ka.phones.iter().find(|p| kb.phones.contains(p)) {
        score += 40.0;
        ev.push(format!("same phone (…{})", tail(p)));
    } else if let Some(p) = ka.phones.iter().find(|p| {
        kb.phones
            .iter()
            .any(|q| q.len() >= 7 && p.ends_with(&q[q.len() - 7..]))
    }) {
        score += 25.0;
        ev.push(format!("same phone but the area code (…{})", tail(p)));
    }
    match (&ka.email, &kb.email) {
        (Some(x), Some(y)) if x == y => {
            score += 40.0;
            ev.push("same email".into());
        }
        (Some(x), Some(y)) => {
            let local = |e: &str| e.split('@').next().unwrap_or_default().replace('.', "");
            // Weak: generated and real addresses alike are often just the
            // name ("john.smith@..."), which two John Smiths share.
            if local(x) == local(y) && local(x).len() >= 4 {
                score += 8.0;
                ev.push("same email name at another provider".into());
            }
        }
        _ => {}
    }
    if let Some(c) = ka.cards.iter().find(|c| kb.cards.contains(c)) {
        score += 45.0;
        ev.push(format!("the same card number (…{}) on both", tail(c)));
    }
    // Names.
    let family_same = !ka.family.is_empty() && ka.family == kb.family;
    if family_same {
        score += 15.0;
        ev.push("same family name".into());
    } else if !ka.family.is_empty()
        && (ka.family_ph == kb.family_ph || typo_close(&ka.family, &kb.family))
    {
        score += 11.0;
        ev.push(format!(
            "family names {} and {} sound or look alike",
            title(&a.family_name),
            title(&b.family_name)
        ));
    } else if !ka.family.is_empty() && !kb.family.is_empty() {
        score -= 10.0;
    }
    let given_same = !ka.given.is_empty() && ka.given == kb.given;
    if given_same {
        score += 15.0;
        ev.push("same first name".into());
    } else if ka.given_forms.iter().any(|g| kb.given_forms.contains(g)) {
        score += 13.0;
        let (x, y) = (title(&a.given_name), title(&b.given_name));
        let formal = |n: &str| {
            nick.formals_of(n)
                .iter()
                .any(|f| kb.given_forms.contains(f) || ka.given_forms.contains(f))
        };
        if formal(&ka.given) || formal(&kb.given) {
            ev.push(format!("{x} and {y}: a nickname and its name"));
        } else {
            ev.push(format!(
                "first names {x} and {y} match via a preferred name"
            ));
        }
    } else if !ka.given.is_empty()
        && (ka.given_ph == kb.given_ph || typo_close(&ka.given, &kb.given))
    {
        score += 10.0;
        ev.push(format!(
            "first names {} and {} sound or look alike",
            title(&a.given_name),
            title(&b.given_name)
        ));
    } else if ka.given.len() > 1 && kb.given.len() > 1 {
        // Different people who share a phone or an address: a household.
        score -= 40.0;
    }
    // Confirming facts.
    if ka.address.is_some() && ka.address == kb.address {
        score += 15.0;
        ev.push("same house number and postcode".into());
    }
    match (&a.birthday, &b.birthday) {
        (Some(x), Some(y)) if x == y => {
            score += 10.0;
            ev.push("same birthday".into());
        }
        (Some(_), Some(_)) => score -= 25.0,
        _ => {}
    }
    if a.household.is_some() && a.household == b.household {
        ev.push("already in one household".into());
    }
    (score.clamp(0.0, 100.0), ev)
}

fn title(s: &str) -> String {
    s.trim().to_string()
}

/// The pairs worth reviewing: candidates scored, those under
/// [`MIN_SCORE`] or in `dismissed` dropped, best first (ties by ids, so the
/// order is stable), at most `limit`.
pub fn rank_pairs(
    records: &[DupRecord],
    dismissed: &HashSet<(CustomerId, CustomerId)>,
    limit: usize,
) -> Vec<ScoredPair> {
    let nick = Nicknames::embedded();
    let keys: Vec<Keys> = records.iter().map(|r| keys(r, nick)).collect();
    // Blocks by a 64-bit hash of the key: no key strings kept, and a rare
    // collision only adds a pair to score, never loses one.
    let hash = |k: &str| {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(k)
    };
    let mut blocks: HashMap<u64, Vec<u32>> = HashMap::with_capacity(records.len() * 6);
    for (i, k) in keys.iter().enumerate() {
        for key in key_list(k) {
            blocks.entry(hash(&key)).or_default().push(i as u32);
        }
    }
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    let mut out = Vec::new();
    for members in blocks.values() {
        if members.len() < 2 || members.len() > MAX_BLOCK {
            continue;
        }
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let (i, j) = (i.min(j) as usize, i.max(j) as usize);
                if !seen.insert((i as u32, j as u32)) {
                    continue;
                }
                let (ra, rb) = (&records[i], &records[j]);
                let key = if ra.id < rb.id {
                    (ra.id, rb.id)
                } else {
                    (rb.id, ra.id)
                };
                if dismissed.contains(&key) {
                    continue;
                }
                let (score, evidence) = score_keys(ra, rb, &keys[i], &keys[j], nick);
                if score >= MIN_SCORE {
                    out.push(ScoredPair {
                        a: i,
                        b: j,
                        score,
                        evidence,
                    });
                }
            }
        }
    }
    out.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| records[x.a].id.cmp(&records[y.a].id))
            .then_with(|| records[x.b].id.cmp(&records[y.b].id))
    });
    out.truncate(limit);
    out
}
