//! The built `ingest` binary run as Lambda runs it: a clean Lambda
//! environment, the local Runtime API handing it API Gateway HTTP API
//! (payload 2.0) events, and moto serving S3, SQS and SSM.
//!
//! Over 400 lines on purpose: the cases share the Runtime API and moto
//! set-up; each file under tests/ is its own test binary, linked anew on
//! every change and links the AWS SDKs.

mod aws_peers;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_peers::{
    dead_lettered_events, gunzip, is_hour_key, stored_events, unique_name, Aws, HASH_KEY, ORIGIN,
    SITE_KEY, USER_AGENT,
};
use chrono::Utc;
use sbw_contract::rawkey::ObjectKind;
use sbw_contract::IdentifierHasher;
use sbw_ingest::lambda::AWS_CALLS;
use sbw_names::origin_secret;
use sbw_testkit::events::valid_event;
use sbw_testkit::fault_proxy::{Fault, FaultProxy, Match, Rule};
use sbw_testkit::stall::StalledEndpoint;
use sbw_testkit::{HttpApiRequest, HttpApiResponse, InvocationOutcome, Moto, RuntimeApi};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;

const BINARY: &str = env!("CARGO_BIN_EXE_ingest");
const SIGNED_IN_PATH: &str = "/v1/events/signed-in";

/// An SSM SecureString holding `value`; returns its name.
async fn create_secure_parameter(aws: &Aws, value: &str) -> String {
    let name = format!("/{}/secret", unique_name("ssm"));
    aws.put_secure_parameter(&name, value).await;
    name
}

/// The deployment the function's metrics are for.
const DEPLOYMENT: &str = "sbw-shop-test";

/// One deployment's resources in moto and the function's environment for them.
struct Deployment {
    aws: Aws,
    bucket: String,
    queue_url: String,
    hash_key_parameter: String,
    origin_secret_parameter: String,
}

impl Deployment {
    async fn create() -> Self {
        let aws = Aws::connect().await;
        Deployment {
            bucket: aws.create_bucket().await,
            queue_url: aws.create_queue().await,
            hash_key_parameter: create_secure_parameter(&aws, HASH_KEY).await,
            origin_secret_parameter: create_secure_parameter(
                &aws,
                &format!("{ORIGIN_SECRET},previous-secret-0123456789abcdef"),
            )
            .await,
            aws,
        }
    }

    fn function_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SBW_RAW_BUCKET", self.bucket.clone()),
            ("SBW_DLQ_URL", self.queue_url.clone()),
            ("SBW_SITE_KEYS", format!("pk_other, {SITE_KEY}")),
            (
                "SBW_ALLOWED_ORIGINS",
                format!("https://other.example,{ORIGIN}"),
            ),
            ("SBW_HASH_KEY_PARAM", self.hash_key_parameter.clone()),
            (
                "SBW_ORIGIN_SECRET_PARAM",
                self.origin_secret_parameter.clone(),
            ),
            ("SBW_DEPLOYMENT", DEPLOYMENT.to_owned()),
        ]
    }

    async fn start_function(&self) -> Function {
        Function::start(&self.function_env()).await
    }

    /// The raw bucket holds no object at all: no events, no rejects.
    async fn stored_nothing(&self) -> bool {
        self.aws.objects(&self.bucket, "").await.is_empty()
    }
}

/// A running `ingest` process and the Runtime API it polls.
struct Function {
    runtime: RuntimeApi,
    process: Child,
    output: Arc<Mutex<String>>,
}

impl Function {
    async fn start(function_env: &[(&'static str, String)]) -> Self {
        let runtime = RuntimeApi::start("sbw-ingest", Duration::from_secs(30))
            .await
            .expect("runtime API");
        let mut process = runtime
            .command(BINARY)
            .env("AWS_ENDPOINT_URL", Moto::shared().endpoint())
            .envs(function_env.iter().map(|(name, value)| (name, value)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the ingest binary");
        let output = Arc::new(Mutex::new(String::new()));
        collect_lines(process.stdout.take().expect("piped stdout"), output.clone());
        collect_lines(process.stderr.take().expect("piped stderr"), output.clone());
        Function {
            runtime,
            process,
            output,
        }
    }

    fn output(&self) -> String {
        self.output.lock().expect("output lock").clone()
    }

    /// Invokes the function with `event` and returns API Gateway's view of its answer.
    async fn call(&mut self, event: Value) -> HttpApiResponse {
        let outcome = tokio::select! {
            outcome = self.runtime.invoke(event) => outcome,
            status = self.process.wait() => panic!("ingest exited ({status:?}) during an invocation:\n{}", self.output()),
        };
        match outcome {
            Ok(InvocationOutcome::Response(response)) => {
                HttpApiResponse::from_json(&response).expect("an HTTP API response")
            }
            other => panic!(
                "expected a response, got {other:?}; ingest output:\n{}",
                self.output()
            ),
        }
    }

    /// Sends `request`, checks the status, and returns the response.
    async fn expect(&mut self, request: HttpApiRequest, status: u16) -> HttpApiResponse {
        let response = self.call(request.to_event()).await;
        assert_eq!(
            response.status,
            status,
            "body: {}\ningest output:\n{}",
            String::from_utf8_lossy(&response.body),
            self.output()
        );
        response
    }

    /// The JSON log line of one request, waiting for it to be read.
    async fn request_log(&self, request_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .output()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|log| log["request_id"] == request_id && log["message"] == "ingest request");
            if let Some(log) = found {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "no log line for {request_id}:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn collect_lines(stream: impl AsyncRead + Unpin + Send + 'static, output: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut output = output.lock().expect("output lock");
            output.push_str(&line);
            output.push('\n');
        }
    });
}

/// The origin secret this deployment's CloudFront sends.
const ORIGIN_SECRET: &str = "0123456789abcdef0123456789abcdef-current";

/// A request as CloudFront forwards it: with the origin secret.
fn via_cloudfront(method: &str, path: &str) -> HttpApiRequest {
    HttpApiRequest::new(method, path).header(origin_secret::HEADER, ORIGIN_SECRET)
}

/// An anonymous POST of `events` from the shop's pages, as `sendBeacon` sends it.
fn post_events(events: &Value) -> HttpApiRequest {
    via_cloudfront("POST", "/v1/events")
        .query(&format!("site_key={SITE_KEY}"))
        .header("origin", ORIGIN)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("user-agent", USER_AGENT)
        .body(events.to_string())
}

fn event_ids(events: &Value) -> Vec<String> {
    let mut ids: Vec<String> = events
        .as_array()
        .expect("a batch")
        .iter()
        .map(|e| e["event_id"].as_str().expect("event_id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn stored_ids(events: &[sbw_contract::StoredEvent]) -> Vec<String> {
    let mut ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_valid_batch_is_stored_under_its_receive_hour_hashed_and_without_pii() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;
    let now = Utc::now();
    let mut with_pii = valid_event(now);
    with_pii["user_id"] = json!("jane.doe@example.com");
    with_pii["page_url"] =
        json!("https://shop.example/p/laptop-14?utm_source=newsletter&email=jane%40example.com");
    with_pii["props"] =
        json!({"email": "jane@example.com", "order_id": "ORD-7731", "button": "buy"});
    let batch = json!([valid_event(now), with_pii]);
    let request = post_events(&batch);
    let event = request.to_event();
    let request_id = event["requestContext"]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();

    let from = Utc::now();
    let response = function.call(event).await;
    let to = Utc::now();

    assert_eq!(response.status, 202, "{}", function.output());
    assert_eq!(response.json()["accepted"], 2);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    let objects = deployment.aws.objects(&deployment.bucket, "events/").await;
    assert_eq!(objects.len(), 1, "one object per request");
    let (key, body) = &objects[0];
    assert!(is_hour_key(key, ObjectKind::Events, from, to), "{key}");
    let ndjson = gunzip(body);
    let text = String::from_utf8(ndjson.clone()).unwrap();
    for secret in [
        "jane.doe@example.com",
        "jane@example.com",
        "ORD-7731",
        "a1b2c3d4-anon",
        USER_AGENT,
        "Windows NT",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} reached the raw store: {text}"
        );
    }
    let stored = stored_events(&ndjson);
    assert_eq!(stored_ids(&stored), event_ids(&batch));
    let hasher = IdentifierHasher::new(HASH_KEY.as_bytes()).unwrap();
    for event in &stored {
        assert_eq!(
            event.anonymous_id_hash,
            hasher.hash("anonymous", "a1b2c3d4-anon"),
            "hashed with the key from SSM"
        );
        assert_eq!(event.request_id, request_id);
        assert_eq!(event.device.browser.as_deref(), Some("Chrome"));
    }
    // Claimed on the anonymous route: hashed apart from verified users.
    let hashed_user = stored
        .iter()
        .find(|e| e.claimed_user_id_hash.is_some())
        .expect("the event with a user_id");
    assert_eq!(
        hashed_user.claimed_user_id_hash,
        Some(hasher.hash("claimed_user", "jane.doe@example.com"))
    );
    assert!(stored.iter().all(|e| e.user_id_hash.is_none()));
    assert!(!hashed_user.props.contains_key("email"));
    assert_eq!(
        hashed_user.props["order_id"],
        json!(hasher.hash("order_id", "ORD-7731"))
    );

    let log = function.request_log(&request_id).await;
    assert_eq!(
        (log["status"].as_u64(), log["accepted"].as_u64()),
        (Some(202), Some(2)),
        "{log}"
    );
}

#[tokio::test]
async fn a_mixed_batch_stores_the_valid_events_and_reports_the_rejected_one() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;
    let now = Utc::now();
    let mut teleport = valid_event(now);
    teleport["event_type"] = json!("teleport");
    let valid = json!([valid_event(now), valid_event(now)]);
    let batch = json!([valid[0], teleport, valid[1]]);

    let response = function.expect(post_events(&batch), 202).await;

    let body = response.json();
    assert_eq!(
        (body["accepted"].as_u64(), body["rejected"].as_u64()),
        (Some(2), Some(1)),
        "{body}"
    );
    let rejected = &body["results"][1];
    assert_eq!(rejected["status"], "rejected");
    assert!(
        rejected["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "$.event_type"),
        "{rejected}"
    );
    assert_eq!(
        stored_ids(&deployment.aws.events_in(&deployment.bucket).await),
        event_ids(&valid)
    );
    let rejects = deployment.aws.objects(&deployment.bucket, "rejects/").await;
    assert_eq!(rejects.len(), 1);
    let record: Value = serde_json::from_slice(gunzip(&rejects[0].1).trim_ascii_end()).unwrap();
    assert_eq!(record["index"], 1);
}

#[tokio::test]
async fn a_malformed_body_is_a_400_and_stores_nothing() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;

    let request = post_events(&json!(null)).body("[{\"event_id\": ");
    let response = function.expect(request, 400).await;

    assert_eq!(response.json()["error"]["code"], "malformed_json");
    assert!(deployment.stored_nothing().await);
}

#[tokio::test]
async fn a_gzipped_body_arrives_base64_encoded_and_is_stored() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;
    let batch = json!([valid_event(Utc::now()), valid_event(Utc::now())]);

    let request = post_events(&batch)
        .header("content-encoding", "gzip")
        .binary_body(&sbw_testkit::ndjson::gzip(batch.to_string().as_bytes()));
    function.expect(request, 202).await;

    assert_eq!(
        stored_ids(&deployment.aws.events_in(&deployment.bucket).await),
        event_ids(&batch)
    );
}

#[tokio::test]
async fn the_signed_in_route_takes_the_user_from_the_verified_claims_never_from_the_body() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;
    let mut event = valid_event(Utc::now());
    event["user_id"] = json!("someone-else");
    let request = via_cloudfront("POST", SIGNED_IN_PATH)
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .header("authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig")
        .body(json!([event]).to_string())
        .jwt_claims([
            ("sub", "user-42"),
            ("iss", "https://cognito-idp.example"),
            ("exp", "1893456000"),
        ]);

    function.expect(request, 202).await;

    let stored = deployment.aws.events_in(&deployment.bucket).await;
    let hasher = IdentifierHasher::new(HASH_KEY.as_bytes()).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].user_id_hash, Some(hasher.hash("user", "user-42")));
}

#[tokio::test]
async fn access_is_refused_without_claims_site_key_or_allowed_origin() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;
    let batch = json!([valid_event(Utc::now())]);
    let signed_in_without_claims = via_cloudfront("POST", SIGNED_IN_PATH)
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .body(batch.to_string());
    let unknown_origin = post_events(&batch).header("origin", "https://evil.example");
    let no_site_key = post_events(&batch).query("");

    let cases = [
        (signed_in_without_claims, 401, "not_signed_in"),
        (unknown_origin, 403, "origin_not_allowed"),
        (no_site_key, 401, "site_key_missing"),
    ];
    for (request, status, code) in cases {
        let response = function.expect(request, status).await;
        assert_eq!(response.json()["error"]["code"], code);
        assert_ne!(
            response.header("access-control-allow-origin"),
            Some("https://evil.example")
        );
    }
    assert!(deployment.stored_nothing().await);
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_only() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;
    let preflight = |origin: &str| {
        via_cloudfront("OPTIONS", "/v1/events")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
    };

    let allowed = function.expect(preflight(ORIGIN), 204).await;
    let refused = function
        .expect(preflight("https://evil.example"), 403)
        .await;

    assert_eq!(allowed.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(allowed
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert!(allowed.header("access-control-allow-credentials").is_none());
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_failed_store_write_dead_letters_the_events_and_asks_for_a_retry() {
    let deployment = Deployment::create().await;
    let missing_bucket = unique_name("missing");
    let mut env = deployment.function_env();
    env.retain(|(name, _)| *name != "SBW_RAW_BUCKET");
    env.push(("SBW_RAW_BUCKET", missing_bucket.clone()));
    let mut function = Function::start(&env).await;
    let batch = json!([
        valid_event(Utc::now()),
        valid_event(Utc::now()),
        valid_event(Utc::now())
    ]);

    let event = post_events(&batch).to_event();
    let request_id = event["requestContext"]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = function.call(event).await;
    assert_eq!(response.status, 503, "{}", function.output());

    assert!(
        response
            .header("retry-after")
            .is_some_and(|s| s.parse::<u32>().is_ok()),
        "{:?}",
        response.headers
    );
    assert_eq!(response.json()["error"]["code"], "storage_unavailable");
    // The failure is counted in CloudWatch through one EMF line on stdout,
    // written before the request's own log line.
    function.request_log(&request_id).await;
    let metric_lines: Vec<Value> = function
        .output()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|doc| doc.get("_aws").is_some())
        .collect();
    assert_eq!(metric_lines.len(), 1, "{}", function.output());
    let metric = &metric_lines[0];
    assert_eq!(metric["IngestStorageFailures"], 1.0);
    assert_eq!(metric["Deployment"], DEPLOYMENT);
    assert_eq!(metric["DeadLettered"], true);
    assert_eq!(metric["_aws"]["CloudWatchMetrics"][0]["Namespace"], "SBW");
    let messages = deployment.aws.dead_letters(&deployment.queue_url).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!((message.part, message.parts), (1, 1));
    assert!(message.key.starts_with("events/year="), "{}", message.key);
    assert!(
        message.reason.contains(&missing_bucket),
        "{}",
        message.reason
    );
    assert_eq!(
        stored_ids(&dead_lettered_events(message)),
        event_ids(&batch)
    );
}

#[tokio::test]
async fn a_stalled_store_times_out_and_the_events_are_dead_lettered_within_the_function_timeout() {
    let deployment = Deployment::create().await;
    let stalled = StalledEndpoint::start().await.expect("a stalled endpoint");
    let mut env = deployment.function_env();
    // S3 accepts the connection and never answers; SQS and SSM are moto.
    env.push(("AWS_ENDPOINT_URL_S3", stalled.url.clone()));
    let mut function = Function::start(&env).await;
    let batch = json!([valid_event(Utc::now()), valid_event(Utc::now())]);

    let started = Instant::now();
    let response = function.call(post_events(&batch).to_event()).await;
    let took = started.elapsed();
    assert_eq!(response.status, 503, "{}", function.output());
    assert_eq!(response.json()["error"]["code"], "storage_unavailable");
    // The function's timeout is 10 s; the S3 call gives up at its operation
    // timeout and the dead letter still goes out.
    assert!(
        took >= AWS_CALLS.operation && took < Duration::from_secs(8),
        "answered after {took:?}"
    );
    let messages = deployment.aws.dead_letters(&deployment.queue_url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        stored_ids(&dead_lettered_events(&messages[0])),
        event_ids(&batch)
    );
}

#[tokio::test]
async fn a_missing_setting_stops_the_binary_with_its_name() {
    let deployment = Deployment::create().await;
    for missing in [
        "SBW_RAW_BUCKET",
        "SBW_DLQ_URL",
        "SBW_SITE_KEYS",
        "SBW_ALLOWED_ORIGINS",
        "SBW_HASH_KEY_PARAM",
        "SBW_ORIGIN_SECRET_PARAM",
        "SBW_DEPLOYMENT",
    ] {
        let mut env = deployment.function_env();
        env.retain(|(name, _)| *name != missing);
        let runtime = RuntimeApi::start("sbw-ingest", Duration::from_secs(5))
            .await
            .unwrap();
        let run = runtime
            .command(BINARY)
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output();
        let output = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .unwrap_or_else(|_| panic!("ingest kept running without {missing}"))
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "ingest started without {missing}");
        assert!(said.contains(missing), "without {missing} it said: {said}");
    }
}

#[tokio::test]
async fn under_s3_faults_the_binary_dead_letters_asks_for_retries_and_still_refuses_bad_input_with_4xx(
) {
    let deployment = Deployment::create().await;
    let proxy = FaultProxy::start(Moto::shared().endpoint())
        .await
        .expect("a fault proxy");
    let mut env = deployment.function_env();
    env.push(("AWS_ENDPOINT_URL", proxy.url().to_owned()));
    let mut function = Function::start(&env).await;
    let writes = Rule::new(
        Match::service("s3")
            .method(http::Method::PUT)
            .path_prefix(&format!("/{}/", deployment.bucket)),
        Fault::slow_down(),
    );
    let sqs_throttled = Rule::new(Match::service("sqs"), Fault::throttling());
    let all_rejected = {
        let mut event = valid_event(Utc::now());
        event["event_type"] = json!("teleport");
        json!([event])
    };
    let malformed = post_events(&json!(null)).body("[{\"event_id\": ");

    let mut sent = Vec::new();
    let mut queued = Vec::new();
    let faults = [
        (vec![writes.clone()], true),
        (vec![writes.with_fault(Fault::Reset)], true),
        (vec![writes.with_fault(Fault::Stall)], true),
        (vec![writes.clone(), sqs_throttled], false),
    ];
    for (rules, dead_letter_works) in faults {
        proxy.clear();
        for rule in rules {
            proxy.inject(rule);
        }
        let batch = json!([valid_event(Utc::now()), valid_event(Utc::now())]);
        let response = function.expect(post_events(&batch), 503).await;
        let error = &response.json()["error"];
        assert_eq!(error["code"], "storage_unavailable", "{error}");
        let said_queued = error["message"]
            .as_str()
            .is_some_and(|m| m.contains("queued for recovery"));
        assert_eq!(said_queued, dead_letter_works, "{error}");
        assert!(response.header("retry-after").is_some());
        if dead_letter_works {
            queued.extend(event_ids(&batch));
        }
        sent.push(batch);

        let refused = function.expect(malformed.clone(), 400).await;
        assert_eq!(refused.json()["error"]["code"], "malformed_json");
        // Its rejected-event record is an S3 write that fails: logged, not answered.
        let rejected = function.expect(post_events(&all_rejected), 400).await;
        assert_eq!(rejected.json()["results"][0]["status"], "rejected");
    }
    let counts = proxy.counts();
    assert!(
        counts.errors > 0 && counts.reset > 0 && counts.stalled > 0,
        "{counts:?}"
    );

    // The faults end; the client's retries are stored.
    proxy.clear();
    for batch in &sent {
        function.expect(post_events(batch), 202).await;
    }
    let in_s3 = stored_ids(&deployment.aws.events_in(&deployment.bucket).await);
    let mut in_queue: Vec<String> = deployment
        .aws
        .drain_dead_letters(&deployment.queue_url)
        .await
        .iter()
        .flat_map(|message| stored_ids(&dead_lettered_events(message)))
        .collect();
    in_queue.sort();
    queued.sort();
    let mut all_sent: Vec<String> = sent.iter().flat_map(event_ids).collect();
    all_sent.sort();
    assert_eq!(in_s3, all_sent, "every event stored once the faults ended");
    assert_eq!(
        in_queue, queued,
        "the dead-letter queue holds what the 503s said it does"
    );
}

/// The API's own endpoint, called without CloudFront: refused before
/// anything is read, with a reason; the previous secret still works, and a
/// warm function takes a rotated one from the parameter at once.
#[tokio::test]
async fn only_requests_through_cloudfront_come_in_and_a_rotation_reaches_a_warm_function() {
    let deployment = Deployment::create().await;
    let mut function = deployment.start_function().await;
    let batch = json!([valid_event(Utc::now())]);
    let bypass = |secret: Option<&str>| {
        let request = HttpApiRequest::new("POST", "/v1/events")
            .query(&format!("site_key={SITE_KEY}"))
            .header("origin", ORIGIN)
            .header("content-type", "application/json")
            .header("cloudfront-viewer-country", "KP")
            .body(batch.to_string());
        match secret {
            Some(secret) => request.header(origin_secret::HEADER, secret),
            None => request,
        }
    };
    let refused = |response: &HttpApiResponse, code: &str| {
        assert_eq!(response.json()["error"]["code"], code);
        assert!(response.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CloudFront"));
    };

    let direct = function.expect(bypass(None), 403).await;
    refused(&direct, "not_through_cloudfront");
    let preflight = HttpApiRequest::new("OPTIONS", "/v1/events").header("origin", ORIGIN);
    refused(
        &function.expect(preflight, 403).await,
        "not_through_cloudfront",
    );
    assert!(deployment.stored_nothing().await);

    function.expect(bypass(Some(ORIGIN_SECRET)), 202).await;
    function
        .expect(bypass(Some("previous-secret-0123456789abcdef")), 202)
        .await;
    let stored = deployment.aws.events_in(&deployment.bucket).await;
    assert_eq!(stored.len(), 1, "the same event twice is stored once");
    assert_eq!(stored[0].geo.country.as_deref(), Some("KP"));

    // sbwctl rotate origin-secret: new,current.
    let rotated = "fedcba9876543210fedcba9876543210-rotated";
    deployment
        .aws
        .put_secure_parameter(
            &deployment.origin_secret_parameter,
            &format!("{rotated},{ORIGIN_SECRET}"),
        )
        .await;
    function.expect(bypass(Some(rotated)), 202).await;
    function.expect(bypass(Some(ORIGIN_SECRET)), 202).await;
    refused(
        &function.expect(bypass(Some("guessed")), 403).await,
        "origin_secret_unknown",
    );
    assert!(
        !function.output().contains(rotated) && !function.output().contains(ORIGIN_SECRET),
        "a secret appeared in the function's output:\n{}",
        function.output()
    );
}
