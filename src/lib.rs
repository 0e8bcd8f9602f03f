//! plantrak-sync pulls a PlanTRAK customer's compliance events from the vendor's analytics API
//! and writes them, as dated JSON snapshots, to an S3 data lake or a local directory. The same
//! code runs as a scheduled AWS Lambda and as a local command.
//!
//! Data flows one way through the modules:
//!
//! - [`config`] reads the settings once into a validated [`config::Config`];
//! - [`secret`] hands out the API token (Secrets Manager, cached, read again after a 401);
//! - [`api`] downloads each list with retries and checks and parses the response;
//! - [`pull`] turns one response into files, observations and rejects;
//! - [`event`] knows an event's lifecycle status and its snapshot line;
//! - [`diff`] compares today's pulls with the last [`ledger`] (pure, no I/O);
//! - [`layout`] names every object of the output; [`encode`] gzips it; [`spool`] holds an
//!   object in a temporary file until it is written;
//! - [`changelog`] writes change lines and the run manifest; [`history`] reads earlier runs;
//! - [`store`] writes to S3 or a local directory; [`lock`] keeps runs one at a time;
//! - [`clients`] builds the clients once at start-up;
//! - [`sync`] is one run, step by step; [`lambda`] is the Lambda entry around it;
//! - [`replay`] rebuilds the change log from stored snapshots;
//! - [`telemetry`] sets up structured logs; [`metrics`] emits CloudWatch figures.

pub mod api;
pub mod changelog;
pub mod clients;
pub mod config;
pub mod diff;
pub mod encode;
pub mod event;
pub mod history;
pub mod lambda;
pub mod layout;
pub mod ledger;
pub mod lock;
pub mod metrics;
pub mod pull;
pub mod replay;
pub mod secret;
pub mod spool;
pub mod store;
pub mod sync;
pub mod telemetry;
