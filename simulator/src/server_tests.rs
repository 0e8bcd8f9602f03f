//! End-to-end tests: the simulator served on `127.0.0.1:0`, driven by a real HTTP client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::calendar::parse_day;
use crate::server::{self, Settings, Sim};
use crate::world::ClosedFilter;

const DOCUMENTED_FIELDS: [&str; 26] = [
    "area_id",
    "area_name",
    "assignment_id",
    "assignment_name",
    "citation",
    "citation_link",
    "close_date",
    "comments",
    "due_date",
    "event_activity",
    "event_description",
    "event_id",
    "event_info",
    "event_parent_id",
    "event_parent_type",
    "event_recommendation",
    "facility_id",
    "facility_name",
    "is_closed",
    "is_overdue",
    "is_regulatory",
    "required_checklist_id",
    "required_checklist_name",
    "requires_attachment",
    "type_id",
    "type_name",
];

struct Served {
    base: String,
    client: Client,
}

impl Served {
    async fn start(events: u32) -> Self {
        let sim = Sim::new(Settings {
            seed: 5,
            events,
            start: parse_day("2026-03-02").unwrap(),
            closed_filter: ClosedFilter::CloseDate,
            token: "secret".into(),
            latency: Duration::ZERO,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server::serve(listener, Arc::new(sim)));
        Self {
            base,
            client: Client::new(),
        }
    }

    async fn list(&self, query: &str, token: &str) -> reqwest::Result<reqwest::Response> {
        let url = format!("{}/api/v1/analytics/events?{query}", self.base);
        self.client.get(url).bearer_auth(token).send().await
    }

    async fn list_json(&self, query: &str) -> Value {
        let response = self.list(query, "secret").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = self.client.request(method, format!("{}{path}", self.base));
        let response = request.json(&body).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.control(reqwest::Method::POST, path, body).await
    }

    async fn get(&self, path: &str) -> Value {
        self.control(reqwest::Method::GET, path, Value::Null).await
    }

    async fn fault(&self, list: &str, fault: Value) {
        self.post(
            "/_sim/faults",
            json!({ "faults": [{ "list": list, "fault": fault }] }),
        )
        .await;
    }
}

#[tokio::test]
async fn missing_wrong_and_rotated_tokens_get_401_with_a_detail() {
    let sim = Served::start(100).await;
    let url = format!("{}/api/v1/analytics/events?type=open", sim.base);
    let missing = sim.client.get(url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let wrong = sim.list("type=open", "nope").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({ "detail": "Invalid token." })
    );

    sim.post("/_sim/token", json!({ "token": "rotated" })).await;
    let old = sim.list("type=open", "secret").await.unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        sim.list("type=open", "rotated").await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_type_or_past_days_gets_400_with_a_detail() {
    let sim = Served::start(100).await;
    for query in [
        "type=closed",
        "",
        "type=recent_closed&past_days=0",
        "type=recent_closed&past_days=181",
    ] {
        let response = sim.list(query, "secret").await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.json::<Value>().await.unwrap()["detail"].is_string());
    }
}

#[tokio::test]
async fn results_carry_documented_fields_in_order_then_extras() {
    let sim = Served::start(2_000).await;
    for list in ["open", "holding", "recent_closed&past_days=30"] {
        let body = sim.list_json(&format!("type={list}")).await;
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["count", "results", "type"]);
        let results = body["results"].as_array().unwrap();
        assert_eq!(body["count"], results.len());
        assert_eq!(body["type"], list.split('&').next().unwrap());
        for record in results {
            let fields: Vec<&str> = record
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(fields[..26], DOCUMENTED_FIELDS, "{list}");
            let closed = record["is_closed"].as_bool().unwrap();
            assert_eq!(closed, list.starts_with("recent"));
            assert_eq!(record["close_date"].is_null(), list == "open");
        }
        if list == "holding" {
            assert!(results.iter().all(|r| r["submitted_by"].is_string()));
            assert!(results.iter().all(|r| r["comment_count"].is_u64()));
        }
    }
}

#[tokio::test]
async fn a_date_shows_the_same_bytes_whether_visited_directly_or_walked_to() {
    let walked = Served::start(800).await;
    let direct = Served::start(800).await;
    for _ in 0..8 {
        walked
            .post("/_sim/date", json!({ "advance_days": 1 }))
            .await;
        walked.list("type=holding", "secret").await.unwrap();
    }
    direct
        .post("/_sim/date", json!({ "date": "2026-03-10" }))
        .await;
    for query in [
        "type=open",
        "type=holding",
        "type=recent_closed&past_days=45",
    ] {
        let a = walked
            .list(query, "secret")
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let b = direct
            .list(query, "secret")
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(a, b, "{query}");
    }
}

#[tokio::test]
async fn truth_agrees_with_the_lists() {
    let sim = Served::start(600).await;
    let truth = sim.get("/_sim/truth").await;
    assert_eq!(truth["date"], "2026-03-02");
    let ids = |body: Value| -> Vec<u64> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["event_id"].as_u64().unwrap())
            .collect()
    };
    let with_status = |status: &str| -> Vec<u64> {
        let events = truth["events"].as_array().unwrap().iter();
        events
            .filter(|e| e["status"] == status)
            .map(|e| e["event_id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(sim.list_json("type=open").await), with_status("open"));
    assert_eq!(
        ids(sim.list_json("type=holding").await),
        with_status("holding")
    );

    let history = sim.get("/_sim/history?from=2026-02-28&to=2026-03-02").await;
    let days = history["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(days[2], truth);
}

#[tokio::test]
async fn reset_and_truncate_faults_make_the_client_fail() {
    let sim = Served::start(400).await;
    sim.fault("open", json!({ "kind": "reset" })).await;
    assert!(sim.list("type=open", "secret").await.is_err());

    sim.fault("any", json!({ "kind": "truncate" })).await;
    let truncated = sim.list("type=holding", "secret").await.unwrap();
    assert_eq!(truncated.status(), StatusCode::OK);
    assert!(truncated.json::<Value>().await.is_err());

    sim.fault("open", json!({ "kind": "invalid_json" })).await;
    assert!(
        sim.list("type=open", "secret")
            .await
            .unwrap()
            .json::<Value>()
            .await
            .is_err()
    );
    assert_eq!(
        sim.list("type=open", "secret").await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn status_fault_sends_retry_after_and_is_used_up() {
    let sim = Served::start(100).await;
    let rule = json!({ "list": "holding", "times": 2,
                       "fault": { "kind": "status", "status": 429, "retry_after": "2" } });
    sim.post("/_sim/faults", json!({ "faults": [rule] })).await;
    assert_eq!(
        sim.list("type=open", "secret").await.unwrap().status(),
        StatusCode::OK
    );
    for _ in 0..2 {
        let response = sim.list("type=holding", "secret").await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "2");
    }
    assert_eq!(
        sim.list("type=holding", "secret").await.unwrap().status(),
        StatusCode::OK
    );

    let log = sim.get("/_sim/requests").await;
    let statuses: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [200, 429, 429, 200]);
    assert_eq!(log[1]["fault"]["kind"], "status");
}

#[tokio::test]
async fn stall_fault_delays_the_body_after_the_head() {
    let sim = Served::start(100).await;
    sim.fault("open", json!({ "kind": "stall", "ms": 300 }))
        .await;
    let started = Instant::now();
    let response = sim.list("type=open", "secret").await.unwrap();
    let head_after = started.elapsed();
    let body: Value = response.json().await.unwrap();
    assert!(
        head_after < Duration::from_millis(250),
        "head took {head_after:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(body["type"], "open");
}

#[tokio::test]
async fn envelope_and_record_faults_contradict_the_body() {
    let sim = Served::start(600).await;
    sim.fault("open", json!({ "kind": "wrong_count" })).await;
    let body = sim.list_json("type=open").await;
    assert_eq!(body["count"], body["results"].as_array().unwrap().len() + 1);

    sim.fault("open", json!({ "kind": "wrong_type" })).await;
    assert_eq!(sim.list_json("type=open").await["type"], "holding");
    sim.fault("open", json!({ "kind": "missing_type" })).await;
    assert!(sim.list_json("type=open").await.get("type").is_none());

    for (bad, check) in [
        (
            "missing_event_id",
            (|r: &Value| r.get("event_id").is_none()) as fn(&Value) -> bool,
        ),
        ("string_event_id", |r| r["event_id"].is_string()),
        ("bad_date", |r| {
            r["due_date"].as_str().unwrap().ends_with("-02-30")
        }),
    ] {
        sim.fault("open", json!({ "kind": "bad_record", "record": bad }))
            .await;
        let body = sim.list_json("type=open").await;
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.iter().filter(|r| check(r)).count(), 1, "{bad}");
    }
}
