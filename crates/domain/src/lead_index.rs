//! The lead book in memory: every lead on the device with its folded search text, and per
//! character the leads whose text holds it.
//!
//! A query reads only the leads that hold the rarest character of its words (every match
//! must hold every character of every word), so typing into the search of a 10,000-lead book
//! tests a few hundred leads, not all of them. A save or a pull changes the book one lead at
//! a time ([`LeadIndex::upsert`], [`LeadIndex::remove`]); nothing is rebuilt.

use std::collections::HashMap;

use crate::search::{search_text, Prepared};
use crate::{Id, Lead, LeadQuery};

/// One lead and what it is searched by.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    lead: Lead,
    haystack: String,
}

/// The leads on the device, searchable (tombstones included: the trash lists them; queries
/// leave them out).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadIndex {
    /// Slots; a removed lead leaves `None` until a new lead takes the slot.
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    by_id: HashMap<Id, u32>,
    /// Per character of any haystack, the slots whose haystack holds it, ascending.
    postings: HashMap<char, Vec<u32>>,
}

/// One page of a query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Found<'a> {
    /// How many leads match.
    pub total: usize,
    /// The first matches in the list's order (at most the limit asked for).
    pub leads: Vec<&'a Lead>,
}

impl LeadIndex {
    /// An empty book.
    pub fn new() -> LeadIndex {
        LeadIndex::default()
    }

    /// How many leads (tombstones included).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the book holds no lead.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// A lead by id (tombstones included).
    pub fn get(&self, id: Id) -> Option<&Lead> {
        let slot = *self.by_id.get(&id)?;
        self.entry(slot).map(|e| &e.lead)
    }

    /// Every lead, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Lead> {
        self.slots.iter().flatten().map(|e| &e.lead)
    }

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Adds `lead`, or replaces the lead with its id; `initials` are its name's pinyin
    /// initials (the caller's collator knows them).
    pub fn upsert(&mut self, lead: Lead, initials: &str) {
        let haystack = search_text(&lead, initials);
        let slot = match self.by_id.get(&lead.id) {
            Some(&slot) => {
                if let Some(old) = self.slots.get_mut(slot as usize).and_then(Option::take) {
                    unpost(&mut self.postings, &old.haystack, slot);
                }
                slot
            }
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        self.slots.push(None);
                        (self.slots.len() - 1) as u32
                    }
                };
                self.by_id.insert(lead.id, slot);
                slot
            }
        };
        for ch in distinct(&haystack) {
            let list = self.postings.entry(ch).or_default();
            // Slots mostly grow, so this is nearly always a push at the end.
            if let Err(at) = list.binary_search(&slot) {
                list.insert(at, slot);
            }
        }
        if let Some(place) = self.slots.get_mut(slot as usize) {
            *place = Some(Entry { lead, haystack });
        }
    }

    /// Takes the lead with `id` out of the book.
    pub fn remove(&mut self, id: Id) -> Option<Lead> {
        let slot = self.by_id.remove(&id)?;
        let old = self.slots.get_mut(slot as usize).and_then(Option::take)?;
        unpost(&mut self.postings, &old.haystack, slot);
        self.free.push(slot);
        Some(old.lead)
    }

    /// The non-deleted leads matching `q` in the list's order: how many, and the first
    /// `limit` of them.
    pub fn query(&self, q: &LeadQuery, limit: usize) -> Found<'_> {
        let prepared = Prepared::new(q);
        let mut found: Vec<&Lead> = match self.candidates(&prepared) {
            Some(slots) => slots
                .iter()
                .filter_map(|&slot| self.entry(slot))
                .filter(|e| prepared.matches(&e.lead, &e.haystack))
                .map(|e| &e.lead)
                .collect(),
            None => self
                .slots
                .iter()
                .flatten()
                .filter(|e| prepared.matches(&e.lead, &e.haystack))
                .map(|e| &e.lead)
                .collect(),
        };
        let total = found.len();
        if limit < found.len() {
            // Only the first page is put in order: the rest stays unsorted.
            if limit > 0 {
                found.select_nth_unstable_by(limit - 1, |a, b| prepared.compare(a, b));
            }
            found.truncate(limit);
        }
        found.sort_by(|a, b| prepared.compare(a, b));
        Found {
            total,
            leads: found,
        }
    }

    /// The slots that may match: those holding the rarest character of the query's words
    /// (`None`: no words, every lead may match).
    fn candidates(&self, prepared: &Prepared) -> Option<&[u32]> {
        const NONE: &[u32] = &[];
        let mut best: Option<&[u32]> = None;
        for ch in prepared.words.iter().flat_map(|w| w.chars()) {
            let list = self.postings.get(&ch).map_or(NONE, Vec::as_slice);
            if best.is_none_or(|b| list.len() < b.len()) {
                best = Some(list);
            }
        }
        best
    }
}

/// The characters of `text`, each once.
fn distinct(text: &str) -> Vec<char> {
    let mut chars: Vec<char> = text.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    chars
}

fn unpost(postings: &mut HashMap<char, Vec<u32>>, haystack: &str, slot: u32) {
    for ch in distinct(haystack) {
        if let Some(list) = postings.get_mut(&ch) {
            if let Ok(at) = list.binary_search(&slot) {
                list.remove(at);
            }
            if list.is_empty() {
                postings.remove(&ch);
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;
    use crate::lead::tests::{date, id, lead};
    use crate::search::run_query;
    use crate::{Grade, LeadSort, Phone, Stage};

    fn book(leads: &[Lead]) -> LeadIndex {
        let mut book = LeadIndex::new();
        for l in leads {
            book.upsert(l.clone(), "");
        }
        book
    }

    fn reference(leads: &[Lead], q: &LeadQuery) -> Vec<Id> {
        let indexed: Vec<(Lead, String)> = leads
            .iter()
            .map(|l| (l.clone(), search_text(l, "")))
            .collect();
        run_query(&indexed, q).iter().map(|l| l.id).collect()
    }

    fn ids(found: &Found<'_>) -> Vec<Id> {
        found.leads.iter().map(|l| l.id).collect()
    }

    #[test]
    fn upsert_replaces_and_remove_forgets() {
        let mut book = book(&[lead(1, "王小明"), lead(2, "张伟")]);
        let q = |text: &str| LeadQuery {
            text: text.into(),
            ..LeadQuery::default()
        };
        assert_eq!(book.query(&q("小明"), 10).total, 1);
        // Renamed: the old name no longer finds it, the new one does.
        book.upsert(lead(1, "李四"), "");
        assert_eq!(book.query(&q("小明"), 10).total, 0);
        assert_eq!(book.query(&q("李"), 10).total, 1);
        assert_eq!(book.len(), 2);
        assert_eq!(book.remove(id(2)).map(|l| l.name), Some("张伟".into()));
        assert_eq!(book.query(&q("张"), 10).total, 0);
        assert!(book.get(id(2)).is_none());
        // The freed slot is taken by the next new lead, which is found.
        book.upsert(lead(3, "陈一"), "");
        assert_eq!(book.query(&q("陈"), 10).total, 1);
        assert_eq!(book.len(), 2);
        // A word with a character nobody has matches nothing.
        assert_eq!(book.query(&q("Ω"), 10).total, 0);
    }

    #[test]
    fn a_page_is_the_head_of_the_whole_order() {
        let leads: Vec<Lead> = (0..50u8)
            .map(|n| Lead {
                next_follow_up: Some(date(2024, 1, 1 + u32::from(n % 28))),
                ..lead(n + 1, &format!("Lead {}", 50 - n))
            })
            .collect();
        let book = book(&leads);
        let q = LeadQuery {
            text: "lead".into(),
            ..LeadQuery::default()
        };
        let page = book.query(&q, 7);
        assert_eq!(page.total, 50);
        assert_eq!(ids(&page), reference(&leads, &q)[..7].to_vec());
        assert!(book.query(&q, 0).leads.is_empty());
    }

    fn arb_lead() -> impl Strategy<Value = Lead> {
        let names = prop::sample::select(vec![
            "王小明",
            "张伟",
            "陈一",
            "Maria Rossi",
            "Ann",
            "王伟",
            "李明",
            "Bob Stone",
        ]);
        let companies = prop::sample::select(vec!["", "明远贸易", "Acme", "Rossi Tools", "华东"]);
        let phones =
            prop::sample::select(vec![None, Some("138 0013 8000"), Some("+44 20 7946 0000")]);
        (
            1u8..40,
            names,
            companies,
            phones,
            prop::sample::select(Grade::ALL.to_vec()),
            prop::sample::select(Stage::ALL.to_vec()),
            any::<bool>(),
            prop::option::of(1u32..28),
            0i64..5,
        )
            .prop_map(
                |(n, name, company, phone, grade, stage, deleted, day, updated)| Lead {
                    company: company.into(),
                    phones: phone
                        .map(|p| vec![Phone::parse(p).unwrap()])
                        .unwrap_or_default(),
                    grade,
                    stage,
                    deleted,
                    next_follow_up: day.map(|d| date(2024, 2, d)),
                    updated_at: updated,
                    ..lead(n, name)
                },
            )
    }

    fn arb_query() -> impl Strategy<Value = LeadQuery> {
        let texts = prop::sample::select(vec![
            "",
            "王",
            "小明",
            "wang",
            "a",
            "ROSSI",
            "138",
            "8000 明远",
            "伟 acme",
            "zz",
            "o",
        ]);
        (
            texts,
            prop::option::of(prop::sample::select(Grade::ALL.to_vec())),
            prop::option::of(prop::sample::select(Stage::ALL.to_vec())),
            prop::sample::select(LeadSort::ALL.to_vec()),
        )
            .prop_map(|(text, grade, stage, sort)| LeadQuery {
                text: text.into(),
                grade,
                stage,
                sort,
                ..LeadQuery::default()
            })
    }

    proptest! {
        /// After any sequence of upserts and removals, a query of the index answers what a
        /// scan of the same leads answers, in the same order.
        #[test]
        fn answers_like_a_scan(
            steps in prop::collection::vec((arb_lead(), any::<bool>()), 1..60),
            q in arb_query(),
            limit in 0usize..12,
        ) {
            let mut book = LeadIndex::new();
            let mut truth: std::collections::BTreeMap<Id, Lead> = Default::default();
            for (lead, remove) in steps {
                if remove {
                    book.remove(lead.id);
                    truth.remove(&lead.id);
                } else {
                    book.upsert(lead.clone(), "");
                    truth.insert(lead.id, lead);
                }
            }
            let leads: Vec<Lead> = truth.into_values().collect();
            let expected = reference(&leads, &q);
            let found = book.query(&q, limit);
            prop_assert_eq!(found.total, expected.len());
            prop_assert_eq!(ids(&found), expected[..limit.min(expected.len())].to_vec());
            prop_assert_eq!(book.len(), leads.len());
        }
    }
}
