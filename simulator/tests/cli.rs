//! Black-box runs of the `plantrak-simulator` binary: what it prints and what it refuses.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_plantrak-simulator");

#[test]
fn prints_one_listening_line_and_writes_the_port_file() {
    let port_file = std::env::temp_dir().join(format!("plantrak-sim-{}.port", std::process::id()));
    let mut child = Command::new(BINARY)
        .args(["--token", "t", "--events", "50", "--port-file"])
        .arg(&port_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let mut line = String::new();
    let stdout = child.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let written = std::fs::read_to_string(&port_file);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_file(&port_file);

    let port = line
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap()
        .trim_end();
    assert!(port.parse::<u16>().unwrap() > 0);
    assert_eq!(written.unwrap(), port);
}

#[test]
fn refuses_to_listen_beyond_loopback() {
    let output = Command::new(BINARY)
        .args(["--token", "t", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a loopback address"));
}
