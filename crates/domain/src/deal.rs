//! Deals (成交/订单): what a lead bought, which is both the customer's purchase history and
//! the "actual" that sales targets are measured against.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::lead::limits::NOTES;
use crate::lead::parse_currency;
use crate::value::format_date;
use crate::{
    format_plain, optional_text, parse_amount, parse_date, required_text, Currency, Id, Invalid,
    Money, RecordMeta, ValidationErrors,
};

choice_enum! {
    /// Whether money came in or went back.
    #[derive(Default)]
    pub enum DealStatus in "deal_status" {
        /// 成交: a sale.
        #[default]
        Won => "won",
        /// 退款: money returned; counts against the total.
        Refunded => "refunded",
    }
}

/// A closed sale (or a refund of one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// The record id.
    pub id: Id,
    /// The customer.
    pub lead_id: Id,
    /// What was sold.
    pub product: String,
    /// How much, never negative.
    pub amount: Money,
    /// When it closed.
    pub closed_on: NaiveDate,
    /// Won or refunded.
    #[serde(default)]
    pub status: DealStatus,
    /// 售后: after-sales notes.
    #[serde(default)]
    pub after_sales: String,
    /// The user it belongs to: whoever closed it, and after a manager reassigns its lead,
    /// the lead's new owner (the lead's history follows the lead).
    #[serde(default)]
    pub owner: Option<Id>,
    /// The team it counts for.
    #[serde(default)]
    pub team: Option<Id>,
    /// Who logged it, kept when the lead (and with it this deal) moves to another rep.
    /// Server-managed: the server sets it to the pushing user when the deal is created, and
    /// no device ever writes it. `None` for deals created before the server recorded it.
    #[serde(default)]
    pub logged_by: Option<Id>,
    /// Creation time, unix ms.
    #[serde(default)]
    pub created_at: i64,
    /// Last edit time, unix ms.
    #[serde(default)]
    pub updated_at: i64,
    /// Tombstone.
    #[serde(default)]
    pub deleted: bool,
}

impl Deal {
    /// The id, owner, team and creation time, for re-parsing an edited draft.
    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id,
            owner: self.owner,
            team: self.team,
            created_at: self.created_at,
        }
    }
}

/// The longest product description, in characters.
pub const MAX_PRODUCT_CHARS: usize = 200;

/// What the deal form holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealDraft {
    /// The customer (required).
    pub lead_id: Option<Id>,
    /// Product or description (required).
    pub product: String,
    /// Amount as typed (required).
    pub amount: String,
    /// Currency code; empty means CNY.
    pub currency: String,
    /// Closing date, `YYYY-MM-DD` (required).
    pub closed_on: String,
    /// Won or refunded.
    pub status: DealStatus,
    /// After-sales notes.
    pub after_sales: String,
    /// Who logged the deal (server-managed); not typed, carried through so editing keeps it.
    pub logged_by: Option<Id>,
}

impl Default for DealDraft {
    fn default() -> Self {
        DealDraft {
            lead_id: None,
            product: String::new(),
            amount: String::new(),
            currency: Currency::default().to_string(),
            closed_on: String::new(),
            status: DealStatus::default(),
            after_sales: String::new(),
            logged_by: None,
        }
    }
}

impl DealDraft {
    /// The form for editing `deal`; parsing it unchanged gives the deal back.
    pub fn from_deal(deal: &Deal) -> DealDraft {
        DealDraft {
            lead_id: Some(deal.lead_id),
            product: deal.product.clone(),
            amount: format_plain(deal.amount.minor),
            currency: deal.amount.currency.to_string(),
            closed_on: format_date(deal.closed_on),
            status: deal.status,
            after_sales: deal.after_sales.clone(),
            logged_by: deal.logged_by,
        }
    }

    /// Turns the form into a deal, reporting every invalid field at once.
    pub fn parse(&self, meta: &RecordMeta, now_ms: i64) -> Result<Deal, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.lead_id.is_none() {
            errors.push("lead_id", Invalid::Required);
        }
        let product = errors.check("product", required_text(&self.product, MAX_PRODUCT_CHARS));
        let minor = errors.check("amount", parse_amount(&self.amount));
        let currency = errors.check("amount", parse_currency(&self.currency));
        let closed_on = parse_date(&self.closed_on);
        if let Err(reason) = closed_on {
            errors.push("closed_on", reason);
        }
        let after_sales = errors.check("after_sales", optional_text(&self.after_sales, NOTES));
        let (Some(lead_id), Ok(closed_on), true) = (self.lead_id, closed_on, errors.is_empty())
        else {
            return Err(errors);
        };
        Ok(Deal {
            id: meta.id,
            lead_id,
            product,
            amount: Money { minor, currency },
            closed_on,
            status: self.status,
            after_sales,
            owner: meta.owner,
            team: meta.team,
            logged_by: self.logged_by,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        })
    }
}

/// Net sales per currency: won deals minus refunds, ignoring deleted deals, in currency
/// order. A refund is its own deal record with status `Refunded`.
///
/// Currencies are never added together: converting needs exchange rates, which belong
/// to whoever shows the total.
pub fn deals_total(deals: &[Deal]) -> Vec<Money> {
    let mut totals: BTreeMap<Currency, i64> = BTreeMap::new();
    for deal in deals.iter().filter(|d| !d.deleted) {
        let total = totals.entry(deal.amount.currency).or_insert(0);
        *total = match deal.status {
            DealStatus::Won => total.saturating_add(deal.amount.minor),
            DealStatus::Refunded => total.saturating_sub(deal.amount.minor),
        };
    }
    totals
        .into_iter()
        .map(|(currency, minor)| Money { minor, currency })
        .collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::{date, id};

    fn draft() -> DealDraft {
        DealDraft {
            lead_id: Some(id(1)),
            product: " 智能终端 X200 × 200 ".into(),
            amount: "¥1,200,000".into(),
            currency: "CNY".into(),
            closed_on: "2024-03-05".into(),
            status: DealStatus::Won,
            after_sales: "季度回访".into(),
            logged_by: None,
        }
    }

    fn deal(n: u8, minor: i64, currency: Currency, status: DealStatus, deleted: bool) -> Deal {
        Deal {
            amount: Money { minor, currency },
            status,
            deleted,
            ..draft().parse(&RecordMeta::new(id(n), 0), 0).unwrap()
        }
    }

    #[test]
    fn status_follows_conventions() {
        assert_choice_enum!(DealStatus, "deal_status");
        assert_eq!(DealDraft::default().currency, "CNY");
    }

    #[test]
    fn parses_and_round_trips() {
        let deal = draft().parse(&RecordMeta::new(id(2), 10), 20).unwrap();
        assert_eq!(deal.product, "智能终端 X200 × 200");
        assert_eq!(deal.amount.minor, 120_000_000);
        assert_eq!(deal.closed_on, date(2024, 3, 5));
        assert_eq!((deal.created_at, deal.updated_at), (10, 20));
        let again = DealDraft::from_deal(&deal);
        assert_eq!(again.amount, "1200000.00");
        assert_eq!(again.parse(&deal.meta(), 20), Ok(deal));
    }

    #[test]
    fn collects_every_error() {
        let bad = DealDraft {
            lead_id: None,
            product: String::new(),
            amount: "-1".into(),
            currency: "RMB1".into(),
            closed_on: "yesterday".into(),
            status: DealStatus::Won,
            after_sales: "x".repeat(10_001),
            logged_by: None,
        };
        let errors = bad.parse(&RecordMeta::new(id(2), 0), 0).unwrap_err();
        assert_eq!(errors.get("lead_id"), Some(Invalid::Required));
        assert_eq!(errors.get("product"), Some(Invalid::Required));
        assert_eq!(errors.get("amount"), Some(Invalid::AmountNegative));
        assert_eq!(errors.get("closed_on"), Some(Invalid::Date));
        assert_eq!(
            errors.get("after_sales"),
            Some(Invalid::TooLong { max: 10_000 })
        );
        assert_eq!(errors.len(), 6, "{errors}");

        let empty = DealDraft::default();
        let errors = empty.parse(&RecordMeta::new(id(2), 0), 0).unwrap_err();
        assert_eq!(errors.get("amount"), Some(Invalid::Required));
        assert_eq!(errors.get("closed_on"), Some(Invalid::Required));
        let long = DealDraft {
            product: "p".repeat(201),
            ..draft()
        };
        let errors = long.parse(&RecordMeta::new(id(2), 0), 0).unwrap_err();
        assert_eq!(errors.get("product"), Some(Invalid::TooLong { max: 200 }));
    }

    #[test]
    fn totals_per_currency() {
        use DealStatus::{Refunded, Won};
        let deals = [
            deal(1, 10_000, Currency::CNY, Won, false),
            deal(2, 2_500, Currency::CNY, Won, false),
            deal(3, 1_000, Currency::CNY, Refunded, false),
            deal(4, 99_999, Currency::CNY, Won, true),
            deal(5, 700, Currency::USD, Won, false),
            deal(6, 300, Currency::EUR, Refunded, false),
        ];
        assert_eq!(
            deals_total(&deals),
            [
                Money {
                    minor: 11_500,
                    currency: Currency::CNY
                },
                Money {
                    minor: -300,
                    currency: Currency::EUR
                },
                Money {
                    minor: 700,
                    currency: Currency::USD
                },
            ]
        );
        assert!(deals_total(&[]).is_empty());
    }
}
