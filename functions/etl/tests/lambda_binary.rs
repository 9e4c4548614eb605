//! The built `etl` binary run as Lambda runs it: a clean Lambda environment,
//! the local Runtime API handing it scheduled, backfill and bad requests,
//! moto serving the raw bucket and the database login, and the warehouse on
//! a real PostgreSQL serving the certificate the warehouse bootstrap makes.
//!
//! Over 400 lines on purpose: the cases share the Runtime API, moto and the
//! TLS warehouse set-up; each file under tests/ is its own test binary,
//! linked anew on every change and links the AWS SDKs.

mod raw_bucket;
mod tls_warehouse;

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use raw_bucket::RawBucket;
use sbw_etl::lambda::AWS_CALLS;
use sbw_etl::{RunStatus, RunSummary};
use sbw_testkit::pg_server::PgServer;
use sbw_testkit::postgres::TestDb;
use sbw_testkit::runtime_api::RuntimeApiError;
use sbw_testkit::shoppers::Shoppers;
use sbw_testkit::stall::StalledEndpoint;
use sbw_testkit::{FunctionProcess, InvocationOutcome, Moto, RuntimeApi};
use serde_json::{json, Value};
use tls_warehouse::TlsWarehouse;

const BINARY: &str = env!("CARGO_BIN_EXE_etl");
const DEPLOYMENT: &str = "etl-test";
const LOGIN_KEY: &str = "warehouse/etl-login.json";

/// The variables the function cannot start without.
const REQUIRED: [&str; 5] = [
    "SBW_RAW_BUCKET",
    "SBW_DB_HOST",
    "SBW_DB_CREDENTIALS_BUCKET",
    "SBW_DB_CREDENTIALS_KEY",
    "SBW_DEPLOYMENT",
];

/// One deployment: the raw bucket, the credentials bucket holding the
/// warehouse login (trust authentication locally), and the warehouse, which
/// the function reaches at 127.0.0.1 over TLS, verified against its CA.
struct Deployment {
    raw: RawBucket,
    credentials: RawBucket,
    db: TestDb,
    /// After `db`, which it outlives.
    warehouse: TlsWarehouse,
}

const DB_HOST: &str = "127.0.0.1";

impl Deployment {
    async fn create() -> Deployment {
        let raw = RawBucket::create("raw").await;
        let credentials = RawBucket::create("creds").await;
        let warehouse = TlsWarehouse::start("localhost", DB_HOST);
        let db = TestDb::create_on(&warehouse.server.admin_url()).await;
        let deployment = Deployment {
            raw,
            credentials,
            db,
            warehouse,
        };
        deployment.put_login(deployment.login()).await;
        deployment
    }

    /// The login the warehouse bootstrap publishes for this warehouse.
    fn login(&self) -> Value {
        json!({
            "port": self.warehouse.server.port(),
            "dbname": self.db.name,
            "user": "sbw_etl",
            "password": "unused",
            "sslmode": "verify-full",
            "sslrootcert": self.warehouse.ca_pem,
        })
    }

    async fn put_login(&self, login: Value) {
        self.credentials
            .put(LOGIN_KEY, login.to_string().into_bytes())
            .await;
    }

    fn function_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SBW_RAW_BUCKET", self.raw.name.clone()),
            ("SBW_DB_HOST", DB_HOST.to_owned()),
            ("SBW_DB_CREDENTIALS_BUCKET", self.credentials.name.clone()),
            ("SBW_DB_CREDENTIALS_KEY", LOGIN_KEY.to_owned()),
            ("SBW_DEPLOYMENT", DEPLOYMENT.to_owned()),
            ("SBW_METRICS_NAMESPACE", "SBW".to_owned()),
            ("SBW_REPROCESS_WINDOW_HOURS", "2".to_owned()),
        ]
    }

    /// Puts `objects` visits received around `hours_ago`; returns their event count.
    async fn put_visits(&self, shoppers: &mut Shoppers, hours_ago: i64, objects: usize) -> u64 {
        let start = Utc::now() - chrono::Duration::hours(hours_ago);
        let objects: Vec<_> = (0..objects)
            .map(|_| {
                let events = shoppers.session(start);
                (events[0].received_at, events)
            })
            .collect();
        let events = objects.iter().map(|(_, events)| events.len() as u64).sum();
        self.raw.put_events(objects).await;
        events
    }

    async fn count(&self, table: &str) -> i64 {
        self.db
            .etl_client()
            .await
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .expect("counting")
            .get(0)
    }
}

/// A running `etl` process and the Runtime API it polls.
struct Function {
    runtime: RuntimeApi,
    process: FunctionProcess,
}

impl Function {
    async fn start(function_env: &[(&'static str, String)]) -> Function {
        let runtime = RuntimeApi::start("sbw-etl", Duration::from_secs(120))
            .await
            .expect("runtime API");
        let mut command = runtime.command(BINARY);
        command
            .env("AWS_ENDPOINT_URL", Moto::shared().endpoint())
            .envs(function_env.iter().map(|(name, value)| (name, value)));
        let process = FunctionProcess::spawn(command).expect("spawn the etl binary");
        Function { runtime, process }
    }

    async fn invoke(&mut self, payload: Value) -> InvocationOutcome {
        let outcome = tokio::select! {
            outcome = self.runtime.invoke(payload) => outcome,
            status = self.process.child.wait() => panic!(
                "etl exited ({status:?}) during an invocation:\n{}", self.process.output()
            ),
        };
        outcome.unwrap_or_else(|e| panic!("{e}; etl output:\n{}", self.process.output()))
    }

    /// Invokes with `payload`, expects a run summary, and returns it with
    /// the EMF line the invocation printed.
    async fn run(&mut self, payload: Value) -> (RunSummary, Value) {
        let printed = self.process.stdout_lines().len();
        let summary = match self.invoke(payload.clone()).await {
            InvocationOutcome::Response(response) => serde_json::from_value(response.clone())
                .unwrap_or_else(|e| panic!("not a run summary ({e}): {response}")),
            InvocationOutcome::Error(error) => panic!(
                "{payload} failed: {error:?}; etl output:\n{}",
                self.process.output()
            ),
        };
        let emf = self
            .process
            .wait_for_stdout_line(printed, is_emf, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no EMF line; etl output:\n{}", self.process.output()));
        let emf = serde_json::from_str(&emf).expect("EMF is JSON");
        (summary, emf)
    }

    /// Invokes with `payload`, expects an invocation error, and returns its message.
    async fn refuse(&mut self, payload: Value) -> String {
        match self.invoke(payload.clone()).await {
            InvocationOutcome::Error(error) => error.body["errorMessage"]
                .as_str()
                .unwrap_or_else(|| panic!("no errorMessage in {:?}", error.body))
                .to_owned(),
            InvocationOutcome::Response(response) => {
                panic!("{payload} was answered: {response}")
            }
        }
    }

    fn is_running(&mut self) -> bool {
        self.process.child.try_wait().expect("try_wait").is_none()
    }
}

/// Whether a stdout line is a CloudWatch Embedded Metric Format document.
fn is_emf(line: &str) -> bool {
    serde_json::from_str::<Value>(line).is_ok_and(|doc| doc.get("_aws").is_some())
}

/// Checks the EMF document of a run: namespace, dimension, metrics.
fn assert_emf(emf: &Value, summary: &RunSummary) {
    let directive = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "SBW", "{emf}");
    assert_eq!(directive["Dimensions"], json!([["Deployment"]]), "{emf}");
    assert_eq!(emf["Deployment"], DEPLOYMENT, "{emf}");
    assert!(emf["_aws"]["Timestamp"].is_i64(), "{emf}");
    let defined: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metric definitions")
        .iter()
        .map(|m| m["Name"].as_str().expect("a metric name"))
        .collect();
    for metric in ["DWFreshnessMinutes", "EventsLoaded", "RunDurationSeconds"] {
        assert!(defined.contains(&metric), "{metric} not defined: {emf}");
        assert!(emf[metric].is_number(), "{metric} not a number: {emf}");
    }
    assert_eq!(
        emf["DWFreshnessMinutes"].as_f64(),
        summary.freshness_minutes,
        "{emf}"
    );
    assert_eq!(
        emf["EventsLoaded"].as_f64(),
        Some(summary.events_loaded as f64),
        "{emf}"
    );
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn scheduled_and_backfill_runs_load_and_bad_requests_are_refused_without_a_crash() {
    let deployment = Deployment::create().await;
    let mut shoppers = Shoppers::new(41);
    let first_events = deployment.put_visits(&mut shoppers, 0, 6).await;
    let mut function = Function::start(&deployment.function_env()).await;

    let (first, emf) = function.run(json!({"trigger": "schedule"})).await;
    assert_eq!(first.status, RunStatus::Succeeded);
    assert_eq!(first.trigger, "schedule");
    assert_eq!(
        (first.objects_loaded, first.events_loaded),
        (6, first_events)
    );
    let freshness = first.freshness_minutes.expect("freshness after a run");
    assert!((0.0..5.0).contains(&freshness), "{freshness}");
    assert_emf(&emf, &first);
    assert_eq!(deployment.raw.last_run().await, first);
    assert_eq!(
        deployment.count("fact_events").await,
        first_events as i64,
        "the summary matches the warehouse"
    );

    for (bad, says) in [
        (json!({"trigger": "nightly"}), "nightly"),
        (
            json!({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}),
            "from <= to",
        ),
        (json!([1, 2]), "not an ETL request"),
        (json!({"detail-type": "Object Created"}), "Object Created"),
    ] {
        let printed = function.process.stdout_lines().len();
        let message = function.refuse(bad.clone()).await;
        assert!(message.contains(says), "{bad} -> {message}");
        assert!(function.is_running(), "etl exited after {bad}");
        assert!(
            function.process.stdout_lines()[printed..]
                .iter()
                .all(|line| !is_emf(line)),
            "{bad} ran: {}",
            function.process.output()
        );
    }

    // EventBridge's scheduled event, as the schedule rule delivers it.
    let second_events = deployment.put_visits(&mut shoppers, 0, 3).await;
    let scheduled = json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": rfc3339(Utc::now()),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/sbw-etl-schedule"],
        "detail": {}
    });
    let (second, emf) = function.run(scheduled).await;
    assert_eq!(second.status, RunStatus::Succeeded);
    assert_eq!(second.trigger, "schedule");
    assert_eq!(
        (second.objects_loaded, second.events_loaded),
        (3, second_events)
    );
    assert_emf(&emf, &second);

    // Written far behind the reprocess window: the next scheduled run does
    // not list it, a backfill of its hour does.
    let late_events = deployment.put_visits(&mut shoppers, 10, 2).await;
    let (third, _) = function.run(json!({"trigger": "schedule"})).await;
    assert_eq!(third.events_loaded, 0);
    let hour = Utc::now() - chrono::Duration::hours(10);
    let backfill = json!({"from": rfc3339(hour), "to": rfc3339(hour)});
    let (backfilled, emf) = function.run(backfill).await;
    assert_eq!(backfilled.status, RunStatus::Succeeded);
    assert_eq!(backfilled.trigger, "backfill");
    assert_eq!(backfilled.events_loaded, late_events);
    assert_emf(&emf, &backfilled);
    assert_eq!(
        deployment.count("fact_events").await,
        (first_events + second_events + late_events) as i64
    );
    assert_eq!(
        deployment.count("etl_runs").await,
        4,
        "refused requests record no run"
    );
}

#[tokio::test]
async fn a_missing_database_login_is_an_invocation_error_naming_it() {
    let deployment = Deployment::create().await;
    let mut env = deployment.function_env();
    env.retain(|(name, _)| *name != "SBW_DB_CREDENTIALS_KEY");
    env.push((
        "SBW_DB_CREDENTIALS_KEY",
        "warehouse/missing.json".to_owned(),
    ));
    let mut function = Function::start(&env).await;

    for _ in 0..2 {
        let message = function.refuse(json!({"trigger": "schedule"})).await;
        let object = format!(
            "s3://{}/warehouse/missing.json",
            deployment.credentials.name
        );
        assert!(message.contains(&object), "{message}");
        assert!(message.contains("NoSuchKey"), "{message}");
        assert!(
            function.is_running(),
            "etl exited after a failed invocation"
        );
    }
    assert!(!function.process.stdout_lines().iter().any(|l| is_emf(l)));
}

/// The function connects only to the warehouse that published its login:
/// TLS, a certificate signed by that instance's CA, naming the host it
/// dialled. Anything less is an invocation error that says why, and loads nothing.
#[tokio::test]
async fn the_etl_refuses_a_warehouse_it_cannot_verify() {
    let deployment = Deployment::create().await;
    deployment.put_visits(&mut Shoppers::new(7), 0, 2).await;
    // Another instance: its own CA, a certificate for its own names.
    let other = TlsWarehouse::start("ip-10-0-0-9.ec2.internal", "10.0.0.9");
    let plain = PgServer::start().expect("a PostgreSQL server without TLS");
    let good = deployment.login();
    let with = |changes: Value| {
        let mut login = good.clone();
        for (name, value) in changes.as_object().expect("an object") {
            login[name] = value.clone();
        }
        login
    };
    let mut function = Function::start(&deployment.function_env()).await;
    for (login, says) in [
        (with(json!({"sslmode": "disable"})), "sslmode=\"disable\""),
        (with(json!({"sslmode": "require"})), "sslmode=\"require\""),
        (with(json!({"sslrootcert": null})), "no PEM certificate"),
        // The right CA, a server that offers no TLS.
        (
            with(json!({"port": plain.port()})),
            "server does not support TLS",
        ),
        // A server whose certificate another instance's CA signed (same
        // name, another key: rustls says BadSignature).
        (
            with(json!({"port": other.server.port()})),
            "invalid peer certificate: BadSignature",
        ),
        // Its own CA, but a certificate for other names than 127.0.0.1.
        (
            with(json!({"port": other.server.port(), "sslrootcert": other.ca_pem})),
            "invalid peer certificate: certificate not valid for name",
        ),
    ] {
        deployment.put_login(login.clone()).await;
        let message = function.refuse(json!({"trigger": "schedule"})).await;
        assert!(message.contains(says), "{login} -> {message}");
        assert!(function.is_running(), "etl exited after {login}");
    }

    deployment.put_login(good).await;
    let (summary, _) = function.run(json!({"trigger": "schedule"})).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert!(summary.events_loaded > 0);
    assert_eq!(
        deployment.count("etl_runs").await,
        1,
        "the refused invocations ran nothing"
    );
}

#[tokio::test]
async fn a_missing_or_invalid_setting_stops_the_binary_at_init_with_its_name() {
    let deployment = Deployment::create().await;
    let mut cases: Vec<(&str, Vec<(&str, String)>)> = REQUIRED
        .iter()
        .map(|missing| {
            let mut env = deployment.function_env();
            env.retain(|(name, _)| name != missing);
            (*missing, env)
        })
        .collect();
    let mut invalid_window = deployment.function_env();
    invalid_window.retain(|(name, _)| *name != "SBW_REPROCESS_WINDOW_HOURS");
    invalid_window.push(("SBW_REPROCESS_WINDOW_HOURS", "two".to_owned()));
    cases.push(("SBW_REPROCESS_WINDOW_HOURS", invalid_window));

    for (variable, env) in cases {
        let mut function = Function::start(&env).await;
        let status = function
            .process
            .wait_for_exit(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("etl kept running without a valid {variable}"));
        let output = function.process.output();
        assert!(!status.success(), "etl exited cleanly without {variable}");
        assert!(
            output.contains(variable),
            "about {variable} it said: {output}"
        );
        // It stops before asking the Runtime API for work: Lambda reports
        // the exit as an init failure (Runtime.ExitError).
        assert!(matches!(
            function.runtime.wait_for_first_poll(Duration::ZERO).await,
            Err(RuntimeApiError::NoPoll(_))
        ));
    }
}

#[tokio::test]
async fn a_run_at_trace_level_logs_no_bound_parameter() {
    let deployment = Deployment::create().await;
    deployment.put_visits(&mut Shoppers::new(19), 1, 2).await;
    let mut env = deployment.function_env();
    // Bound to `set_config('TimeZone', $1)` at every run, and logged nowhere else.
    env.push(("SBW_TIMEZONE", "America/Argentina/Ushuaia".to_owned()));
    env.push(("RUST_LOG", "trace".to_owned()));
    let mut function = Function::start(&env).await;
    let (summary, _) = function.run(json!({"trigger": "schedule"})).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert!(summary.events_loaded > 0);
    let output = function.process.output();
    assert!(
        output.contains("preparing query"),
        "tokio-postgres logs at debug are on: {output}"
    );
    assert!(!output.contains("with parameters"), "{output}");
    assert!(!output.contains("Ushuaia"), "{output}");
}

#[tokio::test]
async fn a_stalled_s3_fails_the_invocation_within_the_call_timeout() {
    let deployment = Deployment::create().await;
    let stalled = StalledEndpoint::start().await.expect("a stalled endpoint");
    let mut env = deployment.function_env();
    env.push(("AWS_ENDPOINT_URL_S3", stalled.url.clone()));
    let mut function = Function::start(&env).await;
    let started = Instant::now();
    let message = function.refuse(json!({"trigger": "schedule"})).await;
    let took = started.elapsed();
    assert!(message.contains("reading the database login"), "{message}");
    assert!(message.contains("timeout"), "{message}");
    assert!(
        took >= AWS_CALLS.operation && took < AWS_CALLS.operation + Duration::from_secs(5),
        "failed after {took:?}"
    );
    assert!(
        function.is_running(),
        "the function serves the next invocation"
    );
}
