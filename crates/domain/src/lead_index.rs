//! The lead book in memory: every lead on the device with its folded search text, and per
//! character the leads whose text holds it.
//!
//! A query reads only the leads that hold the rarest character of its words (every match
//! must hold every character of every word), so typing into the search of a 10,000-lead book
//! tests a few hundred leads, not all of them. A save or a pull changes the book one lead at
//! a time ([`LeadIndex::upsert`], [`LeadIndex::remove`]); nothing is rebuilt.
//!
//! Each lead also carries the key its name sorts by ([`NameOrder`]): the rank of each of its
//! characters in the caller's collation (pinyin for Chinese), so sorting by name compares
//! integers. When names bring characters the order has not ranked, the caller sorts the
//! book's characters with its collator once ([`LeadIndex::order_names`]) and every key is
//! made again.

use std::collections::{HashMap, HashSet};

use crate::search::{name_char, search_text, NameOrder, Prepared};
use crate::{Id, Lead, LeadQuery};

/// One lead, what it is searched by and the key its name sorts by.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    lead: Lead,
    haystack: String,
    name_key: Box<[u32]>,
}

impl Entry {
    fn keyed(&self) -> (&Lead, &[u32]) {
        (&self.lead, &self.name_key)
    }
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
    /// The collation rank of each character of the names.
    order: NameOrder,
    /// Whether some name holds a character `order` has not ranked.
    unranked: bool,
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
        let (name_key, complete) = self.order.key(&lead.name);
        self.unranked |= !complete;
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
            *place = Some(Entry {
                lead,
                haystack,
                name_key,
            });
        }
    }

    /// Whether some name holds a character the name order has not ranked yet: then
    /// [`LeadIndex::order_names`] has work to do.
    pub fn needs_name_order(&self) -> bool {
        self.unranked
    }

    /// Ranks the characters of every name with `sort` (given them in no particular order,
    /// it returns them in the collation's order: in the browser one `Array.sort` with
    /// `Intl.Collator`'s compare) and makes every name's key again. Does nothing when
    /// every character is ranked already, so callers run it after each batch of upserts.
    pub fn order_names(&mut self, sort: impl FnOnce(Vec<char>) -> Vec<char>) {
        if !self.unranked {
            return;
        }
        let chars: HashSet<char> = self
            .slots
            .iter()
            .flatten()
            .flat_map(|e| e.lead.name.trim().chars().map(name_char))
            .collect();
        self.order = NameOrder::from_sorted(&sort(chars.into_iter().collect()));
        let mut unranked = false;
        for entry in self.slots.iter_mut().flatten() {
            let (key, complete) = self.order.key(&entry.lead.name);
            entry.name_key = key;
            unranked |= !complete;
        }
        self.unranked = unranked;
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
        let mut found: Vec<&Entry> = match self.candidates(&prepared) {
            Some(slots) => slots
                .iter()
                .filter_map(|&slot| self.entry(slot))
                .filter(|e| prepared.matches(&e.lead, &e.haystack))
                .collect(),
            None => self
                .slots
                .iter()
                .flatten()
                .filter(|e| prepared.matches(&e.lead, &e.haystack))
                .collect(),
        };
        let total = found.len();
        let compare = |a: &&Entry, b: &&Entry| prepared.compare(a.keyed(), b.keyed());
        if limit < found.len() {
            // Only the first page is put in order: the rest stays unsorted.
            if limit > 0 {
                found.select_nth_unstable_by(limit - 1, compare);
            }
            found.truncate(limit);
        }
        found.sort_by(compare);
        Found {
            total,
            leads: found.into_iter().map(|e| &e.lead).collect(),
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
        reference_in(leads, q, &NameOrder::default())
    }

    fn reference_in(leads: &[Lead], q: &LeadQuery, order: &NameOrder) -> Vec<Id> {
        let indexed: Vec<(Lead, String)> = leads
            .iter()
            .map(|l| (l.clone(), search_text(l, "")))
            .collect();
        run_query(&indexed, q, order).iter().map(|l| l.id).collect()
    }

    /// A stand-in for `Intl.Collator('zh-CN-u-co-pinyin')` over the test names' characters:
    /// their pinyin, then code point.
    fn pinyin_sort(mut chars: Vec<char>) -> Vec<char> {
        let table: &[(char, &str)] = &[
            ('安', "an"),
            ('娜', "na"),
            ('陈', "chen"),
            ('静', "jing"),
            ('李', "li"),
            ('王', "wang"),
            ('芳', "fang"),
            ('张', "zhang"),
            ('伟', "wei"),
            ('小', "xiao"),
            ('明', "ming"),
            ('一', "yi"),
            ('四', "si"),
        ];
        let key = |c: char| {
            let pinyin = table.iter().find(|(k, _)| *k == c).map(|(_, p)| *p);
            // Han characters before spaces and Latin letters: the Chinese collation
            // reorders them so.
            (
                c < '\u{2e80}',
                pinyin.map(str::to_string).unwrap_or_else(|| c.to_string()),
            )
        };
        chars.sort_by_key(|c| key(*c));
        chars
    }

    #[test]
    fn chinese_names_sort_by_pinyin_once_ranked() {
        let names = ["张伟", "安娜", "李娜", "王芳", "陈静"];
        let mut book = LeadIndex::new();
        for (n, name) in names.iter().enumerate() {
            book.upsert(lead(n as u8 + 1, name), "");
        }
        let q = LeadQuery {
            sort: LeadSort::Name,
            ..LeadQuery::default()
        };
        let listed = |book: &LeadIndex| -> Vec<String> {
            book.query(&q, 10)
                .leads
                .iter()
                .map(|l| l.name.clone())
                .collect()
        };
        assert!(book.needs_name_order());
        book.order_names(pinyin_sort);
        assert!(!book.needs_name_order());
        assert_eq!(listed(&book), ["安娜", "陈静", "李娜", "王芳", "张伟"]);
        // Nothing new: the sort is not asked again.
        book.order_names(|_| panic!("no new characters"));
        // A new name with a new character: its ranked first character places it already,
        // the unranked one after every ranked one until the book is ranked again.
        book.upsert(lead(9, "李四"), "");
        book.upsert(lead(10, "四"), "");
        assert!(book.needs_name_order());
        assert_eq!(
            listed(&book),
            ["安娜", "陈静", "李娜", "李四", "王芳", "张伟", "四"]
        );
        book.remove(id(10));
        book.order_names(pinyin_sort);
        assert_eq!(
            listed(&book),
            ["安娜", "陈静", "李娜", "李四", "王芳", "张伟"]
        );
        // A renamed lead takes its new place; a page is the head of the whole order.
        book.upsert(lead(1, "安伟"), "");
        book.order_names(pinyin_sort);
        let page: Vec<String> = book
            .query(&q, 2)
            .leads
            .iter()
            .map(|l| l.name.clone())
            .collect();
        assert_eq!(page, ["安娜", "安伟"]);
    }

    #[test]
    fn the_owner_filter() {
        let mut book = LeadIndex::new();
        for n in 1..=6u8 {
            let owner = Some(id(100 + n % 2));
            book.upsert(
                Lead {
                    owner,
                    ..lead(n, &format!("Lead {n}"))
                },
                "",
            );
        }
        let q = |owner| LeadQuery {
            owner,
            text: "lead".into(),
            sort: LeadSort::Name,
            ..LeadQuery::default()
        };
        let found = book.query(&q(Some(id(101))), 10);
        assert_eq!(found.total, 3);
        assert!(found.leads.iter().all(|l| l.owner == Some(id(101))));
        assert_eq!(book.query(&q(Some(id(55))), 10).total, 0);
        assert_eq!(book.query(&q(None), 10).total, 6);
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
            prop::option::of(1u8..4),
        )
            .prop_map(
                |(n, name, company, phone, grade, stage, deleted, day, updated, owner)| Lead {
                    owner: owner.map(id),
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
            prop::option::of(1u8..4),
        )
            .prop_map(|(text, grade, stage, sort, owner)| LeadQuery {
                text: text.into(),
                grade,
                stage,
                sort,
                owner: owner.map(id),
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
            // Once the names are ranked, the index sorts as a scan by the same order does.
            book.order_names(pinyin_sort);
            let mut chars: Vec<char> = leads.iter().flat_map(|l| l.name.chars().map(name_char)).collect();
            chars.sort_unstable();
            chars.dedup();
            let order = NameOrder::from_sorted(&pinyin_sort(chars));
            let expected = reference_in(&leads, &q, &order);
            let found = book.query(&q, limit);
            prop_assert_eq!(ids(&found), expected[..limit.min(expected.len())].to_vec());
        }
    }
}
