//! The OpenAPI schemas of the protocol's types whose JSON is not their Rust shape: ids,
//! stamps and cursors are strings of one spelling, record kinds a closed set, refusals an
//! internally tagged object. Built from the types' own constants, so the document the server
//! publishes changes when they do. Compiled only with the `openapi` feature (the server).

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::sync::MAX_VERSION;
use crate::{Cursor, Id, RecordKind, RejectReason, Stamp};

/// A lowercase, hyphenated UUID: how [`Id`] is spelled.
pub const ID_PATTERN: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/// 0 to 4294967295 in ten digits (a [`Stamp`]'s counter, a `u32`).
const COUNTER_PATTERN: &str = "([0-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])";

fn string(pattern: String, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        string(
            format!("^{ID_PATTERN}$"),
            "An id: a UUID, lowercase and hyphenated",
        )
    }
}
impl ToSchema for Id {}

impl PartialSchema for Stamp {
    fn schema() -> RefOr<Schema> {
        string(
            format!("^[0-9]{{15}}-{COUNTER_PATTERN}-{ID_PATTERN}$"),
            "A hybrid logical clock stamp: `{wall_ms:015}-{counter:010}-{device id}`",
        )
    }
}
impl ToSchema for Stamp {}

impl PartialSchema for RecordKind {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(RecordKind::ALL.iter().map(RecordKind::as_str)))
            .description(Some("The kind of a record that syncs"))
            .into()
    }
}
impl ToSchema for RecordKind {}

/// Every version the cursor pattern admits (below 9 × 10^18) is one a cursor may carry.
const PATTERN_BELOW_MAX: () = assert!(MAX_VERSION >= 9_000_000_000_000_000_000);

impl PartialSchema for Cursor {
    fn schema() -> RefOr<Schema> {
        // Versions up to MAX_VERSION (2^63 − 1) in twenty digits: the pattern takes those
        // below 9 × 10^18 (all of them valid, `PATTERN_BELOW_MAX`), which a server reaches
        // long after this protocol changes.
        let () = PATTERN_BELOW_MAX;
        let kinds: Vec<&str> = RecordKind::ALL.iter().map(RecordKind::as_str).collect();
        string(
            format!("^v0[0-8][0-9]{{18}}-({})-{ID_PATTERN}$", kinds.join("|")),
            "Where a pull stopped: `v{version:020}-{kind}-{id}`, as the last answer gave it",
        )
    }
}
impl ToSchema for Cursor {}

impl PartialSchema for RejectReason {
    fn schema() -> RefOr<Schema> {
        let kind = |name: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([name]))
        };
        let tagged = |name: &str, description: &str| {
            ObjectBuilder::new()
                .property("kind", kind(name))
                .required("kind")
                .description(Some(description))
        };
        let text = || ObjectBuilder::new().schema_type(Type::String);
        OneOfBuilder::new()
            .item(
                tagged("invalid", "The record would break a rule the forms enforce")
                    .property("field", text())
                    .required("field")
                    .property("key", text())
                    .required("key"),
            )
            .item(tagged("forbidden", "The user may not write this record"))
            .item(tagged(
                "unknown_record",
                "The record does not exist and the mutation cannot create it",
            ))
            .item(
                tagged("malformed", "The mutation could not be understood")
                    .property("detail", text())
                    .required("detail"),
            )
            .item(
                tagged("too_large", "Refused on the device: larger than any push")
                    .property(
                        "max_bytes",
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    )
                    .required("max_bytes"),
            )
            .description(Some("Why a mutation was refused"))
            .into()
    }
}
impl ToSchema for RejectReason {}
