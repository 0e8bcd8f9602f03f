//! A fault-injecting HTTP proxy in front of moto's S3, for the reliability tests.
//!
//! It listens on `127.0.0.1:0`, reads one HTTP/1.1 request at a time, and either answers it
//! with an S3 error (a rule matched) or forwards it to moto on a fresh connection and relays
//! the answer. Every answer closes the client's connection, so framing never depends on
//! what moto sent; the SDK simply opens a new connection for its next request.
//!
//! Rules are checked in the order they were added; a request takes the first rule that
//! matches its method and key and still has uses left. A rule can skip its first matches,
//! which is how a test fails "the Nth PUT of a run".

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the proxy waits on a silent peer before it gives the connection up.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head or body the proxy accepts (the run's objects are far smaller).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The S3 error a rule answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Error {
    /// 500 `InternalError`.
    Internal,
    /// 503 `SlowDown`.
    SlowDown,
}

impl S3Error {
    fn status(self) -> (u16, &'static str, &'static str, &'static str) {
        match self {
            S3Error::Internal => (
                500,
                "Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            S3Error::SlowDown => (
                503,
                "Slow Down",
                "SlowDown",
                "Please reduce your request rate.",
            ),
        }
    }
}

/// Which requests a rule breaks, and how.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `PUT`, `GET`, `DELETE`, `HEAD`; `None` for any method.
    pub method: Option<&'static str>,
    /// A substring the request path must contain; `None` for any path.
    pub path_contains: Option<String>,
    /// Matching requests let through before the rule starts failing them.
    pub skip: u32,
    /// Matching requests failed once the skip is used up.
    pub times: u32,
    pub error: S3Error,
}

impl Rule {
    /// Fails the next `times` requests with `method`.
    pub fn burst(method: &'static str, times: u32, error: S3Error) -> Rule {
        Rule {
            method: Some(method),
            path_contains: None,
            skip: 0,
            times,
            error,
        }
    }

    /// Fails the `nth` PUT from now (1-based) and the `times - 1` PUTs after it, which are
    /// the SDK's retries of that same PUT.
    pub fn nth_put(nth: u32, times: u32, error: S3Error) -> Rule {
        Rule {
            method: Some("PUT"),
            path_contains: None,
            skip: nth.saturating_sub(1),
            times,
            error,
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self.method.is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|part| path.contains(part))
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The error it was answered with, when a rule broke it.
    pub injected: Option<S3Error>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
    latency: Duration,
}

/// A running proxy; stopped when dropped.
pub struct S3FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    port: u16,
    accept: Option<JoinHandle<()>>,
}

impl S3FaultProxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> S3FaultProxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("moto's endpoint is plain http on loopback")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the S3 proxy");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    let upstream = upstream.clone();
                    std::thread::spawn(move || serve(stream, &upstream, &state));
                }
            })
        };
        S3FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            port,
            accept: Some(accept),
        }
    }

    /// Appends rules after the pending ones.
    pub fn add(&self, rules: impl IntoIterator<Item = Rule>) {
        self.state.lock().unwrap().rules.extend(rules);
    }

    /// Drops every pending rule.
    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// Delays every request by `latency` before it is answered or forwarded.
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// The requests seen so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests were answered with an injected error.
    pub fn injected(&self) -> usize {
        self.seen().iter().filter(|s| s.injected.is_some()).count()
    }
}

impl Drop for S3FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// One client connection: one request, one answer, then close.
fn serve(client: TcpStream, upstream: &str, state: &Mutex<State>) {
    let _ = client.set_read_timeout(Some(IO_TIMEOUT));
    let _ = client.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(reader) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut client = client;
    let Some(request) = read_request(&mut reader, &mut client) else {
        return;
    };

    let (injected, latency) = {
        let mut state = state.lock().unwrap();
        let injected = take_rule(&mut state.rules, &request.method, &request.path);
        state.seen.push(Seen {
            method: request.method.clone(),
            path: request.path.clone(),
            injected,
        });
        (injected, state.latency)
    };
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }

    let answer = match injected {
        Some(error) => error_response(error, &request.path),
        None => forward(upstream, &request).unwrap_or_else(|| {
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }),
    };
    let _ = client.write_all(&answer);
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
}

fn take_rule(rules: &mut Vec<Rule>, method: &str, path: &str) -> Option<S3Error> {
    let position = rules.iter().position(|rule| rule.matches(method, path))?;
    let rule = &mut rules[position];
    if rule.skip > 0 {
        rule.skip -= 1;
        return None;
    }
    rule.times -= 1;
    let error = rule.error;
    if rule.times == 0 {
        rules.remove(position);
    }
    Some(error)
}

struct Request {
    method: String,
    path: String,
    /// Header lines without `Connection` and `Expect`, each ending in CRLF.
    headers: Vec<String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>, client: &mut TcpStream) -> Option<Request> {
    let mut start = String::new();
    reader.read_line(&mut start).ok()?;
    let mut parts = start.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();

    let mut headers = Vec::new();
    let mut length = 0usize;
    let mut chunked = false;
    let mut expect_continue = false;
    for _ in 0..200 {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        match name.as_str() {
            "content-length" => length = value.parse().ok()?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            "connection" => {}
            _ => headers.push(line.trim_end().to_owned() + "\r\n"),
        }
    }
    if expect_continue {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }

    let body = if chunked {
        read_chunked(reader)?
    } else {
        if length > MAX_BODY {
            return None;
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    // The body goes upstream whole, so its length replaces any chunked framing.
    headers.retain(|h| !h.to_ascii_lowercase().starts_with("transfer-encoding"));
    headers.push(format!("Content-Length: {}\r\n", body.len()));
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    for _ in 0..100_000 {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            // Trailers, then the blank line.
            for _ in 0..100 {
                let mut line = String::new();
                if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
                    return Some(body);
                }
            }
            return None;
        }
        if body.len() + size > MAX_BODY {
            return None;
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..size]);
    }
    None
}

/// Sends the request to moto on its own connection and returns moto's answer with its
/// `Connection` header replaced by `close`.
fn forward(upstream: &str, request: &Request) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).ok()?;
    server.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    server.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for header in &request.headers {
        head.push_str(header);
    }
    head.push_str("Connection: close\r\n\r\n");
    server.write_all(head.as_bytes()).ok()?;
    server.write_all(&request.body).ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).ok()?;

    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut rewritten = String::new();
    for (number, line) in head.split("\r\n").filter(|l| !l.is_empty()).enumerate() {
        if number > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let mut out = rewritten.into_bytes();
    out.extend_from_slice(&answer[split..]);
    Some(out)
}

fn error_response(error: S3Error, path: &str) -> Vec<u8> {
    let (status, reason, code, message) = error.status();
    let resource = path.split('?').next().unwrap_or(path);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><Resource>{resource}</Resource>\
         <RequestId>plantrak-test-proxy</RequestId></Error>"
    );
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nx-amz-request-id: plantrak-test-proxy\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}
