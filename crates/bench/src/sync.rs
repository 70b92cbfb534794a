//! Seeding and load through the real sync API (`/api/sync/push`, `/api/sync/pull`), speaking
//! the protocol the app speaks: a device id, gap-free numbers, HLC stamps, field bases,
//! `known_applied`, batches under the limits `/api/health` states.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use domain::{
    changed_fields, Cursor, Hlc, Id, Mutation, PullRequest, PullResponse, PushLimits, PushMutation,
    PushRequest, PushResponse, Record, RecordKind, PROTOCOL_VERSION,
};
use hyper::StatusCode;
use serde_json::Value;

use crate::client::{self, Http, Session};
use crate::gen::{self, Book, Rng};

/// The server's push limits, from `/api/health`.
pub async fn limits(http: &Http, base: &str) -> Result<PushLimits> {
    let health = client::health(http, base).await?;
    serde_json::from_value(health).context("reading the push limits from /api/health")
}

/// One device of the bench: its id, clock, next number and what the server last told it.
pub struct Device {
    pub client: Id,
    hlc: Hlc,
    next_seq: u64,
    known_applied: u64,
    cursor: Option<Cursor>,
}

impl Device {
    pub fn new(rng: &mut Rng, now_ms: i64) -> Device {
        let client = rng.id(now_ms);
        Device {
            client,
            hlc: Hlc::new(client),
            next_seq: 1,
            known_applied: 0,
            cursor: None,
        }
    }

    /// The next mutation writing `fields` of a record.
    fn mutation(
        &mut self,
        kind: RecordKind,
        record_id: Id,
        fields: BTreeMap<String, Value>,
        now_ms: i64,
    ) -> PushMutation {
        let seq = self.next_seq;
        self.next_seq += 1;
        Mutation {
            seq,
            kind,
            record_id,
            fields,
            stamp: self.hlc.tick(now_ms),
        }
        .to_push(&BTreeMap::new())
    }

    fn request(&self, mutations: Vec<PushMutation>) -> PushRequest {
        PushRequest {
            client_id: self.client,
            protocol: PROTOCOL_VERSION,
            mutations,
            resume_after: None,
            known_applied: self.known_applied,
        }
    }

    /// Pushes `mutations` (one batch); retries a busy server. Returns the answer.
    pub async fn push(
        &mut self,
        session: &Session,
        mutations: Vec<PushMutation>,
    ) -> Result<PushResponse> {
        let last = mutations.last().map(|m| m.seq).unwrap_or(0);
        let body = serde_json::to_vec(&self.request(mutations))?;
        for _ in 0..30 {
            let answer = session.post_raw("sync/push", body.clone()).await?;
            if answer.status == StatusCode::SERVICE_UNAVAILABLE {
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            if answer.status != StatusCode::OK {
                bail!(
                    "push answered {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                );
            }
            let response: PushResponse = answer.json()?;
            if response.last_applied != last {
                bail!(
                    "push applied up to {}, sent up to {last}",
                    response.last_applied
                );
            }
            self.known_applied = response.last_applied;
            return Ok(response);
        }
        Err(anyhow!("the server stayed busy for a minute"))
    }

    /// One pull page from the device's cursor; moves the cursor.
    pub async fn pull_page(&mut self, session: &Session, limit: u32) -> Result<PullResponse> {
        let request = PullRequest {
            client_id: self.client,
            cursor: self.cursor,
            limit,
            seen: None,
        };
        let answer = session.post("sync/pull", &request).await?;
        if answer.status != StatusCode::OK {
            bail!(
                "pull answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
        let response: PullResponse = answer.json()?;
        if response.cursor.is_some() {
            self.cursor = response.cursor;
        }
        Ok(response)
    }
}

fn created<T: Record>(record: &T) -> Result<(RecordKind, Id, BTreeMap<String, Value>)> {
    Ok((T::KIND, record.id(), changed_fields(None, record)?))
}

/// What seeding did.
pub struct Seeded {
    pub mutations: usize,
    pub pushes: usize,
    pub seconds: f64,
}

/// Pushes the whole book as a new device of `session`'s user, leads first, in batches under
/// `limits`; times only the pushes (the records are built before the clock starts).
pub async fn seed(
    session: &Session,
    limits: PushLimits,
    book: &Book,
    rng: &mut Rng,
    now_ms: i64,
) -> Result<Seeded> {
    let mut device = Device::new(rng, now_ms);
    let mut records = Vec::with_capacity(book.leads.len() + book.visits.len());
    for lead in &book.leads {
        records.push(created(lead)?);
    }
    for visit in &book.visits {
        records.push(created(visit)?);
    }
    let mut batches: Vec<Vec<PushMutation>> = Vec::new();
    let max_count = limits.max_push_mutations.clamp(1, 500) as usize;
    // Room for the request's own fields, and a margin for the server's reading of the limit.
    let max_bytes = (limits.max_push_bytes as usize).saturating_sub(4096) * 9 / 10;
    let mut batch = Vec::new();
    let mut bytes = 0;
    for (kind, id, fields) in records {
        let mutation = device.mutation(kind, id, fields, now_ms);
        let size = serde_json::to_vec(&mutation)?.len() + 1;
        if !batch.is_empty() && (batch.len() >= max_count || bytes + size > max_bytes) {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += size;
        batch.push(mutation);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    let mutations = batches.iter().map(Vec::len).sum();
    let pushes = batches.len();
    let start = Instant::now();
    for batch in batches {
        let response = device.push(session, batch).await?;
        if let Some(rejection) = response.rejected.first() {
            bail!("the server refused a seeded record: {rejection:?}");
        }
    }
    Ok(Seeded {
        mutations,
        pushes,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// What a load run saw.
#[derive(Default)]
pub struct LoadReport {
    pub push_ms: Vec<f64>,
    pub pull_ms: Vec<f64>,
    pub errors: usize,
    pub busy: usize,
    pub first_error: Option<String>,
}

impl LoadReport {
    fn merge(&mut self, other: LoadReport) {
        self.push_ms.extend(other.push_ms);
        self.pull_ms.extend(other.pull_ms);
        self.errors += other.errors;
        self.busy += other.busy;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        self.first_error.get_or_insert(message);
    }
}

/// `devices` simulated devices, spread over `sessions` (signed in once per device, as
/// phones are), each pushing a few edits and pulling in a loop with a pause of `think`
/// between rounds, for `seconds`.
pub async fn load(
    sessions: Vec<Session>,
    devices: usize,
    seconds: f64,
    think: Duration,
    seed: u64,
) -> Result<LoadReport> {
    if sessions.is_empty() {
        bail!("no users to load the server with");
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..devices {
        let session = sessions[n % sessions.len()].clone();
        let mut rng = Rng::new(seed.wrapping_add(n as u64 * 7919));
        tasks.spawn(async move { device_loop(session, &mut rng, deadline, think).await });
    }
    let mut report = LoadReport::default();
    while let Some(done) = tasks.join_next().await {
        report.merge(done.map_err(|e| anyhow!("a device task failed: {e}"))?);
    }
    Ok(report)
}

async fn device_loop(
    session: Session,
    rng: &mut Rng,
    deadline: Instant,
    think: Duration,
) -> LoadReport {
    let mut report = LoadReport::default();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let today = domain::today_in_offset(now_ms, gen::OFFSET_MIN);
    let mut device = Device::new(rng, now_ms);
    let mut lead = None;
    // Spread the starts over the first pause, as devices coming online would.
    tokio::time::sleep(think.mul_f64((rng.below(1000) as f64) / 1000.0)).await;
    while Instant::now() < deadline {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mutations = match round_edits(&mut device, rng, &mut lead, today, now_ms) {
            Ok(mutations) => mutations,
            Err(err) => {
                report.error(err.to_string());
                break;
            }
        };
        let body = match serde_json::to_vec(&device.request(mutations.clone())) {
            Ok(body) => body,
            Err(err) => {
                report.error(err.to_string());
                break;
            }
        };
        let start = Instant::now();
        match session.post_raw("sync/push", body).await {
            Ok(answer) if answer.status == StatusCode::OK => {
                report.push_ms.push(ms(start));
                match answer.json::<PushResponse>() {
                    Ok(response) => device.known_applied = response.last_applied,
                    Err(err) => report.error(err.to_string()),
                }
            }
            Ok(answer) => {
                report.push_ms.push(ms(start));
                if answer.status == StatusCode::SERVICE_UNAVAILABLE {
                    report.busy += 1;
                }
                report.error(format!("push answered {}", answer.status));
                // The numbers must stay gap-free: send them again next round.
                device.next_seq -= mutations.len() as u64;
            }
            Err(err) => {
                report.error(format!("push: {err:#}"));
                device.next_seq -= mutations.len() as u64;
            }
        }
        loop {
            let start = Instant::now();
            match device.pull_page(&session, 500).await {
                Ok(page) => {
                    report.pull_ms.push(ms(start));
                    if !page.more {
                        break;
                    }
                }
                Err(err) => {
                    report.pull_ms.push(ms(start));
                    if err.to_string().contains("503") {
                        report.busy += 1;
                    }
                    report.error(format!("pull: {err:#}"));
                    break;
                }
            }
        }
        let pause = think.mul_f64(0.5 + rng.below(1000) as f64 / 1000.0);
        tokio::time::sleep(pause).await;
    }
    report
}

/// A round's edits: a new lead the first time, then a changed note on it and, half the
/// time, a new visit on it.
fn round_edits(
    device: &mut Device,
    rng: &mut Rng,
    lead: &mut Option<domain::Lead>,
    today: chrono::NaiveDate,
    now_ms: i64,
) -> Result<Vec<PushMutation>> {
    let mut out = Vec::new();
    match lead {
        None => {
            let new = gen::lead(rng, today, now_ms)?;
            out.push(device.mutation(
                RecordKind::Lead,
                new.id,
                changed_fields(None, &new)?,
                now_ms,
            ));
            *lead = Some(new);
        }
        Some(old) => {
            let mut new = old.clone();
            new.notes = format!(
                "{} #{}",
                new.notes.chars().take(200).collect::<String>(),
                rng.below(10_000)
            );
            let fields = changed_fields(Some(&*old), &new)?;
            out.push(device.mutation(RecordKind::Lead, new.id, fields, now_ms));
            if rng.percent(50) {
                let visit = gen::visit(rng, new.id, today, now_ms)?;
                out.push(device.mutation(
                    RecordKind::Visit,
                    visit.id,
                    changed_fields(None, &visit)?,
                    now_ms,
                ));
            }
            *old = new;
        }
    }
    Ok(out)
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// The `p`th percentile (0–100) by nearest rank; 0 for none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
    }
}
