//! Start-up: the HTTP, S3 and Secrets Manager clients, built once per process and reused by
//! every run (every warm Lambda invocation).
//!
//! The AWS configuration is loaded only when a setting needs it, so a local run with an
//! inline token and a local directory needs no AWS credentials at all. With a custom endpoint
//! (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3`, as for an S3-compatible store), S3 requests
//! use path-style addressing.

use aws_config::BehaviorVersion;

use crate::api::retry::RetryPolicy;
use crate::api::{ApiClient, ApiError};
use crate::config::{Config, Destination, TokenSetting};
use crate::layout::Layout;
use crate::secret::TokenSource;
use crate::store::{LocalStore, S3Store, Store};
use crate::sync::Syncer;

/// Builds everything a run needs from a validated configuration.
pub async fn connect(config: Config) -> Result<Syncer, ApiError> {
    let needs_aws = matches!(config.token, TokenSetting::Secret { .. })
        || matches!(config.destination, Destination::S3 { .. });
    let aws = if needs_aws {
        Some(aws_config::defaults(BehaviorVersion::latest()).load().await)
    } else {
        None
    };

    let tokens = match (&config.token, &aws) {
        (TokenSetting::Inline(token), _) => TokenSource::inline(token.clone()),
        (TokenSetting::Unneeded, _) => TokenSource::unneeded(),
        (TokenSetting::Secret { id, field }, Some(aws)) => {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            TokenSource::secret(client, id.clone(), field.clone())
        }
        (TokenSetting::Secret { .. }, None) => unreachable!("AWS configuration loaded above"),
    };

    let (store, prefix) = match (&config.destination, &aws) {
        (Destination::Local(root), _) => (Store::Local(LocalStore::new(root.clone())), ""),
        (Destination::S3 { bucket, prefix }, Some(aws)) => {
            let custom_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
                .iter()
                .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
            let s3_config = aws_sdk_s3::config::Builder::from(aws)
                .force_path_style(custom_endpoint)
                .build();
            let client = aws_sdk_s3::Client::from_conf(s3_config);
            (
                Store::S3(S3Store::new(client, bucket.clone())),
                prefix.as_str(),
            )
        }
        (Destination::S3 { .. }, None) => unreachable!("AWS configuration loaded above"),
    };

    let policy = RetryPolicy {
        base_delay: config.retry_base,
        ..RetryPolicy::default()
    };
    let api = ApiClient::new(config.api_url.clone(), config.read_timeout, policy)?;
    let layout = Layout::new(prefix, config.compression);
    Ok(Syncer {
        config,
        api,
        tokens,
        store,
        layout,
    })
}
