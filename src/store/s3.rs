//! An S3 bucket (or any S3-compatible endpoint set through `AWS_ENDPOINT_URL`) as a
//! destination. A PutObject replaces an object whole, so readers never see a part.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use std::io::{BufReader, Read, Seek, SeekFrom};

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::AsyncWriteExt;

use super::StoreError;
use crate::spool::Spool;

/// Multipart part size: above S3's 5 MiB minimum, and the most a put holds in memory.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
use crate::layout::content_type;
use crate::secret::aws_error_chain;

pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: Client, bucket: String) -> Self {
        S3Store { client, bucket }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn error(&self, op: &'static str, key: &str, err: &dyn std::error::Error) -> StoreError {
        StoreError {
            op,
            location: format!("s3://{}/{key}", self.bucket),
            cause: aws_error_chain(err),
        }
    }

    pub async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type(key))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| self.error("write", key, &err))?;
        Ok(())
    }

    /// A conditional write (`If-None-Match: *`): S3 refuses it with 412 when the key exists.
    pub async fn put_if_absent(&self, key: &str, body: Bytes) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .content_type(content_type(key))
            .body(ByteStream::from(body))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.error("write", key, &err)),
        }
    }

    /// A spool up to one part is a single PutObject; a larger one a multipart upload, which
    /// creates the object only when completed (and is aborted on any failure).
    pub async fn put_spool(&self, key: &str, spool: Spool) -> Result<(), StoreError> {
        let mut reader = spool
            .raw_reader()
            .map_err(|e| self.error("write", key, &e))?;
        if spool.len() <= PART_SIZE as u64 {
            let mut body = Vec::with_capacity(spool.len() as usize);
            reader
                .read_to_end(&mut body)
                .map_err(|e| self.error("write", key, &e))?;
            return self.put(key, Bytes::from(body)).await;
        }

        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type(key))
            .send()
            .await
            .map_err(|err| self.error("write", key, &err))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_owned();
        let uploaded = self.upload_parts(key, &upload_id, &mut reader).await;
        let completed = match uploaded {
            Ok(parts) => {
                let parts = CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build();
                self.client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(parts)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|err| self.error("write", key, &err))
            }
            Err(err) => Err(err),
        };
        if completed.is_err() {
            let abort = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key);
            if let Err(err) = abort.upload_id(&upload_id).send().await {
                tracing::warn!(key, cause = %aws_error_chain(&err), "could not abort an upload");
            }
        }
        completed
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        reader: &mut impl Read,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let mut parts = Vec::new();
        let mut buffer = vec![0; PART_SIZE];
        for number in 1.. {
            let filled = fill(reader, &mut buffer).map_err(|e| self.error("write", key, &e))?;
            if filled == 0 {
                break;
            }
            let body = ByteStream::from(Bytes::copy_from_slice(&buffer[..filled]));
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body)
                .send()
                .await
                .map_err(|err| self.error("write", key, &err))?;
            let etag = part.e_tag().map(str::to_owned);
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(etag)
                    .build(),
            );
        }
        Ok(parts)
    }

    /// Copies the object into a temporary file and reads it from there.
    pub async fn open(&self, key: &str) -> Result<Option<Box<dyn Read + Send>>, StoreError> {
        let Some(output) = self.get_object(key).await? else {
            return Ok(None);
        };
        let copy = tempfile::tempfile().map_err(|e| self.error("read", key, &e))?;
        let mut file = tokio::fs::File::from_std(copy);
        let mut body = output.body;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| self.error("read", key, &e))?
        {
            file.write_all(&chunk)
                .await
                .map_err(|e| self.error("read", key, &e))?;
        }
        file.flush()
            .await
            .map_err(|e| self.error("read", key, &e))?;
        let mut file = file.into_std().await;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.error("read", key, &e))?;
        Ok(Some(Box::new(BufReader::with_capacity(256 * 1024, file))))
    }

    /// The object's response, or `None` when there is no such key.
    async fn get_object(&self, key: &str) -> Result<Option<GetObjectOutput>, StoreError> {
        let request = self.client.get_object().bucket(&self.bucket).key(key);
        match request.send().await {
            Ok(output) => Ok(Some(output)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(self.error("read", key, &err)),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let Some(output) = self.get_object(key).await? else {
            return Ok(None);
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|err| self.error("read", key, &err))?;
        Ok(Some(body.into_bytes()))
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| self.error("list", prefix, &err))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| self.error("delete", key, &err))?;
        Ok(())
    }
}
