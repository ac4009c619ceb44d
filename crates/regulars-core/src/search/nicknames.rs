//! The nickname table: which names are nicknames of which formal names
//! ("robert" -> bob, bobby, rob ...), read from the shipped
//! `assets/names/nicknames.csv` (Apache-2.0, see `assets/names/NOTICE`).
//!
//! Owns: parsing the table and answering "are these two names related, and
//! which one is the formal one". Only direct links count: Bob and Robert are
//! related, Bob and Rob (two nicknames of Robert) are not, because a Bob is
//! rarely called Rob and sibling links would drown results in noise.
//! Does not own: how much a nickname match is worth (`rank.rs`).

use std::collections::HashMap;
use std::sync::OnceLock;

const EMBEDDED: &str = include_str!("../../../../assets/names/nicknames.csv");

/// Formal name <-> nickname links, both directions, all folded lower case.
#[derive(Debug, Default)]
pub struct Nicknames {
    nicknames_of: HashMap<String, Vec<String>>,
    formals_of: HashMap<String, Vec<String>>,
}

impl Nicknames {
    /// The table shipped with the app, parsed once.
    pub fn embedded() -> &'static Nicknames {
        static TABLE: OnceLock<Nicknames> = OnceLock::new();
        TABLE.get_or_init(|| Nicknames::parse(EMBEDDED))
    }

    /// Parses "name1,has_nickname,name2" rows; the header and malformed rows
    /// are skipped (the table is shipped data, not user input).
    pub fn parse(csv: &str) -> Self {
        let mut t = Nicknames::default();
        for line in csv.lines() {
            let mut parts = line.split(',');
            let (Some(formal), Some(rel), Some(nick)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if rel.trim() != "has_nickname" {
                continue;
            }
            let formal = super::normalize::fold(formal.trim());
            let nick = super::normalize::fold(nick.trim());
            if formal.is_empty() || nick.is_empty() || formal == nick {
                continue;
            }
            push_unique(t.nicknames_of.entry(formal.clone()).or_default(), &nick);
            push_unique(t.formals_of.entry(nick).or_default(), &formal);
        }
        t
    }

    /// Nicknames of a formal name ("robert" -> bob, bobby, rob, ...).
    pub fn nicknames_of(&self, formal: &str) -> &[String] {
        self.nicknames_of.get(formal).map_or(&[], Vec::as_slice)
    }

    /// Formal names a nickname stands for ("bill" -> william, robert, ...).
    pub fn formals_of(&self, nick: &str) -> &[String] {
        self.formals_of.get(nick).map_or(&[], Vec::as_slice)
    }

    /// Every name directly linked to `name`, in either direction.
    pub fn related(&self, name: &str) -> impl Iterator<Item = &str> {
        self.nicknames_of(name)
            .iter()
            .chain(self.formals_of(name))
            .map(String::as_str)
    }

    /// How a typed name relates to a stored one, if at all. The table has
    /// some rows both ways round ("bob,has_nickname,robert"), so the
    /// direction is not read from it: the longer name is taken as the
    /// formal one.
    pub fn relation(&self, typed: &str, stored: &str) -> Option<Relation> {
        let linked = self.nicknames_of(stored).iter().any(|n| n == typed)
            || self.formals_of(stored).iter().any(|f| f == typed);
        if !linked {
            None
        } else if stored.chars().count() > typed.chars().count() {
            Some(Relation::TypedIsNickname)
        } else {
            Some(Relation::StoredIsNickname)
        }
    }
}

/// Direction of a nickname link, for explaining a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// "bob" typed, "Robert" stored.
    TypedIsNickname,
    /// "robert" typed, "Bob" stored.
    StoredIsNickname,
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_links_both_ways() {
        let t = Nicknames::embedded();
        assert!(t.nicknames_of("robert").iter().any(|n| n == "bob"));
        assert!(t.formals_of("peggy").iter().any(|n| n == "margaret"));
        assert_eq!(t.relation("bob", "robert"), Some(Relation::TypedIsNickname));
        assert_eq!(
            t.relation("robert", "bob"),
            Some(Relation::StoredIsNickname)
        );
        assert_eq!(t.relation("robert", "william"), None);
        assert!(t.related("bill").any(|n| n == "william"));
    }

    #[test]
    fn malformed_rows_are_skipped() {
        let t = Nicknames::parse(
            "name1,relationship,name2\nfoo\n,has_nickname,x\nann,has_nickname,annie\n",
        );
        assert_eq!(t.nicknames_of("ann"), ["annie"]);
    }
}
