//! Mapping profiles: which file is which (customers, products, sales lines)
//! and which column feeds which field, written as a small TOML file a shop
//! can edit for its own POS export. Built-in profiles (`generic`,
//! `customers`, `completejourney`) are the same format, embedded.
//!
//! Owns: the mapping file format, its validation (with messages that point
//! at the offending key), and choosing a section for a file.
//! Does not own: reading rows or writing the store (see `engine`).
//! The format is documented for shop owners in `docs/import.md`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::source::Delimiter;
use super::template::Template;
use super::values::{Formats, MoneyStyle, Zone};
use crate::{Error, Result};

/// The kinds of file a mapping can describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Customers,
    Products,
    Sales,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Products => "products",
            Kind::Sales => "sales",
        }
    }

    /// (field, required, may be a list). A list means several phones for
    /// `phone`, and a sum for money (`discount`).
    fn fields(self) -> &'static [(&'static str, bool, bool)] {
        match self {
            Kind::Customers => &[
                ("ref", false, false),
                ("given_name", false, false),
                ("family_name", false, false),
                ("name", false, false),
                ("preferred_name", false, false),
                ("phone", false, true),
                ("email", false, false),
                ("card", false, false),
                ("birthday", false, false),
                ("marketing_consent", false, false),
            ],
            Kind::Products => &[
                ("ref", false, false),
                ("name", true, false),
                ("barcode", false, false),
                ("department", false, false),
                ("category", false, false),
                ("price", false, false),
            ],
            Kind::Sales => &[
                ("sale_ref", true, false),
                ("time", true, false),
                ("amount", false, true),
                ("quantity", false, false),
                ("discount", false, true),
                ("unit_price", false, false),
                ("payment_method", false, false),
                ("product_ref", false, false),
                ("product_name", false, false),
                ("product_department", false, false),
                ("product_category", false, false),
                ("customer_ref", false, false),
                ("customer_given_name", false, false),
                ("customer_family_name", false, false),
                ("customer_card", false, false),
            ],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    format: Option<u32>,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    options: OptionsFile,
    customers: Option<SectionFile>,
    products: Option<SectionFile>,
    sales: Option<SectionFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OptionsFile {
    delimiter: Option<String>,
    #[serde(default)]
    date_formats: Vec<String>,
    timezone: Option<String>,
    money: Option<String>,
    ref_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionFile {
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, FieldFile>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FieldFile {
    One(String),
    Many(Vec<String>),
}

/// How to read the values of a source.
#[derive(Clone, Debug)]
pub struct Options {
    pub delimiter: Delimiter,
    pub formats: Formats,
    pub money: MoneyStyle,
    /// Put before every source id (customers, products, sales), so ids from
    /// two old systems never collide. Empty by default.
    pub ref_prefix: String,
}

/// One section of a mapping: the files it applies to and its fields.
#[derive(Clone, Debug)]
pub struct Section {
    pub kind: Kind,
    pub files: Vec<String>,
    pub fields: BTreeMap<&'static str, Vec<Template>>,
    pub attributes: Vec<(String, Template)>,
}

impl Section {
    pub fn field(&self, name: &str) -> Option<&Template> {
        self.fields.get(name).and_then(|v| v.first())
    }

    /// Columns that must be in a file's header for this section to read it.
    fn required_columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for (name, required, _) in self.kind.fields() {
            if *required {
                if let Some(ts) = self.fields.get(name) {
                    for t in ts {
                        // Of `{a|b}` alternatives one is enough; count the first.
                        out.extend(t.columns().first().copied());
                    }
                }
            }
        }
        if self.kind == Kind::Customers {
            // A name of some kind is required: any one of the name columns.
            if let Some(c) = ["given_name", "family_name", "name"]
                .iter()
                .filter_map(|f| self.field(f))
                .flat_map(|t| t.columns())
                .next()
            {
                out.push(c);
            }
        }
        out
    }

    /// Whether a header has what this section needs.
    fn accepts(&self, has: &dyn Fn(&str) -> bool) -> bool {
        let others_ok = self
            .kind
            .fields()
            .iter()
            .filter(|(_, required, _)| *required)
            .filter_map(|(name, _, _)| self.fields.get(name))
            .flatten()
            .all(|t| t.columns().is_empty() || t.columns().iter().any(|c| has(c)));
        let name_ok = self.kind != Kind::Customers || {
            let names: Vec<&Template> = ["given_name", "family_name", "name"]
                .iter()
                .filter_map(|f| self.field(f))
                .collect();
            names
                .iter()
                .any(|t| t.columns().is_empty() || t.columns().iter().any(|c| has(c)))
        };
        others_ok && name_ok
    }

    fn all_columns(&self) -> Vec<&str> {
        self.fields
            .values()
            .flatten()
            .chain(self.attributes.iter().map(|(_, t)| t))
            .flat_map(|t| t.columns())
            .collect()
    }

    fn matches_name(&self, file_name: &str) -> bool {
        self.files
            .iter()
            .any(|g| glob(&g.to_lowercase(), &file_name.to_lowercase()))
    }
}

/// A parsed, validated mapping profile.
#[derive(Clone, Debug)]
pub struct Mapping {
    pub name: String,
    pub description: String,
    pub options: Options,
    pub sections: Vec<Section>,
}

/// Built-in profiles by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("generic", include_str!("profiles/generic.toml")),
    ("customers", include_str!("profiles/customers.toml")),
    (
        "completejourney",
        include_str!("profiles/completejourney.toml"),
    ),
];

impl Mapping {
    /// A built-in profile by name, or a mapping file by path.
    pub fn load(name_or_path: &str) -> Result<Self> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text, name_or_path);
        }
        let path = Path::new(name_or_path);
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: format!(
                "{name_or_path} (not a built-in profile either: {})",
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            source,
        })?;
        Self::parse(&text, name_or_path)
    }

    pub fn builtin(name: &str) -> Self {
        Self::load(name).unwrap_or_else(|e| panic!("built-in mapping {name} is broken: {e}"))
    }

    /// Parses mapping text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let bad = |reason: String| Error::Import {
            file: origin.to_string(),
            line: 0,
            reason: format!("{reason}; see docs/import.md for the mapping format"),
        };
        let file: MappingFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1) as u64)
                .unwrap_or(0);
            Error::Import {
                file: origin.to_string(),
                line,
                reason: format!(
                    "this mapping is not valid: {}; see docs/import.md for the mapping format",
                    e.message()
                ),
            }
        })?;
        if let Some(v) = file.format {
            if v != 1 {
                return Err(bad(format!(
                    "format = {v} is not known to this version (it reads format = 1)"
                )));
            }
        }
        let o = &file.options;
        let zone = Zone::parse(o.timezone.as_deref().unwrap_or("local")).map_err(bad)?;
        let options = Options {
            delimiter: Delimiter::parse(o.delimiter.as_deref().unwrap_or("auto")).map_err(bad)?,
            formats: Formats::new(&o.date_formats, zone).map_err(bad)?,
            money: match o.money.as_deref().unwrap_or("decimal") {
                "decimal" => MoneyStyle::Decimal,
                "decimal_comma" => MoneyStyle::DecimalComma,
                "cents" => MoneyStyle::Cents,
                m => {
                    return Err(bad(format!(
                        "money = \"{m}\" is not one of \"decimal\" (12.34), \"decimal_comma\" (12,34), \"cents\" (1234)"
                    )))
                }
            },
            ref_prefix: o.ref_prefix.clone().unwrap_or_default(),
        };
        let mut sections = Vec::new();
        for (kind, sf) in [
            (Kind::Customers, file.customers),
            (Kind::Products, file.products),
            (Kind::Sales, file.sales),
        ] {
            let Some(sf) = sf else { continue };
            let known = kind.fields();
            let mut fields = BTreeMap::new();
            for (key, value) in sf.fields {
                let Some((name, _, many)) = known.iter().find(|(n, _, _)| *n == key) else {
                    return Err(bad(format!(
                        "[{}.fields] has no field '{key}'; the fields are: {}",
                        kind.name(),
                        known
                            .iter()
                            .map(|(n, _, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                let list = match value {
                    FieldFile::One(s) => vec![s],
                    FieldFile::Many(v) if *many => v,
                    FieldFile::Many(_) => {
                        return Err(bad(format!(
                            "[{}.fields] {key} must be one template string, not a list",
                            kind.name()
                        )))
                    }
                };
                let ts = list
                    .iter()
                    .map(|s| Template::parse(s))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| bad(format!("[{}.fields] {key}: {e}", kind.name())))?;
                fields.insert(*name, ts);
            }
            for (name, required, _) in known {
                if *required && !fields.contains_key(name) {
                    return Err(bad(format!("[{}.fields] needs '{name}'", kind.name())));
                }
            }
            if kind == Kind::Sales
                && !fields.contains_key("amount")
                && !fields.contains_key("unit_price")
            {
                return Err(bad(
                    "[sales.fields] needs 'amount' (the line's net value) or 'unit_price' \
                     (then amount = quantity x unit price - discount)"
                        .into(),
                ));
            }
            if kind == Kind::Customers
                && !["given_name", "family_name", "name"]
                    .iter()
                    .any(|f| fields.contains_key(f))
            {
                return Err(bad(
                    "[customers.fields] needs a name: given_name, family_name or name".into(),
                ));
            }
            let attributes = sf
                .attributes
                .into_iter()
                .map(|(k, v)| {
                    Template::parse(&v)
                        .map(|t| (k.clone(), t))
                        .map_err(|e| bad(format!("[{}.attributes] {k}: {e}", kind.name())))
                })
                .collect::<Result<Vec<_>>>()?;
            if !attributes.is_empty() && kind != Kind::Customers {
                return Err(bad(format!(
                    "[{}] cannot have attributes (only customers can)",
                    kind.name()
                )));
            }
            sections.push(Section {
                kind,
                files: sf.files,
                fields,
                attributes,
            });
        }
        if sections.is_empty() {
            return Err(bad(
                "the mapping has no [customers], [products] or [sales] section".into(),
            ));
        }
        Ok(Mapping {
            name: file.name,
            description: file.description,
            options,
            sections,
        })
    }

    /// The section that reads a file: by the section's `files` patterns
    /// first, else the one whose columns the header has (most matches wins).
    pub fn section_for(&self, file: &str, header: &[String]) -> Result<&Section> {
        let base = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        if let Some(s) = self.sections.iter().find(|s| s.matches_name(&base)) {
            return Ok(s);
        }
        if let [only] = self.sections.as_slice() {
            // One section: reading the file says precisely what it lacks.
            return Ok(only);
        }
        let has = |c: &str| header.iter().any(|h| h.eq_ignore_ascii_case(c));
        let mut scored: Vec<(usize, &Section)> = self
            .sections
            .iter()
            .filter(|s| s.files.is_empty() || self.sections.len() == 1)
            .filter(|s| s.accepts(&has))
            .map(|s| (s.all_columns().iter().filter(|c| has(c)).count(), s))
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        match scored.as_slice() {
            [(_, s)] => Ok(s),
            [(a, s), (b, _), ..] if a > b => Ok(s),
            [] => {
                let wants: Vec<String> = self
                    .sections
                    .iter()
                    .map(|s| {
                        let pattern = if s.files.is_empty() {
                            String::new()
                        } else {
                            format!(" (files named {})", s.files.join(" or "))
                        };
                        format!("{}{pattern} needs columns {}", s.kind.name(), s.required_columns().join(", "))
                    })
                    .collect();
                Err(Error::Import {
                    file: file.to_string(),
                    line: 1,
                    reason: format!(
                        "mapping '{}' has no section for this file: its header has {}; {}. \
                         Pick the right mapping, or add the file name to a section's files",
                        self.name,
                        header.join(", "),
                        wants.join("; ")
                    ),
                })
            }
            _ => Err(Error::Import {
                file: file.to_string(),
                line: 1,
                reason: format!(
                    "mapping '{}' could read this file as {}; add files = [\"{base}\"] to the right section",
                    self.name,
                    scored.iter().map(|(_, s)| s.kind.name()).collect::<Vec<_>>().join(" or ")
                ),
            }),
        }
    }
}

/// `*` any run of characters, `?` one character.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for (name, _) in BUILTIN {
            Mapping::load(name).unwrap();
        }
    }

    #[test]
    fn globs() {
        assert!(glob("products.csv*", "products.csv.gz"));
        assert!(glob("*customer*", "square-customers-2024.csv"));
        assert!(!glob("products.csv*", "transactions.csv.gz"));
        assert!(glob("a?c", "abc"));
    }

    #[test]
    fn mistakes_in_a_mapping_are_named() {
        let cases = [
            ("name = \"x\"\n[sales.fields]\nsale_ref = \"{a}\"\n", "needs 'time'"),
            ("name = \"x\"\n[customers.fields]\nphone = \"{p}\"\n", "needs a name"),
            ("name = \"x\"\n[customers.fields]\ngiven = \"{p}\"\n", "no field 'given'"),
            ("name = \"x\"\n[customers.fields]\ngiven_name = \"{p\"\n", "never closed"),
            ("name = \"x\"\n[options]\nmoney = \"euros\"\n[customers.fields]\nname = \"{n}\"\n", "money"),
            ("name = \"x\"\n[options]\ntimezone = \"mars\"\n[customers.fields]\nname = \"{n}\"\n", "timezone"),
            ("name = \"x\"\nbogus = 1\n", "bogus"),
            ("name = \"x\"\n", "no [customers]"),
        ];
        for (text, want) in cases {
            let e = Mapping::parse(text, "m.toml").unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("m.toml"), "{text}: {e}");
        }
    }

    #[test]
    fn files_are_matched_by_name_then_by_header() {
        let m = Mapping::builtin("generic");
        let h = |cols: &[&str]| cols.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let s = m
            .section_for("x.csv", &h(&["sale_ref", "time", "amount", "product_ref"]))
            .unwrap();
        assert_eq!(s.kind, Kind::Sales);
        let s = m
            .section_for(
                "x.csv",
                &h(&["customer_ref", "given_name", "family_name", "phone"]),
            )
            .unwrap();
        assert_eq!(s.kind, Kind::Customers);
        let s = m
            .section_for("x.csv", &h(&["product_ref", "name", "price"]))
            .unwrap();
        assert_eq!(s.kind, Kind::Products);
        let e = m.section_for("x.csv", &h(&["foo", "bar"])).unwrap_err();
        assert!(e.to_string().contains("no section"), "{e}");
        let cj = Mapping::builtin("completejourney");
        let s = cj
            .section_for("/d/products.csv.gz", &h(&["product_id"]))
            .unwrap();
        assert_eq!(s.kind, Kind::Products);
    }
}
