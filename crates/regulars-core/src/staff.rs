//! Staff roles and PINs: what a PIN is, how it is hashed, and the lock-out
//! rule after wrong PINs. Pure values and functions; the staff table and the
//! unlock use case live in `store/staff.rs` and `regulars/protect.rs`.
//!
//! Owns: the [`Pin`] newtype (parsed once: 4 to 6 ASCII digits), Argon2id
//! hashing with a random salt per PIN (a PHC string that carries its own
//! salt and cost, so old hashes still verify after the cost changes), and
//! [`lockout`], the policy that turns consecutive failures into a wait.
//! Does not own: SQL, sessions, or which actions need the owner.

use std::fmt;
use std::time::Duration;

pub use crate::model::Role;
use crate::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// A staff PIN: 4 to 6 ASCII digits. Never logged, never shown, never
/// stored; `Debug` prints a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        if !(4..=6).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            // The PIN itself is not echoed: it is a secret even when wrong.
            return Err(Error::invalid(
                "PIN",
                "a PIN is 4 to 6 digits (0-9); type it again",
            ));
        }
        Ok(Pin(s.to_string()))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// Argon2id cost for new PIN hashes. A 4-digit PIN has only 10,000 values,
/// so the hash cannot stop an offline guesser who has the file; its cost
/// buys time, and the lock-out stops guessing at the till. The default keeps
/// one unlock well under 300 ms on the shop's two-core machine (see
/// docs/benchmarks.md, `regulars bench pin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
}

impl PinCost {
    /// 64 MiB, one pass: above OWASP's Argon2id minimum (46 MiB, t=1);
    /// two passes measured 330 ms per unlock on the busy 2-core machine.
    pub const DEFAULT: PinCost = PinCost {
        memory_kib: 64 * 1024,
        iterations: 1,
    };
    /// Cheap parameters for tests only: same algorithm, tiny cost.
    pub const FAST_FOR_TESTS: PinCost = PinCost {
        memory_kib: 256,
        iterations: 1,
    };
}

impl Default for PinCost {
    fn default() -> Self {
        PinCost::DEFAULT
    }
}

/// Hashes `pin` with a fresh random salt; returns a PHC string.
pub fn hash_pin(pin: &Pin, cost: PinCost) -> Result<String> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
        .map_err(|e| Error::invalid("PIN cost", e.to_string()))?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Io {
        path: "the system random source".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::invalid("salt", e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(pin.as_bytes(), &salt)
        .map_err(|e| Error::invalid("PIN", e.to_string()))?
        .to_string())
}

/// Whether `pin` matches the stored PHC string (using the cost stored in it).
/// A malformed stored hash never matches.
pub fn verify_pin(pin: &Pin, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Consecutive wrong PINs allowed before a lock-out.
pub const FREE_TRIES: u32 = 5;
const FIRST_LOCK: Duration = Duration::from_secs(30);
const LONGEST_LOCK: Duration = Duration::from_secs(15 * 60);

/// How long to lock after `failures` consecutive wrong PINs: nothing for the
/// first four, 30 s at the fifth, doubling with each further failure (the
/// count only resets on a right PIN), capped at 15 minutes.
pub fn lockout(failures: u32) -> Option<Duration> {
    if failures < FREE_TRIES {
        return None;
    }
    let doublings = (failures - FREE_TRIES).min(10);
    Some((FIRST_LOCK * 2u32.pow(doublings)).min(LONGEST_LOCK))
}

/// Wrong tries left before the next lock-out.
pub fn tries_left(failures: u32) -> u32 {
    FREE_TRIES.saturating_sub(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_six_digits() {
        for ok in ["0000", "1234", "12345", "987654", " 1234 "] {
            assert!(Pin::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "123", "1234567", "12a4", "１２３４", "12 34", "-123"] {
            let e = Pin::parse(bad).unwrap_err();
            assert!(
                !e.to_string().contains(bad.trim()) || bad.trim().is_empty(),
                "{e}"
            );
        }
        assert_eq!(format!("{:?}", Pin::parse("1234").unwrap()), "Pin(****)");
    }

    #[test]
    fn lockout_table() {
        let table = [
            (0, None),
            (4, None),
            (5, Some(30)),
            (6, Some(60)),
            (7, Some(120)),
            (8, Some(240)),
            (9, Some(480)),
            (10, Some(900)),
            (40, Some(900)),
            (u32::MAX, Some(900)),
        ];
        for (failures, secs) in table {
            assert_eq!(lockout(failures).map(|d| d.as_secs()), secs, "{failures}");
        }
        assert_eq!(tries_left(0), 5);
        assert_eq!(tries_left(4), 1);
        assert_eq!(tries_left(9), 0);
    }

    #[test]
    fn hash_verifies_only_the_same_pin_and_salts_differ() {
        let pin = Pin::parse("1234").unwrap();
        let a = hash_pin(&pin, PinCost::FAST_FOR_TESTS).unwrap();
        let b = hash_pin(&pin, PinCost::FAST_FOR_TESTS).unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a random salt per hash");
        assert!(verify_pin(&pin, &a));
        assert!(!verify_pin(&Pin::parse("1235").unwrap(), &a));
        assert!(!verify_pin(&pin, "not a hash"));
        assert!(!a.contains("1234"));
    }
}
