//! The demo shop, served from this process: its static files, and a
//! `/config.js` of our own that points the SDK at the local ingest server.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use http::{header, Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::stop::StopSignal;

struct Shop {
    root: PathBuf,
    config_js: String,
}

/// What the shop's pages load as `config.js`: where events go.
pub fn config_js(endpoint: &str, site_key: &str) -> String {
    let config = serde_json::json!({ "endpoint": endpoint, "siteKey": site_key });
    format!(
        "// Served by `sbwctl dev up`: the demo shop sends its events to the local ingest server.\n\
         window.SBW_CONFIG = {config};\n"
    )
}

/// Serves `root` until `stop`; requests in flight are answered first.
pub async fn serve(
    listener: TcpListener,
    root: PathBuf,
    config_js: String,
    mut stop: StopSignal,
) -> std::io::Result<()> {
    let shop = Arc::new(Shop { root, config_js });
    let app = axum::Router::new().fallback(handle).with_state(shop);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.stopped().await })
        .await
}

async fn handle(State(shop): State<Arc<Shop>>, request: Request<Body>) -> Response<Body> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return answer(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
    }
    let path = request.uri().path();
    if path == "/config.js" {
        return answer(StatusCode::OK, content_type(path), shop.config_js.clone());
    }
    let Some(file) = file_of(&shop.root, path) else {
        return answer(StatusCode::NOT_FOUND, "text/plain", "not found\n");
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => answer(StatusCode::OK, content_type(&file.to_string_lossy()), bytes),
        Err(_) => answer(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

/// The file a URL path names under `root`: plain names only (no `..`, no
/// hidden files), `index.html` for a directory.
fn file_of(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    let mut file = root.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(name) if !name.to_string_lossy().starts_with('.') => file.push(name),
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    Some(file)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn answer(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        // A development server: every reload shows the files as they are now.
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.into())
        .expect("a static status and headers make a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_shop() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("js")).unwrap();
        assert_eq!(
            file_of(root.path(), "/"),
            Some(root.path().join("index.html"))
        );
        assert_eq!(
            file_of(root.path(), "/js/shop.js"),
            Some(root.path().join("js/shop.js"))
        );
        assert_eq!(
            file_of(root.path(), "/js"),
            Some(root.path().join("js/index.html"))
        );
        assert_eq!(file_of(root.path(), "/../secrets.json"), None);
        assert_eq!(file_of(root.path(), "/js/../../x"), None);
        assert_eq!(file_of(root.path(), "/.git/config"), None);
    }

    #[test]
    fn config_points_the_sdk_at_the_ingest_server() {
        let js = config_js("http://127.0.0.1:8787", "demo-shop");
        assert!(
            js.contains(
                r#"window.SBW_CONFIG = {"endpoint":"http://127.0.0.1:8787","siteKey":"demo-shop"};"#
            ),
            "{js}"
        );
        assert_eq!(content_type("/config.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("/catalog.json"), "application/json");
    }
}
