//! Data-driven tests of the suggestion rules: history in, prompts and offers
//! out. Every case builds plain facts by hand (no store), so each rule is
//! tested as the pure function it is.

use chrono::NaiveDate;
use regulars_core::ids::{CustomerId, ProductId};
use regulars_core::loyalty::{Program, Reward, StampCard};
use regulars_core::model::{OfferKind, OfferOutcome, PromptKind, PromptVerdict};
use regulars_core::suggest::engine::decide;
use regulars_core::suggest::facts::{
    Campaign, CustomerFacts, Facts, ItemInfo, NoteFact, OfferEvent, PromptFeedback, Segment,
};
use regulars_core::suggest::history::{Basket, DAY};
use regulars_core::suggest::rank::{Model, Params};
use regulars_core::suggest::text::Templates;
use regulars_core::suggest::{offers, prompts};

const MILK: u32 = 0;
const BREAD: u32 = 1;
const GENERATOR: u32 = 2;
const COFFEE: u32 = 3;
const INK: u32 = 4;
const PRINTER: u32 = 5;

fn catalog() -> Vec<ItemInfo> {
    let n = std::cell::Cell::new(0u128);
    let p = |name: &str, cat: &str, price: i64, considered: bool| ItemInfo {
        id: Some(ProductId::from_uuid(uuid::Uuid::from_u128({
            n.set(n.get() + 1);
            n.get()
        }))),
        name: name.into(),
        category: Some(cat.into()),
        price_cents: price,
        considered,
    };
    vec![
        p("Whole milk", "Dairy", 429, false),
        p("Sourdough loaf", "Bakery", 549, false),
        p("Generator", "Power", 79_900, true),
        p("Coffee, cup to go", "Coffee", 225, false),
        p("Printer ink", "Office", 2_999, false),
        p("Printer", "Office", 14_900, true),
    ]
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Unix seconds of noon on a date.
fn t(s: &str) -> i64 {
    d(s).and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp()
}

fn customer(consent: bool) -> CustomerFacts {
    CustomerFacts {
        id: CustomerId::new(),
        name: "Maggie".into(),
        birthday: None,
        member_since: d("2024-03-10"),
        marketing_consent: consent,
    }
}

/// Everything a case can vary, with quiet defaults.
struct Case {
    now: &'static str,
    customer: CustomerFacts,
    history: Vec<Basket>,
    basket: Vec<u32>,
    notes: Vec<NoteFact>,
    points: i64,
    program: Program,
    feedback: Vec<PromptFeedback>,
    events: Vec<OfferEvent>,
    campaigns: Vec<Campaign>,
    templates: Templates,
    catalog: Vec<ItemInfo>,
}

impl Case {
    fn new(now: &'static str) -> Self {
        Case {
            now,
            customer: customer(true),
            history: Vec::new(),
            basket: Vec::new(),
            notes: Vec::new(),
            points: 0,
            program: Program::default(),
            feedback: Vec::new(),
            events: Vec::new(),
            campaigns: Vec::new(),
            templates: Templates::default(),
            catalog: catalog(),
        }
    }

    /// Visits every `every` days from `start`, `n` times, buying `items`.
    fn visits(mut self, start: &str, every: i64, n: usize, items: &[u32]) -> Self {
        for k in 0..n {
            self.history.push(Basket::new(
                t(start) + k as i64 * every * DAY,
                items.to_vec(),
            ));
        }
        self.history.sort_by_key(|b| b.at);
        self
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            now: t(self.now),
            today: d(self.now),
            customer: &self.customer,
            history: &self.history,
            catalog: &self.catalog,
            basket: &self.basket,
            notes: &self.notes,
            points_balance: self.points,
            program: &self.program,
            prompt_feedback: &self.feedback,
            offer_events: &self.events,
            campaigns: &self.campaigns,
            templates: &self.templates,
        }
    }

    fn prompts(&self) -> Vec<regulars_core::model::Prompt> {
        prompts::prompts(&self.facts())
    }

    fn kinds(&self) -> Vec<PromptKind> {
        self.prompts().iter().map(|p| p.kind).collect()
    }

    /// Offers with a neighbour model built from this history plus `others`.
    fn offers(&self, others: &[Vec<Basket>]) -> Vec<regulars_core::model::Offer> {
        let mut users: Vec<&[Basket]> = vec![&self.history];
        users.extend(others.iter().map(Vec::as_slice));
        let model = Model::build(Params::default(), self.catalog.len(), &users);
        decide(&model, &self.facts(), Some(0)).offers
    }
}

#[test]
fn follow_up_on_a_considered_purchase_weeks_ago() {
    let mut c = Case::new("2025-06-20");
    c.history
        .push(Basket::new(t("2025-06-01"), vec![GENERATOR, MILK]));
    let p = c.prompts();
    assert_eq!(p[0].kind, PromptKind::FollowUp, "{p:?}");
    assert_eq!(p[0].text, "How's the generator working out?");
    assert!(p[0].reason.contains("19 days ago"), "{}", p[0].reason);
    // Too soon (2 days) and too late (90 days): nothing.
    for now in ["2025-06-03", "2025-08-30"] {
        let mut c = Case::new(now);
        c.history
            .push(Basket::new(t("2025-06-01"), vec![GENERATOR]));
        assert!(!c.kinds().contains(&PromptKind::FollowUp), "{now}");
    }
    // Everyday items never get a follow-up.
    let mut c = Case::new("2025-06-20");
    c.history
        .push(Basket::new(t("2025-06-01"), vec![MILK, BREAD]));
    assert!(!c.kinds().contains(&PromptKind::FollowUp));
}

#[test]
fn welcome_back_is_measured_against_their_own_rhythm() {
    // Weekly regular, last seen 20 days ago: long for them.
    let c = Case::new("2025-03-21").visits("2025-01-01", 7, 9, &[BREAD]);
    let p = c.prompts();
    let wb = p
        .iter()
        .find(|p| p.kind == PromptKind::WelcomeBack)
        .expect("welcome back");
    assert!(wb.reason.contains("every ~7 days"), "{}", wb.reason);
    assert!(wb.text.contains("Maggie"));
    // Monthly customer, 20 days since: normal for them.
    let c = Case::new("2025-08-19").visits("2025-01-01", 30, 7, &[BREAD]);
    assert!(!c.kinds().contains(&PromptKind::WelcomeBack));
    // Three visits are not enough to know a rhythm.
    let c = Case::new("2025-06-01").visits("2025-01-01", 7, 3, &[BREAD]);
    assert!(!c.kinds().contains(&PromptKind::WelcomeBack));
    // One odd holiday in the past does not make every gap look normal.
    assert_eq!(
        prompts::absence_threshold(&[0, 7, 14, 21, 28, 80, 87, 94]),
        Some(14.0)
    );
}

#[test]
fn note_follow_up_when_due() {
    let note = |due: &str| NoteFact {
        id: "n1".into(),
        body: "Daughter's wedding was last Saturday".into(),
        author: "Sam".into(),
        created_on: d("2025-05-01"),
        follow_up_on: d(due),
    };
    let mut c = Case::new("2025-05-20");
    c.notes.push(note("2025-05-18"));
    let p = c.prompts();
    assert_eq!(p[0].kind, PromptKind::NoteDue);
    assert_eq!(p[0].text, "Ask about: Daughter's wedding was last Saturday");
    assert!(p[0].reason.starts_with("Sam's note"), "{}", p[0].reason);
    // Not yet due, and long past: nothing.
    for due in ["2025-05-25", "2025-03-01"] {
        let mut c = Case::new("2025-05-20");
        c.notes.push(note(due));
        assert!(c.prompts().is_empty(), "{due}");
    }
}

#[test]
fn birthday_and_anniversary_only_with_consent() {
    let mut c = Case::new("2025-03-11");
    c.customer.birthday = Some(d("1980-03-13"));
    let k = c.kinds();
    assert!(k.contains(&PromptKind::Birthday), "{k:?}");
    assert!(
        k.contains(&PromptKind::Anniversary),
        "member since 2024-03-10: {k:?}"
    );
    let p = c.prompts();
    let b = p.iter().find(|p| p.kind == PromptKind::Birthday).unwrap();
    assert_eq!(b.text, "Happy birthday for Thursday, Maggie!");
    c.customer.marketing_consent = false;
    assert!(c.prompts().is_empty());
    // Unknown birthday, or months away: nothing.
    let mut c = Case::new("2025-07-01");
    c.customer.birthday = Some(d("1980-12-25"));
    assert!(c.prompts().is_empty());
}

#[test]
fn milestone_and_reward_within_reach() {
    let mut c = Case::new("2025-03-01").visits("2025-01-01", 5, 9, &[MILK]);
    c.customer.member_since = d("2025-01-01");
    let p = c.prompts();
    let m = p
        .iter()
        .find(|p| p.kind == PromptKind::Milestone)
        .expect("10th visit");
    assert_eq!(m.text, "This is Maggie's 10th visit!");

    let mut c = Case::new("2025-03-01");
    c.program.rewards.push(Reward {
        id: "coffee".into(),
        name: "a free coffee".into(),
        points: 100,
        product_id: None,
        discount_cents: 0,
    });
    c.points = 80;
    let p = c.prompts();
    assert_eq!(p[0].text, "Only 20 points from a free coffee.");
    c.points = 50; // not within reach (25 by default)
    assert!(c.prompts().is_empty());
}

#[test]
fn usual_item_unless_already_in_the_basket() {
    let mut c = Case::new("2025-02-20").visits("2025-01-01", 4, 8, &[COFFEE, MILK]);
    c.history.last_mut().unwrap().items = vec![COFFEE];
    let p = c.prompts();
    let u = p
        .iter()
        .find(|p| p.kind == PromptKind::Usual)
        .expect("usual");
    assert_eq!(u.text, "The usual coffee, cup to go today?");
    assert!(u.reason.contains("8 of the last 8"), "{}", u.reason);
    c.basket = vec![COFFEE];
    let p = c.prompts();
    let u = p
        .iter()
        .find(|p| p.kind == PromptKind::Usual)
        .expect("then milk");
    assert!(u.text.contains("milk"));
}

#[test]
fn at_most_three_prompts_best_first() {
    let mut c = Case::new("2025-03-11").visits("2024-12-01", 7, 9, &[COFFEE]);
    c.customer.birthday = Some(d("1980-03-11"));
    c.history
        .push(Basket::new(t("2025-02-20"), vec![GENERATOR]));
    c.notes.push(NoteFact {
        id: "n".into(),
        body: "Ask about the new puppy".into(),
        author: "Sam".into(),
        created_on: d("2025-02-01"),
        follow_up_on: d("2025-03-10"),
    });
    let p = c.prompts();
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p.windows(2).all(|w| w[0].priority >= w[1].priority));
    assert_eq!(p[0].kind, PromptKind::NoteDue);
}

#[test]
fn feedback_hides_and_reranks_prompts() {
    let base = || {
        let mut c = Case::new("2025-06-20");
        c.history
            .push(Basket::new(t("2025-06-01"), vec![GENERATOR]));
        c
    };
    let key = base().prompts()[0].key.clone();
    for verdict in [PromptVerdict::Used, PromptVerdict::NotRelevant] {
        let mut c = base();
        c.feedback.push(PromptFeedback {
            key: key.clone(),
            kind: PromptKind::FollowUp,
            verdict,
            at: t("2025-06-10"),
        });
        assert!(c.prompts().is_empty(), "{verdict:?}: {:?}", c.prompts());
    }
    // "Not relevant" on other follow-ups lowers this kind; three mute it.
    let mut c = base();
    let fb = |k: &str| PromptFeedback {
        key: k.into(),
        kind: PromptKind::FollowUp,
        verdict: PromptVerdict::NotRelevant,
        at: t("2025-01-01"),
    };
    let before = c.prompts()[0].priority;
    c.feedback.push(fb("follow_up:x"));
    assert_eq!(c.prompts()[0].priority, before / 2);
    c.feedback.push(fb("follow_up:y"));
    c.feedback.push(fb("follow_up:z"));
    assert!(c.prompts().is_empty());
    // A used usual-item prompt rests two weeks, then comes back.
    let mut c = Case::new("2025-01-31").visits("2025-01-01", 4, 8, &[COFFEE]);
    let key = c.prompts()[0].key.clone();
    c.feedback.push(PromptFeedback {
        key,
        kind: PromptKind::Usual,
        verdict: PromptVerdict::Used,
        at: t("2025-01-30"),
    });
    assert!(!c.kinds().contains(&PromptKind::Usual));
    c.now = "2025-02-14";
    assert!(c.kinds().contains(&PromptKind::Usual));
}

#[test]
fn owner_edits_templates() {
    let mut c = Case::new("2025-06-20");
    c.history
        .push(Basket::new(t("2025-06-01"), vec![GENERATOR]));
    c.templates = Templates::from_json(Some(r#"{"follow_up": "Is the {product} behaving?"}"#));
    assert_eq!(c.prompts()[0].text, "Is the generator behaving?");
}

/// Other customers: printer buyers who also buy ink.
fn ink_people() -> Vec<Vec<Basket>> {
    (0..20)
        .map(|k| {
            vec![
                Basket::new(t("2025-01-01") + k * DAY, vec![PRINTER, MILK]),
                Basket::new(t("2025-01-20") + k * DAY, vec![INK, MILK]),
            ]
        })
        .collect()
}

#[test]
fn replenishment_by_their_own_cycle() {
    // Coffee every 12 days (last on 6 January); 15 days later it is due.
    let c = Case::new("2025-01-21").visits("2024-12-01", 12, 4, &[COFFEE]);
    let o = c.offers(&[]);
    let r = o
        .iter()
        .find(|o| o.kind == OfferKind::Replenish)
        .expect("replenish");
    assert_eq!(r.text, "Running low on coffee, cup to go?");
    assert_eq!(r.reason, "Buys it every ~12 days; last 15 days ago");
    assert_eq!(r.line.as_ref().unwrap().unit_price_cents, 225);
    // Bought 2 days ago: not due; 80 days ago: they have stopped.
    for now in ["2025-01-08", "2025-03-27"] {
        let c = Case::new(now).visits("2024-12-01", 12, 4, &[COFFEE]);
        assert!(
            c.offers(&[]).iter().all(|o| o.kind != OfferKind::Replenish),
            "{now}"
        );
    }
}

#[test]
fn discovery_from_people_like_them() {
    let mut c = Case::new("2025-03-01");
    c.history
        .push(Basket::new(t("2025-02-01"), vec![PRINTER, MILK]));
    c.history.push(Basket::new(t("2025-02-08"), vec![MILK]));
    let o = c.offers(&ink_people());
    let d = o
        .iter()
        .find(|o| o.kind == OfferKind::Discovery)
        .expect("discovery");
    assert!(d.text.contains("printer ink"), "{}", d.text);
    assert!(d.reason.contains("never bought by Maggie"), "{}", d.reason);
}

#[test]
fn marketing_needs_consent_rewards_do_not() {
    let mut c = Case::new("2025-02-05").visits("2024-12-01", 12, 4, &[COFFEE]);
    c.customer.marketing_consent = false;
    c.program.rewards.push(Reward {
        id: "coffee".into(),
        name: "A free coffee".into(),
        points: 100,
        product_id: c.catalog[COFFEE as usize].id,
        discount_cents: 0,
    });
    c.points = 130;
    let o = c.offers(&ink_people());
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].kind, OfferKind::Reward);
    assert_eq!(o[0].points_cost, 100);
    let line = o[0].line.as_ref().unwrap();
    assert_eq!(line.discount_cents, line.unit_price_cents, "free");
}

#[test]
fn stamp_card_fills_and_restarts_after_the_free_one() {
    let mut c = Case::new("2025-02-01").visits("2025-01-01", 2, 10, &[COFFEE]);
    c.program.stamp_cards.push(StampCard {
        id: "coffee".into(),
        name: "coffee".into(),
        category: "Coffee".into(),
        stamps: 10,
        product_id: c.catalog[COFFEE as usize].id,
    });
    let o = c.offers(&[]);
    assert!(o.iter().any(|o| o.key == "stamp:coffee"), "{o:?}");
    c.events.push(OfferEvent {
        key: "stamp:coffee".into(),
        kind: OfferKind::Reward,
        outcome: OfferOutcome::Accepted,
        at: t("2025-01-25"),
    });
    assert!(c.offers(&[]).iter().all(|o| o.key != "stamp:coffee"));
}

fn campaign() -> Campaign {
    Campaign {
        id: "ink-spring".into(),
        name: "Ink for printer owners".into(),
        text: "20% off printer ink this month".into(),
        segment: Segment {
            bought_category: Some("office".into()),
            ..Segment::default()
        },
        product_id: None,
        category: None,
        discount_percent: 20,
        discount_cents: 0,
        gift: false,
        starts_on: d("2025-03-01"),
        ends_on: d("2025-03-31"),
        max_per_customer: 1,
        max_total: Some(100),
        accepted_total: 0,
    }
}

#[test]
fn campaigns_by_segment_dates_and_caps() {
    let mut c = Case::new("2025-03-10").visits("2025-02-01", 7, 3, &[PRINTER]);
    let mut camp = campaign();
    camp.product_id = c.catalog[INK as usize].id;
    c.campaigns.push(camp.clone());
    let o = c.offers(&[]);
    let x = o
        .iter()
        .find(|o| o.kind == OfferKind::Campaign)
        .expect("campaign");
    assert_eq!(x.text, "20% off printer ink this month");
    assert_eq!(x.line.as_ref().unwrap().discount_cents, 599);
    assert!(x.reason.contains("buys office"), "{}", x.reason);
    // Outside its dates; not in the segment; capped per customer; capped overall.
    let mut late = Case::new("2025-04-02").visits("2025-02-01", 7, 3, &[PRINTER]);
    late.campaigns.push(camp.clone());
    assert!(late
        .offers(&[])
        .iter()
        .all(|o| o.kind != OfferKind::Campaign));
    let mut other = Case::new("2025-03-10").visits("2025-02-01", 7, 3, &[MILK]);
    other.campaigns.push(camp.clone());
    assert!(other
        .offers(&[])
        .iter()
        .all(|o| o.kind != OfferKind::Campaign));
    c.events.push(OfferEvent {
        key: "campaign:ink-spring".into(),
        kind: OfferKind::Campaign,
        outcome: OfferOutcome::Accepted,
        at: t("2025-03-05"),
    });
    assert!(c.offers(&[]).iter().all(|o| o.kind != OfferKind::Campaign));
    c.events.clear();
    c.campaigns[0].accepted_total = 100;
    assert!(c.offers(&[]).iter().all(|o| o.kind != OfferKind::Campaign));
}

#[test]
fn at_most_two_offers_and_declined_ones_rest() {
    let mut c = Case::new("2025-03-10").visits("2025-01-06", 7, 9, &[PRINTER, COFFEE]);
    c.history.push(Basket::new(t("2025-02-25"), vec![MILK]));
    let mut camp = campaign();
    camp.product_id = c.catalog[INK as usize].id;
    c.campaigns.push(camp);
    c.program.rewards.push(Reward {
        id: "five".into(),
        name: "$5 off".into(),
        points: 100,
        product_id: None,
        discount_cents: 500,
    });
    c.points = 150;
    let o = c.offers(&ink_people());
    assert_eq!(o.len(), offers::MAX_OFFERS, "{o:?}");
    assert_eq!(o[0].kind, OfferKind::Reward);
    assert_eq!(o[1].kind, OfferKind::Campaign);
    // Declined campaign: rests 30 days, replaced by the next best.
    c.events.push(OfferEvent {
        key: "campaign:ink-spring".into(),
        kind: OfferKind::Campaign,
        outcome: OfferOutcome::Declined,
        at: t("2025-03-09"),
    });
    let o = c.offers(&ink_people());
    assert!(o.iter().all(|o| o.kind != OfferKind::Campaign), "{o:?}");
    assert_eq!(o.len(), 2);
    // Shown three times without being taken: rests too.
    assert!(!offers::resting(&c.facts(), "replenish:x"));
    for day in ["2025-03-01", "2025-03-03", "2025-03-05"] {
        c.events.push(OfferEvent {
            key: "replenish:x".into(),
            kind: OfferKind::Replenish,
            outcome: OfferOutcome::Shown,
            at: t(day),
        });
    }
    assert!(offers::resting(&c.facts(), "replenish:x"));
}

#[test]
fn decisions_are_deterministic() {
    let c = Case::new("2025-03-10").visits("2025-01-06", 3, 20, &[PRINTER, COFFEE, MILK]);
    let a = c.offers(&ink_people());
    let b = c.offers(&ink_people());
    assert_eq!(a, b);
    assert_eq!(c.prompts(), c.prompts());
}

#[test]
fn trees_score_only_the_best_candidates_by_the_logistic_start() {
    // One customer with 12 items over 8 visits; two others who also buy
    // items 20..28 (never bought by the first: neighbour-only candidates).
    let mine: Vec<Basket> = (0..8)
        .map(|k| {
            let at = t("2025-03-01") + k * 7 * 86_400;
            Basket::new(
                at,
                (0..12u32)
                    .filter(|i| !(i + k as u32).is_multiple_of(3))
                    .collect(),
            )
        })
        .collect();
    let theirs: Vec<Vec<Basket>> = (0..2)
        .map(|j| {
            (0..6)
                .map(|k| {
                    let at = t("2025-03-02") + k * 5 * 86_400;
                    Basket::new(at, (0..6u32).chain(20 + j..28).collect())
                })
                .collect()
        })
        .collect();
    let mut users: Vec<&[Basket]> = vec![&mine];
    users.extend(theirs.iter().map(Vec::as_slice));
    let now = t("2025-05-01");
    let score = |tree_candidates: usize| {
        let p = Params {
            tree_candidates,
            ..Params::default()
        };
        Model::build(p, 40, &users).score(&mine, Some(0), now)
    };
    let all = score(0);
    let few = score(3);
    // Best first, and the same items either way.
    for s in [&all, &few] {
        assert!(s.windows(2).all(|w| w[0].score >= w[1].score), "{s:?}");
    }
    let mut a: Vec<u32> = all.iter().map(|s| s.item).collect();
    let mut f: Vec<u32> = few.iter().map(|s| s.item).collect();
    a.sort_unstable();
    f.sort_unstable();
    assert_eq!(a, f);
    // With every candidate scored by the trees, every learned score is a
    // probability; with three, only three are, the rest rank below them.
    let learned =
        |s: &[regulars_core::suggest::rank::Scored]| s.iter().filter(|x| x.score > 0.0).count();
    assert!(learned(&all) >= 12, "{all:?}");
    assert_eq!(learned(&few), 3, "{few:?}");
    // Items past the learned candidates (none here beyond 30) would be < -1.
    assert!(few.iter().all(|x| x.score > -2.0));
}
