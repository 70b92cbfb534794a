//! Whole numbers as JSON may spell them.
//!
//! JSON has one number type, and JSON Schema (OpenAPI 3.1) counts `2.0` as the integer 2.
//! serde reads `2.0` into a `u64` as an error, so a client (or a fuzzer) that writes whole
//! numbers with a fraction of zero would be refused for a body the API document calls
//! valid. The protocol's counters read through these instead: an integer, or a float with
//! no fractional part inside the type's range; anything else is refused as before.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize as _;

/// A whole number of `T`'s range, from any JSON number spelling it exactly.
struct Whole<T>(std::marker::PhantomData<T>);

macro_rules! whole {
    ($name:ident, $ty:ty) => {
        /// Reads a whole number of this type (see the module docs).
        pub fn $name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
            deserializer.deserialize_any(Whole::<$ty>(std::marker::PhantomData))
        }

        impl<'de> Visitor<'de> for Whole<$ty> {
            type Value = $ty;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a whole number from {} to {}", <$ty>::MIN, <$ty>::MAX)
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<$ty, E> {
                <$ty>::try_from(n).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<$ty, E> {
                <$ty>::try_from(n).map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<$ty, E> {
                // A float with no fraction is a whole number; it is taken within the type's
                // range. For 64-bit types the bounds themselves are refused: a float at 2^64
                // or at −2^63 may have been written as one past the bound (serde_json reads
                // an integer too large for 64 bits as the nearest float), and the integer
                // spellings of the bounds are read exactly anyway. Narrower types' bounds
                // are exact floats, and one past them is still read as an integer.
                let (low, high) = (<$ty>::MIN as f64, <$ty>::MAX as f64);
                let inside = if <$ty>::BITS < 64 {
                    n >= low && n <= high
                } else {
                    (n > low || <$ty>::MIN == 0 && n == 0.0) && n < high
                };
                if n.fract() == 0.0 && inside {
                    Ok(n as $ty)
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(n), &self))
                }
            }
        }
    };
}

whole!(u64_whole, u64);
whole!(u32_whole, u32);
whole!(i64_whole, i64);

/// [`u64_whole`] for an optional field (`null` or absent: `None`).
pub fn option_u64_whole<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "u64_whole")] u64);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(n)| n))
}

/// A deserializer that reads structs only from JSON objects. serde's derive also reads a
/// struct from an array of its fields in order (`[value, base]` for a field write), a form
/// no client of this protocol writes and the API document does not allow; the protocol's
/// request types read through this so an array is refused like any other wrong shape.
pub struct ObjectsOnly<D>(pub D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Makes a struct derived with `#[serde(remote = "Self")]` (so its derived code is inherent
/// functions) (de)serialize through them, reading only from JSON objects ([`ObjectsOnly`]).
#[macro_export]
macro_rules! objects_only {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$ty>::deserialize($crate::wire::ObjectsOnly(deserializer))
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                <$ty>::serialize(self, serializer)
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Counters {
        #[serde(deserialize_with = "super::u64_whole")]
        seq: u64,
        #[serde(deserialize_with = "super::u32_whole")]
        limit: u32,
        #[serde(default, deserialize_with = "super::option_u64_whole")]
        base: Option<u64>,
        #[serde(deserialize_with = "super::i64_whole")]
        at: i64,
    }

    fn read(json: &str) -> Result<Counters, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn protocol_structs_read_only_from_objects() {
        use crate::{FieldWrite, PullRequest, VersionMark};
        let write: FieldWrite = serde_json::from_str(r#"{"value":1,"base":2.0}"#).unwrap();
        assert_eq!(write.base, Some(2));
        assert!(serde_json::from_str::<FieldWrite>("[1, 2]").is_err());
        assert!(serde_json::from_str::<VersionMark>("[1, 2]").is_err());
        let pull =
            r#"{"client_id":"00000000-0000-0000-0000-000000000001","cursor":null,"limit":5}"#;
        let request: PullRequest = serde_json::from_str(pull).unwrap();
        assert_eq!(request.limit, 5);
        // Written as before.
        assert_eq!(
            serde_json::to_string(&write).unwrap(),
            r#"{"value":1,"base":2}"#
        );
        assert!(serde_json::from_str::<PullRequest>(
            r#"["00000000-0000-0000-0000-000000000001", null, 5]"#
        )
        .is_err());
    }

    #[test]
    fn whole_numbers_read_however_json_spells_them() {
        let want = Counters {
            seq: 2,
            limit: 500,
            base: Some(7),
            at: -3,
        };
        assert_eq!(
            read(r#"{"seq":2,"limit":500,"base":7,"at":-3}"#).unwrap(),
            want
        );
        assert_eq!(
            read(r#"{"seq":2.0,"limit":5e2,"base":7.0,"at":-3.0}"#).unwrap(),
            want
        );
        let none = read(r#"{"seq":1,"limit":1,"base":null,"at":0}"#).unwrap();
        assert_eq!(none.base, None);
        assert_eq!(read(r#"{"seq":1,"limit":1,"at":0}"#).unwrap().base, None);
        assert_eq!(
            read(r#"{"seq":18446744073709551615,"limit":1,"at":0}"#)
                .unwrap()
                .seq,
            u64::MAX
        );
        assert_eq!(
            read(r#"{"seq":0.0,"limit":4294967295.0,"at":0}"#)
                .unwrap()
                .limit,
            u32::MAX
        );
        // A whole float past 2^53 is the whole number it is.
        assert_eq!(
            read(r#"{"seq":9007199254740992.0,"limit":1,"at":-9223372036854775808}"#).unwrap(),
            Counters {
                seq: 1 << 53,
                limit: 1,
                base: None,
                at: i64::MIN
            }
        );
        for refused in [
            r#"{"seq":2.5,"limit":1,"at":0}"#,
            r#"{"seq":-1,"limit":1,"at":0}"#,
            r#"{"seq":1,"limit":4294967296,"at":0}"#,
            r#"{"seq":1,"limit":4294967296.0,"at":0}"#,
            r#"{"seq":1.8446744073709552e19,"limit":1,"at":0}"#,
            r#"{"seq":"1","limit":1,"at":0}"#,
            r#"{"seq":1,"limit":1,"base":-1.0,"at":0}"#,
            r#"{"seq":1,"limit":1,"at":1e300}"#,
            // One past a bound reads as the bound's float, which is refused.
            r#"{"seq":1,"limit":1,"at":-9223372036854775809}"#,
            r#"{"seq":18446744073709551616,"limit":1,"at":0}"#,
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
    }
}
