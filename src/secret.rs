//! The API token: read from Secrets Manager (or given inline for local runs), cached across
//! warm Lambda invocations, and read again when the API answers 401.
//!
//! The token is held in [`Token`], whose `Debug` never shows the value and which has no
//! `Display`, so it cannot reach a log line, an error message or a summary by accident.

use std::fmt;
use std::sync::Arc;

use aws_sdk_secretsmanager::Client as SecretsClient;
use tokio::sync::Mutex;

/// A PlanTRAK API token. Only [`Token::expose`] reveals it, for the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(Arc::from(value.into().trim()))
    }

    /// The token's value; only for building the request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Why a token could not be had. Messages name the secret, never its content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("failed to read secret `{id}`: {cause}")]
    Read { id: String, cause: String },
    #[error("secret `{id}` has no string value (binary secrets are not supported)")]
    NotAString { id: String },
    #[error("secret `{id}` is a JSON object without a string field `{field}`")]
    MissingField { id: String, field: String },
    #[error("secret `{id}` is empty")]
    Empty { id: String },
    #[error("no API token is configured for this command")]
    NotConfigured,
}

/// Hands out the token, reading and caching it on first use.
pub struct TokenSource {
    kind: Kind,
    cached: Mutex<Option<Token>>,
}

enum Kind {
    Unneeded,
    Inline(Token),
    Secret {
        client: SecretsClient,
        id: String,
        field: String,
    },
}

impl TokenSource {
    /// A source for a token given directly; it never changes.
    pub fn inline(token: Token) -> Self {
        TokenSource {
            kind: Kind::Inline(token),
            cached: Mutex::new(None),
        }
    }

    /// A source for a command that never calls the API; asking it for a token is an error.
    pub fn unneeded() -> Self {
        TokenSource {
            kind: Kind::Unneeded,
            cached: Mutex::new(None),
        }
    }

    /// A source that reads secret `id` (the whole string, or `field` of a JSON object).
    pub fn secret(client: SecretsClient, id: String, field: String) -> Self {
        TokenSource {
            kind: Kind::Secret { client, id, field },
            cached: Mutex::new(None),
        }
    }

    /// The cached token, reading the secret if there is none yet.
    pub async fn token(&self) -> Result<Token, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let token = self.read().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Reads the secret again (after a 401) unless another caller already replaced `stale`.
    /// Returns `None` when the source cannot change (an inline token) or gave the same token.
    pub async fn refresh(&self, stale: &Token) -> Result<Option<Token>, SecretError> {
        if matches!(self.kind, Kind::Inline(_) | Kind::Unneeded) {
            return Ok(None);
        }
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref().filter(|current| *current != stale) {
            return Ok(Some(current.clone()));
        }
        let token = self.read().await?;
        *cached = Some(token.clone());
        Ok((token != *stale).then_some(token))
    }

    async fn read(&self) -> Result<Token, SecretError> {
        let (client, id, field) = match &self.kind {
            Kind::Inline(token) => return Ok(token.clone()),
            Kind::Unneeded => return Err(SecretError::NotConfigured),
            Kind::Secret { client, id, field } => (client, id, field),
        };
        tracing::debug!(secret_id = %id, "reading the API token");
        let output = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|err| SecretError::Read {
                id: id.clone(),
                cause: aws_error_chain(&err),
            })?;
        let text = output
            .secret_string()
            .ok_or_else(|| SecretError::NotAString { id: id.clone() })?;
        token_from_secret_string(text, field).map_err(|problem| match problem {
            Problem::MissingField => SecretError::MissingField {
                id: id.clone(),
                field: field.clone(),
            },
            Problem::Empty => SecretError::Empty { id: id.clone() },
        })
    }
}

enum Problem {
    MissingField,
    Empty,
}

/// A secret string is the bare token, or a JSON object whose `field` holds it.
fn token_from_secret_string(text: &str, field: &str) -> Result<Token, Problem> {
    let trimmed = text.trim();
    let value = if trimmed.starts_with('{') {
        match serde_json::from_str::<serde_json::Value>(trimmed) {
            Ok(json) => json
                .get(field)
                .and_then(|v| v.as_str())
                .ok_or(Problem::MissingField)?
                .to_owned(),
            Err(_) => trimmed.to_owned(),
        }
    } else {
        trimmed.to_owned()
    };
    if value.trim().is_empty() {
        return Err(Problem::Empty);
    }
    Ok(Token::new(value))
}

/// The error and its sources, for SDK errors whose top-level message is only "service error".
pub fn aws_error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_of(text: &str, field: &str) -> Option<String> {
        token_from_secret_string(text, field)
            .ok()
            .map(|t| t.expose().to_owned())
    }

    #[test]
    fn bare_secret_string_is_the_token() {
        assert_eq!(token_of("  abc123\n", "token").as_deref(), Some("abc123"));
    }

    #[test]
    fn json_secret_reads_the_configured_field() {
        let text = r#"{"token": "abc", "api_key": "xyz"}"#;
        assert_eq!(token_of(text, "token").as_deref(), Some("abc"));
        assert_eq!(token_of(text, "api_key").as_deref(), Some("xyz"));
        assert!(matches!(
            token_from_secret_string(text, "other"),
            Err(Problem::MissingField)
        ));
    }

    #[test]
    fn empty_secret_is_an_error() {
        assert!(matches!(
            token_from_secret_string("  ", "token"),
            Err(Problem::Empty)
        ));
        assert!(matches!(
            token_from_secret_string(r#"{"token":""}"#, "token"),
            Err(Problem::Empty)
        ));
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = Token::new("very-secret-value");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert!(!format!("{:?}", Some(token)).contains("very-secret"));
    }
}
