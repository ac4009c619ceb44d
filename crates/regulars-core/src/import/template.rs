//! Templates: how a mapping says where a value comes from.
//!
//! - `{Column}`: the trimmed cell of that column (header names match
//!   case-insensitively);
//! - `{A|B}`: the first of A, B that is not empty;
//! - `{Column:sentence}`: a casing filter (`lower`, `upper`, `sentence`,
//!   `title`, `digits`);
//! - `[ ... ]`: an optional part, left out when any `{...}` inside is empty,
//!   so `"{type}[, {size}][ ({brand})]"` never prints ", ()";
//! - anything else is literal text; `{{ }} [[ ]]` write a literal brace.
//!
//! Owns: parsing templates, binding them to a file's header, rendering a row.
//! Does not own: what a rendered value means (see `values` and `engine`).

use std::borrow::Cow;

use super::values::Case;

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Lit(String),
    Ph(Vec<(String, Option<Case>)>),
    Group(Vec<Part>),
}

/// A parsed template, not yet tied to a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(src: &str) -> Result<Self, String> {
        let chars: Vec<char> = src.chars().collect();
        let mut i = 0;
        let parts =
            parse_parts(&chars, &mut i, false).map_err(|e| format!("template \"{src}\": {e}"))?;
        Ok(Template {
            source: src.to_string(),
            parts,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every column the template names, in order.
    pub fn columns(&self) -> Vec<&str> {
        fn walk<'a>(parts: &'a [Part], out: &mut Vec<&'a str>) {
            for p in parts {
                match p {
                    Part::Lit(_) => {}
                    Part::Ph(alts) => out.extend(alts.iter().map(|(c, _)| c.as_str())),
                    Part::Group(g) => walk(g, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.parts, &mut out);
        out
    }

    /// Ties the template to a header. Columns the header lacks read as empty;
    /// they are returned so the caller can decide whether that is an error.
    pub fn bind(&self, header: &[String]) -> (Bound, Vec<String>) {
        let mut missing = Vec::new();
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
        };
        fn bind_parts(
            parts: &[Part],
            find: &dyn Fn(&str) -> Option<usize>,
            missing: &mut Vec<String>,
        ) -> Vec<BPart> {
            parts
                .iter()
                .map(|p| match p {
                    Part::Lit(s) => BPart::Lit(s.clone()),
                    Part::Ph(alts) => BPart::Ph(
                        alts.iter()
                            .map(|(c, case)| {
                                let idx = find(c);
                                if idx.is_none() {
                                    missing.push(c.clone());
                                }
                                (idx, *case)
                            })
                            .collect(),
                    ),
                    Part::Group(g) => BPart::Group(bind_parts(g, find, missing)),
                })
                .collect()
        }
        let parts = bind_parts(&self.parts, &find, &mut missing);
        let bound = match parts.as_slice() {
            [] => Bound::Const(String::new()),
            [BPart::Lit(s)] => Bound::Const(s.clone()),
            [BPart::Ph(alts)] if alts.len() == 1 && alts[0].1.is_none() => match alts[0].0 {
                Some(i) => Bound::Column(i),
                None => Bound::Const(String::new()),
            },
            _ => Bound::Parts(parts),
        };
        (bound, missing)
    }
}

fn parse_parts(chars: &[char], i: &mut usize, in_group: bool) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    while *i < chars.len() {
        let c = chars[*i];
        let next = chars.get(*i + 1).copied();
        match c {
            '{' | '}' | '[' | ']' if next == Some(c) => {
                lit.push(c);
                *i += 2;
            }
            '{' => {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                *i += 1;
                let start = *i;
                while *i < chars.len() && chars[*i] != '}' {
                    *i += 1;
                }
                if *i == chars.len() {
                    return Err("a '{' is never closed with '}'".into());
                }
                let inner: String = chars[start..*i].iter().collect();
                *i += 1;
                let mut alts = Vec::new();
                for alt in inner.split('|') {
                    let (name, case) = match alt.rsplit_once(':') {
                        Some((n, f)) if Case::parse(f.trim()).is_some() => {
                            (n, Case::parse(f.trim()))
                        }
                        _ => (alt, None),
                    };
                    if name.trim().is_empty() {
                        return Err("'{}' names no column".into());
                    }
                    alts.push((name.trim().to_string(), case));
                }
                parts.push(Part::Ph(alts));
            }
            '}' => {
                return Err("a '}' has no '{' before it (write '}}' for a literal brace)".into())
            }
            '[' => {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                *i += 1;
                let inner = parse_parts(chars, i, true)?;
                parts.push(Part::Group(inner));
            }
            ']' if in_group => {
                *i += 1;
                if !lit.is_empty() {
                    parts.push(Part::Lit(lit));
                }
                return Ok(parts);
            }
            ']' => {
                return Err("a ']' has no '[' before it (write ']]' for a literal bracket)".into())
            }
            _ => {
                lit.push(c);
                *i += 1;
            }
        }
    }
    if in_group {
        return Err("a '[' is never closed with ']'".into());
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

#[derive(Clone, Debug)]
pub enum BPart {
    Lit(String),
    Ph(Vec<(Option<usize>, Option<Case>)>),
    Group(Vec<BPart>),
}

/// A template tied to one file's header, ready to render rows fast: a
/// single plain column borrows the cell without copying.
#[derive(Clone, Debug)]
pub enum Bound {
    Const(String),
    Column(usize),
    Parts(Vec<BPart>),
}

impl Bound {
    pub fn eval<'a>(&'a self, rec: &'a csv::StringRecord) -> Cow<'a, str> {
        match self {
            Bound::Const(s) => Cow::Borrowed(s.as_str()),
            Bound::Column(i) => Cow::Borrowed(rec.get(*i).unwrap_or("").trim()),
            Bound::Parts(parts) => {
                let mut out = String::new();
                render(parts, rec, &mut out);
                let t = out.trim();
                if t.len() == out.len() {
                    Cow::Owned(out)
                } else {
                    Cow::Owned(t.to_string())
                }
            }
        }
    }

    /// True when the template reads no column at all (a constant).
    pub fn is_const(&self) -> bool {
        matches!(self, Bound::Const(_))
    }
}

/// Renders `parts`; returns false when a placeholder was empty.
fn render(parts: &[BPart], rec: &csv::StringRecord, out: &mut String) -> bool {
    let mut all = true;
    for p in parts {
        match p {
            BPart::Lit(s) => out.push_str(s),
            BPart::Ph(alts) => {
                let hit = alts.iter().find_map(|(idx, case)| {
                    let v = idx.and_then(|i| rec.get(i)).unwrap_or("").trim();
                    (!v.is_empty()).then_some((v, *case))
                });
                match hit {
                    Some((v, None)) => out.push_str(v),
                    Some((v, Some(c))) => c.apply(v, out),
                    None => all = false,
                }
            }
            BPart::Group(g) => {
                let mark = out.len();
                if !render(g, rec, out) {
                    out.truncate(mark);
                }
            }
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cols: &[&str]) -> Vec<String> {
        cols.iter().map(|s| s.to_string()).collect()
    }

    fn run(t: &str, cols: &[&str], row: &[&str]) -> String {
        let (b, _) = Template::parse(t).unwrap().bind(&header(cols));
        let rec = csv::StringRecord::from(row.to_vec());
        b.eval(&rec).into_owned()
    }

    #[test]
    fn product_names_from_parts() {
        let t =
            "{product_type:sentence|product_category:sentence}[, {package_size:lower}][ ({brand})]";
        let cols = ["product_type", "product_category", "package_size", "brand"];
        assert_eq!(
            run(
                t,
                &cols,
                &["FLUID MILK WHITE ONLY", "FLUID MILK", "1 GAL", "National"]
            ),
            "Fluid milk white only, 1 gal (National)"
        );
        assert_eq!(
            run(t, &cols, &["", "BAG SNACKS", "", "Private"]),
            "Bag snacks (Private)"
        );
        assert_eq!(run(t, &cols, &["", "", "", ""]), "");
    }

    #[test]
    fn constants_columns_and_escapes() {
        assert_eq!(run("Household", &["a"], &["x"]), "Household");
        assert_eq!(run("#{a}", &["A"], &[" 12 "]), "#12");
        assert_eq!(run("CJ-{a}", &["a"], &["7"]), "CJ-7");
        assert_eq!(run("{{{a}}} [[x]]", &["a"], &["1"]), "{1} [x]");
        let (b, missing) = Template::parse("{nope}").unwrap().bind(&header(&["a"]));
        assert_eq!(missing, vec!["nope".to_string()]);
        assert!(b.is_const());
    }

    #[test]
    fn bad_templates_say_why() {
        for t in ["{a", "a}", "[{a}", "x]", "{}", "{|a}"] {
            let e = Template::parse(t).unwrap_err();
            assert!(e.contains(t), "{e}");
        }
    }
}
