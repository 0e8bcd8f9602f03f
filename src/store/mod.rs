//! The destinations: an S3 bucket or a local directory, holding the same tree with the same
//! bytes. Both are reached through [`Store`], which names objects by key.

mod local;
mod s3;

use std::io::Read;
use std::path::PathBuf;

use bytes::Bytes;

use crate::spool::Spool;

pub use local::LocalStore;
pub use s3::S3Store;

/// Why an object could not be read, written, listed or deleted.
#[derive(Debug, thiserror::Error)]
#[error("failed to {op} `{location}`: {cause}")]
pub struct StoreError {
    pub op: &'static str,
    pub location: String,
    pub cause: String,
}

/// One destination.
pub enum Store {
    S3(S3Store),
    Local(LocalStore),
}

impl Store {
    /// Writes `body` at `key`, replacing any object there. A reader sees the old object or the
    /// new one, never a part.
    pub async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        tracing::debug!(key, bytes = body.len(), "writing object");
        match self {
            Store::S3(store) => store.put(key, body).await,
            Store::Local(store) => store.put(key, body).await,
        }
    }

    /// Writes `body` at `key` only if no object is there; `false` when one already is.
    pub async fn put_if_absent(&self, key: &str, body: Bytes) -> Result<bool, StoreError> {
        match self {
            Store::S3(store) => store.put_if_absent(key, body).await,
            Store::Local(store) => store.put_if_absent(key, body).await,
        }
    }

    /// Writes a spool at `key`, replacing any object there, all or nothing (a multipart
    /// upload on S3, a rename in a local directory).
    pub async fn put_spool(&self, key: &str, spool: Spool) -> Result<(), StoreError> {
        tracing::debug!(key, bytes = spool.len(), "writing object");
        match self {
            Store::S3(store) => store.put_spool(key, spool).await,
            Store::Local(store) => store.put_spool(key, spool).await,
        }
    }

    /// Reads the object at `key` as a stream of its stored bytes, or `None` when there is
    /// none. An S3 object is first copied into a temporary file, so memory stays bounded.
    pub async fn open(&self, key: &str) -> Result<Option<Box<dyn Read + Send>>, StoreError> {
        match self {
            Store::S3(store) => store.open(key).await,
            Store::Local(store) => store.open(key).await,
        }
    }

    /// Where spools for this destination (with key prefix `prefix`) are made: inside a local
    /// destination, so that a spool becomes its object by a rename; else a folder of the
    /// system's temporary directory named after the bucket and prefix.
    pub fn spool_dir(&self, prefix: &str) -> PathBuf {
        match self {
            Store::S3(store) => {
                let mut dir = std::env::temp_dir()
                    .join("plantrak-sync")
                    .join(store.bucket());
                dir.extend(prefix.split('/').filter(|part| !part.is_empty()));
                dir
            }
            Store::Local(store) => store.spool_dir(),
        }
    }

    /// Reads the object at `key`, or `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self {
            Store::S3(store) => store.get(key).await,
            Store::Local(store) => store.get(key).await,
        }
    }

    /// Every key that starts with `prefix`, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = match self {
            Store::S3(store) => store.list(prefix).await?,
            Store::Local(store) => store.list(prefix).await?,
        };
        keys.sort();
        Ok(keys)
    }

    /// Removes the object at `key`; removing a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        tracing::debug!(key, "deleting object");
        match self {
            Store::S3(store) => store.delete(key).await,
            Store::Local(store) => store.delete(key).await,
        }
    }
}
