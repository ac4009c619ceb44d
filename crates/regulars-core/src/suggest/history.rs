//! The compact shape of purchase history that every suggestion rule reads:
//! a customer's baskets in time order, each a sorted set of item numbers.
//!
//! Items are dense `u32` numbers (an index into whatever catalogue the caller
//! has: the store's products, or the product ids of a CSV file), so the
//! ranking code is the same for the till and for the offline evaluation.

/// Seconds in a day, for turning timestamps into days.
pub const DAY: i64 = 86_400;

/// One visit: when, and which distinct items were bought.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Basket {
    /// Unix seconds (UTC).
    pub at: i64,
    /// Distinct item numbers, sorted ascending.
    pub items: Vec<u32>,
}

impl Basket {
    pub fn new(at: i64, mut items: Vec<u32>) -> Self {
        items.sort_unstable();
        items.dedup();
        Basket { at, items }
    }

    pub fn contains(&self, item: u32) -> bool {
        self.items.binary_search(&item).is_ok()
    }
}

/// A customer's baskets, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub baskets: Vec<Basket>,
}

impl History {
    pub fn new(mut baskets: Vec<Basket>) -> Self {
        baskets.sort_by_key(|b| b.at);
        History { baskets }
    }

    /// The baskets strictly before `t` (history as it was at that moment).
    pub fn before(&self, t: i64) -> &[Basket] {
        let n = self.baskets.partition_point(|b| b.at < t);
        &self.baskets[..n]
    }

    /// Appends a basket, keeping time order.
    pub fn push(&mut self, b: Basket) {
        let pos = self.baskets.partition_point(|x| x.at <= b.at);
        self.baskets.insert(pos, b);
    }
}

/// Whole days from `from` to `to` (floored; negative if `to` is earlier).
pub fn days_between(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(DAY)
}

/// Median of a non-empty slice (sorts it).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
