//! The `plantrak-sync` binary: a Lambda function when `AWS_LAMBDA_RUNTIME_API` is set, a
//! command-line tool otherwise.

// The composed futures of the AWS SDK and the Lambda runtime are deeply nested types.
#![recursion_limit = "256"]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use jiff::civil::Date;
use plantrak_sync::config::{self, Config, ConfigError, Mode, RawSettings, var};
use plantrak_sync::sync::{RunRequest, SyncError};
use plantrak_sync::{clients, lambda, telemetry};

const VARIABLES: &str = "\
Environment variables (a flag overrides its variable; an empty variable counts as unset):
  PLANTRAK_API_URL        the API endpoint [default: the vendor's production URL]
  PLANTRAK_SECRET_ID      Secrets Manager secret (name or ARN) holding the API token
  PLANTRAK_SECRET_FIELD   field holding the token when the secret is JSON [default: token]
  PLANTRAK_TOKEN          the token itself, for local runs only (refused in Lambda)
  PLANTRAK_DESTINATION    s3://bucket/prefix or a local directory
  PLANTRAK_PAST_DAYS      recently-closed window in days, 1 to 180 [default: 3]
  PLANTRAK_TIMEZONE       IANA time zone that decides the run's date [default: UTC]
  PLANTRAK_COMPRESSION    gzip or none [default: gzip]
  PLANTRAK_READ_TIMEOUT_SECS  longest silence while a response arrives, 1 to 300 [default: 60]
  PLANTRAK_RETRY_BASE_MS  first retry delay, doubling after, 10 to 60000 [default: 1000]
  PLANTRAK_LOG_FORMAT     json for JSON log lines on stderr
  RUST_LOG                log filter, such as `info` or `plantrak_sync=debug`
AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL and credentials work as the AWS SDK defines them.";

/// Pulls PlanTRAK's open, holding and recently closed events into dated JSON snapshots on
/// S3 or in a local directory.
#[derive(Parser)]
#[command(name = "plantrak-sync", version, about, after_help = VARIABLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Do one run now and print its summary as JSON.
    #[command(after_help = VARIABLES)]
    Run(RunArgs),
    /// Rebuild the change log (changes, ledgers, manifests) of a range of dates from the
    /// stored snapshots, without calling the API, and print a summary as JSON.
    #[command(after_help = VARIABLES)]
    Replay(ReplayArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// The run's date, which names its files [default: today in PLANTRAK_TIMEZONE].
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The first date to rebuild.
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: String,
    /// The last date to rebuild (replay up to the newest date to keep the log consistent).
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: String,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// The settings a flag can override.
#[derive(clap::Args)]
struct SettingsArgs {
    /// Recently-closed window in days, 1 to 180.
    #[arg(long, value_name = "N", env = var::PAST_DAYS)]
    past_days: Option<String>,
    /// s3://bucket/prefix or a local directory.
    #[arg(long, value_name = "DEST", env = var::DESTINATION)]
    destination: Option<String>,
    /// The API endpoint (https, or http on a loopback host).
    #[arg(long, value_name = "URL", env = var::API_URL)]
    api_url: Option<String>,
    /// Secrets Manager secret (name or ARN) holding the API token.
    #[arg(long, value_name = "ID", env = var::SECRET_ID)]
    secret_id: Option<String>,
    /// Field holding the token when the secret string is a JSON object.
    #[arg(long, value_name = "FIELD", env = var::SECRET_FIELD)]
    secret_field: Option<String>,
    /// IANA time zone that decides the run's date.
    #[arg(long, value_name = "ZONE", env = var::TIMEZONE)]
    timezone: Option<String>,
    /// gzip or none.
    #[arg(long, value_name = "CODEC", env = var::COMPRESSION)]
    compression: Option<String>,
}

impl SettingsArgs {
    fn raw(&self) -> RawSettings {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        RawSettings {
            api_url: given(&self.api_url),
            secret_id: given(&self.secret_id),
            secret_field: given(&self.secret_field),
            destination: given(&self.destination),
            past_days: given(&self.past_days),
            timezone: given(&self.timezone),
            compression: given(&self.compression),
            ..RawSettings::from_env()
        }
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return runtime.block_on(lambda_main());
    }

    let cli = Cli::parse();
    telemetry::init(Mode::Local);
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Run(args) => local_run(args).await,
            Command::Replay(args) => local_replay(args).await,
        }
    });
    // Background tasks (the SDK's, say) may still log: stop them first, so the command's
    // own last lines are the last on stderr.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            eprintln!("error_type: {}", err.error_type());
            let config = matches!(err, SyncError::Config(_));
            ExitCode::from(if config { 2 } else { 1 })
        }
    }
}

async fn lambda_main() -> ExitCode {
    telemetry::init(Mode::Lambda);
    // A bad configuration fails the init phase: Lambda reports it on every invocation
    // until the settings are fixed.
    let config = match Config::from_raw(&RawSettings::from_env(), Mode::Lambda) {
        Ok(config) => config,
        Err(err) => {
            tracing::error!(error_type = "ConfigError", cause = %err, "invalid configuration");
            return ExitCode::FAILURE;
        }
    };
    let syncer = match clients::connect(config).await {
        Ok(syncer) => Arc::new(syncer),
        Err(err) => {
            tracing::error!(cause = %err, "failed to build the clients");
            return ExitCode::FAILURE;
        }
    };
    match lambda::serve(syncer).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(cause = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Validates the settings and the date flags together, so every problem is reported at once.
fn validate(
    settings: &SettingsArgs,
    mode: Mode,
    dates: &[(&str, &str)],
) -> Result<(Config, Vec<Date>), ConfigError> {
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for (flag, value) in dates {
        match config::parse_as_of(flag, value) {
            Ok(date) => parsed.push(date),
            Err(err) => problems.extend(err.problems),
        }
    }
    match Config::from_raw(&settings.raw(), mode) {
        Ok(config) if problems.is_empty() => Ok((config, parsed)),
        Ok(_) => Err(ConfigError { problems }),
        Err(err) => {
            problems.extend(err.problems);
            Err(ConfigError { problems })
        }
    }
}

async fn local_run(args: &RunArgs) -> Result<String, SyncError> {
    let dates: Vec<(&str, &str)> = args.as_of.iter().map(|d| ("--as-of", d.as_str())).collect();
    let (config, dates) = validate(&args.settings, Mode::Local, &dates)?;
    let syncer = clients::connect(config).await?;
    let request = RunRequest {
        as_of: dates.first().copied(),
        ..RunRequest::default()
    };
    let summary = syncer.run(request).await?;
    Ok(serde_json::to_string_pretty(&summary).unwrap_or_default())
}

async fn local_replay(args: &ReplayArgs) -> Result<String, SyncError> {
    let dates = [("--from", args.from.as_str()), ("--to", args.to.as_str())];
    let (config, dates) = validate(&args.settings, Mode::Offline, &dates)?;
    let (from, to) = (dates[0], dates[1]);
    if from > to {
        let problem = format!("`--from` `{from}` is after `--to` `{to}`");
        return Err(ConfigError {
            problems: vec![problem],
        }
        .into());
    }
    let syncer = clients::connect(config).await?;
    let summary = syncer.replay(from, to).await?;
    Ok(serde_json::to_string_pretty(&summary).unwrap_or_default())
}
