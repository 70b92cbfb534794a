//! The two languages of the UI, zh-CN and en, and every string the app shows.
//!
//! Strings are looked up by message key; the domain crate's validation errors and option labels
//! carry keys too, so a message is written once per language, here. A host test checks that every
//! key the domain can produce has both translations. Chinese terms follow the sales manuals the
//! product comes from (客户分级, 跟进策略, 转介绍, 会销 …).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use leptos::prelude::*;

const ZH_WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const EN_WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A language of the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    Zh,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Zh, Locale::En];

    /// The BCP 47 tag handed to `Intl` and written to `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Zh => "zh-CN",
        }
    }

    /// A calendar date as the language writes it (`2026年11月26日周四` / `Thu, Nov 26, 2026`).
    /// Written here rather than asked of `Intl.DateTimeFormat`, whose first use costs ~25 ms
    /// of a cold start (its locale data) for two fixed patterns.
    pub fn date(self, date: NaiveDate) -> String {
        let weekday = date.weekday().num_days_from_monday() as usize;
        match self {
            Locale::Zh => format!(
                "{}年{}月{}日{}",
                date.year(),
                date.month(),
                date.day(),
                ZH_WEEKDAYS[weekday]
            ),
            Locale::En => format!(
                "{}, {} {}, {}",
                EN_WEEKDAYS[weekday],
                EN_MONTHS[date.month0() as usize],
                date.day(),
                date.year()
            ),
        }
    }

    /// A period as the language names it: `2026年11月` / `Nov 2026`, `2026年第四季度` /
    /// `Q4 2026`, `2026年下半年` / `H2 2026`, `2026年` / `2026`.
    pub fn period(self, period: domain::Period) -> String {
        use domain::PeriodKind;
        let y = period.year;
        let n = period.index;
        match (self, period.kind) {
            (Locale::Zh, PeriodKind::Month) => format!("{y}年{n}月"),
            (Locale::Zh, PeriodKind::Quarter) => {
                let q = ["一", "二", "三", "四"]
                    .get(n as usize - 1)
                    .copied()
                    .unwrap_or("");
                format!("{y}年第{q}季度")
            }
            (Locale::Zh, PeriodKind::Half) => {
                format!("{y}年{}", if n == 1 { "上半年" } else { "下半年" })
            }
            (Locale::Zh, PeriodKind::Year) => format!("{y}年"),
            (Locale::En, PeriodKind::Month) => format!(
                "{} {y}",
                EN_MONTHS.get(n as usize - 1).copied().unwrap_or("")
            ),
            (Locale::En, PeriodKind::Quarter) => format!("Q{n} {y}"),
            (Locale::En, PeriodKind::Half) => format!("H{n} {y}"),
            (Locale::En, PeriodKind::Year) => format!("{y}"),
        }
    }

    /// The short English name of `date`'s month (`Nov`).
    pub fn short_month(self, date: NaiveDate) -> &'static str {
        EN_MONTHS.get(date.month0() as usize).copied().unwrap_or("")
    }

    /// A time of day (`14:30` / `2:30 PM`).
    pub fn time(self, time: NaiveTime) -> String {
        match self {
            Locale::Zh => format!("{:02}:{:02}", time.hour(), time.minute()),
            Locale::En => {
                let (pm, hour) = time.hour12();
                let half = if pm { "PM" } else { "AM" };
                format!("{hour}:{:02} {half}", time.minute())
            }
        }
    }

    /// A day and a time of day, the year left out (`11月26日 14:30` / `Nov 26, 2:30 PM`).
    pub fn date_time(self, at: NaiveDateTime) -> String {
        let date = at.date();
        match self {
            Locale::Zh => format!(
                "{}月{}日 {}",
                date.month(),
                date.day(),
                self.time(at.time())
            ),
            Locale::En => format!(
                "{} {}, {}",
                EN_MONTHS[date.month0() as usize],
                date.day(),
                self.time(at.time())
            ),
        }
    }

    /// A date in a list: the month and day (`11月26日` / `Nov 26`), with the year only when
    /// it is not `today`'s year.
    pub fn short_date(self, date: NaiveDate, today: NaiveDate) -> String {
        let this_year = date.year() == today.year();
        match (self, this_year) {
            (Locale::Zh, true) => format!("{}月{}日", date.month(), date.day()),
            (Locale::Zh, false) => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
            (Locale::En, true) => format!("{} {}", EN_MONTHS[date.month0() as usize], date.day()),
            (Locale::En, false) => format!(
                "{} {}, {}",
                EN_MONTHS[date.month0() as usize],
                date.day(),
                date.year()
            ),
        }
    }

    /// The language's own name, as the language picker shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Zh => "中文",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Locale> {
        let lower = tag.to_ascii_lowercase();
        if lower.starts_with("zh") {
            Some(Locale::Zh)
        } else if lower.starts_with("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// The first of the browser's languages we speak; English otherwise.
    pub fn negotiate<S: AsRef<str>>(preferred: &[S]) -> Locale {
        preferred
            .iter()
            .find_map(|tag| Locale::from_tag(tag.as_ref()))
            .unwrap_or(Locale::En)
    }
}

/// The text for `key` in `locale`. Host tests check that every key the domain produces and every
/// literal key in `src/` has a translation, so the fallback never ships.
pub fn tr(locale: Locale, key: &str) -> &'static str {
    match lookup(key) {
        Some((en, zh)) => match locale {
            Locale::En => en,
            Locale::Zh => zh,
        },
        None => "…",
    }
}

/// Replaces `{}` in a translated template with `value`.
pub fn fill(template: &str, value: impl std::fmt::Display) -> String {
    template.replacen("{}", &value.to_string(), 1)
}

/// A count in a sentence: `key_one` for exactly one (English needs it; Chinese has the same
/// text), else `key` with the number filled in.
pub fn count(locale: Locale, key: &str, n: impl Into<u64>) -> String {
    let n = n.into();
    if n == 1 {
        if let Some((en, zh)) = lookup(&format!("{key}_one")) {
            return match locale {
                Locale::En => en,
                Locale::Zh => zh,
            }
            .to_string();
        }
    }
    fill(tr(locale, key), n)
}

/// A date something is due, said against `today` the way a rep reads a list: "逾期 2 天" /
/// "2 days overdue", "今天" / "Today", "明天" / "Tomorrow", "3 天后" / "In 3 days" within a
/// week, else the date.
pub fn due_day(locale: Locale, date: NaiveDate, today: NaiveDate) -> String {
    let days = (date - today).num_days();
    match days {
        ..0 => count(locale, "day.overdue", days.unsigned_abs()),
        0 => tr(locale, "day.today").to_string(),
        1 => tr(locale, "day.tomorrow").to_string(),
        2..=6 => fill(tr(locale, "day.in_days"), days),
        _ => locale.short_date(date, today),
    }
}

/// A day something happened, said against `today`: "今天", "昨天" / "Yesterday", "3 天前" /
/// "3 days ago" within a week, else the date (a future day, too).
pub fn past_day(locale: Locale, date: NaiveDate, today: NaiveDate) -> String {
    let days = (today - date).num_days();
    match days {
        0 => tr(locale, "day.today").to_string(),
        1 => tr(locale, "day.yesterday").to_string(),
        2..=6 => fill(tr(locale, "day.ago"), days),
        _ => locale.short_date(date, today),
    }
}

/// The reactive translator components use: `t("nav.today")`.
pub fn use_i18n() -> I18n {
    I18n(crate::state::use_app().locale)
}

#[derive(Clone, Copy)]
pub struct I18n(pub RwSignal<Locale>);

impl I18n {
    /// Tracks the locale, so views re-render when it changes.
    pub fn t(&self, key: &str) -> &'static str {
        tr(self.0.get(), key)
    }

    /// The text in the current language without tracking it: for event handlers and tasks,
    /// which run once and outside any view.
    pub fn now(&self, key: &str) -> &'static str {
        tr(self.0.get_untracked(), key)
    }

    pub fn locale(&self) -> Locale {
        self.0.get()
    }
}

/// The English and Chinese text for `key`: a binary search in [`MESSAGES`], whose keys are
/// sorted (a test checks it). A table of three string slices per message is several times
/// smaller in the wasm than the `match` on the key it replaces.
fn lookup(key: &str) -> Option<(&'static str, &'static str)> {
    let found = MESSAGES.binary_search_by(|(k, _, _)| (*k).cmp(key)).ok()?;
    MESSAGES.get(found).map(|(_, en, zh)| (*en, *zh))
}

macro_rules! messages {
    ($($key:literal => $en:literal, $zh:literal;)*) => {
        /// Every message as (key, English, Chinese), sorted by key.
        static MESSAGES: &[(&str, &str, &str)] = &[$(($key, $en, $zh)),*];

        /// Every key with a translation.
        pub const KEYS: &[&str] = &[$($key),*];
    };
}

// Keep the keys in byte order (`keys_are_sorted_for_the_binary_search`).
messages! {
    "account.last_synced" => "Last synced", "上次同步";
    "account.never" => "Never", "从未";
    "account.sign_out" => "Sign out", "退出登录";
    "account.sign_out_anyway" => "Sign out and delete", "退出并删除";
    "account.sign_out_confirm" => "Signing out deletes Fieldbook's data from this device. Everything that reached the server stays there.", "退出登录会删除本机上的 Fieldbook 数据，已同步到服务器的数据不受影响。";
    "account.sign_out_unsynced" => "{} records have changes that have not reached the server yet and will be lost.", "有 {} 条记录的更改尚未同步到服务器，退出后将丢失。";
    "account.sign_out_unsynced_one" => "1 record has changes that have not reached the server yet and will be lost.", "有 1 条记录的更改尚未同步到服务器，退出后将丢失。";
    "account.signed_in_as" => "Signed in as", "当前登录";
    "account.title" => "Account", "账号";
    "app.loading" => "Opening your data…", "正在打开数据…";
    "app.name" => "Fieldbook", "Fieldbook 外勤销售";
    "app_device.no_version" => "Not available offline yet", "尚不能离线使用";
    "app_device.title" => "App and storage", "应用与存储";
    "app_device.version" => "App version", "应用版本";
    "archive.attempts" => "Quiz attempts", "测验记录";
    "archive.back_to_team" => "Back to team progress", "返回团队培训进度";
    "archive.best" => "best {}%", "最高 {}%";
    "archive.col_attended" => "Attended", "签到";
    "archive.col_comment" => "Comment", "意见和建议";
    "archive.col_confirmed" => "Confirmed", "确认参加";
    "archive.col_date" => "Date", "日期";
    "archive.col_done" => "Done", "完成时间";
    "archive.col_kind" => "Kind", "类型";
    "archive.col_passed" => "Passed", "是否及格";
    "archive.col_person" => "Person", "姓名";
    "archive.col_rating" => "Rating", "评分";
    "archive.col_score" => "Score (%)", "得分（%）";
    "archive.col_title" => "Title", "标题";
    "archive.col_type" => "Record", "记录类型";
    "archive.col_usefulness" => "Usefulness", "实用性";
    "archive.done" => "Done", "已完成";
    "archive.done_on" => "Done {}", "{} 完成";
    "archive.download" => "Download CSV", "下载 CSV";
    "archive.download_failed" => "The browser did not save the file.", "浏览器未能保存文件。";
    "archive.file_matrix" => "team-training-progress", "团队培训进度";
    "archive.file_person" => "training-record", "培训档案";
    "archive.items" => "Training material", "培训资料";
    "archive.managers_only" => "Only managers can see other people's training records.", "只有销售经理可以查看他人的培训档案。";
    "archive.matrix_hint" => "Each cell says whether the person opened or finished the material, their best quiz score and whether they passed. Choose a name for that person's training record.", "每格显示是否已打开或完成、测验最高分及是否及格。点击姓名查看其培训档案。";
    "archive.no" => "No", "否";
    "archive.no_attempts" => "No quiz taken yet.", "还没有参加过测验。";
    "archive.no_items" => "Nothing assigned or opened yet.", "还没有指派或打开过的资料。";
    "archive.no_sessions" => "No sessions yet.", "还没有培训计划。";
    "archive.not_assigned" => "Not assigned", "未指派";
    "archive.not_opened" => "Not opened", "未打开";
    "archive.not_passed" => "not passed", "未及格";
    "archive.not_present" => "Not marked present", "未签到";
    "archive.nothing_assigned" => "No published material is assigned yet.", "还没有指派任何已发布的资料。";
    "archive.opened" => "Opened", "已打开";
    "archive.opened_on" => "Opened {}", "{} 打开";
    "archive.passed" => "passed", "已及格";
    "archive.person_title" => "Training record: {}", "{}的培训档案";
    "archive.sessions" => "Sessions", "培训计划";
    "archive.type_attempt" => "Quiz attempt", "测验记录";
    "archive.type_item" => "Training material", "培训资料";
    "archive.type_session" => "Session", "培训计划";
    "archive.unknown_item" => "(material no longer on this device)", "（本机已无此资料）";
    "archive.yes" => "Yes", "是";
    "audience.everyone" => "Everyone", "所有人";
    "audience.team" => "My team", "本团队";
    "book.loading" => "Loading your leads…", "正在加载客户…";
    "checkin.at" => "Checked in here (map)", "签到位置（地图）";
    "checkin.button" => "Check in here", "在此签到";
    "checkin.denied" => "Location access was refused. Allow it in the browser's settings to check in.", "定位权限被拒绝。请在浏览器设置中允许定位后再签到。";
    "checkin.done" => "Checked in, accurate to {} m:", "已签到，精度 {} 米：";
    "checkin.locating" => "Finding your position…", "正在定位…";
    "checkin.remove" => "Remove check-in", "取消签到";
    "checkin.title" => "Check-in (optional)", "签到（可选）";
    "checkin.unavailable" => "Could not find your position. Try again outside or later.", "无法获取位置，请到室外或稍后再试。";
    "checkin.unsupported" => "This browser cannot share its location.", "此浏览器不支持定位。";
    "conflict.keep" => "Keep as is", "保持不变";
    "conflict.kept" => "Kept", "保留";
    "conflict.replaced" => "Replaced", "被覆盖";
    "conflict.restore" => "Restore the replaced value", "恢复被覆盖的值";
    "conflict.restored" => "Value restored.", "已恢复。";
    "conflict.title" => "Changed on two devices at once", "两台设备同时修改";
    "contact.call_landline" => "Call landline {}", "拨打座机 {}";
    "contact.call_mobile" => "Call mobile {}", "拨打手机 {}";
    "contact.called_at" => "Called at {}", "{} 拨出";
    "contact.copy_failed" => "Could not copy. The WeChat ID is {}", "无法复制。微信号：{}";
    "contact.copy_wechat" => "Copy WeChat ID", "复制微信号";
    "contact.log_call" => "Log this call?", "记录这次通话？";
    "contact.not_now" => "Not now", "暂不记录";
    "contact.open_wechat" => "Open WeChat", "打开微信";
    "contact.title" => "Contact", "联系方式";
    "contact.wechat_copied" => "WeChat ID copied: {}", "已复制微信号：{}";
    "day.ago" => "{} days ago", "{} 天前";
    "day.in_days" => "In {} days", "{} 天后";
    "day.overdue" => "{} days overdue", "逾期 {} 天";
    "day.overdue_one" => "1 day overdue", "逾期 1 天";
    "day.today" => "Today", "今天";
    "day.tomorrow" => "Tomorrow", "明天";
    "day.yesterday" => "Yesterday", "昨天";
    "deal.deleted" => "Deal moved to the trash.", "成交记录已移入回收站。";
    "deal.edit_title" => "Edit deal", "编辑成交";
    "deal.saved" => "Deal saved.", "成交已保存。";
    "deal.title" => "Add a deal", "添加成交";
    "deal_status.refunded" => "Refunded", "已退款";
    "deal_status.won" => "Won", "已成交";
    "editor.add_option" => "Add an option", "添加选项";
    "editor.add_question" => "Add a question", "添加题目";
    "editor.add_quiz" => "Add a quiz", "添加测验";
    "editor.assign" => "Assign to", "指派给";
    "editor.assign_people" => "Or choose reps:", "或选择销售代表：";
    "editor.assign_team" => "The whole team", "全体团队成员";
    "editor.attach" => "Add images or PDFs", "添加图片或 PDF";
    "editor.attach_hint" => "PNG, JPEG, WebP, GIF or PDF, up to {} each. Images are added at the end of the text.", "支持 PNG、JPEG、WebP、GIF 和 PDF，每个文件不超过 {}。图片会插入到正文末尾。";
    "editor.attaching" => "Adding files…", "正在添加文件…";
    "editor.body_hint" => "Markdown: # heading, **bold**, - list, | table |. Attached images go in as ![name](attachment:…).", "Markdown 格式：# 标题、**加粗**、- 列表、| 表格 |。添加的图片以 ![名称](attachment:…) 插入。";
    "editor.body_view" => "Show the text or its preview", "显示正文或预览";
    "editor.draft_hint" => "Until it is published, a draft is seen only by you and the managers of your team.", "发布之前，草稿只有你和本团队的销售经理可见。";
    "editor.due_on" => "Due date", "截止日期";
    "editor.edit_title" => "Edit training material", "编辑培训资料";
    "editor.explanation" => "Explanation (shown after answering)", "答案解析（提交后显示）";
    "editor.false" => "False", "错";
    "editor.field_audience" => "Audience", "发布范围";
    "editor.field_body" => "Text (Markdown)", "正文（Markdown）";
    "editor.field_kind" => "Kind", "类型";
    "editor.field_title" => "Title", "标题";
    "editor.file_duplicate" => "“{}” is attached already.", "“{}”已经添加过了。";
    "editor.file_empty" => "“{}” was not added: the file is empty.", "“{}”未添加：文件是空的。";
    "editor.file_not_kept" => "“{}” could not be kept on this device.", "“{}”无法保存到本机。";
    "editor.file_too_large" => "“{}” was not added: it is larger than {}.", "“{}”未添加：文件超过 {}。";
    "editor.file_too_many" => "“{}” was not added: an item holds at most {} files.", "“{}”未添加：每份资料最多 {} 个附件。";
    "editor.file_type" => "“{}” was not added: only images (PNG, JPEG, WebP, GIF) and PDFs can be attached.", "“{}”未添加：只能添加图片（PNG、JPEG、WebP、GIF）和 PDF。";
    "editor.file_unreadable" => "“{}” could not be read.", "无法读取“{}”。";
    "editor.image" => "Image", "图片";
    "editor.managers_only" => "Only managers can edit training material.", "只有销售经理可以编辑培训资料。";
    "editor.move_down" => "Move down", "下移";
    "editor.move_up" => "Move up", "上移";
    "editor.new_title" => "New training material", "新建培训资料";
    "editor.option_n" => "Option {}", "选项 {}";
    "editor.options_multiple" => "Options: tick every right answer", "选项：勾选所有正确答案";
    "editor.options_single" => "Options: choose the right answer", "选项：选出正确答案";
    "editor.pass_mark" => "Pass mark (%)", "及格分（%）";
    "editor.pdf" => "PDF", "PDF";
    "editor.preview" => "Preview", "预览";
    "editor.prompt" => "Question", "题目";
    "editor.publish" => "Publish", "发布";
    "editor.publish_new_version" => "Publish as new version", "发布为新版本";
    "editor.published" => "Published.", "已发布。";
    "editor.question_incomplete" => "This question needs a prompt, text in every option and its right answer.", "本题需要填写题目和每个选项，并标出正确答案。";
    "editor.question_kind" => "Answer type", "题型";
    "editor.question_n" => "Question {}", "第 {} 题";
    "editor.remove" => "Remove", "移除";
    "editor.remove_question" => "Remove question", "删除本题";
    "editor.remove_quiz" => "Remove the quiz", "删除测验";
    "editor.right" => "Right", "正确";
    "editor.save_changes" => "Save changes", "保存修改";
    "editor.save_draft" => "Save draft", "保存草稿";
    "editor.state_published" => "Published · version {}", "已发布 · 第 {} 版";
    "editor.trash" => "Move to trash", "移到回收站";
    "editor.trash_draft" => "Move this draft to the trash? You can undo it right after.", "将此草稿移到回收站？移除后可立即撤销。";
    "editor.trash_published" => "Move this material to the trash? Every reader loses it; you can undo it right after.", "将此资料移到回收站？所有读者将无法再看到它；移除后可立即撤销。";
    "editor.trashed" => "Moved to the trash.", "已移到回收站。";
    "editor.true" => "True", "对";
    "editor.versions_hint" => "“Save changes” corrects the material without telling readers; “Publish as new version” tells them it was updated since they read it.", "“保存修改”用于更正，不提示读者；“发布为新版本”会提示读者资料在上次阅读后有更新。";
    "editor.write" => "Write", "编辑";
    "error.amount" => "Enter an amount like 12800 or 12,800.50.", "请输入金额，例如 12800 或 12,800.50。";
    "error.amount_negative" => "The amount cannot be negative.", "金额不能为负数。";
    "error.amount_too_large" => "This amount is too large.", "金额过大。";
    "error.attachment" => "This file cannot be attached: images (PNG, JPEG, WebP, GIF) and PDFs only, within the size limit.", "此文件不能作为附件：仅支持图片（PNG、JPEG、WebP、GIF）和 PDF，且不超过大小限制。";
    "error.before_visit" => "The next follow-up cannot be before the visit.", "下次跟进日期不能早于拜访日期。";
    "error.count" => "Enter a whole number from 0 to 1,000,000.", "请输入 0 到 1,000,000 之间的整数。";
    "error.currency" => "Use a three-letter currency code such as CNY or USD.", "请使用三位货币代码，例如 CNY 或 USD。";
    "error.date" => "Enter a valid date.", "请输入有效的日期。";
    "error.date_out_of_range" => "This date is out of range.", "日期超出范围。";
    "error.datetime" => "Enter a valid date and time.", "请输入有效的日期和时间。";
    "error.duration" => "Enter a duration between 1 and 1440 minutes.", "请输入 1 到 1440 分钟之间的时长。";
    "error.email" => "Enter an email address like name@example.com.", "请输入有效的邮箱地址，例如 name@example.com。";
    "error.follow_up_days" => "A follow-up interval is 1 to 366 days.", "跟进间隔须为 1 到 366 天。";
    "error.id" => "The linked record is not valid.", "关联的记录无效。";
    "error.latlng" => "The location is not valid.", "位置无效。";
    "error.narrowed" => "Published material cannot be taken back from its readers. To withdraw it, move it to the trash.", "已发布的资料不能从读者处收回。如需撤回，请将其移到回收站。";
    "error.percent" => "Enter a percentage from 0 to 100.", "请输入 0 到 100 之间的百分比。";
    "error.phone" => "Enter a phone number of 5 to 15 digits, e.g. 138 0013 8000 or +86 10 1234 5678.", "请输入 5 到 15 位数字的电话号码，例如 138 0013 8000 或 +86 10 1234 5678。";
    "error.quiz" => "The quiz is incomplete: each question needs a prompt, at least two options and a right answer; the pass mark is 0–100.", "测验不完整：每道题需要题目、至少两个选项和正确答案；及格分为 0–100。";
    "error.quota" => "Your account holds the most records this server allows, so this one was not added. Ask your manager or the server's administrator.", "您的账号已达到服务器允许的记录上限，此条未能添加。请联系主管或服务器管理员。";
    "error.rating" => "Choose a rating from 1 to 5.", "请选择 1 到 5 的评分。";
    "error.required" => "This field is required.", "此项为必填项。";
    "error.storage" => "Could not save on this device. Nothing you typed was lost; try again.", "无法保存到本机。已填写的内容都还在，请重试。";
    "error.storage_full" => "This device is out of storage space. Free some space, then save again; nothing already saved was lost.", "本机存储空间已满。请清理空间后再保存，已保存的数据不会丢失。";
    "error.storage_open" => "Could not open the local database. Private browsing may block it.", "无法打开本地数据库，隐私浏览模式可能会阻止它。";
    "error.tag" => "Tags are at most 32 characters, and at most 20 of them.", "每个标签最多 32 个字，最多 20 个标签。";
    "error.too_far_past" => "This date is too far in the past. Pick a day from last week onwards.", "日期过早，请选择上周以后的日期。";
    "error.too_long" => "This is too long.", "内容太长。";
    "error.unknown_option" => "Choose one of the options.", "请从选项中选择。";
    "field.address" => "Address", "地址";
    "field.after_sales" => "After-sales notes", "售后服务记录";
    "field.amount" => "Amount", "金额";
    "field.closed_on" => "Closed on", "成交日期";
    "field.company" => "Company", "公司";
    "field.currency" => "Currency", "币种";
    "field.date" => "Date", "日期";
    "field.deleted" => "In trash", "已删除";
    "field.duration" => "Duration (minutes)", "时长（分钟）";
    "field.email" => "Email", "邮箱";
    "field.expected_close" => "Expected close", "预计成交日期";
    "field.expected_value" => "Expected value", "预计金额";
    "field.grade" => "Grade", "客户分级";
    "field.intent" => "Purchase intent", "购买意向";
    "field.kind" => "Kind", "方式";
    "field.lead" => "Lead", "客户";
    "field.name" => "Name", "姓名";
    "field.needs" => "Needs", "客户需求";
    "field.needs_discovered" => "Needs discovered", "发现的需求";
    "field.new_lead_inline" => "New lead…", "新建客户…";
    "field.next_follow_up" => "Next follow-up", "下次跟进日期";
    "field.next_step" => "Next step", "下一步";
    "field.none" => "—", "—";
    "field.notes" => "Notes", "备注";
    "field.objections" => "Objections", "客户异议";
    "field.outcome" => "Outcome", "洽谈结果";
    "field.phones" => "Phone(s)", "电话";
    "field.phones_hint" => "Separate several numbers with commas", "多个号码用逗号分隔";
    "field.pick_lead" => "Choose a lead…", "选择客户…";
    "field.product" => "Product / description", "产品 / 说明";
    "field.referred_by" => "Referred by", "转介绍人";
    "field.required_mark" => "required", "必填";
    "field.source" => "Source channel", "来源渠道";
    "field.stage" => "Stage", "销售阶段";
    "field.stage_after" => "Stage after the visit", "拜访后阶段";
    "field.stage_unchanged" => "Unchanged", "不变";
    "field.status" => "Status", "状态";
    "field.strategy" => "Follow-up strategy", "跟进策略";
    "field.tags" => "Tags", "标签";
    "field.tags_hint" => "Separate tags with commas", "多个标签用逗号分隔";
    "field.time" => "Time", "时间";
    "field.title" => "Title", "职务";
    "field.wechat" => "WeChat ID", "微信号";
    "followup.in_2_weeks" => "In 2 weeks", "2 周后";
    "followup.in_3_days" => "In 3 days", "3 天后";
    "followup.next_week" => "Next week", "下周";
    "followup.none" => "None", "不设";
    "followup.pick" => "Pick a date", "选择日期";
    "followup.tomorrow" => "Tomorrow", "明天";
    "form.cancel" => "Cancel", "取消";
    "form.fix_errors" => "Please correct the highlighted fields; nothing was lost.", "请修改标出的内容，已填写的内容都还在。";
    "form.save" => "Save", "保存";
    "form.saved" => "Saved on this device.", "已保存到本机。";
    "form.saving" => "Saving…", "正在保存…";
    "form.trash_confirm" => "Move this to the trash? You can undo it right after.", "将其移到回收站？移除后可立即撤销。";
    "grade.a" => "A", "A 类";
    "grade.b" => "B", "B 类";
    "grade.c" => "C", "C 类";
    "grade.d" => "D", "D 类";
    "install.button" => "Install Fieldbook", "安装 Fieldbook";
    "install.close" => "Close", "关闭";
    "install.from_menu" => "To install Fieldbook, choose “Install app” or “Add to Home screen” in the browser's menu.", "如需安装，请在浏览器菜单中选择“安装应用”或“添加到主屏幕”。";
    "install.hint" => "Install Fieldbook to open it from the home screen, full screen, even with no signal.", "将 Fieldbook 安装到主屏幕：全屏打开，没有信号也能用。";
    "install.installed" => "Fieldbook is installed on this device.", "Fieldbook 已安装在本设备上。";
    "install.ios_button" => "How to install", "如何安装";
    "install.ios_step1" => "Tap Share (the square with an arrow) in Safari's toolbar.", "点按 Safari 工具栏中的“分享”按钮（带向上箭头的方框）。";
    "install.ios_step2" => "Choose “Add to Home Screen” in the list.", "在列表中选择“添加到主屏幕”。";
    "install.ios_step3" => "Tap “Add”, then open Fieldbook from its icon.", "点按“添加”，之后从主屏幕图标打开 Fieldbook。";
    "install.ios_title" => "Add Fieldbook to the Home Screen", "将 Fieldbook 添加到主屏幕";
    "install.ios_today" => "On iPhone and iPad, Safari deletes Fieldbook's data after 7 days without use unless Fieldbook is on the Home Screen. Add it there to keep your book safe.", "在 iPhone 和 iPad 上，Fieldbook 未添加到主屏幕时，Safari 会在 7 天未使用后删除它的数据。请将其添加到主屏幕，保护您的客户资料。";
    "install.not_now" => "Not now", "暂不";
    "intent.high" => "High", "高";
    "intent.low" => "Low", "低";
    "intent.medium" => "Medium", "中";
    "item_kind.case_study" => "Case study", "案例分析";
    "item_kind.checklist" => "Checklist", "检查清单";
    "item_kind.manual" => "Manual", "培训手册";
    "item_kind.product_sheet" => "Product sheet", "产品资料";
    "item_kind.quiz" => "Quiz", "测验";
    "item_kind.script" => "Sales script", "销售话术";
    "lead.add_deal" => "Add a deal", "添加成交";
    "lead.back_to_list" => "Back to leads", "返回客户列表";
    "lead.call" => "Call", "拨打";
    "lead.delete" => "Delete", "删除";
    "lead.deleted" => "Lead moved to the trash.", "客户已移入回收站。";
    "lead.deleted_note" => "This lead is in the trash.", "此客户已在回收站中。";
    "lead.details" => "Details", "客户信息";
    "lead.edit" => "Edit", "编辑";
    "lead.edit_title" => "Edit lead", "编辑客户";
    "lead.log_visit" => "Log a visit", "记录拜访";
    "lead.mail" => "Email", "邮件";
    "lead.map" => "Map", "地图";
    "lead.new_title" => "New lead", "新客户";
    "lead.not_found" => "This lead is not on this device.", "本机上没有这个客户。";
    "lead.not_found_title" => "Lead not found", "找不到该客户";
    "lead.owner" => "Owner", "负责人";
    "lead.reassign" => "Hand over the lead", "转交客户";
    "lead.reassign_none" => "No other rep in your team yet.", "团队中暂无其他销售代表。";
    "lead.reassign_to" => "Hand over to", "转交给";
    "lead.reassigned" => "Handed over to {}: their devices get the lead with its visits and deals at the next sync.", "已转交给{}：其设备下次同步时将收到该客户及其拜访和成交记录。";
    "lead.referrals" => "Referrals made", "转介绍的客户";
    "lead.restore" => "Restore", "恢复";
    "lead.restored" => "Lead restored.", "客户已恢复。";
    "lead.sms" => "Text", "短信";
    "lead.timeline" => "Timeline", "跟进记录";
    "lead.timeline_empty" => "No visits or deals yet.", "还没有拜访或成交记录。";
    "lead.trash_confirm" => "Move this lead to the trash? You can restore it from Settings → Trash.", "将此客户移到回收站？可在“设置 → 回收站”中恢复。";
    "leads.any" => "All", "全部";
    "leads.chip_separator" => ": ", "：";
    "leads.count" => "{} leads", "{} 位客户";
    "leads.count_one" => "1 lead", "1 位客户";
    "leads.empty" => "No leads yet. Add your first one.", "还没有客户，先添加一位吧。";
    "leads.filter_grade" => "Grade", "分级";
    "leads.filter_owner" => "Owner", "负责人";
    "leads.filter_source" => "Source", "来源";
    "leads.filter_stage" => "Stage", "阶段";
    "leads.filter_tag" => "Tag", "标签";
    "leads.filters" => "Filters", "筛选";
    "leads.filters_clear" => "Clear filters", "清除筛选";
    "leads.follow_up" => "Next follow-up: ", "下次跟进：";
    "leads.new" => "New lead", "新客户";
    "leads.no_match" => "No lead matches.", "没有符合条件的客户。";
    "leads.pick_one" => "Choose a lead to see its details.", "选择一位客户查看详情。";
    "leads.search" => "Search name, company, phone, tag or pinyin initials", "搜索姓名、公司、电话、标签或拼音首字母";
    "leads.search_label" => "Search leads", "搜索客户";
    "leads.sheet_done" => "Done", "完成";
    "leads.show_more" => "Show more", "显示更多";
    "leads.sort" => "Sort", "排序";
    "leads.title" => "Leads", "客户";
    "login.again" => "Your session ended. Sign in again; nothing on this device was lost.", "登录已过期。请重新登录，本机上的数据都还在。";
    "login.bad_credentials" => "Wrong login name or password.", "登录名或密码错误。";
    "login.failed" => "The server could not sign you in. Try again later.", "服务器暂时无法登录，请稍后再试。";
    "login.intro" => "Your customers stay on this device and sync with your team's server.", "客户资料保存在本机，并与团队服务器同步。";
    "login.locked" => "Too many failed attempts. Wait a moment and try again.", "登录失败次数过多，请稍候再试。";
    "login.login" => "Login name", "登录名";
    "login.offline" => "Signing in needs a connection to the server.", "登录需要连接服务器。";
    "login.other_user" => "This device holds the data of {}. Sign out in Settings first.", "本机保存的是 {} 的数据。请先在设置中退出登录。";
    "login.password" => "Password", "密码";
    "login.required" => "Enter your login name and password.", "请输入登录名和密码。";
    "login.show_password" => "Show password", "显示密码";
    "login.submit" => "Sign in", "登录";
    "login.title" => "Sign in to Fieldbook", "登录 Fieldbook";
    "login.working" => "Signing in…", "正在登录…";
    "markdown.image_missing" => "Image not downloaded to this device yet", "图片尚未下载到本机";
    "markdown.task_done" => "done", "已完成";
    "markdown.task_open" => "to do", "待办";
    "menu.more" => "More actions", "更多操作";
    "menu.trash" => "Move to trash", "移到回收站";
    "metric.deal_amount" => "Deal amount", "成交金额";
    "metric.deal_count" => "Deals", "成交单数";
    "metric.new_leads" => "New leads", "新增客户";
    "metric.visits" => "Visits", "拜访次数";
    "nav.back" => "Back", "返回";
    "nav.leads" => "Leads", "客户";
    "nav.main" => "Main", "主导航";
    "nav.reports" => "Reports", "业绩";
    "nav.settings" => "Settings", "设置";
    "nav.skip" => "Skip to content", "跳到主要内容";
    "nav.today" => "Today", "今日";
    "nav.training" => "Training", "培训";
    "nav.visit" => "Visit", "拜访";
    "net.all_saved" => "All changes saved on this device", "所有更改已保存在本机";
    "net.offline" => "Offline — changes are kept on this device", "离线 — 更改已保存在本机";
    "net.waiting" => "{} changes waiting to sync", "{} 条更改待同步";
    "net.waiting_one" => "1 change waiting to sync", "1 条更改待同步";
    "notfound.home" => "Go to Today", "返回今日";
    "notfound.text" => "There is nothing at this address.", "这个地址没有内容。";
    "notfound.title" => "Page not found", "页面不存在";
    "password.change" => "Change password", "修改密码";
    "password.changed" => "Password changed. Your other devices will ask you to sign in again.", "密码已修改。您的其他设备需要重新登录。";
    "password.confirm" => "Repeat the new password", "再次输入新密码";
    "password.current" => "Current password", "当前密码";
    "password.first_time" => "You signed in with a one-time password. Choose your own password to continue.", "您使用一次性密码登录。请先设置自己的密码再继续。";
    "password.hint" => "At least 12 characters. A few unrelated words you will remember work well.", "至少 12 个字符。几个互不相关、又好记的词语组合即可。";
    "password.mismatch" => "The two new passwords differ.", "两次输入的新密码不一致。";
    "password.new" => "New password", "新密码";
    "password.personal" => "Do not put your login or name in your password.", "密码中不要包含登录名或姓名。";
    "password.save" => "Save password", "保存密码";
    "password.saving" => "Saving…", "正在保存…";
    "password.title" => "Choose a new password", "设置新密码";
    "password.too_common" => "This password is too common or easy to guess. Try a few unrelated words.", "该密码过于常见或容易被猜到。请试试几个互不相关的词语组合。";
    "password.too_long" => "Use at most 128 characters.", "密码最多 128 个字符。";
    "password.too_short" => "Use at least 12 characters.", "密码至少需要 12 个字符。";
    "password.unchanged" => "Choose a password different from the current one.", "新密码不能与当前密码相同。";
    "password.wrong_current" => "The current password is wrong.", "当前密码不正确。";
    "period.half" => "Half-year", "半年度";
    "period.month" => "Month", "月度";
    "period.quarter" => "Quarter", "季度";
    "period.year" => "Year", "年度";
    "picker.recent" => "Visited recently", "最近拜访";
    "picker.search" => "Search name, company, phone…", "搜索姓名、公司、电话…";
    "pipeline.expected" => "Expected {}", "预计 {}";
    "pipeline.forecast" => "Weighted forecast of open leads: {}", "在谈客户加权预计：{}";
    "pipeline.more" => "{} more in the lead list", "列表中还有 {} 个";
    "pipeline.more_one" => "1 more in the lead list", "列表中还有 1 个";
    "pipeline.move_named" => "Move {} to stage", "将 {} 移到阶段";
    "pipeline.moved" => "Moved to {}.", "已移到{}。";
    "pipeline.reason" => "Reason", "原因";
    "pipeline.reason_none" => "Not given", "未填写";
    "pipeline.title" => "Pipeline", "销售漏斗";
    "pipeline.why" => "Why {}?", "{}原因";
    "progress.behind" => "Behind pace for the time gone", "进度落后于时间";
    "progress.last_year" => "Same period last year: {}", "去年同期：{}";
    "progress.month" => "This month", "本月";
    "progress.on_pace" => "On pace", "进度正常";
    "progress.percent" => "{}% of target reached", "已完成目标的 {}%";
    "progress.quarter" => "This quarter", "本季度";
    "progress.set_targets" => "Set the team's sales targets", "设置团队销售目标";
    "progress.team_title" => "Team targets", "团队目标";
    "progress.title" => "My targets", "我的目标";
    "punct.colon" => ": ", "：";
    "question_kind.multiple" => "Multiple choice", "多选题";
    "question_kind.single" => "Single choice", "单选题";
    "question_kind.true_false" => "True or false", "判断题";
    "rejected.dismiss" => "Dismiss", "知道了";
    "rejected.forbidden" => "You may not change this record.", "你无权修改此记录。";
    "rejected.malformed" => "The change could not be read.", "无法读取此更改。";
    "rejected.title" => "The server did not accept a change", "服务器未接受一项更改";
    "rejected.too_large" => "This change is too large to send: the server takes at most {} KB at a time. Shorten the notes and save again.", "此更改太大，无法同步：服务器每次最多接收 {} KB。请缩短备注后重新保存。";
    "rejected.tried" => "What you entered", "你填写的内容";
    "rejected.unknown" => "The record no longer exists on the server.", "该记录在服务器上已不存在。";
    "reports.actual" => "Actual", "实际完成";
    "reports.amount" => "Amount", "金额";
    "reports.by_source" => "Deals by source channel", "成交来源渠道";
    "reports.conversion" => "Conversion from the step before", "上一阶段转化率";
    "reports.deals" => "Deals", "成交单数";
    "reports.download" => "Download CSV", "下载 CSV";
    "reports.earlier" => "Earlier", "上一期";
    "reports.file" => "Reports", "业绩报表";
    "reports.funnel" => "Funnel", "销售漏斗";
    "reports.funnel_hint" => "Leads created in the period, by the furthest stage each reached.", "本期新增客户，按各自到达的最远阶段统计。";
    "reports.last_year" => "Same period last year", "去年同期";
    "reports.later" => "Later", "下一期";
    "reports.leaderboard" => "Team leaderboard", "团队业绩排行";
    "reports.leads" => "Leads", "客户数";
    "reports.metric" => "Metric", "指标";
    "reports.no_deals" => "No deals in this period.", "本期没有成交。";
    "reports.no_outcomes" => "No sale won or lost in this period.", "本期没有赢单或丢单。";
    "reports.no_targets" => "No target set for this period.", "本期未设目标。";
    "reports.no_visits" => "No visits in this period.", "本期没有拜访。";
    "reports.outcome" => "Outcome", "结果";
    "reports.outcomes" => "Why sales were won or lost", "赢单与丢单原因";
    "reports.overdue" => "Overdue follow-ups", "逾期跟进";
    "reports.overdue_by_rep" => "Overdue follow-ups per rep", "各销售员逾期跟进";
    "reports.percent" => "Reached", "完成率";
    "reports.period_kind" => "Period", "周期";
    "reports.rep" => "Rep", "销售员";
    "reports.stage" => "Stage", "阶段";
    "reports.subject" => "Whose figures", "查看对象";
    "reports.target" => "Target", "目标";
    "reports.targets" => "Targets and actuals", "目标完成情况";
    "reports.team_targets" => "The team's targets", "团队目标";
    "reports.title" => "Reports", "业绩";
    "reports.total" => "Total", "合计";
    "reports.visits" => "Visits", "拜访";
    "reports.visits_by_week" => "Visits per week by kind", "每周拜访（按方式）";
    "reports.week" => "Week of", "周起始";
    "reports.week_empty" => "Nothing logged this week.", "本周没有记录。";
    "reports.week_of" => "{}'s week", "{} 的一周";
    "reports.week_starting" => "Week of {}", "{}起的一周";
    "reports.whole_team" => "Whole team", "全团队";
    "role.admin" => "Administrator", "管理员";
    "role.manager" => "Sales manager", "销售经理";
    "role.rep" => "Sales rep", "销售代表";
    "session.agenda" => "Agenda", "培训议程";
    "session.agenda_hint" => "Markdown: # heading, **bold**, - list, [link](https://…).", "Markdown 格式：# 标题、**加粗**、- 列表、[链接](https://…)。";
    "session.confirm" => "Confirm I will attend", "确认参加";
    "session.confirmed" => "Attendance confirmed.", "已确认参加。";
    "session.confirmed_on" => "Confirmed {}", "已于 {} 确认参加";
    "session.edit_title" => "Edit session", "编辑培训计划";
    "session.evaluation_summary" => "{} evaluations · average rating {} / 5 · usefulness {} / 5", "共 {} 份评估 · 平均评分 {} / 5 · 实用性 {} / 5";
    "session.evaluations" => "Evaluations", "培训评估";
    "session.invite_team" => "Invite the whole team", "邀请全体团队成员";
    "session.invited" => "Invite", "邀请参加";
    "session.invitee_summary" => "{} confirmed of {} invited · {} present", "已确认 {} 人，共邀请 {} 人，已签到 {} 人";
    "session.invitees" => "Invitees and attendance", "参训人员与签到";
    "session.item_missing" => "Material not on this device", "本机没有此资料";
    "session.items" => "Material covered", "涉及的培训资料";
    "session.items_filter" => "Filter material", "筛选资料";
    "session.managers_only" => "Only managers can schedule training sessions.", "只有销售经理可以安排培训。";
    "session.marked_present" => "Marked present", "已签到";
    "session.method" => "Method", "培训方式";
    "session.new_title" => "Schedule a session", "安排培训";
    "session.no_evaluations" => "No evaluations yet.", "还没有收到评估。";
    "session.no_items" => "No published material matches.", "没有匹配的已发布资料。";
    "session.nobody_invited" => "Nobody is invited yet.", "还没有邀请任何人。";
    "session.not_confirmed" => "Not confirmed", "未确认";
    "session.not_invited" => "not invited", "未受邀";
    "session.place" => "Place or online link", "地点或线上会议链接";
    "session.place_hint" => "A room, an address, or a link starting with https://", "会议室、地址，或以 https:// 开头的链接";
    "session.present" => "Present", "签到";
    "session.rating" => "Overall rating (1 = poor, 5 = excellent)", "总体评分（1 = 很差，5 = 很好）";
    "session.rating_of" => "rating {}/5", "评分 {}/5";
    "session.review" => "Review", "总结复盘";
    "session.review_label" => "What went well, what to improve, next steps", "培训效果、存在问题与改进措施";
    "session.review_save" => "Save review", "保存总结复盘";
    "session.review_saved" => "Review saved.", "总结复盘已保存。";
    "session.saved" => "Session saved.", "培训计划已保存。";
    "session.trashed" => "Session moved to the trash.", "培训计划已移到回收站。";
    "session.usefulness" => "Useful for your work (1 = not at all, 5 = very)", "对工作的帮助（1 = 没有帮助，5 = 很有帮助）";
    "session.usefulness_of" => "usefulness {}/5", "实用性 {}/5";
    "session.when" => "When", "时间";
    "session.where" => "Where", "地点";
    "session.your_attendance" => "Your attendance", "我的出勤";
    "session_method.case_study" => "Case study", "案例研讨";
    "session_method.classroom" => "Classroom", "课堂讲授";
    "session_method.online" => "Online", "线上培训";
    "session_method.role_play" => "Role play", "角色扮演";
    "settings.about" => "About Fieldbook", "关于 Fieldbook";
    "settings.device" => "This device", "本机";
    "settings.device_id" => "Device ID", "设备编号";
    "settings.language" => "Language", "语言";
    "settings.schema" => "Local database version", "本地数据库版本";
    "settings.theme" => "Theme", "外观";
    "settings.title" => "Settings", "设置";
    "settings.trash" => "Trash", "回收站";
    "settings.trash_empty" => "The trash is empty.", "回收站是空的。";
    "settings.waiting" => "Changes waiting to sync", "待同步的更改";
    "sort.name" => "Name", "姓名";
    "sort.next_follow_up" => "Next follow-up", "下次跟进";
    "sort.updated" => "Recently updated", "最近更新";
    "sort.value" => "Expected value", "预计金额";
    "source.cold_visit" => "Cold visit", "陌生拜访";
    "source.conference_sale" => "Conference sale", "会销";
    "source.other" => "Other", "其他";
    "source.phone_inquiry" => "Phone inquiry", "电话咨询";
    "source.qq_group" => "QQ group", "QQ 群";
    "source.referral" => "Referral", "转介绍";
    "source.trade_show" => "Trade show", "展会";
    "source.website" => "Website", "官方网站";
    "source.wechat" => "WeChat", "微信";
    "stage.after_sales" => "After-sales", "售后服务";
    "stage.lost" => "Lost", "流失";
    "stage.needs_analysis" => "Needs analysis", "需求分析";
    "stage.negotiation" => "Price negotiation", "价格谈判";
    "stage.presentation" => "Presentation & demo", "产品介绍和演示";
    "stage.prospecting" => "Prospecting", "潜在客户开发";
    "stage.won" => "Won", "成交";
    "stage_reason.budget" => "Budget", "预算";
    "stage_reason.competitor" => "Competitor", "竞争对手";
    "stage_reason.no_need" => "No need", "无需求";
    "stage_reason.other" => "Other", "其他";
    "stage_reason.price" => "Price", "价格";
    "stage_reason.product" => "Product", "产品";
    "stage_reason.relationship" => "Relationship", "客户关系";
    "stage_reason.service" => "Service", "服务";
    "stage_reason.timing" => "Timing", "时机";
    "storage.ask_again" => "Ask to keep the data", "请求保留数据";
    "storage.kept" => "Yes: the browser will not clear this data to free space.", "是：浏览器不会为腾出空间而清除这些数据。";
    "storage.kept_label" => "Kept by the browser", "浏览器保留数据";
    "storage.not_kept" => "The browser may delete Fieldbook's data on this device when space runs low, and Safari deletes it after 7 days without use unless Fieldbook is installed. Install the app, and sync before you put the device away.", "存储空间不足时，浏览器可能删除本机上的 Fieldbook 数据；未安装到主屏幕时，Safari 会在 7 天未使用后删除。请安装应用，并在放下设备前同步。";
    "storage.not_kept_short" => "No: the browser may clear it.", "否：浏览器可能清除这些数据。";
    "storage.unknown" => "Unknown in this browser", "此浏览器无法获知";
    "storage.used" => "Storage used", "已用存储";
    "sync.detail_synced" => "Everything on this device has reached the server.", "本机的数据已全部同步到服务器。";
    "sync.detail_waiting" => "Your changes are saved on this device and go to the server at the next sync.", "更改已保存在本机，下次同步时上传到服务器。";
    "sync.notice_dismiss" => "Got it", "知道了";
    "sync.now" => "Sync now", "立即同步";
    "sync.panel" => "Sync", "同步";
    "sync.pill_error" => "Sync error", "同步出错";
    "sync.pill_offline" => "Offline", "离线";
    "sync.pill_sign_in" => "Sign in again", "请重新登录";
    "sync.pill_unreachable" => "Server unreachable", "连不上服务器";
    "sync.records_label" => "Records waiting to sync", "待同步的记录";
    "sync.records_waiting" => "{} records waiting", "{} 条记录待同步";
    "sync.records_waiting_one" => "1 record waiting", "1 条记录待同步";
    "sync.refused" => "The server refused to sync; it will try again", "服务器拒绝了同步，稍后会重试";
    "sync.server_went_back" => "The server was restored from an earlier backup. This device sent again the {} changes it still held and reloaded everything from the server; check your most recent edits.", "服务器已从较早的备份恢复。本机已重新发送仍保存的 {} 条更改，并从服务器重新载入全部数据；请核对你最近的修改。";
    "sync.sign_in" => "Sign in", "登录";
    "sync.signed_out" => "Signed out — sign in again to sync", "登录已过期 — 请重新登录以同步";
    "sync.synced_at" => "Synced {}", "已同步 {}";
    "sync.syncing" => "Syncing…", "正在同步…";
    "sync.unreachable" => "Server unreachable — changes are kept on this device", "无法连接服务器 — 更改已保存在本机";
    "targets.basis_equal" => "No history yet: split equally.", "暂无历史业绩：平均分解。";
    "targets.basis_last_month" => "Split by each rep's actual last month.", "按各人上月实际完成分解。";
    "targets.basis_last_year" => "Split by each rep's actual in the same period last year.", "按各人去年同期实际完成分解。";
    "targets.hint" => "Set the team's figure, split it among the reps, adjust, then save.", "填写团队目标，分解到每位销售员，调整后保存。";
    "targets.managers_only" => "Only managers set sales targets.", "只有经理可以设置销售目标。";
    "targets.no_team" => "Your account belongs to no team.", "你的账号不属于任何团队。";
    "targets.reps" => "Each rep", "每位销售员";
    "targets.split" => "Split among the reps", "计划分解";
    "targets.sum" => "Reps together: {}", "销售员合计：{}";
    "targets.team" => "Team", "团队";
    "targets.title" => "Sales targets", "销售目标";
    "targets.unchanged" => "Nothing changed.", "没有改动。";
    "targets.unit_amount" => " (amount, e.g. 50万)", "（金额，如 50万）";
    "targets.unit_count" => " (number)", "（数量）";
    "team.accounts" => "Team accounts", "团队账号";
    "team.chance_for" => "{} (%)", "{}（%）";
    "team.chances_hint" => "How likely a lead in each stage is to be won: the pipeline's expected value.", "各阶段客户的成交可能性，用于计算销售漏斗的预计金额。";
    "team.chances_title" => "Win probability by stage", "各阶段赢率";
    "team.days" => "{} days", "{} 天";
    "team.days_for" => "{}: days", "{}：天数";
    "team.one_time_hint" => "Give it to them in person. It is shown only this once; when they sign in with it they choose their own.", "请当面交给对方。此密码只显示这一次，对方用它登录后需设置自己的密码。";
    "team.one_time_password" => "One-time password for {}", "{} 的一次性密码";
    "team.reset_confirm" => "Give {} a new one-time password? Their devices will ask them to sign in again; nothing unsynced is lost.", "为 {} 生成新的一次性密码？对方的设备需要重新登录，未同步的内容不会丢失。";
    "team.reset_password" => "Reset password", "重置密码";
    "team.reset_yes" => "Reset", "重置";
    "team.rhythm_hint" => "After a visit to a lead that was due, the next follow-up is proposed this many days later, by customer grade. Set by the team's managers.", "拜访到期客户后，按客户分级建议在若干天后再次跟进。由团队经理设置。";
    "team.rhythm_title" => "Follow-up rhythm", "跟进节奏";
    "theme.dark" => "Dark", "深色";
    "theme.light" => "Light", "浅色";
    "theme.system" => "Same as the system", "跟随系统";
    "timeline.by_me" => "By me", "由我";
    "timeline.created_in" => "Created in ", "新建时所处阶段：";
    "timeline.logged_by" => "Logged by {}", "记录人：{}";
    "timeline.stage_change" => "Stage", "阶段变更";
    "timeline.to" => "to", "变为";
    "today.add_lead" => "New lead", "新客户";
    "today.add_visit" => "Log a visit", "记录拜访";
    "today.call" => "Call", "拨打";
    "today.call_named" => "Call {}", "拨打 {}";
    "today.days_overdue" => "{} days overdue", "逾期 {} 天";
    "today.due" => "Follow up today", "今日跟进";
    "today.follow_ups" => "{} follow-ups", "{} 位客户";
    "today.follow_ups_one" => "1 follow-up", "1 位客户";
    "today.log" => "Log", "记录";
    "today.log_named" => "Log a visit to {}", "记录对 {} 的拜访";
    "today.mine" => "Mine", "我的";
    "today.more_overdue" => "{} more overdue: see all in Leads", "还有 {} 位逾期客户：在客户列表中查看";
    "today.more_overdue_one" => "1 more overdue: see it in Leads", "还有 1 位逾期客户：在客户列表中查看";
    "today.no_visits" => "No visits logged today.", "今天还没有拜访记录。";
    "today.none_due_today" => "No follow-ups due today.", "今天没有到期的跟进。";
    "today.nothing_due" => "Nothing due. A good day to find new leads.", "今天没有待跟进的客户，可以开发新客户。";
    "today.overdue" => "Overdue follow-ups", "逾期跟进";
    "today.planned" => "Planned", "计划";
    "today.session_confirmed" => "You're attending", "已确认参加";
    "today.session_invited" => "Invited", "已邀请";
    "today.title" => "Today", "今日";
    "today.training" => "Training to do", "待完成培训";
    "today.visits" => "Today's visits", "今日拜访";
    "training.answer_is" => "Answer: {}", "正确答案：{}";
    "training.assigned" => "Assigned", "已指派";
    "training.attachments" => "Attachments", "附件";
    "training.attempts" => "{} attempts", "已测 {} 次";
    "training.back" => "Back to Training", "返回培训";
    "training.best" => "best {}%", "最高 {}%";
    "training.choose_all" => "Choose every right answer.", "选出所有正确答案。";
    "training.comment" => "Comment", "意见和建议";
    "training.count" => "{} items", "{} 份资料";
    "training.count_one" => "1 item", "1 份资料";
    "training.done" => "Done", "已完成";
    "training.done_on" => "Done on {}", "已于 {} 完成";
    "training.downloading" => "Downloading", "下载中";
    "training.draft" => "Draft", "草稿";
    "training.due_on" => "Due {}", "{} 前完成";
    "training.edit" => "Edit", "编辑";
    "training.empty" => "No training material here yet.", "这里还没有培训资料。";
    "training.evaluation" => "Your evaluation", "培训评估";
    "training.evaluation_save" => "Save evaluation", "提交评估";
    "training.evaluation_saved" => "Evaluation saved.", "评估已保存。";
    "training.failed" => "{}% — not passed yet. Read it again and retry.", "{}%，未及格。请再读一遍后重新测验。";
    "training.filter_assigned" => "Assigned to me", "指派给我的";
    "training.filter_kind" => "Kind", "类型";
    "training.filter_not_done" => "Not done", "未完成";
    "training.library" => "Library", "资料库";
    "training.managers_only_title" => "For sales managers", "仅限销售经理";
    "training.mark_done" => "Mark as done", "标记为已完成";
    "training.marked_done" => "Marked as done.", "已标记为完成。";
    "training.my_archive" => "My training record", "我的培训档案";
    "training.new_item" => "New item", "新建资料";
    "training.new_session" => "Schedule a session", "安排培训";
    "training.no_team" => "The team list appears here after the first sync.", "首次同步后，这里会显示团队成员。";
    "training.not_downloaded" => "not on this device yet", "尚未下载到本机";
    "training.offline" => "Available offline", "可离线阅读";
    "training.overdue" => "Overdue", "已逾期";
    "training.pass_mark" => "Pass mark {}%", "及格分 {}%";
    "training.passed" => "{}% — passed.", "{}%，已及格。";
    "training.quiz" => "Quiz", "测验";
    "training.rating" => "Rating (1 = poor, 5 = excellent)", "评分（1 = 很差，5 = 很好）";
    "training.rating_required" => "Choose a rating first.", "请先选择评分。";
    "training.retry" => "Take it again", "重新测验";
    "training.right" => "Right.", "回答正确。";
    "training.search" => "Search title, tag, text or pinyin initials", "搜索标题、标签、正文或拼音首字母";
    "training.search_label" => "Search training material", "搜索培训资料";
    "training.sessions" => "Sessions ahead", "近期培训";
    "training.submit" => "Submit answers", "提交答案";
    "training.team_progress" => "Team progress", "团队培训进度";
    "training.title" => "Training", "培训";
    "training.updated" => "Updated", "有更新";
    "training.updated_since" => "Updated since you last read it.", "此资料在你上次阅读后有更新。";
    "training.version" => "version {}", "第 {} 版";
    "training.wrong" => "Not quite.", "回答有误。";
    "update.other_window" => "Fieldbook was updated in another window. Reload this one to go on; saved data stays.", "Fieldbook 已在另一个窗口中更新。请重新加载本窗口后继续，已保存的数据不受影响。";
    "update.ready" => "A new version of Fieldbook is ready. Your data and unsynced changes stay on this device.", "Fieldbook 有新版本。本机数据和未同步的更改都会保留。";
    "update.reload" => "Reload to update", "重新加载以更新";
    "visit.add_photos" => "Add photos", "添加照片";
    "visit.deleted" => "Visit moved to the trash.", "拜访记录已移入回收站。";
    "visit.edit_title" => "Edit visit", "编辑拜访";
    "visit.follow_up_due" => "This follow-up was due: when is the next one?", "本次跟进已到期：下次什么时候跟进？";
    "visit.material_missing" => "(item not on this device)", "（本机没有此资料）";
    "visit.materials" => "Materials shown", "洽谈资料";
    "visit.materials_search" => "Find training material", "查找培训资料";
    "visit.minutes" => "{} min", "{} 分钟";
    "visit.more_details" => "More details: time, duration, check-in, needs, objections, stage, photos, materials", "更多详情：时间、时长、签到、需求、异议、阶段、照片、资料";
    "visit.moves_follow_up" => "The lead's next follow-up moves to this date.", "客户的下次跟进日期将改为此日期。";
    "visit.new_lead" => "New lead", "新客户";
    "visit.no_materials" => "No training material on this device yet.", "本机还没有培训资料。";
    "visit.photo_not_image" => "{} is not an image: visits keep photos only.", "{} 不是图片：拜访记录只保存照片。";
    "visit.photo_too_many" => "A visit keeps at most {} photos.", "一次拜访最多保存 {} 张照片。";
    "visit.photos" => "Photos", "现场照片";
    "visit.remove" => "Remove", "移除";
    "visit.remove_photo" => "Remove photo {}", "移除照片 {}";
    "visit.saved" => "Visit logged.", "拜访已记录。";
    "visit.title" => "Log a visit", "记录拜访";
    "visit_kind.demo" => "Demo", "产品演示";
    "visit_kind.event" => "Event", "活动";
    "visit_kind.in_person" => "In-person visit", "上门拜访";
    "visit_kind.message" => "Message / WeChat", "短信 / 微信";
    "visit_kind.phone_call" => "Phone call", "电话沟通";
    "visit_kind.video_meeting" => "Video meeting", "视频会议";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_browser_languages() {
        assert_eq!(Locale::negotiate(&["zh-CN", "en-US"]), Locale::Zh);
        assert_eq!(Locale::negotiate(&["zh-TW"]), Locale::Zh);
        assert_eq!(Locale::negotiate(&["de-DE", "en-GB"]), Locale::En);
        assert_eq!(Locale::negotiate(&["fr"]), Locale::En);
        assert_eq!(Locale::negotiate::<&str>(&[]), Locale::En);
    }

    #[test]
    fn dates_and_times_in_both_languages() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        assert_eq!(Locale::Zh.date(date), "2026年11月26日周四");
        assert_eq!(Locale::En.date(date), "Thu, Nov 26, 2026");
        let sunday = NaiveDate::from_ymd_opt(2027, 1, 3).unwrap_or_default();
        assert_eq!(Locale::Zh.date(sunday), "2027年1月3日周日");
        assert_eq!(Locale::En.date(sunday), "Sun, Jan 3, 2027");
        let time = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        assert_eq!(Locale::Zh.time(time(14, 5)), "14:05");
        assert_eq!(Locale::En.time(time(14, 5)), "2:05 PM");
        assert_eq!(Locale::Zh.time(time(0, 30)), "00:30");
        assert_eq!(Locale::En.time(time(0, 30)), "12:30 AM");
        assert_eq!(Locale::En.time(time(12, 0)), "12:00 PM");
        let at = date.and_time(time(9, 7));
        assert_eq!(Locale::Zh.date_time(at), "11月26日 09:07");
        assert_eq!(Locale::En.date_time(at), "Nov 26, 9:07 AM");
    }

    #[test]
    fn keys_are_sorted_for_the_binary_search() {
        for pair in KEYS.windows(2) {
            assert!(
                pair[0] < pair[1],
                "{} must come before {}",
                pair[1],
                pair[0]
            );
        }
        for key in KEYS {
            assert!(lookup(key).is_some(), "{key} not found");
        }
        assert_eq!(lookup("no.such.key"), None);
    }

    #[test]
    fn keys_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for key in KEYS {
            assert!(seen.insert(key), "duplicate message key {key}");
        }
    }

    #[test]
    fn every_domain_key_has_both_languages() {
        let mut keys: Vec<&str> = Vec::new();
        keys.extend(domain::Stage::ALL.iter().map(|v| v.key()));
        keys.extend(domain::Grade::ALL.iter().map(|v| v.key()));
        keys.extend(domain::Source::ALL.iter().map(|v| v.key()));
        keys.extend(domain::Intent::ALL.iter().map(|v| v.key()));
        keys.extend(domain::VisitKind::ALL.iter().map(|v| v.key()));
        keys.extend(domain::DealStatus::ALL.iter().map(|v| v.key()));
        keys.extend(domain::LeadSort::ALL.iter().map(|v| v.key()));
        keys.extend(domain::ItemKind::ALL.iter().map(|v| v.key()));
        keys.extend(domain::Audience::ALL.iter().map(|v| v.key()));
        keys.extend(domain::QuestionKind::ALL.iter().map(|v| v.key()));
        keys.extend(domain::SessionMethod::ALL.iter().map(|v| v.key()));
        keys.extend(domain::FileRefusal::ALL.iter().map(|v| v.key()));
        keys.extend(domain::PeriodKind::ALL.iter().map(|v| v.key()));
        keys.extend(domain::Metric::ALL.iter().map(|v| v.key()));
        keys.extend(domain::StageReason::ALL.iter().map(|v| v.key()));
        keys.extend(
            [
                domain::SplitBasis::LastYear,
                domain::SplitBasis::LastMonth,
                domain::SplitBasis::Equal,
            ]
            .iter()
            .map(|v| v.key()),
        );
        keys.extend(domain::ARCHIVE_KEYS);
        let mut reasons = domain::Invalid::WITHOUT_DATA.to_vec();
        reasons.push(domain::Invalid::TooLong { max: 1 });
        keys.extend(reasons.iter().map(|r| r.key()));
        for key in keys {
            let (en, zh) = lookup(key).unwrap_or_else(|| panic!("no translation for {key}"));
            assert!(
                !en.is_empty() && !zh.is_empty(),
                "empty translation for {key}"
            );
        }
    }

    #[test]
    fn chinese_differs_from_english_for_sentences() {
        // Catches a pasted English string in the Chinese column: a sentence (with spaces) must
        // not be identical in both languages.
        for key in KEYS {
            let (en, zh) = lookup(key).unwrap_or(("", ""));
            if en.contains(' ') {
                assert_ne!(en, zh, "{key} is not translated");
            }
        }
    }

    /// Every `t("…")` / `tr(…, "…")` key written in the app's source has a translation.
    #[test]
    fn every_key_used_in_the_source_exists() {
        fn visit(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for call in [".t(\"", ".now(\"", " label=\"", " hint=\"", "_key=\""] {
                        for (i, _) in text.match_indices(call) {
                            let rest = &text[i + call.len()..];
                            if let Some(end) = rest.find('"') {
                                found.push((path.display().to_string(), rest[..end].to_string()));
                            }
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.len() > 50,
            "the scan found too few keys: {}",
            found.len()
        );
        let missing: Vec<_> = found.iter().filter(|(_, k)| lookup(k).is_none()).collect();
        assert!(missing.is_empty(), "keys without translation: {missing:?}");
    }

    #[test]
    fn days_are_said_against_today() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default();
        let day = |n: i64| today + chrono::Duration::days(n);
        assert_eq!(due_day(Locale::Zh, day(-2), today), "逾期 2 天");
        assert_eq!(due_day(Locale::En, day(-1), today), "1 day overdue");
        assert_eq!(due_day(Locale::En, day(-40), today), "40 days overdue");
        assert_eq!(due_day(Locale::Zh, today, today), "今天");
        assert_eq!(due_day(Locale::Zh, day(1), today), "明天");
        assert_eq!(due_day(Locale::En, day(3), today), "In 3 days");
        assert_eq!(due_day(Locale::Zh, day(7), today), "12月7日");
        assert_eq!(due_day(Locale::En, day(40), today), "Jan 9, 2027");
        assert_eq!(past_day(Locale::En, day(-1), today), "Yesterday");
        assert_eq!(past_day(Locale::Zh, day(-6), today), "6 天前");
        assert_eq!(past_day(Locale::Zh, day(-7), today), "11月23日");
        assert_eq!(past_day(Locale::En, day(-400), today), "Oct 26, 2025");
    }

    #[test]
    fn counts_pick_the_singular() {
        assert_eq!(count(Locale::En, "leads.count", 1u32), "1 lead");
        assert_eq!(count(Locale::En, "leads.count", 2u32), "2 leads");
        assert_eq!(count(Locale::Zh, "net.waiting", 1u32), "1 条更改待同步");
    }

    #[test]
    fn fill_replaces_the_placeholder() {
        assert_eq!(fill(tr(Locale::Zh, "net.waiting"), 3), "3 条更改待同步");
        assert_eq!(fill(tr(Locale::En, "leads.count"), 12), "12 leads");
    }
}
