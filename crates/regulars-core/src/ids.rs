//! Typed identifiers. Every entity id is a UUIDv7 (time-ordered, so ids made
//! on different tills never collide and still sort roughly by creation),
//! wrapped in a newtype so a customer id can never be passed where a sale id
//! is expected. Raw strings are parsed once, at the edge, with `FromStr`.
//!
//! Card numbers are not ids: see [`crate::card`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::Error;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[ts(type = "string")]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh UUIDv7 id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an already-validated UUID (for example one read from the store).
            pub fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| Error::InvalidId {
                    what: $what,
                    value: crate::error::clip(s),
                })
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.to_string()))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

uuid_id!(
    /// A customer (a person the shop knows).
    CustomerId, "customer id");
uuid_id!(
    /// A household: people who share a card or an address.
    HouseholdId, "household id");
uuid_id!(
    /// A note about a customer.
    NoteId, "note id");
uuid_id!(
    /// One merge of two customers (what an undo names).
    MergeId, "merge id");
uuid_id!(
    /// A product in the catalogue.
    ProductId, "product id");
uuid_id!(
    /// A completed (or refunded) sale.
    SaleId, "sale id");
uuid_id!(
    /// One entry of the append-only points ledger.
    PointsEntryId, "points entry id");
uuid_id!(
    /// One offer shown / accepted / declined. Chosen by the till once per
    /// tap, so a retried tap is recognised (and a reward never spent twice).
    OfferEventId, "offer event id");
uuid_id!(
    /// One change recorded in the outbox for sync; globally unique.
    ChangeId, "change id");
uuid_id!(
    /// A staff member (owner or cashier) who unlocks the till with a PIN.
    StaffId, "staff id");
uuid_id!(
    /// One entry of the audit log.
    AuditId, "audit entry id");
uuid_id!(
    /// This installation (a till). Chosen once, at store creation.
    DeviceId, "device id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_round_trip() {
        let a = CustomerId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        let parsed: CustomerId = a.to_string().parse().unwrap();
        assert_eq!(a, parsed);
    }

    #[test]
    fn ids_made_later_sort_later() {
        let a = SaleId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = SaleId::new();
        assert!(a < b);
    }

    #[test]
    fn garbage_id_is_a_clear_error() {
        let e = "not-a-uuid".parse::<CustomerId>().unwrap_err();
        assert!(e.to_string().contains("customer id"), "{e}");
    }
}
