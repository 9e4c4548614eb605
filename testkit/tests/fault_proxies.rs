//! The fault proxies as their clients see them: the AWS SDK through the
//! HTTP proxy in front of moto, a TCP client through the TCP proxy in front
//! of an echo server.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use http::Method;
use sbw_testkit::fault_proxy::{Counts, Fault, FaultProxy, Match, Rule};
use sbw_testkit::moto::sdk_config_timing_out;
use sbw_testkit::tcp_proxy::TcpFaultProxy;
use sbw_testkit::{unique_name, Moto};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// S3 and SQS clients through a proxy in front of the shared moto, giving
/// up on a silent attempt after a second (and leaving time for the SDK's
/// three attempts and their back-off).
struct Clients {
    proxy: FaultProxy,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
}

impl Clients {
    async fn start() -> Clients {
        let proxy = FaultProxy::start(Moto::shared().endpoint()).await.unwrap();
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(10))
            .build();
        let config = sdk_config_timing_out(proxy.url(), timeouts).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let bucket = unique_name("proxy");
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        Clients {
            sqs: aws_sdk_sqs::Client::new(&config),
            proxy,
            s3,
            bucket,
        }
    }

    async fn put(&self, key: &str) -> Result<(), String> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(b"body".to_vec().into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                e.code().map_or_else(
                    || aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                    str::to_owned,
                )
            })
    }

    async fn exists(&self, key: &str) -> bool {
        self.s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    }

    fn puts(&self) -> Match {
        Match::service("s3")
            .method(Method::PUT)
            .path_prefix(&format!("/{}/events/", self.bucket))
    }
}

#[tokio::test]
async fn unmatched_requests_reach_moto_and_injected_errors_read_as_the_services_own() {
    let clients = Clients::start().await;
    clients.put("events/a").await.unwrap();
    assert!(clients.exists("events/a").await);
    let forwarded = clients.proxy.counts().forwarded;
    assert!(forwarded >= 3, "{:?}", clients.proxy.counts());

    clients
        .proxy
        .inject(Rule::new(clients.puts(), Fault::slow_down()));
    let refused = clients.put("events/b").await;
    // Other keys and other services pass.
    clients.put("other/c").await.unwrap();

    assert_eq!(refused, Err("SlowDown".to_owned()));
    let counts = clients.proxy.counts();
    assert_eq!(counts.errors, 3, "the SDK's three attempts: {counts:?}");
    assert!(!clients.exists("events/b").await);

    clients
        .proxy
        .inject(Rule::new(Match::service("sqs"), Fault::throttling()));
    let throttled = clients
        .sqs
        .create_queue()
        .queue_name(unique_name("q"))
        .send()
        .await
        .expect_err("SQS is throttled");
    assert_eq!(throttled.code(), Some("ThrottlingException"));
}

#[tokio::test]
async fn every_and_times_pick_which_matching_requests_fail() {
    let clients = Clients::start().await;
    // Every second attempt fails: each call succeeds on its retry at worst.
    clients
        .proxy
        .inject(Rule::new(clients.puts(), Fault::internal_error()).every(2));
    for n in 0..4 {
        clients.put(&format!("events/{n}")).await.unwrap();
    }
    // Attempts 2, 4 and 6 failed: the second, third and fourth puts' first.
    assert_eq!(clients.proxy.counts().errors, 3);

    clients.proxy.clear();
    clients
        .proxy
        .inject(Rule::new(clients.puts(), Fault::internal_error()).times(1));
    clients.put("events/x").await.unwrap();
    clients.put("events/y").await.unwrap();
    assert_eq!(clients.proxy.counts().errors, 4);
}

#[tokio::test]
async fn resets_and_stalls_fail_the_call_and_a_reset_after_forwarding_still_writes() {
    let clients = Clients::start().await;
    clients
        .proxy
        .inject(Rule::new(clients.puts(), Fault::Reset));
    let reset = clients.put("events/reset").await;
    assert!(reset.is_err(), "{reset:?}");
    assert!(!clients.exists("events/reset").await);

    clients.proxy.clear();
    clients
        .proxy
        .inject(Rule::new(clients.puts(), Fault::ResetAfterForwarding));
    let lost = clients.put("events/lost").await;
    assert!(lost.is_err(), "{lost:?}");
    assert!(
        clients.exists("events/lost").await,
        "the write reached moto, only its answer was lost"
    );

    clients.proxy.clear();
    clients
        .proxy
        .inject(Rule::new(clients.puts(), Fault::Stall));
    let stalled = clients.put("events/stalled").await;
    assert!(stalled.is_err(), "{stalled:?}");

    let Counts {
        reset,
        reset_after_forwarding,
        stalled,
        ..
    } = clients.proxy.counts();
    assert!(
        reset >= 1 && reset_after_forwarding >= 1 && stalled >= 1,
        "{:?}",
        clients.proxy.counts()
    );
}

/// An echo server; returns its address.
async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut reader, mut writer) = socket.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    address
}

async fn echo(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(message).await?;
    let mut answer = vec![0; message.len()];
    stream.read_exact(&mut answer).await?;
    Ok(answer)
}

#[tokio::test]
async fn the_tcp_proxy_forwards_resets_cuts_and_stalls_on_command() {
    let proxy = TcpFaultProxy::start(echo_server().await).await.unwrap();
    let mut first = TcpStream::connect(proxy.address()).await.unwrap();
    let mut second = TcpStream::connect(proxy.address()).await.unwrap();
    assert_eq!(echo(&mut first, b"hello").await.unwrap(), b"hello");
    assert_eq!(echo(&mut second, b"world").await.unwrap(), b"world");

    proxy.reset_all();
    for stream in [&mut first, &mut second] {
        let mut byte = [0u8; 1];
        let error = stream
            .read(&mut byte)
            .await
            .expect_err("a reset connection");
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    }

    let mut cut = TcpStream::connect(proxy.address()).await.unwrap();
    proxy.cut_after(8);
    assert_eq!(echo(&mut cut, b"12345").await.unwrap(), b"12345");
    let echoed = echo(&mut cut, b"6789abc").await;
    assert!(echoed.is_err(), "cut after the 8th byte: {echoed:?}");

    let mut held = TcpStream::connect(proxy.address()).await.unwrap();
    assert_eq!(echo(&mut held, b"before").await.unwrap(), b"before");
    proxy.stall();
    let during = tokio::time::timeout(Duration::from_millis(300), echo(&mut held, b"during")).await;
    assert!(during.is_err(), "nothing passes during a stall");
    proxy.resume();
    let mut answer = [0u8; 6];
    held.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"during");

    let counts = proxy.counts();
    assert_eq!((counts.connections, counts.resets), (4, 3), "{counts:?}");
    assert_eq!(counts.bytes_to_server, 5 + 5 + 5 + 3 + 6 + 6);
}
