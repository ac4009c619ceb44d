//! Conversation prompts: what the cashier could say. Pure functions of
//! [`Facts`]; each rule returns candidates with text, reason and priority,
//! then [`prompts`] applies the cashier's feedback and the cap of three.

use chrono::{Datelike, NaiveDate};

use super::facts::Facts;
use super::history::{days_between, median, DAY};
use super::text::{human_date, ordinal, years};
use crate::model::{Prompt, PromptKind, PromptVerdict};

/// Most prompts shown at once.
pub const MAX_PROMPTS: usize = 3;
/// A considered purchase is followed up between these many days after it.
pub const FOLLOW_UP_DAYS: (i64, i64) = (5, 60);
/// A note's follow-up stays on the list this long after its date.
pub const NOTE_GRACE_DAYS: i64 = 21;
/// Visit counts worth celebrating.
pub const MILESTONES: &[u32] = &[10, 25, 50, 100, 250, 500, 1000];
/// "Used" hides a recurring prompt (usual item, reward near) this long.
pub const USED_COOLDOWN_DAYS: i64 = 14;
/// After this many "not relevant" for a kind, that kind is no longer shown
/// to this customer.
pub const KIND_MUTE_AFTER: usize = 3;

fn vars(v: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    v.to_vec()
}

/// Visit days (one per calendar day), oldest first.
fn visit_days(f: &Facts<'_>) -> Vec<i64> {
    let mut days: Vec<i64> = f.history.iter().map(|b| b.at.div_euclid(DAY)).collect();
    days.dedup();
    days
}

/// Follow-up on considered purchases made 5 to 60 days ago; the one nearest
/// three weeks ranks highest.
pub fn follow_up(f: &Facts<'_>) -> Vec<Prompt> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for b in f.history.iter().rev() {
        let days = days_between(b.at, f.now);
        if days > FOLLOW_UP_DAYS.1 {
            break;
        }
        if days < FOLLOW_UP_DAYS.0 {
            continue;
        }
        for &i in &b.items {
            let Some(item) = f.item(i).filter(|p| p.considered) else {
                continue;
            };
            if !seen.insert(i) {
                continue;
            }
            let date = chrono::DateTime::from_timestamp(b.at, 0)
                .map(|d| d.date_naive())
                .unwrap_or(f.today);
            let product = item.name.to_lowercase();
            let v = vars(&[
                ("product", product),
                ("days", days.to_string()),
                ("date", human_date(date)),
            ]);
            let off = (days - 21).unsigned_abs() as u32;
            out.push(Prompt {
                key: format!(
                    "follow_up:{}:{}",
                    item.id.map(|p| p.to_string()).unwrap_or(i.to_string()),
                    date
                ),
                kind: PromptKind::FollowUp,
                text: f.templates.render("follow_up", &v),
                reason: f.templates.render("follow_up.reason", &v),
                priority: 85u32.saturating_sub(off / 3),
            });
        }
    }
    out
}

/// The absence that is long for this customer: more than twice their median
/// gap between visit days and more than median + 3 MAD (robust to one odd
/// holiday), and never less than a week. Needs 4 visit days to know a rhythm.
pub fn absence_threshold(days: &[i64]) -> Option<f64> {
    if days.len() < 4 {
        return None;
    }
    let mut gaps: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let m = median(&mut gaps.clone());
    let mut dev: Vec<f64> = gaps.iter_mut().map(|g| (*g - m).abs()).collect();
    let mad = median(&mut dev);
    Some((2.0 * m).max(m + 3.0 * mad).max(7.0))
}

pub fn welcome_back(f: &Facts<'_>) -> Vec<Prompt> {
    let days = visit_days(f);
    let (Some(th), Some(&last)) = (absence_threshold(&days), days.last()) else {
        return Vec::new();
    };
    let gap = f.now.div_euclid(DAY) - last;
    if (gap as f64) <= th {
        return Vec::new();
    }
    let mut gaps: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let usual = median(&mut gaps).round() as i64;
    let last_date = NaiveDate::from_num_days_from_ce_opt(
        (last + 719_163) as i32, // days from 0001-01-01 to 1970-01-01
    )
    .unwrap_or(f.today);
    let v = vars(&[
        ("name", f.customer.name.clone()),
        ("days", gap.to_string()),
        ("weeks", (gap / 7).to_string()),
        ("usual", usual.max(1).to_string()),
        ("date", human_date(last_date)),
    ]);
    vec![Prompt {
        key: format!("welcome_back:{last_date}"),
        kind: PromptKind::WelcomeBack,
        text: f.templates.render("welcome_back", &v),
        reason: f.templates.render("welcome_back.reason", &v),
        priority: (70.0 + 10.0 * (gap as f64 / th - 1.0).min(1.0)) as u32,
    }]
}

/// Notes whose follow-up date has come (and not long passed).
pub fn notes_due(f: &Facts<'_>) -> Vec<Prompt> {
    f.notes
        .iter()
        .filter(|n| {
            let d = (f.today - n.follow_up_on).num_days();
            (0..=NOTE_GRACE_DAYS).contains(&d)
        })
        .map(|n| {
            let v = vars(&[
                ("note", n.body.clone()),
                ("author", n.author.clone()),
                ("created", human_date(n.created_on)),
                ("due", human_date(n.follow_up_on)),
            ]);
            let late = (f.today - n.follow_up_on).num_days() as u32;
            Prompt {
                key: format!("note:{}", n.id),
                kind: PromptKind::NoteDue,
                text: f.templates.render("note_due", &v),
                reason: f.templates.render("note_due.reason", &v),
                priority: 95u32.saturating_sub(late / 2),
            }
        })
        .collect()
}

/// The date of `d`'s anniversary in the year of `around` (29 Feb -> 28 Feb).
fn anniversary_in(d: NaiveDate, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, d.month(), 28))
}

/// Days from today to the nearest anniversary of `d` (negative: passed).
fn days_to_anniversary(d: NaiveDate, today: NaiveDate) -> Option<(i64, NaiveDate)> {
    [today.year() - 1, today.year(), today.year() + 1]
        .into_iter()
        .filter_map(|y| anniversary_in(d, y))
        .map(|a| ((a - today).num_days(), a))
        .min_by_key(|(n, _)| n.abs())
}

/// "This week": from 3 days ago to 6 days ahead.
fn this_week(n: i64) -> bool {
    (-3..=6).contains(&n)
}

/// Birthday and membership anniversary this week, only when known and
/// the customer agreed to be marketed to.
pub fn occasions(f: &Facts<'_>) -> Vec<Prompt> {
    let c = f.customer;
    if !c.marketing_consent {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some((n, date)) = c.birthday.and_then(|b| days_to_anniversary(b, f.today)) {
        if this_week(n) {
            let when = match n {
                0 => "today".to_string(),
                1 => "tomorrow".to_string(),
                -1 => "yesterday".to_string(),
                _ => date.format("%A").to_string(),
            };
            let v = vars(&[
                ("name", c.name.clone()),
                ("when", when),
                ("date", human_date(date)),
            ]);
            out.push(Prompt {
                key: format!("birthday:{}", date.year()),
                kind: PromptKind::Birthday,
                text: f.templates.render("birthday", &v),
                reason: f.templates.render("birthday.reason", &v),
                priority: if n == 0 { 92 } else { 78 },
            });
        }
    }
    if let Some((n, date)) = days_to_anniversary(c.member_since, f.today) {
        let y = date.year() - c.member_since.year();
        if this_week(n) && y >= 1 {
            let v = vars(&[
                ("name", c.name.clone()),
                ("years", years(y)),
                (
                    "date",
                    human_date(c.member_since) + &format!(" {}", c.member_since.year()),
                ),
            ]);
            out.push(Prompt {
                key: format!("anniversary:{}", date.year()),
                kind: PromptKind::Anniversary,
                text: f.templates.render("anniversary", &v),
                reason: f.templates.render("anniversary.reason", &v),
                priority: 65,
            });
        }
    }
    out
}

/// Today's visit is a round number (10th, 25th, ...).
pub fn milestone(f: &Facts<'_>) -> Vec<Prompt> {
    let count = f.history.len() as u32;
    let nth = count + 1;
    if !MILESTONES.contains(&nth) {
        return Vec::new();
    }
    let first = f
        .history
        .first()
        .and_then(|b| chrono::DateTime::from_timestamp(b.at, 0))
        .map(|d| human_date(d.date_naive()) + &format!(" {}", d.year()))
        .unwrap_or_default();
    let v = vars(&[
        ("name", f.customer.name.clone()),
        ("nth", ordinal(nth)),
        ("count", count.to_string()),
        ("first", first),
    ]);
    vec![Prompt {
        key: format!("milestone:visits:{nth}"),
        kind: PromptKind::Milestone,
        text: f.templates.render("milestone", &v),
        reason: f.templates.render("milestone.reason", &v),
        priority: 60,
    }]
}

/// Points or stamps close to a reward.
pub fn reward_near(f: &Facts<'_>) -> Vec<Prompt> {
    let mut out = Vec::new();
    if let Some(r) = f.program.next_reward(f.points_balance) {
        if f.program.best_reward(f.points_balance).is_none() {
            let v = vars(&[
                ("missing", (r.points - f.points_balance).to_string()),
                ("reward", r.name.clone()),
                ("balance", f.points_balance.to_string()),
                ("points", r.points.to_string()),
            ]);
            out.push(Prompt {
                key: format!("reward_near:{}", r.id),
                kind: PromptKind::RewardNear,
                text: f.templates.render("reward_near", &v),
                reason: f.templates.render("reward_near.reason", &v),
                priority: 55,
            });
        }
    }
    for card in &f.program.stamp_cards {
        let since = super::offers::last_accepted(f, &format!("stamp:{}", card.id));
        let n = crate::loyalty::stamps(card, f.history, since, |i| {
            f.item(i).and_then(|p| p.category.as_deref())
        });
        let have = n % card.stamps.max(1);
        let missing = card.stamps.saturating_sub(have);
        if (1..=2).contains(&missing) && n < card.stamps {
            let v = vars(&[
                ("missing", missing.to_string()),
                ("card", card.name.clone()),
                ("stamps", have.to_string()),
                ("needed", card.stamps.to_string()),
            ]);
            out.push(Prompt {
                key: format!("stamps_near:{}", card.id),
                kind: PromptKind::RewardNear,
                text: f.templates.render("stamps_near", &v),
                reason: f.templates.render("stamps_near.reason", &v),
                priority: 50,
            });
        }
    }
    out
}

/// Their usual item: on at least half of their last visits (up to 10) and
/// at least 3 of them, not in today's basket. The strongest one only.
pub fn usual(f: &Facts<'_>) -> Vec<Prompt> {
    let recent = &f.history[f.history.len().saturating_sub(10)..];
    if recent.len() < 3 {
        return Vec::new();
    }
    let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    for b in recent {
        for &i in &b.items {
            *counts.entry(i).or_default() += 1;
        }
    }
    let need = (recent.len() as u32).div_ceil(2).max(3);
    let best = counts
        .into_iter()
        .filter(|(i, n)| *n >= need && !f.in_basket(*i))
        .max_by_key(|(i, n)| (*n, std::cmp::Reverse(*i)));
    let Some((i, n)) = best else {
        return Vec::new();
    };
    let v = vars(&[
        ("product", f.item_name(i).to_lowercase()),
        ("times", n.to_string()),
        ("of", recent.len().to_string()),
    ]);
    vec![Prompt {
        key: format!(
            "usual:{}",
            f.item(i)
                .and_then(|p| p.id)
                .map(|p| p.to_string())
                .unwrap_or(i.to_string())
        ),
        kind: PromptKind::Usual,
        text: f.templates.render("usual", &v),
        reason: f.templates.render("usual.reason", &v),
        priority: 35 + 10 * n / recent.len() as u32,
    }]
}

/// Kinds that come back (a key "used" is only rested, not retired).
fn recurring(kind: PromptKind) -> bool {
    matches!(kind, PromptKind::Usual | PromptKind::RewardNear)
}

/// Applies the cashier's earlier feedback: a key marked not relevant is
/// gone; a key used is gone (recurring kinds: rested for two weeks); each
/// "not relevant" of a kind halves that kind's priority, and after three the
/// kind is muted for this customer.
pub fn apply_feedback(f: &Facts<'_>, mut p: Prompt) -> Option<Prompt> {
    for fb in f.prompt_feedback.iter().filter(|fb| fb.key == p.key) {
        match fb.verdict {
            PromptVerdict::NotRelevant => return None,
            PromptVerdict::Used if !recurring(p.kind) => return None,
            PromptVerdict::Used if f.now - fb.at < USED_COOLDOWN_DAYS * DAY => return None,
            PromptVerdict::Used => {}
        }
    }
    let dislikes = f
        .prompt_feedback
        .iter()
        .filter(|fb| fb.kind == p.kind && fb.verdict == PromptVerdict::NotRelevant)
        .count();
    if dislikes >= KIND_MUTE_AFTER {
        return None;
    }
    p.priority >>= dislikes;
    Some(p)
}

/// All prompt rules, feedback applied, best first, at most three, at most
/// one per kind (two for notes: people write them for a reason).
pub fn prompts(f: &Facts<'_>) -> Vec<Prompt> {
    let mut all: Vec<Prompt> = [
        notes_due(f),
        follow_up(f),
        occasions(f),
        welcome_back(f),
        milestone(f),
        reward_near(f),
        usual(f),
    ]
    .into_iter()
    .flatten()
    .filter_map(|p| apply_feedback(f, p))
    .collect();
    all.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.key.cmp(&b.key)));
    let mut out: Vec<Prompt> = Vec::with_capacity(MAX_PROMPTS);
    for p in all {
        let same = out.iter().filter(|q| q.kind == p.kind).count();
        let allowed = if p.kind == PromptKind::NoteDue { 2 } else { 1 };
        if same < allowed && out.len() < MAX_PROMPTS {
            out.push(p);
        }
    }
    out
}
