//! The command line, parsed and checked into [`Settings`] before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::calendar::{Day, parse_day};
use crate::server::Settings;
use crate::world::ClosedFilter;

/// The endpoint reference shown after the options by `--help`.
const ENDPOINTS: &str = r#"API (header `Authorization: Bearer TOKEN`):
  GET /api/v1/analytics/events?type=open|holding|recent_closed[&past_days=1..180]
      200 {"count":N,"results":[...],"type":...}; 401 bad token; 400 bad parameters.
      past_days defaults to 3 and is only read for recent_closed: closed events whose
      close date (or approval date, see --closed-filter) is on or after today - past_days.

Control (no token; JSON in and out):
  GET  /_sim/date                      {"date":"YYYY-MM-DD"}
  POST /_sim/date                      {"date":"YYYY-MM-DD"} or {"advance_days":N}
  POST /_sim/token                     {"token":"..."}: the old token is refused at once
  GET  /_sim/truth                     {"date":...,"events":[{"event_id","status",
                                        "close_date","approved_on"}]}
  GET  /_sim/history?from=D&to=D       {"days":[{"date":...,"events":[...]}]}
  GET|POST|DELETE /_sim/faults         POST {"faults":[rule,...]} appends rules
  GET|DELETE /_sim/requests            the API request log

Fault rule: {"list":"open|holding|recent_closed|any", "times":N, "fault":F}, F one of
  {"kind":"status","status":503,"retry_after":"2"}   {"kind":"reset"}
  {"kind":"stall","ms":M}   {"kind":"truncate"}   {"kind":"invalid_json"}
  {"kind":"wrong_count"}   {"kind":"wrong_type"}   {"kind":"missing_type"}
  {"kind":"bad_record","record":"missing_event_id|string_event_id|bad_date"}
Rules apply in order to authorised, valid requests; each use takes one of `times`."#;

/// A local simulator of the PlanTRAK analytics events API.
///
/// Serves `GET /api/v1/analytics/events?type=open|holding|recent_closed[&past_days=N]`
/// with bearer-token authentication, over a deterministic world of compliance events that
/// moves through its lifecycle day by day. Control endpoints under `/_sim/` (no token) set
/// the simulated date (`/_sim/date`), rotate the token (`/_sim/token`), expose the true
/// state (`/_sim/truth`, `/_sim/history?from=&to=`), inject faults (`/_sim/faults`) and
/// show the requests received (`/_sim/requests`).
///
/// Once listening, prints exactly one line to stdout: `listening on http://ADDR:PORT`.
/// Requests are logged to stderr, one line each.
#[derive(Debug, Parser)]
#[command(name = "plantrak-simulator", version, about, long_about, after_long_help = ENDPOINTS)]
pub struct Args {
    /// Address to listen on; must be a loopback address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = loopback)]
    pub listen: SocketAddr,

    /// Also write the bound port (digits only, no newline) to this file once listening.
    #[arg(long, value_name = "PATH")]
    pub port_file: Option<PathBuf>,

    /// The bearer token the API accepts at start.
    #[arg(long, value_parser = token)]
    pub token: String,

    /// About how many events are listed on the start date (open, holding and closed within
    /// 180 days, roughly 3 : 1 : 6).
    #[arg(long, value_name = "N", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(0..=5_000_000))]
    pub events: u32,

    /// Seed of every random choice; the same inputs always give the same bytes.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,

    /// The simulated date at start [default: today in UTC].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub start_date: Option<Day>,

    /// What `past_days` compares with for `type=recent_closed`: `close-date` (the
    /// submission date) or `approval-date`.
    #[arg(long, value_enum, default_value_t = ClosedFilter::CloseDate)]
    pub closed_filter: ClosedFilter,

    /// Delay before each API response, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
}

impl Args {
    /// The simulator's settings.
    pub fn settings(&self) -> Settings {
        Settings {
            seed: self.seed,
            events: self.events,
            start: self.start_date.unwrap_or_else(Day::today_utc),
            closed_filter: self.closed_filter,
            token: self.token.clone(),
            latency: Duration::from_millis(self.latency_ms),
        }
    }
}

fn loopback(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| format!("`{text}` is not an IP address with a port"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("`{}` is not a loopback address", addr.ip()));
    }
    Ok(addr)
}

fn token(text: &str) -> Result<String, String> {
    if text.is_empty() || text.contains(char::is_whitespace) {
        return Err("the token must be non-empty and contain no whitespace".into());
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(["plantrak-simulator"].iter().chain(args))
    }

    #[test]
    fn defaults_follow_the_documented_values() {
        let args = parse(&["--token", "t"]).unwrap();
        assert_eq!(args.listen.to_string(), "127.0.0.1:0");
        assert_eq!((args.events, args.seed, args.latency_ms), (200, 1, 0));
        assert_eq!(args.closed_filter, ClosedFilter::CloseDate);
    }

    #[test]
    fn non_loopback_addresses_are_refused() {
        for addr in ["0.0.0.0:8080", "192.168.1.2:80", "[::]:80", "localhost:80"] {
            assert!(
                parse(&["--token", "t", "--listen", addr]).is_err(),
                "{addr}"
            );
        }
        assert!(parse(&["--token", "t", "--listen", "[::1]:0"]).is_ok());
    }

    #[test]
    fn token_is_required_and_dates_are_strict() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--token", ""]).is_err());
        assert!(parse(&["--token", "t", "--start-date", "2026-02-30"]).is_err());
        let args = parse(&["--token", "t", "--start-date", "2026-03-02"]).unwrap();
        assert_eq!(args.settings().start.to_string(), "2026-03-02");
        let args = parse(&["--token", "t", "--closed-filter", "approval-date"]).unwrap();
        assert_eq!(args.closed_filter, ClosedFilter::ApprovalDate);
    }
}
