//! From HTTP body bytes to JSON values: content type, gzip, size limits.

use std::io::Read;

use bytes::Bytes;

use flate2::read::MultiGzDecoder;
use http::StatusCode;
use sbw_contract::limits::MAX_BODY_BYTES;

use crate::request::{IngestRequest, Refusal};

/// The body as JSON bytes, decoded and within [`MAX_BODY_BYTES`].
pub fn decode(request: &IngestRequest) -> Result<Bytes, Refusal> {
    check_content_type(request.header("content-type"))?;
    if request.body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    match request.header("content-encoding").map(str::trim) {
        None | Some("") | Some("identity") => Ok(request.body.clone()),
        Some(enc) if enc.eq_ignore_ascii_case("gzip") => gunzip(&request.body),
        Some(other) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported; send gzip or no encoding"),
        )),
    }
}

/// JSON may come as `application/json` or as `text/plain`, which is what
/// `navigator.sendBeacon` sends without a CORS preflight.
fn check_content_type(content_type: Option<&str>) -> Result<(), Refusal> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json" | "text/plain") => Ok(()),
        _ => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            format!(
                "Content-Type must be application/json or text/plain, got {}",
                content_type.map_or("none".to_owned(), |ct| format!("{ct:?}"))
            ),
        )),
    }
}

fn too_large() -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is larger than {MAX_BODY_BYTES} bytes (after gzip decoding); send fewer events per request"),
    )
}

/// Decodes at most one byte past the limit, so a gzip bomb costs nothing.
fn gunzip(compressed: &[u8]) -> Result<Bytes, Refusal> {
    let mut decoded = Vec::new();
    MultiGzDecoder::new(compressed)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_gzip",
                format!("the body is not valid gzip: {e}"),
            )
        })?;
    if decoded.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(Bytes::from(decoded))
}
