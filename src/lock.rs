//! One run at a time per destination: a lock object, `{prefix}/locks/run.lock`, created with a
//! conditional write (S3 `If-None-Match: *`, or an exclusive create in a local directory).
//!
//! The lock names its holder and an expiry. A second run that finds a live lock fails at once
//! with `RunInProgress` and writes nothing. A lock is stale, and is taken over, when it has
//! expired, or — for local runs — when its holder was a process on this host that no longer
//! exists (a run killed with `kill -9`). Lambda invocations rely on the expiry alone, which is
//! the invocation's deadline plus a minute.
//!
//! Taking over a stale lock is a delete followed by a conditional create. Two runs that find
//! the same stale lock in the same instant may both delete it; only one create succeeds, but
//! the loser could delete the winner's fresh lock in between. That window is a few
//! milliseconds on a lock that is already stale; it is not closed.

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::store::Store;
use crate::sync::SyncError;

/// How long a local run's lock lasts when its holder cannot be checked.
const LOCAL_TTL: SignedDuration = SignedDuration::from_mins(15);

/// What the lock object holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    /// Lambda sandboxes share host names and process ids, so only local holders are checked.
    pub local: bool,
    pub acquired_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A held lock; [`RunLock::release`] removes it.
pub struct RunLock {
    key: String,
    run_id: String,
}

impl RunLock {
    /// Takes the lock at `key` for `run_id`, which lasts until `deadline` (plus a minute) in
    /// Lambda, or [`LOCAL_TTL`] locally.
    pub async fn acquire(
        store: &Store,
        key: String,
        run_id: &str,
        deadline: Option<Timestamp>,
    ) -> Result<RunLock, SyncError> {
        let now = Timestamp::now();
        let holder = Holder {
            run_id: run_id.to_owned(),
            host: host_name(),
            pid: std::process::id(),
            local: deadline.is_none(),
            acquired_at: now,
            expires_at: deadline.map_or(now + LOCAL_TTL, |end| end + SignedDuration::from_mins(1)),
        };
        let body = Bytes::from(serde_json::to_vec(&holder).expect("a lock always serialises"));

        for _ in 0..2 {
            if store.put_if_absent(&key, body.clone()).await? {
                tracing::debug!(%key, "lock taken");
                return Ok(RunLock {
                    key,
                    run_id: run_id.to_owned(),
                });
            }
            let current = match store.get(&key).await? {
                Some(bytes) => serde_json::from_slice::<Holder>(&bytes).ok(),
                // Released between our two calls: try again.
                None => continue,
            };
            match current {
                Some(other) if !is_stale(&other, now) => {
                    return Err(SyncError::RunInProgress {
                        run_id: other.run_id,
                        expires_at: other.expires_at,
                    });
                }
                stale => {
                    let stale_run = stale.map(|h| h.run_id).unwrap_or_default();
                    tracing::warn!(%key, stale_run, "taking over a stale lock");
                    store.delete(&key).await?;
                }
            }
        }
        Err(SyncError::RunInProgress {
            run_id: String::from("unknown"),
            expires_at: now,
        })
    }

    /// Removes the lock if it is still ours.
    pub async fn release(self, store: &Store) {
        let ours = match store.get(&self.key).await {
            Ok(Some(bytes)) => serde_json::from_slice::<Holder>(&bytes)
                .is_ok_and(|holder| holder.run_id == self.run_id),
            Ok(None) => false,
            Err(err) => {
                tracing::warn!(cause = %err, "could not read the lock to release it");
                false
            }
        };
        if ours {
            if let Err(err) = store.delete(&self.key).await {
                tracing::warn!(cause = %err, "could not release the lock; it expires by itself");
            }
        }
    }
}

fn is_stale(holder: &Holder, now: Timestamp) -> bool {
    if holder.expires_at <= now {
        return true;
    }
    holder.local && holder.host == host_name() && !process_exists(holder.pid)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

fn process_exists(pid: u32) -> bool {
    // Without /proc (not Linux) the holder cannot be checked: assume it is alive.
    let proc_root = std::path::Path::new("/proc");
    !proc_root.exists() || proc_root.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LocalStore;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Local(LocalStore::new(dir.path().to_path_buf()));
        (dir, store)
    }

    #[tokio::test]
    async fn a_live_lock_refuses_a_second_run_until_released() {
        let (_dir, store) = store();
        let first = RunLock::acquire(&store, "locks/run.lock".into(), "a", None)
            .await
            .unwrap();
        let second = RunLock::acquire(&store, "locks/run.lock".into(), "b", None).await;
        assert!(
            matches!(second, Err(SyncError::RunInProgress { ref run_id, .. }) if run_id == "a")
        );
        first.release(&store).await;
        let third = RunLock::acquire(&store, "locks/run.lock".into(), "c", None)
            .await
            .unwrap();
        third.release(&store).await;
        assert!(store.list("locks/").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_expired_or_orphaned_lock_is_taken_over() {
        let (_dir, store) = store();
        let now = Timestamp::now();
        let expired = Holder {
            run_id: "old".into(),
            host: "elsewhere".into(),
            pid: 1,
            local: false,
            acquired_at: now - SignedDuration::from_hours(2),
            expires_at: now - SignedDuration::from_hours(1),
        };
        store
            .put("l", Bytes::from(serde_json::to_vec(&expired).unwrap()))
            .await
            .unwrap();
        RunLock::acquire(&store, "l".into(), "new", None)
            .await
            .unwrap()
            .release(&store)
            .await;

        let orphan = Holder {
            host: host_name(),
            pid: u32::MAX - 1,
            local: true,
            expires_at: now + LOCAL_TTL,
            ..expired
        };
        store
            .put("l", Bytes::from(serde_json::to_vec(&orphan).unwrap()))
            .await
            .unwrap();
        RunLock::acquire(&store, "l".into(), "newer", None)
            .await
            .unwrap();
    }
}
