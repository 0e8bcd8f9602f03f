//! A local directory as a destination: keys become relative paths under the root.
//!
//! A write goes to a hidden temporary file in the same folder and is renamed into place, so
//! a crash never leaves a partly written file under the final name. Hidden files (names
//! starting with `.`) are not listed.

use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::StoreError;
use crate::spool::Spool;

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> Self {
        LocalStore { root }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn error(&self, op: &'static str, key: &str, err: impl ToString) -> StoreError {
        StoreError {
            op,
            location: self.path(key).display().to_string(),
            cause: err.to_string(),
        }
    }

    pub async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        let path = self.path(key);
        let parent = path.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| self.error("write", key, e))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        let temporary = parent.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));

        let written = async {
            let mut file = tokio::fs::File::create(&temporary).await?;
            file.write_all(&body).await?;
            file.sync_all().await?;
            tokio::fs::rename(&temporary, &path).await
        }
        .await;
        if let Err(err) = written {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(self.error("write", key, err));
        }
        Ok(())
    }

    /// An exclusive create: `false` when the file exists. The body is written to a hidden
    /// file first and then hard-linked into place, which fails if the name is taken, so no
    /// reader ever sees the file empty or partly written.
    pub async fn put_if_absent(&self, key: &str, body: Bytes) -> Result<bool, StoreError> {
        let path = self.path(key);
        let parent = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| self.error("write", key, e))?;
        // A lock-sized body: plain blocking calls are quicker than handing them off.
        let created = (|| {
            let mut staged = tempfile::Builder::new()
                .prefix(".stage-")
                .tempfile_in(&parent)?;
            std::io::Write::write_all(&mut staged, &body)?;
            staged.as_file().sync_all()?;
            match std::fs::hard_link(staged.path(), &path) {
                Ok(()) => Ok(true),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(false),
                Err(err) => Err(err),
            }
        })();
        created.map_err(|e| self.error("write", key, e))
    }

    /// The hidden folder holding this destination's spools.
    pub fn spool_dir(&self) -> PathBuf {
        self.root.join(".plantrak-spool")
    }

    /// Moves a spool made in [`LocalStore::spool_dir`] into place.
    pub async fn put_spool(&self, key: &str, spool: Spool) -> Result<(), StoreError> {
        let path = self.path(key);
        let parent = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| self.error("write", key, e))?;
        let file = spool.into_file();
        file.persist(&path)
            .map_err(|e| self.error("write", key, e.error))?;
        Ok(())
    }

    pub async fn open(&self, key: &str) -> Result<Option<Box<dyn Read + Send>>, StoreError> {
        match std::fs::File::open(self.path(key)) {
            Ok(file) => Ok(Some(Box::new(std::io::BufReader::with_capacity(
                256 * 1024,
                file,
            )))),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(self.error("read", key, err)),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match tokio::fs::read(self.path(key)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(self.error("read", key, err)),
        }
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // Walk from the deepest folder the prefix names, then filter by the whole prefix.
        let folder = prefix.rsplit_once('/').map_or("", |(folder, _)| folder);
        let mut pending = vec![folder.to_owned()];
        let mut keys = Vec::new();
        while let Some(relative) = pending.pop() {
            let mut entries = match tokio::fs::read_dir(self.path(&relative)).await {
                Ok(entries) => entries,
                Err(err) if err.kind() == ErrorKind::NotFound => continue,
                Err(err) => return Err(self.error("list", &relative, err)),
            };
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|e| self.error("list", &relative, e))?
            {
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let key = if relative.is_empty() {
                    name
                } else {
                    format!("{relative}/{name}")
                };
                let kind = entry
                    .file_type()
                    .await
                    .map_err(|e| self.error("list", &key, e))?;
                if kind.is_dir() {
                    pending.push(key);
                } else if key.starts_with(prefix) {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(self.error("delete", key, err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_list_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_path_buf());
        store
            .put("a/b/one.json", Bytes::from_static(b"1"))
            .await
            .unwrap();
        store
            .put("a/b/two.json", Bytes::from_static(b"2"))
            .await
            .unwrap();
        store
            .put("a/c/three.json", Bytes::from_static(b"3"))
            .await
            .unwrap();
        store
            .put("a/b/one.json", Bytes::from_static(b"one"))
            .await
            .unwrap();

        assert_eq!(store.get("a/b/one.json").await.unwrap().unwrap(), "one");
        assert_eq!(store.get("a/b/missing").await.unwrap(), None);
        let mut keys = store.list("a/b/").await.unwrap();
        keys.sort();
        assert_eq!(keys, ["a/b/one.json", "a/b/two.json"]);
        assert_eq!(store.list("a/").await.unwrap().len(), 3);
        store.put("a/lock", Bytes::from_static(b"x")).await.unwrap();
        store.delete("a/lock").await.unwrap();
        assert!(store.list("nowhere/").await.unwrap().is_empty());

        assert!(
            !store
                .put_if_absent("a/b/one.json", Bytes::from_static(b"x"))
                .await
                .unwrap()
        );
        assert!(
            store
                .put_if_absent("a/lock", Bytes::from_static(b"x"))
                .await
                .unwrap()
        );
        assert_eq!(store.get("a/b/one.json").await.unwrap().unwrap(), "one");
        store.delete("a/lock").await.unwrap();
        store.delete("a/b/two.json").await.unwrap();
        store.delete("a/b/two.json").await.unwrap();
        assert_eq!(store.list("a/b/").await.unwrap(), ["a/b/one.json"]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("a/b")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files remain");
    }
}
