//! The in-memory customer index: which customers have which name words,
//! phone digits and emails, kept consistent under upsert and remove, and the
//! search that walks it.
//!
//! Owns: the structures and candidate generation.
//! - distinct folded name words ("terms") with postings (customer, word slot,
//!   field); a sorted map of terms for prefix ranges and exact lookups;
//! - phonetic key -> terms, for sound-alikes;
//! - a deletion neighbourhood (every term with up to 1 or 2 chars deleted,
//!   hashed) -> terms, for typo candidates, verified with a bounded
//!   Damerau (optimal string alignment) distance;
//! - every 4-digit window of every phone -> customers, for partial phones;
//! - exact phone digits and a sorted map of emails for duplicates and email
//!   prefixes.
//!
//! Does not own: scoring (pure, in `rank.rs`) or query parsing (`query.rs`).
//! The store is the source of truth; this index is rebuilt from it at start
//! and kept in step by the caller on every change.
//!
//! Every stored term is judged against a query word by one function,
//! `match_word`; the structures above only propose candidate terms. So a
//! match found through any path is scored the same way, and the same
//! function resolves the rare case where two query words want the same
//! stored word.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Bound;

use super::nicknames::{Nicknames, Relation};
use super::normalize::{self, title_case, MAX_TOKENS};
use super::query::{NameWord, Query, MIN_PHONE_DIGITS};
use super::rank::{self, Coverage, EmailMatch, Field, MatchKind, TokenMatch};
use super::{Hit, SearchDoc};
use crate::ids::CustomerId;

/// A small fast hasher for integer and short-string keys (the std SipHash
/// is built for hostile keys; ours are our own terms and hashes).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

type TermId = u32;
type DocIx = u32;

/// Slots below this are name words; phones use `PHONE_SLOT + i`.
const PHONE_SLOT: u8 = 64;
/// Name words indexed per customer (a hostile 500-word name is cut).
const MAX_DOC_WORDS: usize = 16;
const MAX_DOC_PHONES: usize = 8;
/// Email keys looked at for one prefix; a 3-letter prefix of a huge shop
/// could otherwise walk thousands.
const MAX_EMAIL_KEYS: usize = 4_000;
/// Cap on results asked for.
const MAX_LIMIT: usize = 1_000;

#[derive(Clone, Copy, Debug)]
struct Posting {
    doc: DocIx,
    slot: u8,
    field: Field,
}

#[derive(Debug, Default)]
struct Term {
    text: String,
    chars: Vec<char>,
    sound: String,
    postings: Vec<Posting>,
}

#[derive(Debug)]
struct DocEntry {
    doc: SearchDoc,
    /// Indexed name words; a word's slot is its position here.
    words: Vec<(TermId, Field)>,
    /// Digits of each phone (at least [`MIN_PHONE_DIGITS`] long).
    phones: Vec<String>,
    email: Option<String>,
}

/// Typos a stored word of `len` chars tolerates: none for 1-2, one for
/// 3-4, two from 5.
fn allowed_typos(len: usize) -> usize {
    match len {
        0..=2 => 0,
        3..=4 => 1,
        _ => 2,
    }
}

/// Typos allowed between a typed word and a stored one. Typos happen to the
/// word meant, so the stored word's length sets the allowance ("aper" is
/// two typos from "draper"), but no more than half the typed letters may be
/// wrong, and a two-letter word only matches a three-letter name missing a
/// letter ("jm" for "jim", "ei" for "mei").
fn typos_allowed(typed: &[char], stored: &[char]) -> usize {
    match typed.len() {
        0 | 1 => 0,
        // Lengths 2 and 3 at distance 1 can only be a missing letter.
        2 => usize::from(stored.len() == 3),
        n => allowed_typos(stored.len()).min(n / 2),
    }
}

/// Deletions to try on the typed side: enough to meet any stored word
/// [`typos_allowed`] could accept.
fn typed_deletes(len: usize) -> usize {
    match len {
        0..=2 => 0,
        3 => 1,
        _ => 2,
    }
}

/// Optimal string alignment distance (Damerau-Levenshtein where a swap of
/// neighbours is one edit), or `None` when above `max`. Early exit keeps it
/// cheap for the far-off candidates hashing lets through.
pub fn osa_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    if a == b {
        return Some(0);
    }
    let w = b.len() + 1;
    // Three rows (two back, previous, current); on the stack for words of
    // normal length, since this runs for every typo candidate.
    let mut stack = [0usize; 3 * 65];
    let mut heap = Vec::new();
    let rows: &mut [usize] = if w <= 65 {
        &mut stack[..3 * w]
    } else {
        heap.resize(3 * w, 0);
        &mut heap
    };
    let (mut back, mut prev, mut cur) = (0, w, 2 * w);
    for (j, v) in rows[prev..prev + w].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        rows[cur] = i;
        let mut row_min = i;
        for j in 1..w {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (rows[prev + j] + 1)
                .min(rows[cur + j - 1] + 1)
                .min(rows[prev + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(rows[back + j - 2] + 1);
            }
            rows[cur + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        (back, prev, cur) = (prev, cur, back);
    }
    let d = rows[prev + w - 1];
    (d <= max).then_some(d)
}

/// Hashes `chars` with the positions in `skip` left out.
fn variant_hash(chars: &[char], skip: (usize, usize)) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &c) in chars.iter().enumerate() {
        if i == skip.0 || i == skip.1 {
            continue;
        }
        h = (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final mix so similar strings land far apart in the table.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The deletion neighbourhood of a word: hashes of it with up to
/// `max_deletes` chars removed.
fn deletion_variants(chars: &[char], max_deletes: usize) -> Vec<u64> {
    const NONE: usize = usize::MAX;
    let n = chars.len();
    let mut out = vec![variant_hash(chars, (NONE, NONE))];
    if max_deletes >= 1 {
        for i in 0..n {
            out.push(variant_hash(chars, (i, NONE)));
        }
    }
    if max_deletes >= 2 {
        for i in 0..n {
            for j in i + 1..n {
                out.push(variant_hash(chars, (i, j)));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The best match of one query word per candidate customer.
#[derive(Clone, Copy, Debug)]
struct Best {
    quality: f32,
    slot: u8,
    kind: MatchKind,
    field: Field,
    /// Term id for names, phone index for phones.
    what: u32,
}

const NO_MATCH: Best = Best {
    quality: 0.0,
    slot: u8::MAX,
    kind: MatchKind::Exact,
    field: Field::Given,
    what: u32::MAX,
};

/// Per-query scratch: candidates and their per-word best matches.
struct Acc {
    local: Vec<u32>,
    docs: Vec<DocIx>,
    best: Vec<Best>,
    /// The best match on another stored word than `best`'s: when two query
    /// words claim the same stored word, one of them takes this instead.
    second: Vec<Best>,
    email: Vec<f32>,
    stride: usize,
}

impl Acc {
    fn new(n_docs: usize, words: usize) -> Self {
        Acc {
            local: vec![u32::MAX; n_docs],
            docs: Vec::new(),
            best: Vec::new(),
            second: Vec::new(),
            email: Vec::new(),
            stride: words.max(1),
        }
    }
    fn touch(&mut self, doc: DocIx) -> usize {
        let l = self.local[doc as usize];
        if l != u32::MAX {
            return l as usize;
        }
        let l = self.docs.len();
        self.local[doc as usize] = l as u32;
        self.docs.push(doc);
        self.best.extend(std::iter::repeat_n(NO_MATCH, self.stride));
        self.second
            .extend(std::iter::repeat_n(NO_MATCH, self.stride));
        self.email.push(0.0);
        l
    }
    fn reserve(&mut self, more: usize) {
        self.docs.reserve(more);
        self.best.reserve(more * self.stride);
        self.second.reserve(more * self.stride);
        self.email.reserve(more);
    }
    fn row(&self, local: u32) -> &[Best] {
        let l = local as usize;
        &self.best[l * self.stride..(l + 1) * self.stride]
    }
    fn offer(&mut self, doc: DocIx, word: usize, b: Best) {
        let i = self.touch(doc) * self.stride + word;
        let best = self.best[i];
        if b.quality > best.quality {
            if b.slot != best.slot {
                self.second[i] = best;
            }
            self.best[i] = b;
        } else if b.slot != best.slot && b.quality > self.second[i].quality {
            self.second[i] = b;
        }
    }
}

/// One scored candidate; its per-word matches stay in the `Acc` at `local`.
#[derive(Clone, Copy)]
struct Scored {
    doc: DocIx,
    local: u32,
    score: f32,
    name: f32,
    email: f32,
}

/// What scoring needs of a customer, kept small and apart from the full
/// document so ranking tens of thousands of candidates stays in cache.
#[derive(Clone, Copy, Debug)]
struct DocMeta {
    id: CustomerId,
    visits: u32,
    last_visit_unix: Option<i64>,
    /// `rank::frequency(visits)`, kept ready.
    frequency: f32,
}

/// The in-memory customer index. See the module doc.
#[derive(Debug)]
pub struct SearchIndex {
    nick: &'static Nicknames,
    ids: FxMap<CustomerId, DocIx>,
    docs: Vec<Option<DocEntry>>,
    /// Parallel to `docs`; meaningful where `docs` holds an entry.
    meta: Vec<DocMeta>,
    /// Indexed given + family words per customer, parallel to `docs`.
    legal_words: Vec<u8>,
    free_docs: Vec<DocIx>,
    terms: Vec<Term>,
    free_terms: Vec<TermId>,
    /// Sorted, for prefix ranges.
    vocab: BTreeMap<String, TermId>,
    /// The same terms hashed, for the many exact lookups.
    term_ids: FxMap<String, TermId>,
    by_sound: FxMap<String, Ids>,
    by_deletion: FxMap<u64, Ids>,
    /// Indexed by the 4-digit window's value (0..10_000).
    phone_grams: Vec<Vec<DocIx>>,
    phone_exact: FxMap<String, Ids>,
    emails: BTreeMap<String, Ids>,
}

impl Default for SearchIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl SearchIndex {
    pub fn new() -> Self {
        SearchIndex {
            nick: Nicknames::embedded(),
            ids: FxMap::default(),
            docs: Vec::new(),
            meta: Vec::new(),
            legal_words: Vec::new(),
            free_docs: Vec::new(),
            terms: Vec::new(),
            free_terms: Vec::new(),
            vocab: BTreeMap::new(),
            term_ids: FxMap::default(),
            by_sound: FxMap::default(),
            by_deletion: FxMap::default(),
            phone_grams: vec![Vec::new(); 10_000],
            phone_exact: FxMap::default(),
            emails: BTreeMap::new(),
        }
    }

    /// Builds an index from many documents at once.
    pub fn from_docs(docs: impl IntoIterator<Item = SearchDoc>) -> Self {
        let docs = docs.into_iter();
        let mut idx = Self::new();
        let n = docs.size_hint().0;
        idx.ids.reserve(n);
        idx.docs.reserve(n);
        idx.meta.reserve(n);
        idx.legal_words.reserve(n);
        idx.phone_exact.reserve(n);
        for d in docs {
            idx.upsert(d);
        }
        idx
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The stored document of a customer, if indexed.
    pub fn get(&self, id: CustomerId) -> Option<&SearchDoc> {
        let ix = *self.ids.get(&id)?;
        self.docs[ix as usize].as_ref().map(|e| &e.doc)
    }

    /// Inserts a customer, or replaces the one with the same id.
    pub fn upsert(&mut self, doc: SearchDoc) {
        let ix = match self.ids.get(&doc.id) {
            Some(&ix) => {
                self.unindex(ix);
                ix
            }
            None => match self.free_docs.pop() {
                Some(ix) => ix,
                None => {
                    self.docs.push(None);
                    self.meta.push(DocMeta {
                        id: doc.id,
                        visits: 0,
                        last_visit_unix: None,
                        frequency: 0.0,
                    });
                    self.legal_words.push(0);
                    (self.docs.len() - 1) as DocIx
                }
            },
        };
        self.ids.insert(doc.id, ix);
        self.index(ix, doc);
    }

    /// Removes a customer; unknown ids are ignored.
    pub fn remove(&mut self, id: CustomerId) {
        if let Some(ix) = self.ids.remove(&id) {
            self.unindex(ix);
            self.free_docs.push(ix);
        }
    }

    /// Updates visit count and last visit (after a sale) without touching
    /// names.
    pub fn set_activity(&mut self, id: CustomerId, visits: u32, last_visit_unix: Option<i64>) {
        if let Some(&ix) = self.ids.get(&id) {
            if let Some(e) = self.docs[ix as usize].as_mut() {
                e.doc.visits = visits;
                e.doc.last_visit_unix = last_visit_unix;
                let m = &mut self.meta[ix as usize];
                m.visits = visits;
                m.last_visit_unix = last_visit_unix;
                m.frequency = rank::frequency(visits);
            }
        }
    }

    fn index(&mut self, ix: DocIx, doc: SearchDoc) {
        let mut words = Vec::new();
        let fields = [
            (Field::Given, Some(doc.given_name.as_str())),
            (Field::Family, Some(doc.family_name.as_str())),
            (Field::Preferred, doc.preferred_name.as_deref()),
        ];
        for (field, text) in fields {
            for w in normalize::name_tokens(text.unwrap_or("")) {
                if words.len() >= MAX_DOC_WORDS {
                    break;
                }
                let t = self.intern(&w);
                words.push((t, field));
            }
        }
        for (slot, &(t, field)) in words.iter().enumerate() {
            self.terms[t as usize].postings.push(Posting {
                doc: ix,
                slot: slot as u8,
                field,
            });
        }
        let mut phones: Vec<String> = Vec::new();
        for p in &doc.phones {
            let d = normalize::phone_digits(p);
            if d.len() >= MIN_PHONE_DIGITS && !phones.contains(&d) && phones.len() < MAX_DOC_PHONES
            {
                phones.push(d);
            }
        }
        for g in phone_grams(&phones) {
            self.phone_grams[g].push(ix);
        }
        for p in &phones {
            add_to(&mut self.phone_exact, p, ix);
        }
        let email = doc
            .email
            .as_deref()
            .map(normalize::email_key)
            .filter(|e| !e.is_empty());
        if let Some(e) = &email {
            match self.emails.get_mut(e) {
                Some(ids) => ids.push(ix),
                None => {
                    self.emails.insert(e.clone(), Ids::One([ix]));
                }
            }
        }
        self.meta[ix as usize] = DocMeta {
            id: doc.id,
            visits: doc.visits,
            last_visit_unix: doc.last_visit_unix,
            frequency: rank::frequency(doc.visits),
        };
        self.legal_words[ix as usize] =
            words.iter().filter(|w| w.1 != Field::Preferred).count() as u8;
        self.docs[ix as usize] = Some(DocEntry {
            doc,
            words,
            phones,
            email,
        });
    }

    fn unindex(&mut self, ix: DocIx) {
        let Some(entry) = self.docs[ix as usize].take() else {
            return;
        };
        let mut terms: Vec<TermId> = entry.words.iter().map(|w| w.0).collect();
        terms.sort_unstable();
        terms.dedup();
        for t in terms {
            let term = &mut self.terms[t as usize];
            term.postings.retain(|p| p.doc != ix);
            if term.postings.is_empty() {
                self.forget_term(t);
            }
        }
        for g in phone_grams(&entry.phones) {
            self.phone_grams[g].retain(|&d| d != ix);
        }
        for p in &entry.phones {
            remove_from(&mut self.phone_exact, p, ix);
        }
        if let Some(e) = &entry.email {
            if self.emails.get_mut(e).is_some_and(|v| v.remove_all(ix)) {
                self.emails.remove(e);
            }
        }
    }

    fn intern(&mut self, w: &str) -> TermId {
        if let Some(&t) = self.term_ids.get(w) {
            return t;
        }
        let chars: Vec<char> = w.chars().collect();
        let sound = super::phonetic::key(w);
        let id = match self.free_terms.pop() {
            Some(id) => id,
            None => {
                self.terms.push(Term::default());
                (self.terms.len() - 1) as TermId
            }
        };
        // Words too short for typos need no neighbourhood.
        if allowed_typos(chars.len()) > 0 {
            for h in deletion_variants(&chars, allowed_typos(chars.len())) {
                add_to(&mut self.by_deletion, &h, id);
            }
        }
        if !sound.is_empty() {
            add_to(&mut self.by_sound, &sound, id);
        }
        self.vocab.insert(w.to_owned(), id);
        self.term_ids.insert(w.to_owned(), id);
        self.terms[id as usize] = Term {
            text: w.to_owned(),
            chars,
            sound,
            postings: Vec::new(),
        };
        id
    }

    fn forget_term(&mut self, id: TermId) {
        let term = std::mem::take(&mut self.terms[id as usize]);
        self.vocab.remove(&term.text);
        self.term_ids.remove(&term.text);
        if allowed_typos(term.chars.len()) > 0 {
            for h in deletion_variants(&term.chars, allowed_typos(term.chars.len())) {
                remove_from(&mut self.by_deletion, &h, id);
            }
        }
        if !term.sound.is_empty() {
            remove_from(&mut self.by_sound, &term.sound, id);
        }
        self.free_terms.push(id);
    }

    /// How a query word matches a stored term, if it does: the one judge of
    /// word matches (see the module doc). Returns the kind and the spelling
    /// distance.
    fn match_word(&self, w: &NameWord, t: &Term) -> Option<(MatchKind, usize)> {
        if t.text == w.text {
            return Some((MatchKind::Exact, 0));
        }
        if w.chars.len() == 1 {
            // A lone finished letter is an initial; a lone letter being
            // typed is the start of a name. Single letters get no fuzz.
            return (t.chars.first() == w.chars.first()).then_some(if w.finished {
                (MatchKind::Initial, 0)
            } else {
                (MatchKind::Prefix, 0)
            });
        }
        // The best kind wins: a name being typed is a prefix before it is a
        // nickname, but a finished word ("jan ") that is a nickname of
        // Janice is that rather than the start of Jane.
        let prefix = t.text.starts_with(&w.text);
        if prefix && !w.finished {
            return Some((MatchKind::Prefix, 0));
        }
        if w.related.contains(&t.text) {
            return Some((MatchKind::Nickname, 0));
        }
        if prefix {
            return Some((MatchKind::Prefix, 0));
        }
        // One-letter keys ("zoe" and "zzz" are both S) say nothing.
        if w.chars.len() >= 3 && w.phonetic.len() >= 2 && w.phonetic == t.sound {
            let longest = w.chars.len().max(t.chars.len());
            // Keys drop vowels, so "mary" and "moore" share one; demand the
            // spellings be close too, very close for short keys ("parer" is
            // not "parra"), a little looser for long names
            // ("catherine"/"kathryn").
            let max = if w.phonetic.len() <= 2 {
                1
            } else {
                2 + usize::from(longest >= 8)
            };
            if let Some(d) = osa_distance(&w.chars, &t.chars, max) {
                return Some((MatchKind::Phonetic, d));
            }
            // A short key is weak evidence: two spelling changes ("hufph"
            // for "huff") count as one typo, below a true sound-alike.
            if max == 1 && osa_distance(&w.chars, &t.chars, 2).is_some() {
                return Some((MatchKind::Typo1, 2));
            }
        }
        match osa_distance(&w.chars, &t.chars, typos_allowed(&w.chars, &t.chars))? {
            0 => None,
            1 => Some((MatchKind::Typo1, 1)),
            _ => Some((MatchKind::Typo2, 2)),
        }
    }

    /// Candidate terms for a query word, from every structure that could
    /// hold a match; each is then judged by `match_word`.
    fn candidate_terms(&self, w: &NameWord) -> Vec<TermId> {
        let mut out = Vec::new();
        if let Some(&t) = self.term_ids.get(&w.text) {
            out.push(t);
        }
        let range = self
            .vocab
            .range::<str, _>((Bound::Excluded(w.text.as_str()), Bound::Unbounded));
        for (text, &t) in range {
            if !text.starts_with(&w.text) {
                break;
            }
            out.push(t);
        }
        if w.chars.len() >= 2 {
            for r in &w.related {
                if let Some(&t) = self.term_ids.get(r.as_str()) {
                    out.push(t);
                }
            }
        }
        if w.chars.len() >= 3 {
            if let Some(ts) = self.by_sound.get(&w.phonetic) {
                out.extend_from_slice(ts);
            }
        }
        if w.chars.len() >= 2 {
            for h in deletion_variants(&w.chars, typed_deletes(w.chars.len())) {
                if let Some(ts) = self.by_deletion.get(&h) {
                    out.extend_from_slice(ts);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn popularity(&self, t: &Term) -> f32 {
        let n = self.ids.len().max(1) as f32;
        ((1.0 + t.postings.len() as f32).ln() / (1.0 + n).ln()).min(1.0)
    }

    fn token_match(
        &self,
        w: &NameWord,
        t: &Term,
        kind: MatchKind,
        distance: usize,
        field: Field,
    ) -> TokenMatch {
        TokenMatch {
            kind,
            field,
            typed_len: w.chars.len(),
            term_len: t.chars.len(),
            distance,
            finished: w.finished,
            popularity: self.popularity(t),
        }
    }

    /// Gathers candidates and their best per-word matches.
    fn collect(&self, q: &Query) -> Acc {
        let mut acc = Acc::new(self.docs.len(), q.words());
        for (wi, w) in q.names.iter().enumerate() {
            let terms = self.candidate_terms(w);
            // Room for every customer these terms could add, at most all:
            // growing the scratch vectors as we go costs more than the search.
            let postings: usize = terms
                .iter()
                .map(|&t| self.terms[t as usize].postings.len())
                .sum();
            acc.reserve(postings.min(self.docs.len() - acc.docs.len()));
            for t_id in terms {
                let t = &self.terms[t_id as usize];
                let Some((kind, distance)) = self.match_word(w, t) else {
                    continue;
                };
                let qg = rank::token_quality(&self.token_match(w, t, kind, distance, Field::Given));
                let qf =
                    rank::token_quality(&self.token_match(w, t, kind, distance, Field::Family));
                for p in &t.postings {
                    let quality = if p.field == Field::Family { qf } else { qg };
                    acc.offer(
                        p.doc,
                        wi,
                        Best {
                            quality,
                            slot: p.slot,
                            kind,
                            field: p.field,
                            what: t_id,
                        },
                    );
                }
            }
        }
        for (di, digits) in q.digits.iter().enumerate() {
            let wi = q.names.len() + di;
            for (doc, phone_ix, kind) in self.phone_candidates(digits) {
                let m = TokenMatch {
                    kind,
                    field: Field::Phone,
                    typed_len: digits.len(),
                    term_len: digits.len(),
                    distance: 0,
                    finished: true,
                    popularity: 0.0,
                };
                acc.offer(
                    doc,
                    wi,
                    Best {
                        quality: rank::token_quality(&m),
                        slot: PHONE_SLOT + phone_ix as u8,
                        kind,
                        field: Field::Phone,
                        what: phone_ix as u32,
                    },
                );
            }
        }
        if let Some(e) = &q.email {
            let typed = e.chars().count();
            let range = self
                .emails
                .range::<str, _>((Bound::Included(e.as_str()), Bound::Unbounded));
            for (key, docs) in range.take(MAX_EMAIL_KEYS) {
                if !key.starts_with(e.as_str()) {
                    break;
                }
                let local = key.split('@').next().unwrap_or(key);
                let m = if key == e {
                    EmailMatch::Whole
                } else if local == e || e.strip_suffix('@') == Some(local) {
                    EmailMatch::LocalPart
                } else {
                    EmailMatch::Prefix {
                        typed,
                        local_len: local.chars().count(),
                    }
                };
                let quality = rank::email_quality(m, q.looks_like_email);
                for &d in docs {
                    let l = acc.touch(d);
                    acc.email[l] = acc.email[l].max(quality);
                }
            }
        }
        acc
    }

    /// Customers with a phone containing `digits`, with which phone and
    /// whether it is the ending.
    fn phone_candidates(&self, digits: &str) -> Vec<(DocIx, usize, MatchKind)> {
        let mut out = Vec::new();
        if digits.len() < MIN_PHONE_DIGITS || !digits.is_ascii() {
            return out;
        }
        // The rarest 4-digit window of the query narrows the most.
        let bytes = digits.as_bytes();
        let rarest = (0..=bytes.len() - 4)
            .map(|i| gram_value(&bytes[i..i + 4]))
            .min_by_key(|&g| self.phone_grams[g].len())
            .unwrap_or(0);
        for &d in &self.phone_grams[rarest] {
            let Some(e) = self.docs[d as usize].as_ref() else {
                continue;
            };
            let best = e
                .phones
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    if p.ends_with(digits) {
                        Some((i, MatchKind::PhoneEnd))
                    } else if p.contains(digits) {
                        Some((i, MatchKind::PhonePart))
                    } else {
                        None
                    }
                })
                .min_by_key(|&(_, k)| k != MatchKind::PhoneEnd);
            if let Some((i, k)) = best {
                out.push((d, i, k));
            }
        }
        out
    }

    /// Re-matches a customer's words one to one when two query words
    /// claimed the same stored word (greedy by quality; queries are short).
    fn resolve(&self, q: &Query, e: &DocEntry, best: &mut [Best]) {
        // On the stack: this runs for every candidate whose words overlap.
        let mut pairs = [(0f32, 0usize, 0usize, NO_MATCH); MAX_TOKENS * MAX_DOC_WORDS];
        let mut n = 0;
        for (wi, w) in q.names.iter().enumerate().take(MAX_TOKENS) {
            for (slot, &(t_id, field)) in e.words.iter().enumerate() {
                let t = &self.terms[t_id as usize];
                if let Some((kind, d)) = self.match_word(w, t) {
                    let quality = rank::token_quality(&self.token_match(w, t, kind, d, field));
                    let b = Best {
                        quality,
                        slot: slot as u8,
                        kind,
                        field,
                        what: t_id,
                    };
                    pairs[n] = (quality, wi, slot, b);
                    n += 1;
                }
            }
        }
        let pairs = &mut pairs[..n];
        pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut word_done = [false; MAX_TOKENS];
        let mut slot_used = [false; MAX_DOC_WORDS];
        for b in best.iter_mut().take(q.names.len()) {
            *b = NO_MATCH;
        }
        for &mut (_, wi, slot, b) in pairs {
            if !word_done[wi] && !slot_used[slot] {
                word_done[wi] = true;
                slot_used[slot] = true;
                best[wi] = b;
            }
        }
    }

    /// Scores every candidate. With a `limit`, only candidates that can
    /// still reach the top `limit` are kept and finished: the regular boost
    /// is bounded, so it is computed only for customers within that bound
    /// of the `limit`-th best, and two query words claiming the same stored
    /// word (which needs a re-match) are sorted out only where the result
    /// could matter.
    fn score(&self, q: &Query, acc: &mut Acc, now_unix: i64, limit: Option<usize>) -> Vec<Scored> {
        let words = q.words();
        let names = q.names.len();
        let stride = acc.stride;
        let max_boost = rank::max_boost(words.max(1));
        let mut out = Vec::with_capacity(acc.docs.len());
        // Candidates whose words still overlap; their score is optimistic.
        let mut pending: Vec<usize> = Vec::new();
        for l in 0..acc.docs.len() {
            let d = acc.docs[l];
            let best = &acc.best[l * stride..(l + 1) * stride];
            let name_part = &best[..names];
            let conflict = name_part.iter().enumerate().any(|(i, a)| {
                a.quality > 0.0
                    && name_part[i + 1..]
                        .iter()
                        .any(|b| b.quality > 0.0 && b.slot == a.slot)
            });
            let legal = self.legal_words[d as usize];
            let mut quick = false;
            if conflict && names == 2 {
                // Two words on one stored word: exactly one of them moves to
                // its best other word (or matches nothing); keep the better.
                let (a, b) = (acc.best[l * stride], acc.best[l * stride + 1]);
                let (a2, b2) = (acc.second[l * stride], acc.second[l * stride + 1]);
                let row = &mut acc.best[l * stride..(l + 1) * stride];
                row[0] = a;
                row[1] = b2;
                let keep_a = name_score_of(&row[..words], legal);
                row[0] = a2;
                row[1] = b;
                let keep_b = name_score_of(&row[..words], legal);
                if keep_a >= keep_b {
                    row[0] = a;
                    row[1] = b2;
                }
                quick = true;
            }
            let best = &acc.best[l * stride..(l + 1) * stride];
            let name = name_score_of(&best[..words], legal);
            let email = acc.email[l];
            let base = rank::combine(name, email, q.looks_like_email, 0.0);
            if base > 0.0 {
                if conflict && !quick {
                    pending.push(out.len());
                }
                out.push(Scored {
                    doc: d,
                    local: l as u32,
                    score: base,
                    name,
                    email,
                });
            }
        }
        let mut cut = f32::NEG_INFINITY;
        loop {
            if let Some(limit) = limit.filter(|&k| k > 0 && out.len() > k) {
                let mut bases: Vec<f32> = out.iter().map(|s| s.score).collect();
                let (_, kth, _) = bases.select_nth_unstable_by(limit - 1, |a, b| b.total_cmp(a));
                cut = *kth - max_boost - 1e-6;
            }
            let before = pending.len();
            let mut still = Vec::new();
            for &i in &pending {
                let s = out[i];
                if s.score < cut {
                    still.push(i);
                    continue;
                }
                let l = s.local as usize;
                if let Some(e) = self.docs[s.doc as usize].as_ref() {
                    self.resolve(q, e, &mut acc.best[l * stride..(l + 1) * stride]);
                }
                let best = &acc.best[l * stride..(l + 1) * stride];
                let name = name_score_of(&best[..words], self.legal_words[s.doc as usize]);
                out[i].name = name;
                out[i].score = rank::combine(name, s.email, q.looks_like_email, 0.0);
            }
            pending = still;
            // Re-matching only lowers scores, which may let others in.
            if pending.len() == before || pending.is_empty() {
                break;
            }
        }
        out.retain(|s| s.score > 0.0 && s.score >= cut);
        for s in &mut out {
            let m = &self.meta[s.doc as usize];
            s.score += rank::boost_from(m.frequency, m.last_visit_unix, now_unix, words.max(1));
        }
        out
    }

    fn top(&self, mut scored: Vec<Scored>, limit: usize) -> Vec<Scored> {
        if limit == 0 {
            return Vec::new();
        }
        let cmp = |a: &Scored, b: &Scored| {
            b.score.total_cmp(&a.score).then_with(|| {
                self.meta[a.doc as usize]
                    .id
                    .cmp(&self.meta[b.doc as usize].id)
            })
        };
        if scored.len() > limit {
            scored.select_nth_unstable_by(limit - 1, cmp);
            scored.truncate(limit);
        }
        scored.sort_by(cmp);
        scored
    }

    /// Customers matching what was typed, best first. See `rank.rs` for the
    /// scoring. Never panics; time is bounded by the caps in `query.rs`.
    pub fn search(&self, query: &str, now_unix: i64, limit: usize) -> Vec<Hit> {
        let limit = limit.min(MAX_LIMIT);
        if limit == 0 || self.is_empty() {
            return Vec::new();
        }
        let q = Query::parse(query, self.nick);
        if q.is_empty() {
            return Vec::new();
        }
        let mut acc = self.collect(&q);
        let scored = self.score(&q, &mut acc, now_unix, Some(limit));
        self.top(scored, limit)
            .into_iter()
            .map(|s| Hit {
                id: self.meta[s.doc as usize].id,
                score: s.score,
                why: self.explain(&q, &s, acc.row(s.local)),
            })
            .collect()
    }

    /// A short human reason for a hit: the most telling non-exact match.
    fn explain(&self, q: &Query, s: &Scored, best: &[Best]) -> String {
        if s.email > s.name {
            return "email".into();
        }
        let mut reasons: Vec<(u8, String)> = Vec::new();
        for (wi, b) in best.iter().enumerate() {
            if b.quality <= 0.0 {
                continue;
            }
            if b.field == Field::Phone {
                let digits = &q.digits[wi - q.names.len()];
                let r = match b.kind {
                    MatchKind::PhoneEnd => format!("phone ends {digits}"),
                    _ => format!("phone has {digits}"),
                };
                reasons.push((3, r));
                continue;
            }
            let t = &self.terms[b.what as usize];
            let shown = title_case(&t.text);
            let w = &q.names[wi];
            let r = match b.kind {
                MatchKind::Nickname => match self.nick.relation(&w.text, &t.text) {
                    Some(Relation::TypedIsNickname) => (0, format!("nickname of {shown}")),
                    _ => (0, format!("goes by {shown}")),
                },
                MatchKind::Phonetic => (1, format!("sounds like {shown}")),
                MatchKind::Typo1 | MatchKind::Typo2 => (2, format!("spelled {shown}")),
                _ if b.field == Field::Preferred => (4, format!("goes by {shown}")),
                _ => continue,
            };
            reasons.push(r);
        }
        reasons.sort_by_key(|r| r.0);
        reasons.dedup_by(|a, b| a.1 == b.1);
        if reasons.is_empty() {
            return "name".into();
        }
        reasons
            .into_iter()
            .take(2)
            .map(|r| r.1)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Likely duplicates of a person being enrolled: same phone digits, same
    /// email (case-insensitive), or a very similar full name (nickname,
    /// sound-alike or typo of both given and family name). Strongest first,
    /// each with reasons ("same phone", "same email", "similar name: Bob
    /// Smith"). The person itself (same id) is never listed.
    pub fn likely_duplicates(
        &self,
        doc: &SearchDoc,
        limit: usize,
    ) -> Vec<(CustomerId, Vec<String>)> {
        let mut found: FxMap<DocIx, (f32, Vec<String>)> = FxMap::default();
        let me = self.ids.get(&doc.id).copied();
        let mut add = |d: DocIx, score: f32, reason: String| {
            if Some(d) == me {
                return;
            }
            let e = found.entry(d).or_insert((0.0, Vec::new()));
            if !e.1.contains(&reason) {
                e.0 += score;
                e.1.push(reason);
            }
        };
        for p in &doc.phones {
            let digits = normalize::phone_digits(p);
            if digits.len() >= 7 {
                for &d in self.phone_exact.get(&digits).into_iter().flatten() {
                    add(d, 3.0, "same phone".into());
                }
            }
        }
        if let Some(key) = doc.email.as_deref().map(normalize::email_key) {
            for &d in self.emails.get(&key).into_iter().flatten() {
                add(d, 3.0, "same email".into());
            }
        }
        let family = normalize::name_tokens(&doc.family_name);
        let mut givens = vec![normalize::name_tokens(&doc.given_name)];
        if let Some(p) = &doc.preferred_name {
            givens.push(normalize::name_tokens(p));
        }
        for given in givens {
            if given.is_empty() || family.is_empty() {
                continue;
            }
            let names: Vec<NameWord> = given
                .iter()
                .chain(&family)
                .take(MAX_TOKENS)
                .map(|w| NameWord::new(w, true, self.nick))
                .collect();
            let q = Query {
                names,
                ..Query::default()
            };
            let mut acc = self.collect(&q);
            for s in self.score(&q, &mut acc, 0, None) {
                let best = acc.row(s.local);
                // Every word must match at least as well as one typo, and one
                // of them must be the family name.
                let all_matched = best.iter().all(|b| b.quality >= 0.45);
                let family_matched = best.iter().any(|b| b.field == Field::Family);
                if !all_matched || !family_matched {
                    continue;
                }
                let Some(e) = self.docs[s.doc as usize].as_ref() else {
                    continue;
                };
                let exact = best.iter().all(|b| b.kind == MatchKind::Exact);
                let shown = format!(
                    "{} {}",
                    e.doc.preferred_name.as_deref().unwrap_or(&e.doc.given_name),
                    e.doc.family_name
                );
                let label = if exact { "same name" } else { "similar name" };
                add(s.doc, s.name, format!("{label}: {shown}"));
            }
        }
        let mut out: Vec<(f32, CustomerId, Vec<String>)> = found
            .into_iter()
            .filter_map(|(d, (score, reasons))| {
                let e = self.docs[d as usize].as_ref()?;
                Some((score, e.doc.id, reasons))
            })
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.into_iter()
            .take(limit)
            .map(|(_, id, r)| (id, r))
            .collect()
    }

    /// Checks every internal structure against the documents (tests only).
    #[cfg(test)]
    pub(crate) fn check_consistency(&self) {
        let live: usize = self.docs.iter().filter(|d| d.is_some()).count();
        assert_eq!(live, self.ids.len());
        for (&id, &ix) in &self.ids {
            let e = self.docs[ix as usize].as_ref().unwrap();
            assert_eq!(e.doc.id, id);
            let m = self.meta[ix as usize];
            assert_eq!(
                (m.id, m.visits, m.last_visit_unix),
                (id, e.doc.visits, e.doc.last_visit_unix)
            );
        }
        let mut postings = 0;
        for (t_id, t) in self.terms.iter().enumerate() {
            if t.text.is_empty() {
                assert!(t.postings.is_empty());
                assert!(self.free_terms.contains(&(t_id as TermId)));
                continue;
            }
            assert_eq!(self.vocab.get(&t.text), Some(&(t_id as TermId)));
            assert_eq!(self.term_ids.get(&t.text), Some(&(t_id as TermId)));
            assert!(
                !t.postings.is_empty(),
                "term {} kept without postings",
                t.text
            );
            for p in &t.postings {
                let e = self.docs[p.doc as usize]
                    .as_ref()
                    .expect("posting to removed doc");
                assert_eq!(e.words[p.slot as usize], (t_id as TermId, p.field));
            }
            postings += t.postings.len();
            if !t.sound.is_empty() {
                assert!(self.by_sound[&t.sound].contains(&(t_id as TermId)));
            }
        }
        let words: usize = self.docs.iter().flatten().map(|e| e.words.len()).sum();
        assert_eq!(postings, words);
        assert_eq!(
            self.term_ids.len(),
            self.terms.iter().filter(|t| !t.text.is_empty()).count()
        );
        for ts in self.by_deletion.values().chain(self.by_sound.values()) {
            assert!(!ts.is_empty(), "empty list kept in a neighbourhood");
            for &t in ts {
                assert!(
                    !self.terms[t as usize].text.is_empty(),
                    "stale term in a neighbourhood"
                );
            }
        }
        let grams: usize = self.phone_grams.iter().map(Vec::len).sum();
        let expected: usize = self
            .docs
            .iter()
            .flatten()
            .map(|e| phone_grams(&e.phones).len())
            .sum();
        assert_eq!(grams, expected);
        let lists = self.phone_grams.iter().map(Vec::as_slice);
        let lists = lists
            .chain(self.phone_exact.values().map(|v| &**v))
            .chain(self.emails.values().map(|v| &**v));
        for docs in lists {
            for &d in docs {
                assert!(
                    self.docs[d as usize].is_some(),
                    "stale doc in phone/email index"
                );
            }
        }
    }
}

fn name_score_of(best: &[Best], legal_words: u8) -> f32 {
    let mut cov = Coverage {
        words: best.len(),
        quality_sum: 0.0,
        missing: 0,
        unused_name_words: 0,
        in_order: false,
        family_missed: false,
    };
    // Given/family words used, and all name words used (with preferred).
    let mut legal_used = 0;
    let mut name_used = 0;
    let mut family_used = false;
    let mut seen_given = false;
    for b in best {
        if b.quality <= 0.0 {
            cov.missing += 1;
            continue;
        }
        cov.quality_sum += b.quality;
        match b.field {
            Field::Given | Field::Preferred => {
                name_used += 1;
                legal_used += usize::from(b.field == Field::Given);
                seen_given = true;
            }
            Field::Family => {
                name_used += 1;
                legal_used += 1;
                family_used = true;
                if seen_given {
                    cov.in_order = true;
                }
            }
            Field::Phone => {}
        }
    }
    cov.unused_name_words = usize::from(legal_words).saturating_sub(legal_used);
    cov.family_missed = name_used >= 2 && !family_used;
    rank::name_score(&cov)
}

fn gram_value(b: &[u8]) -> usize {
    b.iter()
        .fold(0usize, |acc, &d| acc * 10 + usize::from(d - b'0'))
}

/// The distinct 4-digit windows of a customer's phones.
fn phone_grams(phones: &[String]) -> Vec<usize> {
    let mut out = Vec::new();
    for p in phones {
        let b = p.as_bytes();
        if b.len() >= 4 && p.is_ascii() {
            out.extend((0..=b.len() - 4).map(|i| gram_value(&b[i..i + 4])));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A list of ids that is usually one long (one customer per phone, one
/// term per deletion variant), kept off the heap in that case: building an
/// index of 100,000 customers makes hundreds of thousands of these.
#[derive(Clone, Debug)]
enum Ids {
    One([u32; 1]),
    Many(Vec<u32>),
}

impl Ids {
    fn push(&mut self, x: u32) {
        match self {
            Ids::One(a) => *self = Ids::Many(vec![a[0], x]),
            Ids::Many(v) => v.push(x),
        }
    }
    /// Removes every `x`; true when none are left.
    fn remove_all(&mut self, x: u32) -> bool {
        match self {
            Ids::One(a) => a[0] == x,
            Ids::Many(v) => {
                v.retain(|&y| y != x);
                if let [only] = v.as_slice() {
                    *self = Ids::One([*only]);
                    return false;
                }
                v.is_empty()
            }
        }
    }
}

impl std::ops::Deref for Ids {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        match self {
            Ids::One(a) => a,
            Ids::Many(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a Ids {
    type Item = &'a u32;
    type IntoIter = std::slice::Iter<'a, u32>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

fn add_to<K, Q>(map: &mut FxMap<K, Ids>, key: &Q, value: u32)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    match map.get_mut(key) {
        Some(ids) => ids.push(value),
        None => {
            map.insert(key.to_owned(), Ids::One([value]));
        }
    }
}

fn remove_from<K, Q>(map: &mut FxMap<K, Ids>, key: &Q, value: u32)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if map.get_mut(key).is_some_and(|v| v.remove_all(value)) {
        map.remove(key);
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use std::time::Instant;

    /// Where the time of a search goes at 100k customers (tuning aid):
    /// `cargo test --release -p regulars-core -- --ignored --nocapture phase_times`.
    #[test]
    #[ignore]
    fn phase_times() {
        let people = crate::people::generate(100_000, 7);
        let idx = SearchIndex::from_docs(people.iter().map(|p| SearchDoc {
            id: CustomerId::new(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            preferred_name: p.preferred_name.clone(),
            phones: p.phones.clone(),
            email: p.email.clone(),
            visits: 3,
            last_visit_unix: Some(1_700_000_000),
        }));
        for text in [
            "m",
            "j m",
            "mar",
            "c c",
            "robert r",
            "1234",
            "john smith",
            "jhon smiht",
            "a b c d e f g h",
            "j j j j j j j j",
            "ma ma ma ma ma ma ma ma",
            "marrrrrrrr smiiiiiiith",
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
        ] {
            let q = Query::parse(text, idx.nick);
            let mut t = [0f64; 4];
            let mut n = 0;
            for _ in 0..30 {
                let a = Instant::now();
                let mut acc = idx.collect(&q);
                let b = Instant::now();
                let scored = idx.score(&q, &mut acc, 1_750_000_000, Some(10));
                let c = Instant::now();
                let top = idx.top(scored, 10);
                let d = Instant::now();
                n = acc.docs.len();
                std::hint::black_box(top);
                t[0] += (b - a).as_secs_f64();
                t[1] += (c - b).as_secs_f64();
                t[2] += (d - c).as_secs_f64();
            }
            println!(
                "{text:>12}: cands {n:>6} collect {:.2} ms score {:.2} ms top {:.2} ms",
                t[0] / 30.0 * 1e3,
                t[1] / 30.0 * 1e3,
                t[2] / 30.0 * 1e3
            );
        }
    }
}
