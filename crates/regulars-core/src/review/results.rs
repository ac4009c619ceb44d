//! How prompts and offers did: offers shown / accepted / declined by rule
//! (offer kind) and, for campaigns, by campaign, with the revenue of the
//! sales accepted offers were linked to; prompts used / not relevant by
//! kind (the till records verdicts, not every prompt shown).
//!
//! Pure: event rows in, [`OfferResults`] parts out.

use std::collections::{BTreeMap, HashSet};

use crate::model::{OfferKind, OfferOutcome, OfferResult, PromptKind, PromptResult, PromptVerdict};

/// One recorded offer event.
#[derive(Clone, Debug, PartialEq)]
pub struct OfferEventRow {
    pub kind: OfferKind,
    /// The campaign's name for campaign offers.
    pub campaign: Option<String>,
    pub outcome: OfferOutcome,
    /// The sale an accepted offer was rung up on, with its total.
    pub sale: Option<(String, i64)>,
}

/// Per kind (and campaign), in kind order then campaign name.
pub fn offer_results(rows: &[OfferEventRow]) -> Vec<OfferResult> {
    let mut groups: BTreeMap<(OfferKind, Option<String>), (OfferResult, HashSet<String>)> =
        BTreeMap::new();
    for r in rows {
        let (g, sales) = groups
            .entry((r.kind, r.campaign.clone()))
            .or_insert_with(|| {
                (
                    OfferResult {
                        kind: r.kind,
                        campaign: r.campaign.clone(),
                        shown: 0,
                        accepted: 0,
                        declined: 0,
                        revenue_cents: 0,
                        linked_sales: 0,
                    },
                    HashSet::new(),
                )
            });
        match r.outcome {
            OfferOutcome::Shown => g.shown += 1,
            OfferOutcome::Declined => g.declined += 1,
            OfferOutcome::Accepted => {
                g.accepted += 1;
                // Two offers accepted on one sale: the sale counts once.
                if let Some((id, total)) = &r.sale {
                    if sales.insert(id.clone()) {
                        g.linked_sales += 1;
                        g.revenue_cents += total;
                    }
                }
            }
        }
    }
    groups.into_values().map(|(g, _)| g).collect()
}

/// Verdicts per prompt kind, in kind order.
pub fn prompt_results(rows: &[(PromptKind, PromptVerdict)]) -> Vec<PromptResult> {
    let mut m: BTreeMap<PromptKind, PromptResult> = BTreeMap::new();
    for &(kind, verdict) in rows {
        let e = m.entry(kind).or_insert(PromptResult {
            kind,
            used: 0,
            not_relevant: 0,
        });
        match verdict {
            PromptVerdict::Used => e.used += 1,
            PromptVerdict::NotRelevant => e.not_relevant += 1,
        }
    }
    m.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        kind: OfferKind,
        campaign: Option<&str>,
        outcome: OfferOutcome,
        sale: Option<(&str, i64)>,
    ) -> OfferEventRow {
        OfferEventRow {
            kind,
            campaign: campaign.map(String::from),
            outcome,
            sale: sale.map(|(s, c)| (s.to_string(), c)),
        }
    }

    #[test]
    fn offers_by_rule_and_campaign() {
        use OfferKind::*;
        use OfferOutcome::*;
        let rows = vec![
            ev(Replenish, None, Shown, None),
            ev(Replenish, None, Shown, None),
            ev(Replenish, None, Accepted, Some(("s1", 4_000))),
            ev(Replenish, None, Accepted, Some(("s1", 4_000))), // same sale
            ev(Replenish, None, Accepted, None),                // not linked
            ev(Campaign, Some("Bird seed"), Shown, None),
            ev(Campaign, Some("Bird seed"), Declined, None),
            ev(Campaign, Some("Autumn"), Accepted, Some(("s2", 1_500))),
        ];
        let got = offer_results(&rows);
        let row = |k: OfferKind, c: Option<&str>| {
            got.iter()
                .find(|r| r.kind == k && r.campaign.as_deref() == c)
                .map(|r| {
                    (
                        r.shown,
                        r.accepted,
                        r.declined,
                        r.linked_sales,
                        r.revenue_cents,
                    )
                })
        };
        assert_eq!(row(Replenish, None), Some((2, 3, 0, 1, 4_000)));
        assert_eq!(row(Campaign, Some("Bird seed")), Some((1, 0, 1, 0, 0)));
        assert_eq!(row(Campaign, Some("Autumn")), Some((0, 1, 0, 1, 1_500)));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn prompts_by_kind() {
        use PromptKind::*;
        use PromptVerdict::*;
        let got = prompt_results(&[
            (Usual, Used),
            (Usual, NotRelevant),
            (Usual, Used),
            (Birthday, Used),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].kind, got[0].used, got[0].not_relevant),
            (Birthday, 1, 0)
        );
        assert_eq!(
            (got[1].kind, got[1].used, got[1].not_relevant),
            (Usual, 2, 1)
        );
    }
}
