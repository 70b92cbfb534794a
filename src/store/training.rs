//! Training on the device: the library, sessions and everyone's progress the device holds,
//! read at once (a team's training is hundreds of records, not the thousands of a book).

use domain::{QuizAttempt, Record, TrainingItem, TrainingRecord, TrainingSession};
use indexed_db_futures::prelude::*;

use super::{read_all, Result, Store};

/// Every training record on the device, tombstones included.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingBook {
    pub items: Vec<TrainingItem>,
    pub sessions: Vec<TrainingSession>,
    pub records: Vec<TrainingRecord>,
    pub attempts: Vec<QuizAttempt>,
}

impl TrainingBook {
    /// A live item by id.
    pub fn item(&self, id: domain::Id) -> Option<&TrainingItem> {
        self.items
            .iter()
            .find(|item| item.id == id && !item.deleted)
    }

    /// A live session by id.
    pub fn session(&self, id: domain::Id) -> Option<&TrainingSession> {
        self.sessions
            .iter()
            .find(|session| session.id == id && !session.deleted)
    }

    /// `person`'s own record of `item` on this device, if any: a device keeps writing the
    /// one it has (a second device may have its own; `domain::progress` folds them).
    pub fn record_of_item(&self, person: domain::Id, item: domain::Id) -> Option<&TrainingRecord> {
        self.records
            .iter()
            .filter(|r| !r.deleted && r.owner == Some(person) && r.item_id == Some(item))
            .max_by_key(|r| r.updated_at)
    }

    /// `person`'s own record of `session`, if any.
    pub fn record_of_session(
        &self,
        person: domain::Id,
        session: domain::Id,
    ) -> Option<&TrainingRecord> {
        self.records
            .iter()
            .filter(|r| !r.deleted && r.owner == Some(person) && r.session_id == Some(session))
            .max_by_key(|r| r.updated_at)
    }
}

impl Store {
    /// Every training record on the device, in one transaction.
    pub async fn training(&self) -> Result<TrainingBook> {
        let stores = vec![
            TrainingItem::COLLECTION,
            TrainingSession::COLLECTION,
            TrainingRecord::COLLECTION,
            QuizAttempt::COLLECTION,
        ];
        let tx = self.db.transaction(stores).build()?;
        let items = read_all(&tx.object_store(TrainingItem::COLLECTION)?).await?;
        let sessions = read_all(&tx.object_store(TrainingSession::COLLECTION)?).await?;
        let records = read_all(&tx.object_store(TrainingRecord::COLLECTION)?).await?;
        let attempts = read_all(&tx.object_store(QuizAttempt::COLLECTION)?).await?;
        Ok(TrainingBook {
            items,
            sessions,
            records,
            attempts,
        })
    }
}
