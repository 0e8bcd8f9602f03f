//! Settings: read once from the environment (and, in local mode, command-line flags that
//! override it) into a typed, validated [`Config`].
//!
//! Every problem is reported at once, before any network call, in a message that names the
//! variable, the value given and what is allowed. An empty variable counts as unset, so a
//! template can pass `""` for a setting it leaves at its default.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use reqwest::Url;

use crate::secret::Token;

/// The vendor's production endpoint.
pub const DEFAULT_API_URL: &str = "https://clients2.psaraonline.com/api/v1/analytics/events";
/// The field read from a secret whose string is a JSON object.
pub const DEFAULT_SECRET_FIELD: &str = "token";
/// The vendor's default window for recently closed events.
pub const DEFAULT_PAST_DAYS: u16 = 3;
/// The longest window the API accepts.
pub const MAX_PAST_DAYS: u16 = 180;

/// Names of the environment variables, in one place for messages, help and docs.
pub mod var {
    pub const API_URL: &str = "PLANTRAK_API_URL";
    pub const SECRET_ID: &str = "PLANTRAK_SECRET_ID";
    pub const SECRET_FIELD: &str = "PLANTRAK_SECRET_FIELD";
    pub const TOKEN: &str = "PLANTRAK_TOKEN";
    pub const DESTINATION: &str = "PLANTRAK_DESTINATION";
    pub const PAST_DAYS: &str = "PLANTRAK_PAST_DAYS";
    pub const TIMEZONE: &str = "PLANTRAK_TIMEZONE";
    pub const COMPRESSION: &str = "PLANTRAK_COMPRESSION";
    pub const READ_TIMEOUT_SECS: &str = "PLANTRAK_READ_TIMEOUT_SECS";
    pub const RETRY_BASE_MS: &str = "PLANTRAK_RETRY_BASE_MS";
}

/// Settings as given, before validation. `None` means unset (or set to the empty string).
#[derive(Default, Clone)]
pub struct RawSettings {
    pub api_url: Option<String>,
    pub secret_id: Option<String>,
    pub secret_field: Option<String>,
    pub token: Option<String>,
    pub destination: Option<String>,
    pub past_days: Option<String>,
    pub timezone: Option<String>,
    pub compression: Option<String>,
    pub read_timeout_secs: Option<String>,
    pub retry_base_ms: Option<String>,
}

impl RawSettings {
    /// Reads every setting from the process environment.
    pub fn from_env() -> Self {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        RawSettings {
            api_url: get(var::API_URL),
            secret_id: get(var::SECRET_ID),
            secret_field: get(var::SECRET_FIELD),
            token: get(var::TOKEN),
            destination: get(var::DESTINATION),
            past_days: get(var::PAST_DAYS),
            timezone: get(var::TIMEZONE),
            compression: get(var::COMPRESSION),
            read_timeout_secs: get(var::READ_TIMEOUT_SECS),
            retry_base_ms: get(var::RETRY_BASE_MS),
        }
    }
}

/// Where the API token comes from.
#[derive(Debug, Clone)]
pub enum TokenSetting {
    /// A Secrets Manager secret (name or ARN); `field` is read when the secret is JSON.
    Secret { id: String, field: String },
    /// The token itself, from `PLANTRAK_TOKEN` (local use only).
    Inline(Token),
    /// No token: the command does not call the API (`replay`).
    Unneeded,
}

/// Where the output tree is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An S3 bucket and a key prefix without leading or trailing `/` (may be empty).
    S3 { bucket: String, prefix: String },
    /// A local directory; the same tree as on S3.
    Local(PathBuf),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Destination::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Destination::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

/// How snapshot, raw and change files are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    None,
}

impl Compression {
    /// The file-name suffix this encoding adds (`.gz` or nothing).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::Gzip => ".gz",
            Compression::None => "",
        }
    }
}

/// The validated settings of the function.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_url: Url,
    pub token: TokenSetting,
    pub destination: Destination,
    pub past_days: u16,
    pub timezone: TimeZone,
    pub timezone_name: String,
    pub compression: Compression,
    /// Longest silence allowed while waiting for response bytes.
    pub read_timeout: Duration,
    /// The first retry delay; later ones double, with jitter.
    pub retry_base: Duration,
}

/// Everything wrong with the settings, one line per problem.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: String) -> Self {
        ConfigError {
            problems: vec![problem],
        }
    }
}

/// Which process shape is asking: Lambda refuses an inline token, and a command that never
/// calls the API needs no token at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Lambda,
    Local,
    Offline,
}

impl Config {
    /// Validates every setting, collecting all problems before failing.
    pub fn from_raw(raw: &RawSettings, mode: Mode) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        fn check<T>(problems: &mut Vec<String>, result: Result<T, String>) -> Option<T> {
            result.map_err(|problem| problems.push(problem)).ok()
        }

        let api_url = check(
            &mut problems,
            parse_api_url(raw.api_url.as_deref().unwrap_or(DEFAULT_API_URL)),
        );
        let token = check(&mut problems, parse_token_setting(raw, mode));
        let destination = check(&mut problems, parse_destination(raw.destination.as_deref()));
        let past_days = check(
            &mut problems,
            match raw.past_days.as_deref() {
                None => Ok(DEFAULT_PAST_DAYS),
                Some(value) => parse_past_days(var::PAST_DAYS, value),
            },
        );
        let timezone_name = raw.timezone.clone().unwrap_or_else(|| "UTC".to_owned());
        let timezone = check(&mut problems, parse_timezone(&timezone_name));
        let compression = check(&mut problems, parse_compression(raw.compression.as_deref()));
        let read_timeout = check(
            &mut problems,
            parse_bounded(
                var::READ_TIMEOUT_SECS,
                raw.read_timeout_secs.as_deref(),
                60,
                1..=300,
                "seconds",
            ),
        )
        .map(Duration::from_secs);
        let retry_base = check(
            &mut problems,
            parse_bounded(
                var::RETRY_BASE_MS,
                raw.retry_base_ms.as_deref(),
                1000,
                10..=60_000,
                "milliseconds",
            ),
        )
        .map(Duration::from_millis);

        // Each value is `None` exactly when it added a problem.
        let (
            Some(api_url),
            Some(token),
            Some(destination),
            Some(past_days),
            Some(timezone),
            Some(compression),
            Some(read_timeout),
            Some(retry_base),
        ) = (
            api_url,
            token,
            destination,
            past_days,
            timezone,
            compression,
            read_timeout,
            retry_base,
        )
        else {
            return Err(ConfigError { problems });
        };
        Ok(Config {
            api_url,
            token,
            destination,
            past_days,
            timezone,
            timezone_name,
            compression,
            read_timeout,
            retry_base,
        })
    }
}

fn parse_api_url(value: &str) -> Result<Url, String> {
    let allowed = "expected an https:// URL (http:// only for a loopback host such as 127.0.0.1)";
    let bad = |why: &str| format!("`{}` is `{value}`: {why}; {allowed}", var::API_URL);
    let url = Url::parse(value).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(bad("plain http is refused for a non-loopback host")),
        _ => return Err(bad("unsupported scheme")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.fragment().is_some() || url.query().is_some() {
        return Err(bad("a query or fragment is not allowed"));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn parse_token_setting(raw: &RawSettings, mode: Mode) -> Result<TokenSetting, String> {
    match (&raw.secret_id, &raw.token) {
        (Some(_), Some(_)) => Err(format!(
            "both `{}` and `{}` are set: set exactly one",
            var::SECRET_ID,
            var::TOKEN
        )),
        (None, None) if mode == Mode::Offline => Ok(TokenSetting::Unneeded),
        (None, None) => Err(format!(
            "`{}` is not set: expected a Secrets Manager secret name or ARN \
             (or, for local runs only, the token in `{}`)",
            var::SECRET_ID,
            var::TOKEN
        )),
        (None, Some(_)) if mode == Mode::Lambda => Err(format!(
            "`{}` is set in Lambda: an inline token is for local runs only; \
             store it in Secrets Manager and set `{}`",
            var::TOKEN,
            var::SECRET_ID
        )),
        (None, Some(token)) => Ok(TokenSetting::Inline(Token::new(token.clone()))),
        (Some(id), None) => {
            let field = raw
                .secret_field
                .clone()
                .unwrap_or_else(|| DEFAULT_SECRET_FIELD.into());
            validate_secret_id(id)?;
            if field.trim().is_empty() || field.len() > 256 {
                return Err(format!(
                    "`{}` is `{field}`: expected a JSON field name of 1 to 256 characters",
                    var::SECRET_FIELD
                ));
            }
            Ok(TokenSetting::Secret {
                id: id.clone(),
                field,
            })
        }
    }
}

fn validate_secret_id(id: &str) -> Result<(), String> {
    let name_chars = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    let ok = if id.starts_with("arn:") {
        id.split(':').nth(2) == Some("secretsmanager") && id.split(':').count() >= 7
    } else {
        id.len() <= 512 && id.chars().all(name_chars)
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is `{id}`: expected a secret name (letters, digits and /_+=.@-, \
             at most 512 characters) or a Secrets Manager ARN",
            var::SECRET_ID
        ))
    }
}

fn parse_destination(value: Option<&str>) -> Result<Destination, String> {
    let allowed = "expected `s3://bucket/prefix` or a local directory path";
    let Some(value) = value else {
        return Err(format!("`{}` is not set: {allowed}", var::DESTINATION));
    };
    let bad = |why: &str| format!("`{}` is `{value}`: {why}; {allowed}", var::DESTINATION);
    if let Some(rest) = value.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        validate_bucket(bucket).map_err(|why| bad(&why))?;
        let prefix = prefix.trim_matches('/');
        let bad_segment = |part: &str| part.is_empty() || part == "." || part == "..";
        if !prefix.is_empty() && prefix.split('/').any(bad_segment) {
            return Err(bad("the prefix has an empty, `.` or `..` segment"));
        }
        return Ok(Destination::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    if value.contains("://") {
        return Err(bad("unsupported scheme"));
    }
    Ok(Destination::Local(PathBuf::from(value)))
}

fn validate_bucket(bucket: &str) -> Result<(), String> {
    let chars_ok = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && chars_ok && ends_ok && !bucket.contains("..") {
        Ok(())
    } else {
        Err(format!(
            "bucket `{bucket}` is not a valid S3 bucket name (3 to 63 lowercase letters, \
             digits, dots and hyphens)"
        ))
    }
}

/// Parses a `past_days` value given through `source` (a variable, flag or payload field).
pub fn parse_past_days(source: &str, value: &str) -> Result<u16, String> {
    match value.trim().parse::<u16>() {
        Ok(days) if (1..=MAX_PAST_DAYS).contains(&days) => Ok(days),
        _ => Err(format!(
            "`{source}` is `{value}`: expected a whole number of days from 1 to {MAX_PAST_DAYS}"
        )),
    }
}

fn parse_bounded(
    name: &str,
    value: Option<&str>,
    default: u64,
    allowed: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<u64, String> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().parse::<u64>() {
        Ok(number) if allowed.contains(&number) => Ok(number),
        _ => Err(format!(
            "`{name}` is `{value}`: expected a whole number of {unit} from {} to {}",
            allowed.start(),
            allowed.end()
        )),
    }
}

fn parse_timezone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!(
            "`{}` is `{name}`: expected an IANA time zone name such as `UTC` or \
             `America/New_York`",
            var::TIMEZONE
        )
    })
}

fn parse_compression(value: Option<&str>) -> Result<Compression, String> {
    match value {
        None | Some("gzip") => Ok(Compression::Gzip),
        Some("none") => Ok(Compression::None),
        Some(other) => Err(format!(
            "`{}` is `{other}`: expected `gzip` or `none`",
            var::COMPRESSION
        )),
    }
}

/// Parses a run date given through `source` (the `--as-of` flag or the `as_of` field).
pub fn parse_as_of(source: &str, value: &str) -> Result<Date, ConfigError> {
    let strict = value.len() == 10 && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-';
    match value.parse::<Date>() {
        Ok(date) if strict => Ok(date),
        _ => Err(ConfigError::one(format!(
            "`{source}` is `{value}`: expected a calendar date as YYYY-MM-DD"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings {
        RawSettings {
            secret_id: Some("plantrak/api-token".into()),
            destination: Some("s3://my-lake/plantrak".into()),
            ..RawSettings::default()
        }
    }

    fn problems(raw: &RawSettings) -> String {
        Config::from_raw(raw, Mode::Local).unwrap_err().to_string()
    }

    #[test]
    fn defaults_apply_when_only_secret_and_destination_are_set() {
        let config = Config::from_raw(&raw(), Mode::Lambda).unwrap();
        assert_eq!(config.api_url.as_str(), DEFAULT_API_URL);
        assert_eq!(config.past_days, 3);
        assert_eq!(config.timezone_name, "UTC");
        assert_eq!(config.compression, Compression::Gzip);
        assert_eq!(
            config.destination,
            Destination::S3 {
                bucket: "my-lake".into(),
                prefix: "plantrak".into()
            }
        );
        assert!(matches!(config.token, TokenSetting::Secret { ref field, .. } if field == "token"));
    }

    #[test]
    fn plain_http_is_refused_unless_loopback() {
        let mut settings = raw();
        settings.api_url = Some("http://api.example.com/events".into());
        let message = problems(&settings);
        assert!(message.contains("`PLANTRAK_API_URL` is `http://api.example.com/events`"));
        assert!(message.contains("plain http is refused"));
        for ok in [
            "http://127.0.0.1:8080/api",
            "http://localhost:1/x",
            "http://[::1]:9/x",
        ] {
            settings.api_url = Some(ok.into());
            assert!(Config::from_raw(&settings, Mode::Local).is_ok(), "{ok}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let settings = RawSettings {
            past_days: Some("0".into()),
            timezone: Some("Mars/Olympus".into()),
            compression: Some("zstd".into()),
            ..RawSettings::default()
        };
        let message = problems(&settings);
        assert!(
            message.contains("`PLANTRAK_SECRET_ID` is not set"),
            "{message}"
        );
        assert!(
            message.contains("`PLANTRAK_DESTINATION` is not set"),
            "{message}"
        );
        assert!(message.contains("`PLANTRAK_PAST_DAYS` is `0`: expected a whole number"));
        assert!(
            message.contains("`PLANTRAK_TIMEZONE` is `Mars/Olympus`"),
            "{message}"
        );
        assert!(message.contains("`PLANTRAK_COMPRESSION` is `zstd`: expected `gzip` or `none`"));
    }

    #[test]
    fn timing_settings_have_bounds() {
        let mut settings = raw();
        settings.read_timeout_secs = Some("2".into());
        settings.retry_base_ms = Some("50".into());
        let config = Config::from_raw(&settings, Mode::Local).unwrap();
        assert_eq!(config.read_timeout, Duration::from_secs(2));
        assert_eq!(config.retry_base, Duration::from_millis(50));
        settings.read_timeout_secs = Some("0".into());
        settings.retry_base_ms = Some("5".into());
        let message = problems(&settings);
        assert!(message.contains(
            "`PLANTRAK_READ_TIMEOUT_SECS` is `0`: expected a whole number of seconds from 1 to 300"
        ));
        assert!(message.contains("`PLANTRAK_RETRY_BASE_MS` is `5`"));
    }

    #[test]
    fn past_days_accepts_exactly_one_to_180() {
        assert_eq!(parse_past_days("X", "1"), Ok(1));
        assert_eq!(parse_past_days("X", "180"), Ok(180));
        for bad in ["0", "181", "-1", "3.5", "abc", ""] {
            assert!(parse_past_days("X", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inline_token_is_refused_in_lambda_and_never_shown() {
        let mut settings = raw();
        settings.secret_id = None;
        settings.token = Some("s3cr3t-token-value".into());
        let err = Config::from_raw(&settings, Mode::Lambda)
            .unwrap_err()
            .to_string();
        assert!(err.contains("local runs only"));
        assert!(!err.contains("s3cr3t"));
        let config = Config::from_raw(&settings, Mode::Local).unwrap();
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }

    #[test]
    fn both_token_sources_at_once_are_refused() {
        let mut settings = raw();
        settings.token = Some("abc".into());
        assert!(problems(&settings).contains("set exactly one"));
    }

    #[test]
    fn destinations_parse_as_s3_or_local() {
        assert_eq!(
            parse_destination(Some("s3://bucket-1")),
            Ok(Destination::S3 {
                bucket: "bucket-1".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            parse_destination(Some("s3://bucket-1/a/b/")),
            Ok(Destination::S3 {
                bucket: "bucket-1".into(),
                prefix: "a/b".into()
            })
        );
        assert_eq!(
            parse_destination(Some("./out")),
            Ok(Destination::Local("./out".into()))
        );
        for bad in [
            "s3://Bad_Bucket/x",
            "s3://ab",
            "s3://bucket/a//b",
            "gs://bucket/x",
        ] {
            let message = parse_destination(Some(bad)).unwrap_err();
            assert!(message.starts_with(&format!("`PLANTRAK_DESTINATION` is `{bad}`")));
        }
    }

    #[test]
    fn secret_ids_accept_names_and_arns() {
        assert!(validate_secret_id("plantrak/api-token").is_ok());
        assert!(
            validate_secret_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:pt-AbCdEf")
                .is_ok()
        );
        assert!(validate_secret_id("has space").is_err());
        assert!(validate_secret_id("arn:aws:s3:::bucket").is_err());
    }

    #[test]
    fn as_of_must_be_a_strict_calendar_date() {
        assert_eq!(
            parse_as_of("--as-of", "2026-02-28").unwrap(),
            jiff::civil::date(2026, 2, 28)
        );
        for bad in ["2026-02-30", "2026-2-3", "20260203", "yesterday"] {
            let message = parse_as_of("--as-of", bad).unwrap_err().to_string();
            assert!(
                message.contains(&format!("`--as-of` is `{bad}`")),
                "{message}"
            );
        }
    }
}
