//! Record ids: UUIDv7 made on the device, so records created offline never collide and
//! ids made later sort after earlier ones.
//!
//! The domain has no random source or clock of its own; the app passes the time and ten
//! random bytes (from `crypto.getRandomValues`) to [`Id::from_parts`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// A record id, stored and sent as the lowercase hyphenated UUID string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(uuid::Uuid);

impl Id {
    /// Builds a UUIDv7 from the creation time and ten random bytes.
    ///
    /// Ids sort by `unix_ms` first, so a later id sorts after an earlier one; within the
    /// same millisecond the random bytes decide.
    pub fn from_parts(unix_ms: u64, random: [u8; 10]) -> Id {
        Id(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid())
    }

    /// Reads the canonical lowercase hyphenated form (`xxxxxxxx-xxxx-...`).
    ///
    /// Other spellings that UUID libraries accept (upper case, braces, no hyphens) are
    /// refused, because ids are used as storage keys and one id must have one spelling.
    pub fn parse(raw: &str) -> Result<Id, Invalid> {
        let uuid = uuid::Uuid::try_parse(raw).map_err(|_| Invalid::Id)?;
        let canonical = uuid.hyphenated().to_string();
        if canonical == raw {
            Ok(Id(uuid))
        } else {
            Err(Invalid::Id)
        }
    }

    /// The creation time in unix milliseconds, when this is a UUIDv7.
    pub fn unix_ms(&self) -> Option<u64> {
        if self.0.get_version_num() != 7 {
            return None;
        }
        // The first 48 bits of a UUIDv7 are the big-endian unix timestamp in milliseconds.
        let bytes = self.0.as_bytes();
        let mut ms = 0u64;
        for byte in &bytes[..6] {
            ms = (ms << 8) | u64::from(*byte);
        }
        Some(ms)
    }

    /// Wraps an existing UUID, for ids made elsewhere (the server, imports).
    pub fn from_uuid(uuid: uuid::Uuid) -> Id {
        Id(uuid)
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for Id {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::parse(s)
    }
}

impl TryFrom<String> for Id {
    type Error = Invalid;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Id::parse(&value)
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.to_string()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_through_text_and_serde() {
        let id = Id::from_parts(1_700_000_000_123, [7; 10]);
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(Id::parse(&text), Ok(id));
        assert_eq!(text.parse::<Id>(), Ok(id));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
        assert_eq!(id.unix_ms(), Some(1_700_000_000_123));
    }

    #[test]
    fn refuses_other_spellings() {
        let id = Id::from_parts(0xabc, [0xab; 10]);
        let text = id.to_string();
        assert_ne!(text, text.to_uppercase());
        assert_eq!(Id::parse(&text.to_uppercase()), Err(Invalid::Id));
        assert_eq!(Id::parse(&text.replace('-', "")), Err(Invalid::Id));
        assert_eq!(Id::parse(&format!("{{{text}}}")), Err(Invalid::Id));
        assert_eq!(Id::parse(""), Err(Invalid::Id));
        assert_eq!(Id::parse("not-an-id"), Err(Invalid::Id));
        assert!(serde_json::from_str::<Id>("\"nope\"").is_err());
    }

    #[test]
    fn non_v7_has_no_time() {
        let v4 = Id::parse("4c7b2a2e-3a0b-4d8e-9f00-112233445566").unwrap();
        assert_eq!(v4.unix_ms(), None);
    }

    proptest! {
        #[test]
        fn later_ids_sort_after_earlier(
            a in 0u64..(1 << 48),
            b in 0u64..(1 << 48),
            ra in any::<[u8; 10]>(),
            rb in any::<[u8; 10]>(),
        ) {
            let (x, y) = (Id::from_parts(a, ra), Id::from_parts(b, rb));
            prop_assert_eq!(x.unix_ms(), Some(a));
            if a < b {
                prop_assert!(x < y);
                prop_assert!(x.to_string() < y.to_string());
            }
        }
    }
}
