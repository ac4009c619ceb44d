//! A sound-alike key for names: a simplified Metaphone tuned for the
//! spellings people actually mix up at a counter (Jon/John, Smyth/Smith,
//! Catherine/Kathryn, Philip/Filip, Thompson/Thomson, Jeffrey/Geoffrey).
//!
//! Owns: the key function. Two words "sound alike" when their keys are equal.
//! Does not own: how much a sound-alike match is worth (`rank.rs`) or typo
//! tolerance (edit distance in `index.rs`), which catches most of what a
//! simple key misses.
//!
//! Differences from classic Metaphone, all for names: "th" is T (Thomas,
//! Theresa), a P between M and S/T is silent (Thompson), Y is a vowel except
//! before a vowel at the start (Bryan = Brian), and every double letter counts
//! once. Non-ASCII letters are ignored, so a word with none has an empty key
//! and never sound-alike-matches anything.

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// The phonetic key of one folded word ("smyth" -> "SMT").
pub fn key(word: &str) -> String {
    // Letters only, doubled letters once ("mcc" -> "mc", "ll" -> "l").
    let mut w: Vec<u8> = Vec::with_capacity(word.len());
    for b in word.bytes() {
        if b.is_ascii_lowercase() && w.last() != Some(&b) {
            w.push(b);
        }
    }
    let mut out = String::with_capacity(w.len());
    if w.is_empty() {
        return out;
    }
    let mut i = 0;
    // Silent first letters.
    if w.len() > 1 {
        match (w[0], w[1]) {
            (b'k' | b'g' | b'p', b'n') | (b'w', b'r') | (b'a', b'e') | (b'p', b's') => i = 1,
            (b'w', b'h') => {
                w[1] = b'w';
                i = 1;
            }
            _ => {}
        }
    }
    if w[0] == b'x' {
        w[0] = b's';
    }
    let at = |j: usize| -> u8 { w.get(j).copied().unwrap_or(0) };
    let push = |c: char, out: &mut String| {
        if !out.ends_with(c) {
            out.push(c);
        }
    };
    let first = i;
    while i < w.len() {
        let c = w[i];
        let prev = if i > 0 { w[i - 1] } else { 0 };
        let next = at(i + 1);
        let next2 = at(i + 2);
        let mut skip = 0;
        match c {
            b'y' if i == first && is_vowel(next) => push('Y', &mut out),
            _ if is_vowel(c) => {
                if i == first {
                    push('A', &mut out);
                }
            }
            b'b' => {
                if !(prev == b'm' && i + 1 == w.len()) {
                    push('B', &mut out);
                }
            }
            b'c' => {
                if next == b'h' {
                    if next2 == b'r' || prev == b's' {
                        push('K', &mut out);
                    } else {
                        push('X', &mut out);
                    }
                    skip = 1;
                } else if next == b'i' && next2 == b'a' {
                    push('X', &mut out);
                } else if matches!(next, b'i' | b'e' | b'y') {
                    push('S', &mut out);
                } else {
                    push('K', &mut out);
                }
            }
            b'd' => {
                if next == b'g' && matches!(next2, b'e' | b'i' | b'y') {
                    push('J', &mut out);
                    skip = 1;
                } else {
                    push('T', &mut out);
                }
            }
            b'g' => {
                if next == b'h' {
                    if i == first {
                        push('K', &mut out);
                    }
                    skip = 1;
                } else if next == b'n' && (i + 2 == w.len() || (next2 == b'e' && at(i + 3) == b'd'))
                {
                    // "gn" at the end is silent (Champagne-like spellings).
                } else if matches!(next, b'e' | b'i' | b'y') {
                    push('J', &mut out);
                } else {
                    push('K', &mut out);
                }
            }
            b'h' => {
                let after_softener = matches!(prev, b'c' | b's' | b'p' | b't' | b'g');
                if is_vowel(next) && !after_softener {
                    push('H', &mut out);
                }
            }
            b'k' => {
                if prev != b'c' {
                    push('K', &mut out);
                }
            }
            b'p' => {
                if next == b'h' {
                    push('F', &mut out);
                    skip = 1;
                } else if !(prev == b'm' && matches!(next, b's' | b't')) {
                    push('P', &mut out);
                }
            }
            b'q' => push('K', &mut out),
            b's' => {
                if next == b'h' {
                    push('X', &mut out);
                    skip = 1;
                } else if next == b'i' && matches!(next2, b'o' | b'a') {
                    push('X', &mut out);
                } else {
                    push('S', &mut out);
                }
            }
            b't' => {
                if next == b'i' && matches!(next2, b'o' | b'a') {
                    push('X', &mut out);
                } else if next == b'h' {
                    push('T', &mut out);
                    skip = 1;
                } else if !(next == b'c' && next2 == b'h') {
                    push('T', &mut out);
                }
            }
            b'v' => push('F', &mut out),
            b'w' => {
                if is_vowel(next) {
                    push('W', &mut out);
                }
            }
            b'x' => {
                push('K', &mut out);
                push('S', &mut out);
            }
            b'z' => push('S', &mut out),
            other => push(other.to_ascii_uppercase() as char, &mut out),
        }
        i += 1 + skip;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn sound_alikes_share_a_key() {
        let same = [
            ("john", "jon"),
            ("smith", "smyth"),
            ("smith", "smythe"),
            ("catherine", "kathryn"),
            ("philip", "filip"),
            ("phillip", "philip"),
            ("steven", "stephen"),
            ("jeffrey", "geoffrey"),
            ("thompson", "thomson"),
            ("teresa", "theresa"),
            ("brian", "bryan"),
            ("reid", "reed"),
            ("clark", "clarke"),
            ("sara", "sarah"),
            ("chris", "kris"),
            ("eric", "erik"),
            ("johnson", "jonson"),
            ("johnson", "johnsen"),
            ("knight", "night"),
            ("wright", "right"),
            ("allison", "alison"),
            ("carl", "karl"),
            ("lee", "leigh"),
        ];
        for (a, b) in same {
            assert_eq!(key(a), key(b), "{a} vs {b}");
        }
    }

    #[test]
    fn different_names_differ() {
        // Vowels are dropped, so "john" and "jane" share a key; the ranking
        // grades sound-alikes by spelling distance to tell them apart.
        let differ = [("smith", "jones"), ("mary", "mark"), ("bob", "rob")];
        for (a, b) in differ {
            assert_ne!(key(a), key(b), "{a} vs {b}");
        }
    }

    #[test]
    fn odd_input_is_harmless() {
        assert_eq!(key(""), "");
        assert_eq!(key("δημήτρης"), "");
        assert_eq!(key("x"), "S");
        let _ = key(&"ch".repeat(100));
    }
}
