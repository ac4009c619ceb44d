//! Hybrid logical clock: every change is stamped with (wall time in ms, a
//! counter) that never goes backwards on a till, and moves past every stamp
//! the till has seen from elsewhere. Comparing stamps, with the device id as
//! the final tie-break, gives one total order that every till and the server
//! agree on without talking to each other, which is what last-writer-wins
//! needs.
//!
//! A till whose wall clock is off by days does not break this: the clock
//! only ever moves forward (a clock set back just counts up), and the till
//! adds the offset to the server's time that it learns at every sync
//! ([`Clock::now_ms`]). This module owns the arithmetic only; where the
//! clock is persisted is the store's business.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::Error;

/// The counter is printed with five digits; past that the clock borrows a
/// millisecond, which keeps the text form sortable.
const COUNTER_MAX: u32 = 99_999;

/// One clock reading. Ordered by time, then counter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hlc {
    pub ms: u64,
    pub counter: u32,
}

impl Hlc {
    pub const ZERO: Hlc = Hlc { ms: 0, counter: 0 };

    pub fn new(ms: u64, counter: u32) -> Hlc {
        Hlc { ms, counter }
    }

    /// The next reading after `self` for a local event at wall time `now_ms`.
    pub fn tick(self, now_ms: u64) -> Hlc {
        if now_ms > self.ms {
            Hlc::new(now_ms, 0)
        } else {
            self.bump()
        }
    }

    /// The reading after receiving `remote` at wall time `now_ms`: later
    /// than both this clock and the remote stamp.
    pub fn observe(self, remote: Hlc, now_ms: u64) -> Hlc {
        let top = self.max(remote);
        if now_ms > top.ms {
            Hlc::new(now_ms, 0)
        } else {
            top.bump()
        }
    }

    fn bump(self) -> Hlc {
        if self.counter >= COUNTER_MAX {
            Hlc::new(self.ms + 1, 0)
        } else {
            Hlc::new(self.ms, self.counter + 1)
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016}.{:05}", self.ms, self.counter)
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hlc({self})")
    }
}

impl FromStr for Hlc {
    type Err = Error;
    fn from_str(s: &str) -> Result<Hlc, Error> {
        let bad = || Error::BadStamp(s.chars().take(40).collect());
        let (ms, counter) = s.split_once('.').ok_or_else(bad)?;
        if ms.len() != 16 || counter.len() != 5 {
            return Err(bad());
        }
        if !ms
            .bytes()
            .chain(counter.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        Ok(Hlc::new(
            ms.parse().map_err(|_| bad())?,
            counter.parse().map_err(|_| bad())?,
        ))
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hlc, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A change's position in the total order: its clock reading, then the
/// device that made it (two tills can read the same time).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Stamp {
    pub hlc: Hlc,
    pub device: Uuid,
}

impl Stamp {
    pub fn new(hlc: Hlc, device: Uuid) -> Stamp {
        Stamp { hlc, device }
    }
}

impl Ord for Stamp {
    fn cmp(&self, other: &Stamp) -> Ordering {
        self.hlc
            .cmp(&other.hlc)
            .then_with(|| self.device.as_bytes().cmp(other.device.as_bytes()))
    }
}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Stamp) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The wall-clock half of a till's clock: the machine's time corrected by
/// the offset to the server's time learnt at the last sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Server time minus local time, in ms, as of the last sync.
    pub offset_ms: i64,
}

impl Clock {
    /// Corrected wall time for a machine reading of `local_ms`.
    pub fn now_ms(self, local_ms: u64) -> u64 {
        (local_ms as i64).saturating_add(self.offset_ms).max(0) as u64
    }

    /// The offset learnt from a response: the server said `server_ms` while
    /// the request was in flight between `sent_ms` and `received_ms`.
    pub fn learn(server_ms: u64, sent_ms: u64, received_ms: u64) -> Clock {
        let mid = sent_ms / 2 + received_ms / 2;
        Clock {
            offset_ms: server_ms as i64 - mid as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_form_round_trips_and_sorts() {
        let a = Hlc::new(1_764_000_000_000, 7);
        assert_eq!(a.to_string(), "0001764000000000.00007");
        assert_eq!("0001764000000000.00007".parse::<Hlc>().unwrap(), a);
        for bad in [
            "",
            "1.2",
            "0001764000000000-00007",
            "000176400000000x.00007",
        ] {
            assert!(bad.parse::<Hlc>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_clock_set_back_by_days_still_moves_forward() {
        let h = Hlc::new(10 * 86_400_000, 0);
        let later = h.tick(3 * 86_400_000);
        assert!(later > h);
        assert_eq!(later.ms, h.ms);
    }

    #[test]
    fn observing_a_remote_stamp_moves_past_it() {
        let local = Hlc::new(1_000, 3);
        let remote = Hlc::new(5_000, 9);
        let after = local.observe(remote, 2_000);
        assert!(after > remote && after > local);
        assert_eq!(after, Hlc::new(5_000, 10));
        assert_eq!(local.observe(remote, 9_000), Hlc::new(9_000, 0));
    }

    #[test]
    fn counter_overflow_borrows_a_millisecond() {
        let h = Hlc::new(5, COUNTER_MAX);
        assert_eq!(h.tick(0), Hlc::new(6, 0));
    }

    #[test]
    fn offset_corrects_a_wrong_wall_clock() {
        // Till three days behind the server.
        let c = Clock::learn(1_000_000_000 + 3 * 86_400_000, 1_000_000_000, 1_000_000_100);
        assert_eq!(c.now_ms(1_000_000_050), 1_000_000_000 + 3 * 86_400_000);
    }

    proptest! {
        #[test]
        fn never_goes_backwards(events in proptest::collection::vec((any::<bool>(), 0u64..1_000_000, 0u64..1_000_000, 0u32..100), 1..200)) {
            let mut h = Hlc::ZERO;
            for (local, now, rms, rc) in events {
                let next = if local { h.tick(now) } else { h.observe(Hlc::new(rms, rc), now) };
                prop_assert!(next > h);
                if !local { prop_assert!(next > Hlc::new(rms, rc)); }
                // The text form sorts like the value.
                prop_assert_eq!(next.to_string().cmp(&h.to_string()), std::cmp::Ordering::Greater);
                h = next;
            }
        }
    }
}
