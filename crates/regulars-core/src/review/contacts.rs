//! "Who to contact this week": follow-ups due from notes, overdue regulars
//! and birthdays, each with a reason and a suggested message, minus what
//! was already done or refused.
//!
//! Consent (decided here, and shown to the owner in each reason's doc):
//! - a **follow-up** from a note is service the customer is expecting (the
//!   owner promised to call back, an order came in): no marketing consent
//!   needed;
//! - **overdue** ("we miss you") and **birthday** greetings are marketing:
//!   only customers who gave marketing consent.
//!
//! Rest rules: an item called or messaged is done (its key is dated, so the
//! next lapse or next year's birthday is a new item); "no answer" rests it
//! [`NO_ANSWER_REST_DAYS`]; "not interested" rests the whole customer, every
//! reason, [`NOT_INTERESTED_REST_DAYS`]. Customers with no phone and no
//! email cannot be reached and are left out.
//!
//! Pure: facts per customer in, [`ContactItem`]s out.

use chrono::{Datelike, NaiveDate};

use super::overdue::Overdue;
use super::{date_of, day_number, short_date};
use crate::ids::CustomerId;
use crate::model::{ContactItem, ContactOutcome, ContactReason};

/// "This week": today and the six days after.
pub const WEEK_AHEAD_DAYS: i64 = 6;
/// A note's follow-up stays on the list this long after its date (as the
/// till's prompt does).
pub const NOTE_GRACE_DAYS: i64 = crate::suggest::prompts::NOTE_GRACE_DAYS;
pub const NO_ANSWER_REST_DAYS: i64 = 3;
pub const NOT_INTERESTED_REST_DAYS: i64 = 90;

/// Who, and how to reach them.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub id: CustomerId,
    pub given_name: String,
    pub family_name: String,
    pub display_name: String,
    /// What a message calls them (preferred, else given name).
    pub first_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub marketing_consent: bool,
    pub birthday: Option<NaiveDate>,
}

/// A note whose follow-up date is set.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteFollowUp {
    pub id: String,
    pub body: String,
    pub follow_up_on: NaiveDate,
}

/// An earlier outcome for this customer.
#[derive(Clone, Debug, PartialEq)]
pub struct PastOutcome {
    pub reason_key: String,
    pub outcome: ContactOutcome,
    pub day: i64,
}

/// Everything the rules need about one customer.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactFacts {
    pub person: Person,
    pub overdue: Option<Overdue>,
    pub notes: Vec<NoteFollowUp>,
    pub outcomes: Vec<PastOutcome>,
}

/// Next occurrence of a birthday from `today` (29 Feb -> 28 Feb).
fn next_birthday(b: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    [today.year(), today.year() + 1]
        .into_iter()
        .filter_map(|y| {
            NaiveDate::from_ymd_opt(y, b.month(), b.day())
                .or_else(|| NaiveDate::from_ymd_opt(y, b.month(), 28))
        })
        .find(|d| *d >= today)
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The list items for one customer on `today`.
pub fn items_for(f: &ContactFacts, today: NaiveDate) -> Vec<ContactItem> {
    let p = &f.person;
    if p.phone.is_none() && p.email.is_none() {
        return Vec::new();
    }
    let now = day_number(today);
    let resting = f.outcomes.iter().any(|o| {
        o.outcome == ContactOutcome::NotInterested && now - o.day < NOT_INTERESTED_REST_DAYS
    });
    if resting {
        return Vec::new();
    }
    let done = |key: &str| {
        f.outcomes.iter().any(|o| {
            o.reason_key == key
                && match o.outcome {
                    ContactOutcome::Called | ContactOutcome::Messaged => true,
                    ContactOutcome::NoAnswer => now - o.day < NO_ANSWER_REST_DAYS,
                    ContactOutcome::NotInterested => true,
                }
        })
    };
    let item = |reason, key: String, text: String, message: String, priority| ContactItem {
        customer_id: p.id,
        display_name: p.display_name.clone(),
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        reason,
        reason_key: key,
        reason_text: text,
        suggested_message: message,
        priority,
    };
    let name = &p.first_name;
    let mut out = Vec::new();
    for n in &f.notes {
        let d = (today - n.follow_up_on).num_days();
        if !(-WEEK_AHEAD_DAYS..=NOTE_GRACE_DAYS).contains(&d) {
            continue;
        }
        let key = format!("note:{}", n.id);
        if done(&key) {
            continue;
        }
        let when = match d {
            0 => "due today".to_string(),
            1 => "due yesterday".to_string(),
            -1 => "due tomorrow".to_string(),
            d if d > 0 => format!("due {d} days ago"),
            d => format!("due in {} days", -d),
        };
        let text = format!(
            "follow-up from a note, {when} ({}): {}",
            short_date(n.follow_up_on),
            n.body
        );
        let msg = format!(
            "Hello {name}, it's your local shop following up as promised. Do you have a moment?"
        );
        out.push(item(
            ContactReason::FollowUp,
            key,
            text,
            msg,
            (90 - d.max(0)).clamp(50, 95) as u32,
        ));
    }
    if !p.marketing_consent {
        return out;
    }
    if let Some(o) = &f.overdue {
        let key = format!("overdue:{}", date_of(o.last_day));
        if !done(&key) {
            let text = format!(
                "overdue: {}; usual basket {}",
                o.reason(),
                money(o.usual_spend_cents)
            );
            let msg = format!(
                "Hello {name}, we haven't seen you for {} weeks and wanted to check all is well. We'd love to see you again soon!",
                (o.days_since / 7).max(1)
            );
            let lateness = (o.days_since as f64 / o.threshold).min(4.0);
            out.push(item(
                ContactReason::Overdue,
                key,
                text,
                msg,
                (50.0 + 7.5 * lateness) as u32,
            ));
        }
    }
    if let Some(next) = p.birthday.and_then(|b| next_birthday(b, today)) {
        let ahead = (next - today).num_days();
        let key = format!("birthday:{}", next.year());
        if ahead <= WEEK_AHEAD_DAYS && !done(&key) {
            let when = match ahead {
                0 => "today".to_string(),
                1 => "tomorrow".to_string(),
                _ => format!("on {}", next.format("%A")),
            };
            let text = format!("birthday {when} ({})", short_date(next));
            let msg =
                format!("Happy birthday, {name}! Everyone at the shop wishes you a lovely day.");
            out.push(item(
                ContactReason::Birthday,
                key,
                text,
                msg,
                80 - 2 * ahead as u32,
            ));
        }
    }
    out
}

/// The whole list: every customer's items, highest priority first (ties by
/// name, then key, so the list is stable).
pub fn contact_list(facts: &[ContactFacts], today: NaiveDate) -> Vec<ContactItem> {
    let mut out: Vec<ContactItem> = facts.iter().flat_map(|f| items_for(f, today)).collect();
    out.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.display_name.cmp(&b.display_name))
            .then_with(|| a.reason_key.cmp(&b.reason_key))
    });
    out
}

/// The list as CSV for a mail merge (header row; quoted as needed).
pub fn to_csv(items: &[ContactItem]) -> crate::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| crate::Error::invalid("csv", e.to_string());
    w.write_record([
        "customer_id",
        "first_name",
        "family_name",
        "display_name",
        "phone",
        "email",
        "reason",
        "reason_key",
        "reason_text",
        "suggested_message",
    ])
    .map_err(io)?;
    for i in items {
        let reason = match i.reason {
            ContactReason::FollowUp => "follow_up",
            ContactReason::Overdue => "overdue",
            ContactReason::Birthday => "birthday",
        };
        w.write_record([
            i.customer_id.to_string().as_str(),
            &i.given_name,
            &i.family_name,
            &i.display_name,
            i.phone.as_deref().unwrap_or(""),
            i.email.as_deref().unwrap_or(""),
            reason,
            &i.reason_key,
            &i.reason_text,
            &i.suggested_message,
        ])
        .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| crate::Error::invalid("csv", e.to_string()))?;
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn person(consent: bool, phone: bool, birthday: Option<&str>) -> Person {
        Person {
            id: CustomerId::new(),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            display_name: "Ada Lovelace".into(),
            first_name: "Ada".into(),
            phone: phone.then(|| "0123 456".into()),
            email: None,
            marketing_consent: consent,
            birthday: birthday.map(d),
        }
    }

    fn late(today: NaiveDate) -> Overdue {
        Overdue {
            last_day: day_number(today) - 21,
            days_since: 21,
            usual_gap: 7,
            threshold: 14.0,
            usual_spend_cents: 2_550,
            visit_days: 30,
            monthly_cents: 10_928,
        }
    }

    fn note(due: &str) -> NoteFollowUp {
        NoteFollowUp {
            id: "n1".into(),
            body: "ask how the new puppy is".into(),
            follow_up_on: d(due),
        }
    }

    fn outcome(key: &str, o: ContactOutcome, days_ago: i64, today: NaiveDate) -> PastOutcome {
        PastOutcome {
            reason_key: key.into(),
            outcome: o,
            day: day_number(today) - days_ago,
        }
    }

    /// (what, consent, phone, overdue, note due, birthday, outcomes) -> reasons.
    #[test]
    fn reasons_consent_and_rest() {
        use ContactOutcome::*;
        use ContactReason::*;
        let today = d("2026-11-25");
        let over_key = format!("overdue:{}", date_of(day_number(today) - 21));
        type Row = (
            &'static str,
            bool,
            bool,
            bool,
            Option<&'static str>,
            Option<&'static str>,
            Vec<PastOutcome>,
            Vec<ContactReason>,
        );
        let table: Vec<Row> = vec![
            (
                "overdue with consent",
                true,
                true,
                true,
                None,
                None,
                vec![],
                vec![Overdue],
            ),
            (
                "overdue without consent: marketing, left out",
                false,
                true,
                true,
                None,
                None,
                vec![],
                vec![],
            ),
            (
                "note due without consent: service, listed",
                false,
                true,
                false,
                Some("2026-11-24"),
                None,
                vec![],
                vec![FollowUp],
            ),
            (
                "note due in 3 days",
                false,
                true,
                false,
                Some("2026-11-28"),
                None,
                vec![],
                vec![FollowUp],
            ),
            (
                "note due 2 weeks ahead: not this week",
                true,
                true,
                false,
                Some("2026-12-09"),
                None,
                vec![],
                vec![],
            ),
            (
                "note long past its grace",
                true,
                true,
                false,
                Some("2026-10-01"),
                None,
                vec![],
                vec![],
            ),
            (
                "birthday Saturday with consent",
                true,
                true,
                false,
                None,
                Some("1980-11-28"),
                vec![],
                vec![Birthday],
            ),
            (
                "birthday without consent",
                false,
                true,
                false,
                None,
                Some("1980-11-28"),
                vec![],
                vec![],
            ),
            (
                "birthday passed yesterday",
                true,
                true,
                false,
                None,
                Some("1980-11-24"),
                vec![],
                vec![],
            ),
            (
                "no phone, no email: unreachable",
                true,
                false,
                true,
                None,
                None,
                vec![],
                vec![],
            ),
            (
                "all three",
                true,
                true,
                true,
                Some("2026-11-25"),
                Some("1990-11-26"),
                vec![],
                vec![FollowUp, Overdue, Birthday],
            ),
            (
                "overdue already called",
                true,
                true,
                true,
                None,
                None,
                vec![outcome(&over_key, Called, 2, today)],
                vec![],
            ),
            (
                "no answer yesterday: rests",
                true,
                true,
                true,
                None,
                None,
                vec![outcome(&over_key, NoAnswer, 1, today)],
                vec![],
            ),
            (
                "no answer last week: try again",
                true,
                true,
                true,
                None,
                None,
                vec![outcome(&over_key, NoAnswer, 7, today)],
                vec![Overdue],
            ),
            (
                "not interested a month ago: nothing at all",
                true,
                true,
                true,
                Some("2026-11-25"),
                None,
                vec![outcome("birthday:2025", NotInterested, 30, today)],
                vec![],
            ),
            (
                "not interested 4 months ago: back",
                true,
                true,
                true,
                None,
                None,
                vec![outcome("birthday:2025", NotInterested, 120, today)],
                vec![Overdue],
            ),
            (
                "an old overdue item done, a new lapse",
                true,
                true,
                true,
                None,
                None,
                vec![outcome("overdue:2026-01-01", Called, 300, today)],
                vec![Overdue],
            ),
        ];
        for (what, consent, phone, overdue, due, bday, outcomes, want) in table {
            let f = ContactFacts {
                person: person(consent, phone, bday),
                overdue: overdue.then(|| late(today)),
                notes: due.map(note).into_iter().collect(),
                outcomes,
            };
            let got: Vec<ContactReason> = items_for(&f, today).iter().map(|i| i.reason).collect();
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn texts_sorting_and_csv() {
        let today = d("2026-11-25");
        let mut a = person(true, true, Some("2000-11-25"));
        a.display_name = "Zed, \"Z\"".into();
        let b = person(true, true, None);
        let facts = vec![
            ContactFacts {
                person: a,
                overdue: None,
                notes: vec![],
                outcomes: vec![],
            },
            ContactFacts {
                person: b,
                overdue: Some(late(today)),
                notes: vec![],
                outcomes: vec![],
            },
        ];
        let list = contact_list(&facts, today);
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0].reason,
            ContactReason::Birthday,
            "birthday today ranks first"
        );
        assert_eq!(list[0].reason_key, "birthday:2026");
        assert_eq!(list[0].reason_text, "birthday today (25 Nov)");
        assert!(
            list[1].reason_text.contains("usual basket 25.50"),
            "{}",
            list[1].reason_text
        );
        assert!(list[1].suggested_message.contains("3 weeks"));
        let csv = to_csv(&list).unwrap();
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][3], "Zed, \"Z\"", "quoted and read back");
        assert_eq!(&rows[0][6], "birthday");
        assert_eq!(&rows[1][4], "0123 456");
    }
}
