//! Templates for what the cashier reads. Defaults are here; the owner can
//! override any of them (setting `suggest.templates`, a JSON object of key to
//! template). Placeholders are `{name}`; an unknown placeholder is left as
//! typed so a mistake in an edited template shows instead of vanishing.

use std::collections::BTreeMap;

/// (key, default template, placeholders it may use)
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "follow_up",
        "How's the {product} working out?",
        "product, days",
    ),
    (
        "follow_up.reason",
        "Bought {date}, {days} days ago (a considered purchase)",
        "product, date, days",
    ),
    (
        "welcome_back",
        "Welcome back, {name}! Good to see you again.",
        "name, days, weeks",
    ),
    (
        "welcome_back.reason",
        "Usually comes in every ~{usual} days; last visit {days} days ago ({date})",
        "usual, days, date",
    ),
    ("note_due", "Ask about: {note}", "note, author"),
    (
        "note_due.reason",
        "{author}'s note from {created}, follow up on {due}",
        "author, created, due",
    ),
    (
        "birthday",
        "Happy birthday for {when}, {name}!",
        "name, when",
    ),
    ("birthday.reason", "Birthday {date}", "date"),
    (
        "anniversary",
        "{years} with us this week, {name}. Thank you!",
        "name, years",
    ),
    ("anniversary.reason", "Member since {date}", "date"),
    ("milestone", "This is {name}'s {nth} visit!", "name, nth"),
    (
        "milestone.reason",
        "{count} visits before today, first on {first}",
        "count, first",
    ),
    (
        "reward_near",
        "Only {missing} points from {reward}.",
        "missing, reward, balance",
    ),
    (
        "reward_near.reason",
        "Balance {balance} points; {reward} at {points}",
        "balance, reward, points",
    ),
    (
        "stamps_near",
        "{missing} more {card} and the next one is free.",
        "missing, card",
    ),
    (
        "stamps_near.reason",
        "{stamps} of {needed} stamps on the {card} card",
        "stamps, needed, card",
    ),
    ("usual", "The usual {product} today?", "product"),
    (
        "usual.reason",
        "Bought on {times} of the last {of} visits; not in today's basket yet",
        "times, of",
    ),
    ("replenish", "Running low on {product}?", "product"),
    (
        "replenish.reason",
        "Buys it every ~{cycle} days; last {days} days ago",
        "cycle, days, times",
    ),
    (
        "discovery",
        "Tried {product}? People who shop like {name} often buy it.",
        "product, name",
    ),
    (
        "discovery.reason",
        "In {pct}% of similar customers' baskets; never bought by {name}",
        "pct, name",
    ),
    (
        "discovery_with.reason",
        "Often bought with {with}, which {name} buys; never bought by {name}",
        "with, name",
    ),
    (
        "reward",
        "{reward} is ready: {balance} points to spend.",
        "reward, balance",
    ),
    (
        "reward.reason",
        "Balance {balance} points, {reward} costs {points}",
        "balance, reward, points",
    ),
    (
        "stamp_reward",
        "The {card} card is full: next one is on us.",
        "card",
    ),
    (
        "stamp_reward.reason",
        "{stamps} stamps collected since the last free one",
        "stamps",
    ),
    (
        "campaign.reason",
        "Campaign \"{campaign}\" ({rule}), until {until}",
        "campaign, rule, until",
    ),
];

/// The templates in force: defaults overlaid with the owner's edits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Templates {
    overrides: BTreeMap<String, String>,
}

impl Templates {
    /// From the owner's JSON (`{"usual": "..."}`); bad JSON falls back to the
    /// defaults rather than breaking the till.
    pub fn from_json(json: Option<&str>) -> Self {
        let overrides = json
            .and_then(|j| serde_json::from_str::<BTreeMap<String, String>>(j).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, v)| !v.trim().is_empty() && DEFAULTS.iter().any(|d| d.0 == k))
            .collect();
        Templates { overrides }
    }

    pub fn with(mut self, key: &str, template: &str) -> Self {
        self.overrides.insert(key.to_string(), template.to_string());
        self
    }

    pub fn get(&self, key: &str) -> &str {
        if let Some(t) = self.overrides.get(key) {
            return t;
        }
        DEFAULTS
            .iter()
            .find(|d| d.0 == key)
            .map(|d| d.1)
            .unwrap_or("")
    }

    /// Fills `{placeholders}` of template `key` from `vars`.
    pub fn render(&self, key: &str, vars: &[(&str, String)]) -> String {
        fill(self.get(key), vars)
    }
}

pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// "1st", "2nd", "3rd", "11th", "22nd".
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "1 year", "3 years".
pub fn years(n: i32) -> String {
    if n == 1 {
        "One year".into()
    } else {
        format!("{n} years")
    }
}

/// A date as a person says it: "Saturday 14 June".
pub fn human_date(d: chrono::NaiveDate) -> String {
    d.format("%A %-d %B").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_and_overrides() {
        let t = Templates::from_json(Some(
            r#"{"usual": "Your {product} as always?", "bogus": "x"}"#,
        ));
        assert_eq!(
            t.render("usual", &[("product", "flat white".into())]),
            "Your flat white as always?"
        );
        assert_eq!(fill("a {x} {y", &[("x", "1".into())]), "a 1 {y");
        assert_eq!(fill("{unknown}!", &[]), "{unknown}!");
        assert_eq!(Templates::from_json(Some("not json")), Templates::default());
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(ordinal(103), "103rd");
    }
}
