//! Why input was refused: one reason per field, with a stable message key.
//!
//! The domain never produces user-facing sentences. Each [`Invalid`] carries a key such as
//! `"error.phone"` that the app translates into the user's language; the English `Display`
//! text exists for logs and tests only.

use std::fmt;

/// The reason a single value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Nothing was entered where something is needed.
    #[error("a value is required")]
    Required,
    /// The text has more characters than the field allows.
    #[error("too long: at most {max} characters")]
    TooLong {
        /// The largest number of characters (not bytes) allowed.
        max: usize,
    },
    /// Not a phone number.
    #[error("not a phone number")]
    Phone,
    /// Not an email address.
    #[error("not an email address")]
    Email,
    /// Not an amount of money.
    #[error("not an amount")]
    Amount,
    /// The amount is below zero.
    #[error("the amount is negative")]
    AmountNegative,
    /// The amount is larger than any real deal.
    #[error("the amount is too large")]
    AmountTooLarge,
    /// Not a three-letter currency code.
    #[error("not a currency code")]
    Currency,
    /// Not a calendar date.
    #[error("not a date")]
    Date,
    /// A date whose year is outside 1900..=2200.
    #[error("the date is out of range")]
    DateOutOfRange,
    /// Not a time of day, or a timestamp that cannot be read.
    #[error("not a date and time")]
    DateTime,
    /// Not a duration in minutes within the allowed range.
    #[error("not a valid duration")]
    Duration,
    /// Latitude or longitude outside the globe.
    #[error("not a valid location")]
    LatLng,
    /// A tag is too long or there are too many tags.
    #[error("invalid tags")]
    Tag,
    /// Not a record id.
    #[error("not a valid id")]
    Id,
    /// A choice that is not one of the known options.
    #[error("unknown option")]
    UnknownOption,
    /// A quiz question without a prompt, options or a right answer, or a pass mark above
    /// 100.
    #[error("the quiz is incomplete")]
    Quiz,
    /// A rating outside 1 to 5.
    #[error("a rating is 1 to 5")]
    Rating,
    /// An attachment of a type that is not allowed, too large, or badly named.
    #[error("the attachment is not allowed")]
    Attachment,
    /// An edit that would take a record away from people who already have it (a published
    /// item made a draft again, or published to fewer people): their devices would keep
    /// it. Withdrawing is moving it to the trash.
    #[error("published material cannot be taken back from its readers")]
    Narrowed,
    /// A visit's next follow-up falls before the visit itself.
    #[error("the next follow-up is before the visit")]
    BeforeVisit,
    /// A follow-up or expected close date typed far in the past (see
    /// [`crate::followup::PAST_WINDOW_DAYS`]).
    #[error("the date is too far in the past")]
    TooFarPast,
    /// A follow-up interval outside 1 to 366 days (team settings).
    #[error("a follow-up interval is 1 to 366 days")]
    FollowUpDays,
    /// Not a whole number from 0 to a million (a target's count).
    #[error("a whole number from 0 to 1,000,000")]
    Count,
    /// A chance outside 0 to 100 per cent (a stage's probability).
    #[error("a percentage from 0 to 100")]
    Percent,
}

impl Invalid {
    /// Every reason that carries no data, i.e. all but `TooLong`. The translation tests and
    /// the server's error mapping iterate over it: a new reason belongs here too.
    pub const WITHOUT_DATA: [Invalid; 24] = [
        Invalid::Required,
        Invalid::Phone,
        Invalid::Email,
        Invalid::Amount,
        Invalid::AmountNegative,
        Invalid::AmountTooLarge,
        Invalid::Currency,
        Invalid::Date,
        Invalid::DateOutOfRange,
        Invalid::DateTime,
        Invalid::Duration,
        Invalid::LatLng,
        Invalid::Tag,
        Invalid::Id,
        Invalid::UnknownOption,
        Invalid::Quiz,
        Invalid::Rating,
        Invalid::Attachment,
        Invalid::Narrowed,
        Invalid::BeforeVisit,
        Invalid::TooFarPast,
        Invalid::FollowUpDays,
        Invalid::Count,
        Invalid::Percent,
    ];

    /// The stable message key the UI translates, e.g. `"error.required"`.
    pub fn key(&self) -> &'static str {
        match self {
            Invalid::Required => "error.required",
            Invalid::TooLong { .. } => "error.too_long",
            Invalid::Phone => "error.phone",
            Invalid::Email => "error.email",
            Invalid::Amount => "error.amount",
            Invalid::AmountNegative => "error.amount_negative",
            Invalid::AmountTooLarge => "error.amount_too_large",
            Invalid::Currency => "error.currency",
            Invalid::Date => "error.date",
            Invalid::DateOutOfRange => "error.date_out_of_range",
            Invalid::DateTime => "error.datetime",
            Invalid::Duration => "error.duration",
            Invalid::LatLng => "error.latlng",
            Invalid::Tag => "error.tag",
            Invalid::Id => "error.id",
            Invalid::UnknownOption => "error.unknown_option",
            Invalid::Quiz => "error.quiz",
            Invalid::Rating => "error.rating",
            Invalid::Attachment => "error.attachment",
            Invalid::Narrowed => "error.narrowed",
            Invalid::BeforeVisit => "error.before_visit",
            Invalid::TooFarPast => "error.too_far_past",
            Invalid::FollowUpDays => "error.follow_up_days",
            Invalid::Count => "error.count",
            Invalid::Percent => "error.percent",
        }
    }
}

/// One refused field of a record, named as the record's serde field (e.g. `"phones"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// The serde name of the field, which is also what the form keys its inputs by.
    pub field: &'static str,
    /// Why the field was refused.
    pub reason: Invalid,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Every field error of one form submission, so the form can mark all of them at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", list(.0))]
pub struct ValidationErrors(pub Vec<FieldError>);

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(FieldError::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationErrors {
    /// The first reason recorded for `field`, if any.
    pub fn get(&self, field: &str) -> Option<Invalid> {
        self.0.iter().find(|e| e.field == field).map(|e| e.reason)
    }

    /// Whether no field was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many field errors were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Records that `field` was refused for `reason`.
    pub fn push(&mut self, field: &'static str, reason: Invalid) {
        self.0.push(FieldError { field, reason });
    }

    /// The field errors in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// Keeps a parsed value, or records its error and hands back a placeholder.
    ///
    /// Draft parsers call this for every field so that one submission reports every
    /// problem; the placeholder is never used because they return `Err` when any error
    /// was recorded.
    pub fn check<T: Default>(&mut self, field: &'static str, result: Result<T, Invalid>) -> T {
        match result {
            Ok(value) => value,
            Err(reason) => {
                self.push(field, reason);
                T::default()
            }
        }
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_prefixed() {
        let mut all = Invalid::WITHOUT_DATA.to_vec();
        all.push(Invalid::TooLong { max: 3 });
        let mut keys: Vec<_> = all.iter().map(Invalid::key).collect();
        assert!(keys.iter().all(|k| k.starts_with("error.")));
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        assert_eq!(Invalid::TooLong { max: 9 }.key(), "error.too_long");
    }

    #[test]
    fn collects_and_finds_errors() {
        let mut errors = ValidationErrors::default();
        assert!(errors.is_empty());
        let name: String = errors.check("name", Err(Invalid::Required));
        assert_eq!(name, "");
        let kept = errors.check("email", Ok(String::from("a@b.cn")));
        assert_eq!(kept, "a@b.cn");
        errors.push("phones", Invalid::Phone);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors.get("name"), Some(Invalid::Required));
        assert_eq!(errors.get("phones"), Some(Invalid::Phone));
        assert_eq!(errors.get("email"), None);
        assert_eq!(
            errors.to_string(),
            "invalid input: name: a value is required; phones: not a phone number"
        );
    }
}
