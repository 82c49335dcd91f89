//! The nudging worker's own store (`HOME/nudges`, RocksDB): nudges are staff data and
//! never go on chain. Each audit event is handled in one write batch with the cursor, so
//! a crash neither loses nor repeats a nudge.

use std::path::Path;

use panacea_client_sdk::types::{NudgeKind, NudgeRate, NudgeRecipient, NudgeView};
use panacea_contracts::codes::StaffRole;
use panacea_contracts::ids::{IdentityId, OrgId};
use panacea_primitives::{Hash, Timestamp};
use rocksdb::{DB, Direction, IteratorMode, Options, WriteBatch};

/// Nudges kept (the oldest are dropped beyond).
pub const NUDGES_KEPT: u64 = 100_000;
/// Unacknowledged nudges kept per recipient (the oldest leave the inbox beyond).
pub const PENDING_PER_RECIPIENT_MAX: usize = 256;
/// Training credentials followed for expiry.
pub const CREDENTIALS_FOLLOWED_MAX: usize = 200_000;
/// A week, in milliseconds.
pub const WEEK_MS: u64 = 7 * 24 * 60 * 60 * 1000;

const CURSOR: &[u8] = b"meta/cursor";
const NEXT_ID: &[u8] = b"meta/next";
const CREDENTIALS: &[u8] = b"meta/credentials";

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum NudgeStoreError {
    /// RocksDB failed.
    #[error("nudge store: {0}")]
    Db(#[from] rocksdb::Error),
    /// A value does not decode.
    #[error("nudge store: a corrupt value under {0}")]
    Corrupt(String),
}

/// A nudge to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNudge {
    /// Its kind.
    pub kind: NudgeKind,
    /// Its recipient.
    pub recipient: NudgeRecipient,
    /// The identity it is about.
    pub subject: Option<IdentityId>,
    /// The other organisation involved.
    pub other_org: Option<OrgId>,
    /// The record behind it.
    pub record: Option<Hash>,
    /// The audit event behind it.
    pub event: Option<u64>,
    /// The message.
    pub message: String,
    /// When.
    pub created: Timestamp,
}

/// A credential followed for expiry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Followed {
    /// The credential's id.
    pub credential: Hash,
    /// Its expiry.
    pub expires: Timestamp,
    /// True once the holder was nudged about it.
    pub nudged: bool,
}

fn recipient_key(recipient: &NudgeRecipient) -> Vec<u8> {
    match recipient {
        NudgeRecipient::Identity(id) => [&[0u8][..], id.0.as_bytes()].concat(),
        NudgeRecipient::Role(role) => {
            let index = StaffRole::ALL.iter().position(|r| r == role).unwrap_or(usize::MAX);
            vec![1, u8::try_from(index).unwrap_or(u8::MAX)]
        }
    }
}

fn kind_index(kind: NudgeKind) -> u8 {
    NudgeKind::ALL.iter().position(|k| *k == kind).and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
}

fn nudge_key(id: u64) -> Vec<u8> {
    [b"n/".as_slice(), &id.to_be_bytes()].concat()
}

fn pending_prefix(recipient: &NudgeRecipient) -> Vec<u8> {
    [b"p/".as_slice(), &recipient_key(recipient), b"/"].concat()
}

fn count_key(kind: NudgeKind, week: u64) -> Vec<u8> {
    [b"k/".as_slice(), &[kind_index(kind)], &week.to_be_bytes()].concat()
}

fn first_key(identity: &IdentityId, custodian: &OrgId) -> Vec<u8> {
    [b"f/".as_slice(), identity.0.as_bytes(), custodian.as_str().as_bytes()].concat()
}

fn credential_key(holder: &IdentityId, course: &str) -> Vec<u8> {
    [b"t/".as_slice(), holder.0.as_bytes(), b"/", course.as_bytes()].concat()
}

fn overdue_key(version: u32) -> Vec<u8> {
    [b"o/".as_slice(), &version.to_be_bytes()].concat()
}

/// The store.
pub struct NudgeStore {
    db: DB,
}

/// The writes of one event (or one scheduled check), applied at once.
pub struct Change<'a> {
    store: &'a NudgeStore,
    batch: WriteBatch,
    next_id: u64,
    made: Vec<NudgeView>,
    /// Counters touched in this change, read once and written at the end.
    counts: std::collections::BTreeMap<Vec<u8>, [u64; 2]>,
    credentials: Option<u64>,
}

impl NudgeStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<NudgeStore, NudgeStoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.set_write_buffer_size(4 << 20);
        options.set_max_write_buffer_number(2);
        Ok(NudgeStore { db: DB::open(&options, path)? })
    }

    fn u64_at(&self, key: &[u8]) -> Result<Option<u64>, NudgeStoreError> {
        match self.db.get(key)? {
            None => Ok(None),
            Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
                .map(|b| Some(u64::from_be_bytes(b)))
                .map_err(|_| NudgeStoreError::Corrupt(String::from_utf8_lossy(key).into_owned())),
        }
    }

    fn json_at<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, NudgeStoreError> {
        match self.db.get(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| NudgeStoreError::Corrupt(String::from_utf8_lossy(key).into_owned())),
        }
    }

    /// The next audit event to handle.
    pub fn cursor(&self) -> Result<u64, NudgeStoreError> {
        Ok(self.u64_at(CURSOR)?.unwrap_or(0))
    }

    /// A change to build and commit.
    pub fn change(&self) -> Result<Change<'_>, NudgeStoreError> {
        let next_id = self.u64_at(NEXT_ID)?.unwrap_or(1);
        Ok(Change {
            store: self,
            batch: WriteBatch::default(),
            next_id,
            made: Vec::new(),
            counts: Default::default(),
            credentials: None,
        })
    }

    /// One nudge.
    pub fn nudge(&self, id: u64) -> Result<Option<NudgeView>, NudgeStoreError> {
        self.json_at(&nudge_key(id))
    }

    /// Unacknowledged nudges to any of `recipients`, oldest first, after id `after`, at
    /// most `limit`.
    pub fn pending(
        &self,
        recipients: &[NudgeRecipient],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<NudgeView>, NudgeStoreError> {
        let mut ids = Vec::new();
        for recipient in recipients {
            let prefix = pending_prefix(recipient);
            let start = [prefix.as_slice(), &after.map_or(0, |a| a.saturating_add(1)).to_be_bytes()].concat();
            for item in self.db.iterator(IteratorMode::From(&start, Direction::Forward)) {
                let (key, _) = item?;
                let Some(tail) = key.strip_prefix(prefix.as_slice()) else { break };
                let Ok(id) = <[u8; 8]>::try_from(tail) else { continue };
                ids.push(u64::from_be_bytes(id));
                if ids.len() >= limit.saturating_mul(recipients.len()) {
                    break;
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(limit);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(nudge) = self.nudge(id)? {
                out.push(nudge);
            }
        }
        Ok(out)
    }

    /// Acknowledges nudge `id` for `by` at `at`; `false` if it was acknowledged already.
    pub fn acknowledge(&self, id: u64, by: IdentityId, at: Timestamp) -> Result<bool, NudgeStoreError> {
        let Some(mut nudge) = self.nudge(id)? else { return Ok(false) };
        if nudge.acknowledged.is_some() {
            return Ok(false);
        }
        nudge.acknowledged = Some((by, at));
        let mut batch = WriteBatch::default();
        batch.put(nudge_key(id), serde_json::to_vec(&nudge).unwrap_or_default());
        batch.delete([pending_prefix(&nudge.recipient).as_slice(), &id.to_be_bytes()].concat());
        let key = count_key(nudge.kind, nudge.created.as_millis() / WEEK_MS);
        let mut count: [u64; 2] = self.json_at(&key)?.unwrap_or([0, 0]);
        count[1] = count[1].saturating_add(1);
        batch.put(key, serde_json::to_vec(&count).unwrap_or_default());
        self.db.write(batch)?;
        Ok(true)
    }

    /// Sent and acknowledged counts per kind and week, newest week first, at most `weeks`
    /// weeks back from the newest.
    pub fn rates(&self, weeks: u64) -> Result<Vec<NudgeRate>, NudgeStoreError> {
        let mut out = Vec::new();
        for item in self.db.prefix_iterator(b"k/") {
            let (key, value) = item?;
            let Some(tail) = key.strip_prefix(b"k/".as_slice()) else { break };
            let (Some(kind), Ok(week)) = (tail.first(), <[u8; 8]>::try_from(tail.get(1..).unwrap_or_default())) else {
                continue;
            };
            let Some(kind) = NudgeKind::ALL.get(usize::from(*kind)).copied() else { continue };
            let [sent, acknowledged]: [u64; 2] = serde_json::from_slice(&value).unwrap_or([0, 0]);
            let week_start = Timestamp(u64::from_be_bytes(week).saturating_mul(WEEK_MS));
            out.push(NudgeRate { kind, week_start, sent, acknowledged });
        }
        out.sort_by(|a, b| b.week_start.cmp(&a.week_start).then(a.kind.cmp(&b.kind)));
        if let Some(newest) = out.first().map(|r| r.week_start) {
            let oldest = newest.as_millis().saturating_sub(weeks.saturating_mul(WEEK_MS));
            out.retain(|r| r.week_start.as_millis() >= oldest);
        }
        Ok(out)
    }

    /// True if `identity` asked `custodian` before.
    pub fn asked_before(&self, identity: &IdentityId, custodian: &OrgId) -> Result<bool, NudgeStoreError> {
        Ok(self.db.get(first_key(identity, custodian))?.is_some())
    }

    /// The credentials followed for expiry that end before `before` and were not nudged.
    pub fn expiring(&self, before: Timestamp) -> Result<Vec<(IdentityId, String, Followed)>, NudgeStoreError> {
        let mut out = Vec::new();
        for item in self.db.prefix_iterator(b"t/") {
            let (key, value) = item?;
            let Some(tail) = key.strip_prefix(b"t/".as_slice()) else { break };
            let (Some(holder), Some(course)) = (tail.get(..32), tail.get(33..)) else { continue };
            let Ok(holder) = <[u8; 32]>::try_from(holder) else { continue };
            let Ok(followed) = serde_json::from_slice::<Followed>(&value) else { continue };
            if !followed.nudged && followed.expires < before {
                out.push((IdentityId(Hash(holder)), String::from_utf8_lossy(course).into_owned(), followed));
            }
        }
        Ok(out)
    }

    /// True if the overdue self-assessment of `version` (0: none) was nudged.
    pub fn overdue_nudged(&self, version: u32) -> Result<bool, NudgeStoreError> {
        Ok(self.db.get(overdue_key(version))?.is_some())
    }
}

impl Change<'_> {
    /// Adds a nudge.
    pub fn add(&mut self, new: NewNudge) -> Result<(), NudgeStoreError> {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        let nudge = NudgeView {
            id,
            kind: new.kind,
            recipient: new.recipient,
            subject: new.subject,
            other_org: new.other_org,
            record: new.record,
            event: new.event,
            message: new.message,
            created: new.created,
            acknowledged: None,
        };
        self.batch.put(nudge_key(id), serde_json::to_vec(&nudge).unwrap_or_default());
        let prefix = pending_prefix(&nudge.recipient);
        self.batch.put([prefix.as_slice(), &id.to_be_bytes()].concat(), []);
        // The inbox is bounded: beyond the limit, the oldest leaves it (still counted).
        let pending: Vec<Box<[u8]>> = self
            .store
            .db
            .prefix_iterator(&prefix)
            .take_while(|item| item.as_ref().is_ok_and(|(k, _)| k.starts_with(&prefix)))
            .filter_map(Result::ok)
            .map(|(k, _)| k)
            .take(PENDING_PER_RECIPIENT_MAX + 1)
            .collect();
        if pending.len() >= PENDING_PER_RECIPIENT_MAX
            && let Some(oldest) = pending.first()
        {
            self.batch.delete(oldest);
        }
        // Nudges kept are bounded too.
        if id > NUDGES_KEPT
            && let Some(old) = self.store.nudge(id - NUDGES_KEPT)?
        {
            self.batch.delete(nudge_key(old.id));
            self.batch.delete([pending_prefix(&old.recipient).as_slice(), &old.id.to_be_bytes()].concat());
        }
        let key = count_key(nudge.kind, nudge.created.as_millis() / WEEK_MS);
        let count = match self.counts.get(&key) {
            Some(count) => *count,
            None => self.store.json_at(&key)?.unwrap_or([0, 0]),
        };
        self.counts.insert(key, [count[0].saturating_add(1), count[1]]);
        self.made.push(nudge);
        Ok(())
    }

    /// Remembers that `identity` asked `custodian`.
    pub fn asked(&mut self, identity: &IdentityId, custodian: &OrgId) {
        self.batch.put(first_key(identity, custodian), []);
    }

    /// Follows (or stops following, with `None`) a credential for expiry.
    pub fn follow(
        &mut self,
        holder: &IdentityId,
        course: &str,
        followed: Option<Followed>,
    ) -> Result<(), NudgeStoreError> {
        let key = credential_key(holder, course);
        match followed {
            Some(followed) => {
                let known = self.store.db.get(&key)?.is_some();
                let count = match self.credentials {
                    Some(count) => count,
                    None => self.store.u64_at(CREDENTIALS)?.unwrap_or(0),
                };
                if !known {
                    if count >= CREDENTIALS_FOLLOWED_MAX as u64 {
                        return Ok(());
                    }
                    self.credentials = Some(count + 1);
                }
                self.batch.put(key, serde_json::to_vec(&followed).unwrap_or_default());
            }
            None => self.batch.delete(key),
        }
        Ok(())
    }

    /// Marks the overdue self-assessment of `version` nudged.
    pub fn overdue(&mut self, version: u32) {
        self.batch.put(overdue_key(version), []);
    }

    /// Commits, moving the cursor to `cursor` when given; returns the nudges made.
    pub fn commit(mut self, cursor: Option<u64>) -> Result<Vec<NudgeView>, NudgeStoreError> {
        for (key, count) in &self.counts {
            self.batch.put(key, serde_json::to_vec(count).unwrap_or_default());
        }
        if let Some(count) = self.credentials {
            self.batch.put(CREDENTIALS, count.to_be_bytes());
        }
        self.batch.put(NEXT_ID, self.next_id.to_be_bytes());
        if let Some(cursor) = cursor {
            self.batch.put(CURSOR, cursor.to_be_bytes());
        }
        self.store.db.write(self.batch)?;
        Ok(self.made)
    }
}
