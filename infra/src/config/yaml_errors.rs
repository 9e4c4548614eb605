//! YAML errors in the user's words, at the place to change: the parser's
//! message with its location in front, a missing key at its section.

use serde_saphyr::Location;

use super::ConfigError;

/// The message of a YAML error without its location, which callers put in
/// front (`file:line:column: message`).
pub(crate) fn yaml_error_message(error: &serde_saphyr::Error) -> String {
    let options = serde_saphyr::render_options! {
        formatter: &serde_saphyr::UserMessageFormatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let rendered = error.render_with_options(options);
    // The plain rendering ends with " at line L, column C".
    match rendered.rfind(" at line ") {
        Some(at) => rendered[..at].to_owned(),
        None => rendered,
    }
}

pub(super) fn from_yaml_error(text: &str, file: &str, error: &serde_saphyr::Error) -> ConfigError {
    let message = yaml_error_message(error);
    let message = match message.as_str() {
        "expected sequence start" => {
            "expected a list here: write [a, b] or one `- item` per line".to_owned()
        }
        "expected mapping start" => "expected a section of `key: value` lines here".to_owned(),
        _ => message,
    };
    let mut located = at_location(file, error.location(), Location::UNKNOWN, message);
    // serde reports a missing key where its section ends; point at the section's own key.
    let missing = located
        .message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
        .map(str::to_owned);
    if let Some(missing) = missing {
        match enclosing_key(text, located.line, located.column) {
            Some((line, column, key)) => {
                located.message = format!("`{key}` is missing the required key `{missing}`");
                located.line = line;
                located.column = column;
            }
            None => located.message = format!("the file is missing the required key `{missing}`"),
        }
    }
    located
}

/// The key (and its position) of the block mapping that holds `line:column`,
/// found by indentation: the nearest line above that is indented less.
fn enclosing_key(text: &str, line: u64, column: u64) -> Option<(u64, u64, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let last = usize::try_from(line).ok()?.min(lines.len());
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let inner = indent_of(lines.get(last.checked_sub(1)?)?)
        .min(usize::try_from(column).ok()?.saturating_sub(1));
    (0..last.saturating_sub(1)).rev().find_map(|index| {
        let candidate = lines[index];
        let trimmed = candidate.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || indent_of(candidate) >= inner {
            return None;
        }
        let key = trimmed.trim_start_matches("- ").split(':').next()?.trim();
        Some((
            index as u64 + 1,
            indent_of(candidate) as u64 + 1,
            key.to_owned(),
        ))
    })
}

/// An error at `at`, or at `fallback` when `at` is unknown (a defaulted value).
pub(super) fn at_location(
    file: &str,
    at: Option<Location>,
    fallback: Location,
    message: String,
) -> ConfigError {
    let at = at.filter(|l| l.line() > 0).unwrap_or(fallback);
    ConfigError {
        file: file.to_owned(),
        line: at.line(),
        column: at.column(),
        message,
    }
}
