//! The PlanTRAK analytics API client: one GET per list, with a bearer token, timeouts,
//! retries (see [`retry`]) and a fresh read of the secret after a 401.
//!
//! A download returns the response's bytes unchanged; [`response::parse`] then checks them
//! and hands out the events one by one.

pub mod response;
pub mod retry;

use std::time::{Duration, Instant};

use std::io::Write;
use std::path::PathBuf;

use jiff::Timestamp;
use reqwest::{StatusCode, Url, header};

use crate::config::Compression;
pub use crate::event::EventList;
use crate::secret::{SecretError, Token, TokenSource};
use crate::spool::{Spool, SpoolWriter};
use retry::{Failure, Next, RetryPolicy, Schedule, StopReason};

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One list's response, as received, held in a spool in the run's encoding.
pub struct Download {
    pub list: EventList,
    pub body: Spool,
    /// The response's size as received (before any compression).
    pub bytes: u64,
    /// When the successful response arrived.
    pub pulled_at: Timestamp,
    pub attempts: u32,
}

/// Where and how a download is spooled.
#[derive(Debug, Clone)]
pub struct SpoolTarget {
    pub dir: PathBuf,
    pub compression: Compression,
}

/// Why a list could not be downloaded.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "the API refused the token for `{list}` (HTTP 401), also after reading the secret again"
    )]
    Unauthorized { list: EventList },
    #[error("the API denied access to `{list}` (HTTP 403): {detail}")]
    Forbidden { list: EventList, detail: String },
    #[error("the API rejected the request for `{list}`: {failure}")]
    Rejected { list: EventList, failure: Failure },
    #[error("gave up on `{list}` after {attempts} attempts: {failure}")]
    Exhausted {
        list: EventList,
        attempts: u32,
        failure: Failure,
    },
    #[error("gave up on `{list}`: the API asked to wait longer than allowed: {failure}")]
    Throttled { list: EventList, failure: Failure },
    #[error(
        "gave up on `{list}` after {attempts} attempts: no time left before the deadline: {failure}"
    )]
    OutOfTime {
        list: EventList,
        attempts: u32,
        failure: Failure,
    },
    #[error("failed to spool the `{list}` response to `{dir}`: {cause}")]
    Spool {
        list: EventList,
        dir: String,
        cause: String,
    },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("failed to build the HTTP client: {0}")]
    Client(String),
}

/// Downloads lists from one PlanTRAK endpoint.
pub struct ApiClient {
    http: reqwest::Client,
    url: Url,
    policy: RetryPolicy,
}

impl ApiClient {
    /// A client for `url`; `read_timeout` bounds each silence while a response arrives.
    pub fn new(url: Url, read_timeout: Duration, policy: RetryPolicy) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("plantrak-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(read_timeout)
            .https_only(url.scheme() == "https")
            .build()
            .map_err(|err| ApiError::Client(err.to_string()))?;
        Ok(ApiClient { http, url, policy })
    }

    /// Downloads `list` (with `past_days` for recently closed events), retrying what may
    /// heal, reading the secret again once after a 401, and stopping before `deadline`.
    #[tracing::instrument(skip_all, fields(list = %list))]
    pub async fn download(
        &self,
        list: EventList,
        past_days: Option<u16>,
        tokens: &TokenSource,
        deadline: Option<Instant>,
        target: &SpoolTarget,
    ) -> Result<Download, ApiError> {
        let mut schedule = Schedule::new(self.policy);
        let mut token = tokens.token().await?;
        let mut token_refreshed = false;
        loop {
            schedule.record_attempt();
            let failure = match self
                .attempt(list, past_days, &token, deadline, target)
                .await
            {
                Ok((body, bytes)) => {
                    let attempts = schedule.attempts();
                    tracing::info!(bytes, attempts, "downloaded");
                    let pulled_at = Timestamp::now();
                    return Ok(Download {
                        list,
                        body,
                        bytes,
                        pulled_at,
                        attempts,
                    });
                }
                Err(Attempt::Local(err)) => {
                    let dir = target.dir.display().to_string();
                    return Err(ApiError::Spool {
                        list,
                        dir,
                        cause: err.to_string(),
                    });
                }
                Err(Attempt::Failed(failure)) => failure,
            };

            if matches!(failure, Failure::Status { status: 401, .. }) {
                if token_refreshed {
                    return Err(ApiError::Unauthorized { list });
                }
                token_refreshed = true;
                tracing::warn!("the API refused the token; reading the secret again");
                match tokens.refresh(&token).await? {
                    Some(fresh) => token = fresh,
                    None => return Err(ApiError::Unauthorized { list }),
                }
                continue;
            }

            let attempts = schedule.attempts();
            match schedule.next(&failure, deadline) {
                Next::Wait(wait) => {
                    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(attempt = attempts, wait_ms, cause = %failure, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Next::Stop(reason) => return Err(stop_error(list, attempts, failure, reason)),
            }
        }
    }

    async fn attempt(
        &self,
        list: EventList,
        past_days: Option<u16>,
        token: &Token,
        deadline: Option<Instant>,
        target: &SpoolTarget,
    ) -> Result<(Spool, u64), Attempt> {
        let mut request = self
            .http
            .get(self.url.clone())
            .query(&[("type", list.as_str())])
            .header(header::ACCEPT, "application/json")
            .bearer_auth(token.expose());
        if let Some(days) = past_days {
            request = request.query(&[("past_days", days)]);
        }
        if let Some(end) = deadline {
            request = request.timeout(end.saturating_duration_since(Instant::now()));
        }

        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        if status != StatusCode::OK {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| retry::parse_retry_after(value, Timestamp::now()));
            let text = response.text().await.unwrap_or_default();
            // An error page that echoes the request must not carry the token into a message.
            let detail = excerpt(&text.replace(token.expose(), "<redacted>"));
            let status = status.as_u16();
            return Err(Attempt::Failed(Failure::Status {
                status,
                retry_after,
                detail,
            }));
        }

        // The body goes to disk as it arrives; a failure part-way drops the spool.
        let mut spool =
            SpoolWriter::new(&target.dir, target.compression).map_err(Attempt::Local)?;
        let mut bytes = 0;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            spool.write_all(&chunk).map_err(Attempt::Local)?;
            bytes += chunk.len() as u64;
        }
        Ok((spool.finish().map_err(Attempt::Local)?, bytes))
    }
}

/// How one attempt ended, when it did not succeed.
enum Attempt {
    /// The API or the network failed; [`retry`] decides what follows.
    Failed(Failure),
    /// The local spool could not be written: not worth another request.
    Local(std::io::Error),
}

impl From<Failure> for Attempt {
    fn from(failure: Failure) -> Self {
        Attempt::Failed(failure)
    }
}

fn stop_error(list: EventList, attempts: u32, failure: Failure, reason: StopReason) -> ApiError {
    match (reason, &failure) {
        (
            StopReason::NotRetriable,
            Failure::Status {
                status: 403,
                detail,
                ..
            },
        ) => ApiError::Forbidden {
            list,
            detail: detail.clone(),
        },
        (StopReason::NotRetriable, _) => ApiError::Rejected { list, failure },
        (StopReason::Exhausted, _) => ApiError::Exhausted {
            list,
            attempts,
            failure,
        },
        (StopReason::RetryAfterTooLong, _) => ApiError::Throttled { list, failure },
        (StopReason::Deadline, _) => ApiError::OutOfTime {
            list,
            attempts,
            failure,
        },
    }
}

/// Describes a transport error with its causes, which reqwest keeps in the source chain.
fn transport(err: reqwest::Error) -> Failure {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "response body incomplete"
    } else {
        "request failed"
    };
    // The URL carries no secret (the token travels in a header), but strip it anyway to
    // keep messages short and stable.
    let cause = crate::secret::aws_error_chain(&err.without_url());
    Failure::Transport(format!("{kind}: {cause}"))
}

/// The first line of an error body, shortened, for messages.
fn excerpt(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}
