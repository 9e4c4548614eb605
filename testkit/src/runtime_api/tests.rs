use super::*;

/// A hand-written runtime client: the protocol as documented.
async fn http(address: &str, method: &str, path: &str, body: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

#[tokio::test]
async fn an_invocation_goes_out_with_the_documented_headers_and_its_response_comes_back() {
    let api = RuntimeApi::start("echo", Duration::from_secs(5))
        .await
        .unwrap();
    let address = api.address();
    let function = tokio::spawn(async move {
        let (status, head, event) =
            http(&address, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        assert_eq!(status, 200);
        let request_id = header(&head, "lambda-runtime-aws-request-id").to_owned();
        let deadline_ms: u128 = header(&head, "lambda-runtime-deadline-ms").parse().unwrap();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(deadline_ms > now_ms && deadline_ms <= now_ms + 5_000);
        assert_eq!(
            header(&head, "lambda-runtime-invoked-function-arn"),
            "arn:aws:lambda:us-east-1:000000000000:function:echo"
        );
        assert!(header(&head, "lambda-runtime-trace-id").starts_with("root=1-"));
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        let (status, _, _) = http(&address, "POST", &path, &format!("{{\"echo\":{event}}}")).await;
        assert_eq!(status, 202);
        let (status, _, _) = http(&address, "POST", &path, "{}").await;
        assert_eq!(status, 400, "a second answer to one invocation is refused");
    });
    let outcome = api.invoke(json!({"n": 1})).await.unwrap();
    function.await.unwrap();
    assert_eq!(
        outcome,
        InvocationOutcome::Response(json!({"echo": {"n": 1}}))
    );
    assert!(api.wait_for_first_poll(Duration::ZERO).await.is_ok());
}

#[tokio::test]
async fn invocation_errors_and_init_errors_reach_the_invoker() {
    let api = RuntimeApi::start("failing", Duration::from_secs(5))
        .await
        .unwrap();
    let address = api.address();
    let function = tokio::spawn(async move {
        let (_, head, _) = http(&address, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        let request_id = header(&head, "lambda-runtime-aws-request-id");
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/error");
        http(
            &address,
            "POST",
            &path,
            r#"{"errorType":"Boom","errorMessage":"it broke"}"#,
        )
        .await;
        http(
            &address,
            "POST",
            "/2018-06-01/runtime/init/error",
            r#"{"errorType":"Runtime.Init"}"#,
        )
        .await;
    });
    let InvocationOutcome::Error(error) = api.invoke(json!({})).await.unwrap() else {
        panic!("expected an invocation error");
    };
    assert_eq!(error.body["errorMessage"], "it broke");
    function.await.unwrap();
    let after_init_error = api.invoke(json!({})).await;
    assert!(
        matches!(after_init_error, Err(RuntimeApiError::InitFailed(body)) if body["errorType"] == "Runtime.Init")
    );
}

#[tokio::test]
async fn a_function_process_keeps_its_stdout_and_stderr_lines() {
    let mut command = tokio::process::Command::new("sh");
    command.args([
        "-c",
        "echo one; echo two >&2; sleep 0.1; echo three; exit 3",
    ]);
    let mut function = FunctionProcess::spawn(command).unwrap();
    let three = function
        .wait_for_stdout_line(1, |line| line.starts_with('t'), Duration::from_secs(5))
        .await;
    assert_eq!(three.as_deref(), Some("three"));
    let status = function
        .wait_for_exit(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(3));
    assert_eq!(function.stdout_lines(), ["one", "three"]);
    assert_eq!(function.stderr_lines(), ["two"]);
}

#[tokio::test]
async fn an_unanswered_invocation_times_out() {
    let api = RuntimeApi::start("silent", Duration::from_millis(50))
        .await
        .unwrap();
    assert!(matches!(
        api.invoke(json!({})).await,
        Err(RuntimeApiError::Timeout { .. })
    ));
    assert!(matches!(
        api.wait_for_first_poll(Duration::from_millis(10)).await,
        Err(RuntimeApiError::NoPoll(_))
    ));
}
