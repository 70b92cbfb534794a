//! Finding leads: text folding so `１３８-0013` matches `13800138000`, pinyin initials so
//! `wxm` finds 王小明, and the filter-and-sort query behind the lead list.
//!
//! Pinyin needs a collation table that would cost megabytes in the download; instead the
//! browser's own `Intl.Collator('zh-CN')` is passed in as a comparator and the crate only
//! knows the first character of each initial's block ([`PINYIN_BOUNDARIES`]). Folded
//! haystacks are computed once per lead by the caller and kept, so typing a query only
//! does substring checks.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::value::half_width;
use crate::{Grade, Id, Lead, Source, Stage};

/// Normalises text for matching: full-width to half-width, lower case, and no whitespace,
/// `-` or control characters, so phone numbers match with or without separators. CJK text
/// is kept as is.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars().map(half_width) {
        if ch.is_whitespace() || ch.is_control() || ch == '-' {
            continue;
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// The first character, in zh-CN collation order, of the block of characters whose pinyin
/// starts with each initial. (There are no syllables starting with i, u or v.)
pub const PINYIN_BOUNDARIES: [(char, char); 23] = [
    ('阿', 'a'),
    ('芭', 'b'),
    ('擦', 'c'),
    ('搭', 'd'),
    ('蛾', 'e'),
    ('发', 'f'),
    ('噶', 'g'),
    ('哈', 'h'),
    ('击', 'j'),
    ('喀', 'k'),
    ('垃', 'l'),
    ('妈', 'm'),
    ('拿', 'n'),
    ('哦', 'o'),
    ('啪', 'p'),
    ('期', 'q'),
    ('然', 'r'),
    ('撒', 's'),
    ('塌', 't'),
    ('挖', 'w'),
    ('昔', 'x'),
    ('压', 'y'),
    ('匝', 'z'),
];

/// The pinyin initials of `name` (`王小明` → `wxm`), using `cmp` as the zh-CN collation
/// (in the browser, `Intl.Collator('zh-CN').compare`).
///
/// Each CJK ideograph maps to the initial of the last boundary that does not sort after
/// it; ASCII letters and digits pass through in lower case; everything else is skipped.
pub fn pinyin_initials(name: &str, cmp: impl Fn(char, char) -> Ordering) -> String {
    initials_with(name, |ch| pinyin_initial(ch, &cmp))
}

/// The pinyin initial of one CJK ideograph: the initial of the last boundary that does not
/// sort after it (five comparisons: the boundaries are in collation order).
pub fn pinyin_initial(ch: char, cmp: impl Fn(char, char) -> Ordering) -> Option<char> {
    let after =
        PINYIN_BOUNDARIES.partition_point(|(boundary, _)| cmp(*boundary, ch) != Ordering::Greater);
    after.checked_sub(1).map(|i| PINYIN_BOUNDARIES[i].1)
}

/// [`pinyin_initials`] with the initial of each ideograph from `initial` (a caller that
/// remembers each character's initial asks the collator once per character, not per name).
pub fn initials_with(name: &str, mut initial: impl FnMut(char) -> Option<char>) -> String {
    let mut out = String::new();
    for ch in name.chars().map(half_width) {
        if ('\u{4E00}'..='\u{9FFF}').contains(&ch) {
            if let Some(letter) = initial(ch) {
                out.push(letter);
            }
        } else if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        }
    }
    out
}

choice_enum! {
    /// How the lead list is ordered.
    #[derive(Default)]
    pub enum LeadSort in "sort" {
        /// Soonest follow-up first; leads without one last.
        #[default]
        NextFollowUp => "next_follow_up",
        /// Most recently edited first.
        Updated => "updated",
        /// Largest expected value first (in minor units, whatever the currency); leads
        /// without one last.
        Value => "value",
        /// By name.
        Name => "name",
    }
}

/// The lead list's search box, filters and sort.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadQuery {
    /// Words that must all appear (name, company, phone, WeChat, email, tag, initials).
    pub text: String,
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this grade.
    pub grade: Option<Grade>,
    /// Only this source.
    pub source: Option<Source>,
    /// Only leads with this tag (any case).
    pub tag: Option<String>,
    /// Only this person's leads (a manager looking at one rep's book).
    pub owner: Option<Id>,
    /// Order.
    pub sort: LeadSort,
}

impl LeadQuery {
    /// How many filters narrow the list (the search text and the sort are not filters).
    pub fn active_filters(&self) -> usize {
        [
            self.stage.is_some(),
            self.grade.is_some(),
            self.source.is_some(),
            self.tag.as_deref().is_some_and(|t| !t.trim().is_empty()),
            self.owner.is_some(),
        ]
        .into_iter()
        .filter(|on| *on)
        .count()
    }

    /// The query without its filters: the search text and the sort stay.
    pub fn without_filters(&self) -> LeadQuery {
        LeadQuery {
            text: self.text.clone(),
            sort: self.sort,
            ..LeadQuery::default()
        }
    }
}

/// Where each character stands in the order names are sorted in (for Chinese, pinyin: the
/// browser's `Intl.Collator('zh-CN-u-co-pinyin')`), so sorting a list by name compares
/// integers instead of calling the collator per comparison and keystroke.
///
/// The caller sorts the characters of the book's names with its collator once, when names
/// with characters not seen before arrive ([`crate::LeadIndex::order_names`]); a name's key
/// is the rank of each of its characters in turn. Letters are ranked in lower case, so
/// `anna` and `Bob` sort as a collator would, ignoring case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameOrder {
    ranks: HashMap<char, u32>,
}

/// Characters not ranked yet sort after every ranked one, by code point.
const UNRANKED: u32 = 1 << 31;

/// The character a name is ranked by: half-width and lower case.
pub fn name_char(ch: char) -> char {
    let ch = half_width(ch);
    ch.to_lowercase().next().unwrap_or(ch)
}

impl NameOrder {
    /// The order of `sorted`: each character ranks where it stands (a repeated character
    /// keeps its first place).
    pub fn from_sorted(sorted: &[char]) -> NameOrder {
        let mut ranks = HashMap::with_capacity(sorted.len());
        for (rank, ch) in sorted.iter().enumerate() {
            ranks.entry(*ch).or_insert(rank as u32);
        }
        NameOrder { ranks }
    }

    /// The key `name` sorts by, and whether every character of it is ranked.
    pub fn key(&self, name: &str) -> (Box<[u32]>, bool) {
        let mut complete = true;
        let key = name
            .trim()
            .chars()
            .map(name_char)
            .map(|ch| match self.ranks.get(&ch) {
                Some(rank) => *rank,
                None => {
                    complete = false;
                    UNRANKED | u32::from(ch)
                }
            })
            .collect();
        (key, complete)
    }
}

/// Separates haystack parts so a query word cannot match across two fields.
const PART_SEPARATOR: char = '\u{1f}';

/// The folded text a lead is searched by: name, company, phones, WeChat id, email, tags and
/// the name's pinyin `initials`, separated by U+001F.
pub fn search_text(lead: &Lead, initials: &str) -> String {
    let mut parts: Vec<String> = vec![fold(&lead.name), fold(&lead.company)];
    parts.extend(lead.phones.iter().map(|p| fold(&p.digits())));
    parts.push(fold(&lead.wechat));
    if let Some(email) = &lead.email {
        parts.push(fold(email.as_str()));
    }
    parts.extend(lead.tags.iter().map(|t| fold(t)));
    parts.push(fold(initials));
    parts.join(&PART_SEPARATOR.to_string())
}

/// A lead with the key its name sorts by ([`NameOrder::key`]).
pub type Keyed<'a> = (&'a Lead, &'a [u32]);

fn by_name(a: Keyed<'_>, b: Keyed<'_>) -> Ordering {
    a.1.cmp(b.1)
        .then_with(|| a.0.name.cmp(&b.0.name))
        .then_with(|| a.0.id.cmp(&b.0.id))
}

/// Descending order with `None` last.
fn larger_first<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Ascending order with `None` last.
fn smaller_first<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A [`LeadQuery`] made ready to test leads against: its words folded, its tag trimmed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Every word of the text, folded; all must occur in a lead's haystack.
    pub words: Vec<String>,
    tag: Option<String>,
    stage: Option<Stage>,
    grade: Option<Grade>,
    source: Option<Source>,
    owner: Option<Id>,
    sort: LeadSort,
}

impl Prepared {
    /// Folds the words and trims the tag of `q`.
    pub fn new(q: &LeadQuery) -> Prepared {
        Prepared {
            words: q
                .text
                .split(|c: char| half_width(c).is_whitespace())
                .map(fold)
                .filter(|w| !w.is_empty())
                .collect(),
            tag: q
                .tag
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_lowercase),
            stage: q.stage,
            grade: q.grade,
            source: q.source,
            owner: q.owner,
            sort: q.sort,
        }
    }

    /// Whether `lead` (not deleted) with its `haystack` from [`search_text`] matches.
    pub fn matches(&self, lead: &Lead, haystack: &str) -> bool {
        !lead.deleted
            && self.stage.is_none_or(|s| lead.stage == s)
            && self.grade.is_none_or(|g| lead.grade == g)
            && self.source.is_none_or(|s| lead.source == s)
            && self.owner.is_none_or(|o| lead.owner == Some(o))
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| lead.tags.iter().any(|t| t.to_lowercase() == *tag))
            && self.words.iter().all(|w| haystack.contains(w.as_str()))
    }

    /// The list's order for this query's sort; ties by name (its key, then its text), then
    /// id.
    pub fn compare(&self, a: Keyed<'_>, b: Keyed<'_>) -> Ordering {
        Self::primary(self.sort, a.0, b.0).then_with(|| by_name(a, b))
    }

    fn primary(sort: LeadSort, a: &Lead, b: &Lead) -> Ordering {
        match sort {
            LeadSort::NextFollowUp => smaller_first(a.next_follow_up, b.next_follow_up),
            LeadSort::Updated => b.updated_at.cmp(&a.updated_at),
            LeadSort::Value => larger_first(
                a.expected_value.map(|m| m.minor),
                b.expected_value.map(|m| m.minor),
            ),
            LeadSort::Name => Ordering::Equal,
        }
    }
}

/// The non-deleted leads matching `q`, sorted. Each lead comes with its haystack from
/// [`search_text`]; every whitespace-separated word of `q.text`, folded, must occur in it.
///
/// A scan of every lead: the app searches through [`crate::LeadIndex`], which reads only
/// the leads holding the query's rarest character; this is the reference it is tested
/// against.
///
/// Names sort by `order` ([`NameOrder::default`]: by code point, case folded).
pub fn run_query<'a>(
    leads: &'a [(Lead, String)],
    q: &LeadQuery,
    order: &NameOrder,
) -> Vec<&'a Lead> {
    let prepared = Prepared::new(q);
    let mut found: Vec<(&Lead, Box<[u32]>)> = leads
        .iter()
        .filter(|(lead, haystack)| prepared.matches(lead, haystack))
        .map(|(lead, _)| (lead, order.key(&lead.name).0))
        .collect();
    found.sort_by(|a, b| prepared.compare((a.0, &a.1), (b.0, &b.1)));
    found.into_iter().map(|(lead, _)| lead).collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::{date, id, lead};
    use crate::{Currency, Money, Phone};

    /// A stand-in for `Intl.Collator('zh-CN')` that knows the pinyin of a few characters.
    fn fake_collator(a: char, b: char) -> Ordering {
        let table: &[(char, &str)] = &[
            ('阿', "a"),
            ('芭', "ba"),
            ('擦', "ca"),
            ('搭', "da"),
            ('蛾', "e"),
            ('发', "fa"),
            ('噶', "ga"),
            ('哈', "ha"),
            ('击', "ji"),
            ('喀', "ka"),
            ('垃', "la"),
            ('妈', "ma"),
            ('拿', "na"),
            ('哦', "o"),
            ('啪', "pa"),
            ('期', "qi"),
            ('然', "ran"),
            ('撒', "sa"),
            ('塌', "ta"),
            ('挖', "wa"),
            ('昔', "xi"),
            ('压', "ya"),
            ('匝', "za"),
            ('王', "wang"),
            ('小', "xiao"),
            ('明', "ming"),
            ('张', "zhang"),
            ('伟', "wei"),
            ('陈', "chen"),
            ('一', "yi"),
            ('丫', "a"),
        ];
        let pinyin = |c: char| table.iter().find(|(k, _)| *k == c).map(|(_, p)| *p);
        match (pinyin(a), pinyin(b)) {
            (Some(x), Some(y)) => x.cmp(y),
            _ => a.cmp(&b),
        }
    }

    #[test]
    fn folding() {
        assert_eq!(fold(" 138-0013 8000 "), "13800138000");
        assert_eq!(fold("ＡＢＣ１２３"), "abc123");
        assert_eq!(fold("Wang Xiao-Ming 王小明"), "wangxiaoming王小明");
        assert_eq!(fold("Straße"), "straße");
        assert_eq!(fold("a\u{1f}b\tc"), "abc");
    }

    #[test]
    fn initials() {
        assert_eq!(pinyin_initials("王小明", fake_collator), "wxm");
        assert_eq!(
            pinyin_initials("张伟 (Zhang Wei) 2", fake_collator),
            "zwzhangwei2"
        );
        assert_eq!(pinyin_initials("陈·一", fake_collator), "cy");
        // Sorting before 阿 means no initial is known.
        assert_eq!(pinyin_initials("丫", |_, _| Ordering::Greater), "");
        assert_eq!(pinyin_initials("ＬＩ", fake_collator), "li");
    }

    fn indexed(leads: Vec<Lead>) -> Vec<(Lead, String)> {
        leads
            .into_iter()
            .map(|l| {
                let initials = pinyin_initials(&l.name, fake_collator);
                let haystack = search_text(&l, &initials);
                (l, haystack)
            })
            .collect()
    }

    fn names(found: &[&Lead]) -> Vec<String> {
        found.iter().map(|l| l.name.clone()).collect()
    }

    fn sample() -> Vec<(Lead, String)> {
        let cny = |minor| {
            Some(Money {
                minor,
                currency: Currency::CNY,
            })
        };
        indexed(vec![
            Lead {
                company: "明远贸易".into(),
                phones: vec![Phone::parse("138 0013 8000").unwrap()],
                grade: Grade::A,
                stage: Stage::Negotiation,
                tags: vec!["VIP".into()],
                next_follow_up: Some(date(2024, 3, 9)),
                expected_value: cny(500),
                updated_at: 10,
                ..lead(1, "王小明")
            },
            Lead {
                company: "Acme Ltd".into(),
                email: Some(crate::Email::parse("zw@acme.com").unwrap()),
                grade: Grade::A,
                stage: Stage::Prospecting,
                source: Source::TradeShow,
                tags: vec!["vip".into(), "华东".into()],
                next_follow_up: Some(date(2024, 3, 5)),
                updated_at: 30,
                ..lead(2, "张伟")
            },
            Lead {
                wechat: "chen_88".into(),
                grade: Grade::B,
                stage: Stage::Negotiation,
                expected_value: cny(9_000),
                updated_at: 20,
                ..lead(3, "陈一")
            },
            Lead {
                deleted: true,
                ..lead(4, "王小明")
            },
        ])
    }

    #[test]
    fn finds_by_initials_phone_and_words() {
        let leads = sample();
        let query = |text: &str| LeadQuery {
            text: text.into(),
            ..LeadQuery::default()
        };
        assert_eq!(
            names(&run_query(&leads, &query("wxm"), &NameOrder::default())),
            ["王小明"]
        );
        assert_eq!(
            names(&run_query(
                &leads,
                &query("13800138000"),
                &NameOrder::default()
            )),
            ["王小明"]
        );
        assert_eq!(
            names(&run_query(&leads, &query("8000"), &NameOrder::default())),
            ["王小明"]
        );
        assert_eq!(
            names(&run_query(
                &leads,
                &query("138-0013"),
                &NameOrder::default()
            )),
            ["王小明"]
        );
        assert_eq!(
            names(&run_query(
                &leads,
                &query("小明 明远"),
                &NameOrder::default()
            )),
            ["王小明"]
        );
        assert_eq!(
            names(&run_query(
                &leads,
                &query("ACME zw@"),
                &NameOrder::default()
            )),
            ["张伟"]
        );
        assert_eq!(
            names(&run_query(
                &leads,
                &query("ＣＨＥＮ_88"),
                &NameOrder::default()
            )),
            ["陈一"]
        );
        assert!(run_query(&leads, &query("wxm acme"), &NameOrder::default()).is_empty());
        // Words never match across two fields of the haystack.
        assert!(run_query(&leads, &query("贸易13800"), &NameOrder::default()).is_empty());
        assert_eq!(
            run_query(&leads, &query("  "), &NameOrder::default()).len(),
            3,
            "deleted lead excluded"
        );
    }

    #[test]
    fn filters_combine() {
        let leads = sample();
        let q = LeadQuery {
            grade: Some(Grade::A),
            ..LeadQuery::default()
        };
        assert_eq!(
            names(&run_query(&leads, &q, &NameOrder::default())),
            ["张伟", "王小明"]
        );
        let q = LeadQuery {
            tag: Some(" VIP ".into()),
            stage: Some(Stage::Negotiation),
            ..LeadQuery::default()
        };
        assert_eq!(
            names(&run_query(&leads, &q, &NameOrder::default())),
            ["王小明"]
        );
        let q = LeadQuery {
            source: Some(Source::TradeShow),
            text: "zw".into(),
            ..LeadQuery::default()
        };
        assert_eq!(
            names(&run_query(&leads, &q, &NameOrder::default())),
            ["张伟"]
        );
        let q = LeadQuery {
            grade: Some(Grade::D),
            ..LeadQuery::default()
        };
        assert!(run_query(&leads, &q, &NameOrder::default()).is_empty());
    }

    #[test]
    fn sorts() {
        let leads = sample();
        let sorted = |sort| {
            names(&run_query(
                &leads,
                &LeadQuery {
                    sort,
                    ..LeadQuery::default()
                },
                &NameOrder::default(),
            ))
        };
        assert_eq!(sorted(LeadSort::NextFollowUp), ["张伟", "王小明", "陈一"]);
        assert_eq!(sorted(LeadSort::Updated), ["张伟", "陈一", "王小明"]);
        assert_eq!(sorted(LeadSort::Value), ["陈一", "王小明", "张伟"]);
        assert_eq!(sorted(LeadSort::Name), ["张伟", "王小明", "陈一"]);
        assert_choice_enum!(LeadSort, "sort");
        assert_eq!(LeadSort::default(), LeadSort::NextFollowUp);
    }

    #[test]
    fn names_sort_by_the_collators_order() {
        let leads = sample();
        let mut chars: Vec<char> = leads
            .iter()
            .flat_map(|(l, _)| l.name.chars().map(name_char))
            .collect();
        chars.sort_by(|a, b| fake_collator(*a, *b));
        chars.dedup();
        let order = NameOrder::from_sorted(&chars);
        let q = LeadQuery {
            sort: LeadSort::Name,
            ..LeadQuery::default()
        };
        // chen yi, wang xiao ming, zhang wei: pinyin, not code points (张 < 王 < 陈).
        assert_eq!(
            names(&run_query(&leads, &q, &order)),
            ["陈一", "王小明", "张伟"]
        );
        // Other sorts break ties by the same order.
        let q = LeadQuery {
            sort: LeadSort::Value,
            ..LeadQuery::default()
        };
        assert_eq!(
            names(&run_query(&leads, &q, &order)),
            ["陈一", "王小明", "张伟"]
        );
        // Case does not count; characters not ranked yet come after ranked ones.
        let order = NameOrder::from_sorted(&['a', 'b', 'n']);
        let (anna, complete) = order.key("Anna");
        let (bob, _) = order.key("bob");
        assert!(complete && anna < bob);
        let (zed, complete) = order.key("Zed");
        assert!(!complete && bob < zed);
        assert_eq!(order.key(" ｂ "), (vec![1].into_boxed_slice(), true));
    }

    #[test]
    fn owner_filter_and_the_count_of_filters() {
        let mut leads = sample();
        leads[0].0.owner = Some(id(7));
        leads[2].0.owner = Some(id(8));
        let q = LeadQuery {
            owner: Some(id(7)),
            ..LeadQuery::default()
        };
        assert_eq!(
            names(&run_query(&leads, &q, &NameOrder::default())),
            ["王小明"]
        );
        assert_eq!(q.active_filters(), 1);
        let q = LeadQuery {
            owner: Some(id(9)),
            ..LeadQuery::default()
        };
        assert!(run_query(&leads, &q, &NameOrder::default()).is_empty());
        let q = LeadQuery {
            text: "wang".into(),
            stage: Some(Stage::Won),
            grade: Some(Grade::A),
            source: Some(Source::Referral),
            tag: Some("vip".into()),
            owner: Some(id(7)),
            sort: LeadSort::Name,
        };
        assert_eq!(q.active_filters(), 5);
        let cleared = q.without_filters();
        assert_eq!(cleared.active_filters(), 0);
        assert_eq!(
            (cleared.text.as_str(), cleared.sort),
            ("wang", LeadSort::Name)
        );
        // A blank tag filters nothing, so it is not counted.
        let q = LeadQuery {
            tag: Some("  ".into()),
            ..LeadQuery::default()
        };
        assert_eq!(q.active_filters(), 0);
    }

    #[test]
    fn ties_break_by_name_then_id() {
        let leads = indexed(vec![lead(3, "B"), lead(2, "A"), lead(1, "B")]);
        let found = run_query(&leads, &LeadQuery::default(), &NameOrder::default());
        let ids: Vec<_> = found.iter().map(|l| l.id).collect();
        assert_eq!(ids, [id(2), id(1), id(3)]);
    }
}
