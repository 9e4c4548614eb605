//! The benchmark floor for `sbwctl dev ingest`: the same HTTP stack (axum on
//! tokio) that reads the whole body and answers 202, doing nothing else.
//! Usage: noop-http-server ADDR

use axum::body::Bytes;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    let app = axum::Router::new().fallback(|body: Bytes| async move {
        let answer = format!("{{\"accepted\":0,\"bytes\":{}}}", body.len());
        (
            axum::http::StatusCode::ACCEPTED,
            [("content-type", "application/json")],
            answer,
        )
    });
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("noop server listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
