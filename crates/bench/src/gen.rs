//! A seeded generator of realistic zh/en books: leads and their visits, built through the
//! forms' own drafts (`LeadDraft`, `VisitDraft`), so every record passes the same validation
//! a phone's form and the server apply. The same seed, counts and `now` give the same book.

use chrono::{Duration, NaiveDate};
use domain::{
    Grade, Id, Intent, Lead, LeadDraft, RecordMeta, Source, Stage, ValidationErrors, Visit,
    VisitDraft, VisitKind,
};

/// China Standard Time: the generated dates are local to it (as the demo's are).
pub const OFFSET_MIN: i32 = 480;

/// splitmix64: small, fast and the same on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_B00C)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo).unsigned_abs() + 1;
        lo + (self.next_u64() % span) as i64
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn id(&mut self, unix_ms: i64) -> Id {
        let mut random = [0u8; 10];
        let a = self.next_u64().to_le_bytes();
        let b = self.next_u64().to_le_bytes();
        random[..8].copy_from_slice(&a);
        random[8..].copy_from_slice(&b[..2]);
        Id::from_parts(unix_ms.max(0) as u64, random)
    }
}

/// A rep's book.
#[derive(Clone, Debug, Default)]
pub struct Book {
    pub leads: Vec<Lead>,
    pub visits: Vec<Visit>,
}

/// A generated record failed the forms' validation: a bug in this file.
#[derive(Debug)]
pub struct Invalid {
    pub record: String,
    pub errors: ValidationErrors,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "generated {} is invalid: {:?}", self.record, self.errors)
    }
}

impl std::error::Error for Invalid {}

/// `leads` leads and `visits` visits spread over them, dated around `now_ms`.
pub fn book(seed: u64, leads: usize, visits: usize, now_ms: i64) -> Result<Book, Invalid> {
    let mut rng = Rng::new(seed);
    let today = domain::today_in_offset(now_ms, OFFSET_MIN);
    let mut book = Book {
        leads: Vec::with_capacity(leads),
        visits: Vec::with_capacity(visits),
    };
    for _ in 0..leads {
        book.leads.push(lead(&mut rng, today, now_ms)?);
    }
    if book.leads.is_empty() {
        return Ok(book);
    }
    for _ in 0..visits {
        let lead_id = rng.pick(&book.leads).id;
        book.visits.push(visit(&mut rng, lead_id, today, now_ms)?);
    }
    Ok(book)
}

/// One lead through `LeadDraft::parse`.
pub fn lead(rng: &mut Rng, today: NaiveDate, now_ms: i64) -> Result<Lead, Invalid> {
    let chinese = rng.percent(65);
    let person = if chinese {
        chinese_person(rng)
    } else {
        english_person(rng)
    };
    let company = if rng.percent(85) {
        if chinese {
            chinese_company(rng)
        } else {
            english_company(rng)
        }
    } else {
        String::new()
    };
    let mut phones = vec![phone(rng, chinese)];
    if rng.percent(20) {
        phones.push(phone(rng, chinese));
    }
    let email = if rng.percent(60) {
        format!(
            "{}{}@{}",
            person.handle,
            if rng.percent(50) {
                rng.between(1, 99).to_string()
            } else {
                String::new()
            },
            rng.pick(if chinese { &ZH_MAIL } else { &EN_MAIL })
        )
    } else {
        String::new()
    };
    let day = |offset: i64| {
        (today + Duration::days(offset))
            .format("%Y-%m-%d")
            .to_string()
    };
    // Follow-ups around today: some overdue, some due today, most ahead, some none.
    let follow_up = match rng.below(100) {
        0..=7 => day(-rng.between(1, 30)),
        8..=10 => day(0),
        11..=74 => day(rng.between(1, 90)),
        _ => String::new(),
    };
    let tag_count = rng.below(4);
    let mut tags: Vec<&str> = Vec::new();
    for _ in 0..tag_count {
        let tag = *rng.pick(&TAGS);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let (value, currency) = if rng.percent(70) {
        (
            (rng.between(1, 500) * 1000).to_string(),
            if chinese {
                "CNY"
            } else {
                *rng.pick(&["USD", "EUR", "CNY"])
            },
        )
    } else {
        (String::new(), "CNY")
    };
    let created = now_ms - rng.between(0, 400) * 86_400_000;
    let draft = LeadDraft {
        name: person.name,
        company,
        title: rng
            .pick(if chinese { &ZH_TITLES } else { &EN_TITLES })
            .to_string(),
        phones: phones.join(", "),
        wechat: if chinese && rng.percent(50) {
            format!(
                "wx_{}{}",
                person.handle.replace('.', "_"),
                rng.between(10, 999)
            )
        } else {
            String::new()
        },
        email,
        address: if rng.percent(50) {
            address(rng, chinese)
        } else {
            String::new()
        },
        source: *rng.pick(&Source::ALL),
        grade: *rng.pick(&Grade::ALL),
        stage: *rng.pick(&Stage::ALL),
        intent: if rng.percent(70) {
            Some(*rng.pick(&Intent::ALL))
        } else {
            None
        },
        needs: if rng.percent(50) {
            text(rng, chinese, 10, 120)
        } else {
            String::new()
        },
        expected_value: value,
        currency: currency.into(),
        expected_close: if rng.percent(30) {
            day(rng.between(7, 180))
        } else {
            String::new()
        },
        next_follow_up: follow_up,
        strategy: if rng.percent(30) {
            text(rng, chinese, 10, 80)
        } else {
            String::new()
        },
        tags: tags.join(", "),
        notes: if rng.percent(40) {
            text(rng, chinese, 20, 300)
        } else {
            String::new()
        },
        ..LeadDraft::default()
    };
    let id = rng.id(created);
    draft
        .parse(&RecordMeta::new(id, created), now_ms)
        .map_err(|errors| Invalid {
            record: format!("lead {draft:?}"),
            errors,
        })
}

/// One visit of `lead_id` in the past year, through `VisitDraft::parse`.
pub fn visit(rng: &mut Rng, lead_id: Id, today: NaiveDate, now_ms: i64) -> Result<Visit, Invalid> {
    let chinese = rng.percent(65);
    let ago = rng.between(0, 365);
    let date = today - Duration::days(ago);
    let draft = VisitDraft {
        lead_id: Some(lead_id),
        kind: *rng.pick(&VisitKind::ALL),
        date: date.format("%Y-%m-%d").to_string(),
        time: format!("{:02}:{:02}", rng.between(8, 18), rng.between(0, 59)),
        duration_min: rng.between(5, 180).to_string(),
        notes: text(rng, chinese, 50, 600),
        outcome: if rng.percent(50) {
            text(rng, chinese, 10, 100)
        } else {
            String::new()
        },
        next_step: if rng.percent(40) {
            text(rng, chinese, 10, 80)
        } else {
            String::new()
        },
        ..VisitDraft::default()
    };
    let started = now_ms - ago * 86_400_000;
    let id = rng.id(started);
    draft
        .parse(&RecordMeta::new(id, started), now_ms, OFFSET_MIN)
        .map_err(|errors| Invalid {
            record: format!("visit {draft:?}"),
            errors,
        })
}

struct Person {
    name: String,
    /// Latin letters for an email or WeChat id.
    handle: String,
}

fn chinese_person(rng: &mut Rng) -> Person {
    let (surname, s_py) = *rng.pick(&ZH_SURNAMES);
    let (first, f_py) = *rng.pick(&ZH_GIVEN);
    let (name, handle) = if rng.percent(60) {
        let (second, g_py) = *rng.pick(&ZH_GIVEN);
        (
            format!("{surname}{first}{second}"),
            format!("{s_py}.{f_py}{g_py}"),
        )
    } else {
        (format!("{surname}{first}"), format!("{s_py}.{f_py}"))
    };
    Person { name, handle }
}

fn english_person(rng: &mut Rng) -> Person {
    let first = *rng.pick(&EN_FIRST);
    let last = *rng.pick(&EN_LAST);
    Person {
        name: format!("{first} {last}"),
        handle: format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
    }
}

fn chinese_company(rng: &mut Rng) -> String {
    format!(
        "{}{}{}{}",
        rng.pick(&ZH_CITIES),
        rng.pick(&ZH_BRANDS),
        rng.pick(&ZH_TRADES),
        rng.pick(&["有限公司", "有限公司", "股份有限公司", "集团有限公司"])
    )
}

fn english_company(rng: &mut Rng) -> String {
    format!(
        "{} {} {}",
        rng.pick(&EN_BRANDS),
        rng.pick(&EN_TRADES),
        rng.pick(&["Ltd", "Inc.", "LLC", "Group", "GmbH", "Co."])
    )
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

/// CN mobiles `1[3-9]x xxxx xxxx`, CN landlines, +44 and +1 numbers.
fn phone(rng: &mut Rng, chinese: bool) -> String {
    let roll = rng.below(100);
    if chinese {
        if roll < 80 {
            format!(
                "1{}{} {} {}",
                rng.between(3, 9),
                digits(rng, 1),
                digits(rng, 4),
                digits(rng, 4)
            )
        } else {
            let area = rng.pick(&["010", "021", "020", "0755", "0571", "028", "027", "025"]);
            format!("{area}-{} {}", digits(rng, 4), digits(rng, 4))
        }
    } else if roll < 50 {
        format!("+44 20 7946 {}", digits(rng, 4))
    } else if roll < 90 {
        format!(
            "+1 {} 555 {}",
            rng.pick(&["415", "212", "646", "312", "206"]),
            digits(rng, 4)
        )
    } else {
        format!(
            "+86 1{}{} {} {}",
            rng.between(3, 9),
            digits(rng, 1),
            digits(rng, 4),
            digits(rng, 4)
        )
    }
}

fn address(rng: &mut Rng, chinese: bool) -> String {
    if chinese {
        format!(
            "{}市{}{}号{}",
            rng.pick(&ZH_CITIES),
            rng.pick(&ZH_ROADS),
            rng.between(1, 999),
            if rng.percent(50) {
                format!("{}楼", rng.between(2, 30))
            } else {
                String::new()
            }
        )
    } else {
        format!(
            "{} {}, {}",
            rng.between(1, 250),
            rng.pick(&EN_ROADS),
            rng.pick(&[
                "London",
                "Manchester",
                "San Francisco",
                "New York",
                "Seattle",
                "Chicago"
            ])
        )
    }
}

/// Text of `min..=max` characters made of sentences a rep would write.
fn text(rng: &mut Rng, chinese: bool, min: usize, max: usize) -> String {
    let target = rng.between(min as i64, max as i64) as usize;
    let pool: &[&str] = if chinese {
        &ZH_SENTENCES
    } else {
        &EN_SENTENCES
    };
    let mut out = String::new();
    let mut count = 0;
    while count < target {
        let sentence = *rng.pick(pool);
        if !chinese && !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        out.push_str(sentence);
        count += sentence.chars().count();
    }
    let trimmed: String = out.chars().take(target.max(1)).collect();
    trimmed.trim().to_string()
}

const ZH_SURNAMES: [(&str, &str); 32] = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("欧阳", "ouyang"),
    ("诸葛", "zhuge"),
];
const ZH_GIVEN: [(&str, &str); 40] = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂", "gui"),
    ("英", "ying"),
    ("建", "jian"),
    ("国", "guo"),
    ("华", "hua"),
    ("文", "wen"),
    ("辉", "hui"),
    ("鑫", "xin"),
    ("宇", "yu"),
    ("浩", "hao"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("琳", "lin"),
    ("晨", "chen"),
    ("欣", "xin"),
    ("佳", "jia"),
    ("思", "si"),
    ("子", "zi"),
    ("睿", "rui"),
];
const EN_FIRST: [&str; 30] = [
    "James",
    "Emily",
    "Oliver",
    "Sophie",
    "Michael",
    "Charlotte",
    "David",
    "Amelia",
    "Daniel",
    "Grace",
    "Thomas",
    "Hannah",
    "William",
    "Olivia",
    "Jack",
    "Lucy",
    "Henry",
    "Chloe",
    "Samuel",
    "Isabella",
    "Robert",
    "Emma",
    "George",
    "Mia",
    "Andrew",
    "Sarah",
    "Peter",
    "Laura",
    "Kevin",
    "Rachel",
];
const EN_LAST: [&str; 30] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Carter", "Wong", "Miller", "Davis", "Garcia", "Martin", "Lee", "Clark",
    "Lewis", "Young",
];
const ZH_CITIES: [&str; 12] = [
    "上海", "北京", "深圳", "广州", "杭州", "苏州", "成都", "武汉", "南京", "天津", "重庆", "宁波",
];
const ZH_BRANDS: [&str; 24] = [
    "华润", "恒通", "金穗", "蓝海", "星辰", "中天", "鼎盛", "宏达", "新元", "安泰", "瑞丰", "永信",
    "华东", "博远", "盛世", "通达", "东方", "联创", "汇丰", "长城", "海纳", "天成", "君泰", "远航",
];
const ZH_TRADES: [&str; 16] = [
    "贸易",
    "科技",
    "机械制造",
    "餐饮管理",
    "物流",
    "医疗器械",
    "建材",
    "电子",
    "食品",
    "服装",
    "农业科技",
    "家居",
    "信息技术",
    "化工",
    "汽车配件",
    "文化传媒",
];
const EN_BRANDS: [&str; 16] = [
    "Harbor",
    "Pacific",
    "Northwind",
    "Bluewater",
    "Summit",
    "Crescent",
    "Evergreen",
    "Redwood",
    "Silverline",
    "Beacon",
    "Granite",
    "Meridian",
    "Oakridge",
    "Lighthouse",
    "Sterling",
    "Atlas",
];
const EN_TRADES: [&str; 12] = [
    "Logistics",
    "Dental Supplies",
    "Foods",
    "Engineering",
    "Retail",
    "Medical",
    "Software",
    "Packaging",
    "Hospitality",
    "Construction",
    "Textiles",
    "Analytics",
];
const ZH_TITLES: [&str; 10] = [
    "采购部经理",
    "总经理",
    "运营总监",
    "店长",
    "董事长",
    "技术总监",
    "行政主管",
    "财务经理",
    "销售总监",
    "",
];
const EN_TITLES: [&str; 8] = [
    "Operations Lead",
    "Purchasing Manager",
    "CEO",
    "Regional Manager",
    "Head of IT",
    "Office Manager",
    "Finance Director",
    "",
];
const ZH_MAIL: [&str; 5] = [
    "163.com",
    "qq.com",
    "126.com",
    "sina.com",
    "huarun-trade.cn",
];
const EN_MAIL: [&str; 5] = [
    "gmail.com",
    "outlook.com",
    "harbor-logistics.com",
    "example.co.uk",
    "yahoo.com",
];
const TAGS: [&str; 14] = [
    "重点客户",
    "华东",
    "华南",
    "零售",
    "餐饮",
    "老客户",
    "渠道",
    "VIP",
    "logistics",
    "dental",
    "key account",
    "renewal",
    "trial",
    "event",
];
const ZH_ROADS: [&str; 8] = [
    "南京西路",
    "中山路",
    "人民大道",
    "解放路",
    "建国门外大街",
    "天河路",
    "科技园南路",
    "长江路",
];
const EN_ROADS: [&str; 6] = [
    "High Street",
    "Station Road",
    "Market Street",
    "Mission Street",
    "Broadway",
    "King's Road",
];
const ZH_SENTENCES: [&str; 16] = [
    "今天上门拜访了客户，参观了工厂的三条产线。",
    "对方对报表功能很感兴趣，希望下周安排一次详细演示。",
    "采购部经理提到预算要等季度会议后才能确定。",
    "客户目前使用纸质表格记录巡检，效率较低。",
    "竞争对手的报价比我们低百分之十五，但售后服务一般。",
    "约好下周二下午再次电话沟通合同细节。",
    "客户希望能支持离线使用，因为仓库里信号很差。",
    "总经理亲自参加了会议，决策链比较清楚。",
    "需要准备一份针对连锁门店的方案和报价单。",
    "对方提出试用一个月，先在两家门店上线。",
    "财务那边对付款方式有顾虑，希望分三期付款。",
    "现场演示很顺利，员工反馈界面简单易用。",
    "客户介绍了另一家分公司的负责人，可以跟进。",
    "技术总监询问了数据安全和备份的问题。",
    "本次拜访主要是维护关系，顺便了解明年的采购计划。",
    "客户抱怨上次交货延迟了三天，需要内部协调。",
];
const EN_SENTENCES: [&str; 14] = [
    "Met the operations lead at their main warehouse and walked through the current process.",
    "They are interested in offline visit logs for their drivers.",
    "Budget will only be confirmed after the quarterly review.",
    "A competitor quoted about fifteen percent less, but their support is weak.",
    "Agreed to send a proposal with pricing for forty seats by Friday.",
    "The CEO joined for the last twenty minutes and asked about data security.",
    "Demo went well; the team liked how simple the forms are.",
    "They want a one-month trial in two branches before deciding.",
    "Finance asked whether we can invoice quarterly instead of annually.",
    "Follow up next Tuesday to go through the contract details.",
    "They currently track visits in spreadsheets and lose data regularly.",
    "Introduced us to the regional manager in the north office.",
    "Delivery was three days late last time, which they mentioned twice.",
    "Mostly a relationship visit; asked about next year's purchasing plans.",
];

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000_000;

    #[test]
    fn every_record_passes_validation_and_the_seed_decides_the_book() {
        let one = book(7, 2_000, 5_000, NOW).map_err(|e| e.to_string());
        let two = book(7, 2_000, 5_000, NOW).map_err(|e| e.to_string());
        assert!(one.is_ok(), "{one:?}");
        let (Ok(one), Ok(two)) = (one, two) else {
            return;
        };
        assert_eq!(one.leads, two.leads);
        assert_eq!(one.visits, two.visits);
        assert_eq!(one.leads.len(), 2_000);
        assert_eq!(one.visits.len(), 5_000);
        let today = domain::today_in_offset(NOW, OFFSET_MIN);
        assert!(one.leads.iter().any(|l| l.next_follow_up == Some(today)));
        assert!(one
            .leads
            .iter()
            .any(|l| l.next_follow_up.is_some_and(|d| d < today)));
        assert!(one.leads.iter().any(|l| l.company.ends_with("有限公司")));
        for visit in &one.visits {
            let len = visit.notes.chars().count();
            assert!((40..=600).contains(&len), "{len}");
        }
        // Round trip through the server's validation path too.
        for lead in one.leads.iter().take(200) {
            let fields = domain::changed_fields(None, lead).map_err(|e| e.to_string());
            assert!(fields.is_ok());
        }
    }

    #[test]
    fn another_seed_gives_another_book() {
        let one = book(1, 50, 0, NOW).map_err(|e| e.to_string());
        let two = book(2, 50, 0, NOW).map_err(|e| e.to_string());
        assert_ne!(
            one.map(|b| b.leads[0].name.clone()),
            two.map(|b| b.leads[0].name.clone())
        );
    }
}
