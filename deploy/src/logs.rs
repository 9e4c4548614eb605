//! `sbwctl logs ingest|etl`: the functions' log lines from CloudWatch Logs
//! (FilterLogEvents, every page), narrowed to a request or to errors, and
//! made readable: time, level, request id, message, the other fields.
//!
//! The functions log one JSON object a line (`sbw_aws::logging`), with the
//! Lambda request id in the runtime's span; Lambda adds its own text lines
//! (START, END, REPORT, timeouts), which name the request id too.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use sbw_infra::names::output::FUNCTION_NAME;
use sbw_infra::render::Manifest;
use serde_json::{Map, Value};

use crate::aws::{AwsError, FailedCall};
use crate::deployed::{DeployedError, DeployedStack};
use crate::Aws;

/// Whose logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Ingest,
    Etl,
}

impl Function {
    /// The stack whose `FunctionName` output names the function.
    fn stack(self) -> &'static str {
        match self {
            Function::Ingest => "ingest",
            Function::Etl => "etl",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error(transparent)]
    Deployed(#[from] DeployedError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the log group {group} does not exist: the function has never run, or it was deleted outside sbwctl (`sbwctl deploy` makes it again)")]
    NoLogGroup { group: String },
    #[error("{0:?} is neither a duration such as 30m, 1h, 2d or 1h30m nor an RFC 3339 time such as 2026-11-20T08:00:00Z")]
    Since(String),
    #[error("--request-id {0:?} is not a Lambda request id (letters, digits and dashes, as in the START and REPORT lines)")]
    RequestId(String),
}

impl FailedCall for LogsError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            LogsError::Aws(error) => Some(error),
            LogsError::Deployed(error) => error.failed_call(),
            _ => None,
        }
    }
}

/// The start of the time range `since` names: a duration back from `now`
/// (`90s`, `30m`, `1h`, `2d`, `1h30m`) or an RFC 3339 time.
pub fn parse_since(since: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, LogsError> {
    let bad = || LogsError::Since(since.to_owned());
    if let Ok(time) = DateTime::parse_from_rfc3339(since) {
        return Ok(time.with_timezone(&Utc));
    }
    let mut seconds: i64 = 0;
    let mut number = String::new();
    for c in since.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let value: i64 = number.parse().map_err(|_| bad())?;
        seconds = value
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || seconds == 0 {
        return Err(bad());
    }
    chrono::Duration::try_seconds(seconds)
        .and_then(|back| now.checked_sub_signed(back))
        .ok_or_else(bad)
}

/// What to read.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub since: DateTime<Utc>,
    pub request_id: Option<String>,
    pub errors_only: bool,
}

/// Reads the function's log lines matching `query`, oldest first.
pub async fn read(
    aws: &Aws,
    manifest: &Manifest,
    function: Function,
    query: &LogQuery,
) -> Result<Vec<LogLine>, LogsError> {
    if let Some(id) = &query.request_id {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(LogsError::RequestId(id.clone()));
        }
    }
    let stack = DeployedStack::read(aws, manifest, function.stack()).await?;
    let group = format!("/aws/lambda/{}", stack.output(FUNCTION_NAME)?);
    let mut pages = aws
        .region(&stack.region)
        .logs
        .filter_log_events()
        .log_group_name(&group)
        .start_time(query.since.timestamp_millis())
        // A quoted term: every line that names the request id (the JSON
        // lines in their span, Lambda's in their text).
        .set_filter_pattern(query.request_id.as_ref().map(|id| format!("\"{id}\"")))
        .into_paginator()
        .send();
    let mut lines = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
            {
                LogsError::NoLogGroup {
                    group: group.clone(),
                }
            } else {
                AwsError::new(format!("reading the log group {group}"), &error).into()
            }
        })?;
        lines.extend(
            page.events()
                .iter()
                .filter_map(LogLine::from_event)
                .filter(|line| !query.errors_only || line.is_error()),
        );
    }
    lines.sort_by_key(|line| line.time);
    Ok(lines)
}

/// One log line, read.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// When CloudWatch received it.
    pub time: DateTime<Utc>,
    pub level: Option<String>,
    pub request_id: Option<String>,
    pub message: String,
    /// The line's other fields (JSON lines only).
    pub fields: BTreeMap<String, Value>,
    /// The line as the function wrote it.
    pub raw: String,
    json: bool,
}

/// Fields the text form shows in their own columns or leaves out.
const SHOWN_APART: &[&str] = &[
    "timestamp",
    "level",
    "message",
    "target",
    "spans",
    "span",
    "threadId",
    "threadName",
    "_aws",
];

impl LogLine {
    fn from_event(event: &FilteredLogEvent) -> Option<LogLine> {
        let time = Utc.timestamp_millis_opt(event.timestamp()?).single()?;
        Some(LogLine::parse(time, event.message()?.trim_end()))
    }

    /// Reads `raw`: a JSON line of ours, an EMF metrics line, or Lambda's text.
    pub fn parse(time: DateTime<Utc>, raw: &str) -> LogLine {
        match serde_json::from_str::<Map<String, Value>>(raw) {
            Ok(object) => LogLine::from_json(time, raw, object),
            Err(_) => LogLine::from_text(time, raw),
        }
    }

    fn from_json(time: DateTime<Utc>, raw: &str, object: Map<String, Value>) -> LogLine {
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        let request_id = object
            .get("spans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(object.get("span"))
            .find_map(|span| span.get("requestId").and_then(Value::as_str))
            .map(str::to_owned);
        let (level, message) = if object.contains_key("_aws") {
            (Some("METRIC".to_owned()), "metrics".to_owned())
        } else if let Some(error_type) = text("errorType") {
            (
                Some("ERROR".to_owned()),
                format!("{error_type}: {}", text("errorMessage").unwrap_or_default()),
            )
        } else {
            (text("level"), text("message").unwrap_or_default())
        };
        let fields = object
            .into_iter()
            .filter(|(key, _)| {
                !SHOWN_APART.contains(&key.as_str()) && key != "errorType" && key != "errorMessage"
            })
            .collect();
        LogLine {
            time,
            level,
            request_id,
            message,
            fields,
            raw: raw.to_owned(),
            json: true,
        }
    }

    /// Lambda's own lines: `START RequestId: <id> Version: $LATEST`, `END …`,
    /// `REPORT RequestId: <id>\tDuration: …`, `<time> <id> Task timed out …`.
    fn from_text(time: DateTime<Utc>, raw: &str) -> LogLine {
        let request_id = raw
            .split_once("RequestId: ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .or_else(|| {
                raw.split_whitespace()
                    .find(|word| looks_like_request_id(word))
            })
            .map(str::to_owned);
        let first = raw.split_whitespace().next().unwrap_or_default();
        let level = matches!(
            first,
            "START" | "END" | "REPORT" | "INIT_START" | "INIT_REPORT"
        )
        .then(|| first.to_owned());
        LogLine {
            time,
            level,
            request_id,
            message: raw.to_owned(),
            fields: BTreeMap::new(),
            raw: raw.to_owned(),
            json: false,
        }
    }

    /// An error: ERROR lines, a failed or timed-out invocation.
    pub fn is_error(&self) -> bool {
        matches!(self.level.as_deref(), Some("ERROR" | "FATAL"))
            || (!self.json
                && (self.raw.contains("Task timed out")
                    || self.raw.contains("Status: error")
                    || self.raw.contains("Status: timeout")
                    || self.raw.contains("Runtime.")))
    }

    /// `<time> <LEVEL> <request id> <message> key=value …`
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} {:<6} {:<36} {}",
            self.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.level.as_deref().unwrap_or("-"),
            self.request_id.as_deref().unwrap_or("-"),
            self.message
        );
        for (key, value) in &self.fields {
            let value = match value {
                Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => s.clone(),
                other => other.to_string(),
            };
            text.push_str(&format!(" {key}={value}"));
        }
        text
    }

    /// The JSON line as written, or Lambda's text line as `{"timestamp", "message"}`.
    pub fn to_json(&self) -> String {
        if self.json {
            return self.raw.clone();
        }
        serde_json::json!({
            "timestamp": self.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            "message": self.raw,
        })
        .to_string()
    }
}

/// A Lambda request id: a UUID.
fn looks_like_request_id(word: &str) -> bool {
    word.len() == 36
        && word.char_indices().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests;
