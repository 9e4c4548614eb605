//! Config errors: each case breaks a valid file in one place and asserts the
//! message (in the user's words) and the line it points at.
//!
//! Over 400 lines on purpose: one case per mistake a user can make in
//! sbw.yaml; each file under tests/ is its own test binary, linked anew on
//! every change.

use sbw_infra::config::{self, Profile};

/// A valid file; cases replace one line of it. Line numbers are 1-based.
const BASE: &str = "\
project: shop
environments:
  dev:
    account_id: \"123456789012\"
    region: us-east-1
    profile: minimal
    site:
      origins: [https://shop.example.com]
      site_keys: [pk_test_12345678]
    alerts:
      emails: [ops@example.com]
    budget:
      monthly_usd: 10
    network:
      vpc_cidr: 10.42.0.0/16
    etl:
      every_minutes: 60
    retention:
      raw_glacier_days: 365
    features:
      bot_control: false
";

fn with_line(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

#[track_caller]
fn assert_error(text: &str, line: u64, expected: &str) {
    let error =
        config::resolve(text, "sbw.yaml", "dev", None).expect_err("the config should be rejected");
    assert!(
        error.message.contains(expected),
        "message {:?} does not contain {expected:?}",
        error.message
    );
    assert_eq!(error.line, line, "wrong line for {error}");
    assert_eq!(error.file, "sbw.yaml");
    assert!(
        error.to_string().starts_with(&format!("sbw.yaml:{line}:")),
        "{error}"
    );
}

#[test]
fn base_is_valid() {
    let d = config::resolve(BASE, "sbw.yaml", "dev", None).unwrap();
    assert_eq!(d.profile, Profile::Minimal);
    assert_eq!(d.instance_type, "t4g.micro");
    assert_eq!(d.freshness_alarm_minutes, 135);
    assert!(!d.waf);
    assert!(
        !d.protected,
        "environments are unprotected unless they say so"
    );
}

#[test]
fn pinned_ami() {
    let text = insert_after(15, "    warehouse:\n      ami_id: ami-0123456789abcdef0");
    assert_eq!(
        config::resolve(&text, "sbw.yaml", "dev", None)
            .unwrap()
            .ami_id
            .as_deref(),
        Some("ami-0123456789abcdef0")
    );
    assert_error(
        &insert_after(15, "    warehouse:\n      ami_id: ubuntu-24.04"),
        17,
        "is not an AMI id",
    );
}

#[test]
fn protected_environment() {
    let text = insert_after(6, "    protected: true");
    assert!(
        config::resolve(&text, "sbw.yaml", "dev", None)
            .unwrap()
            .protected
    );
    assert_error(
        &insert_after(6, "    protected: sometimes"),
        7,
        "invalid boolean",
    );
}

#[test]
fn time_zone_defaults_to_utc_and_takes_iana_names() {
    let d = config::resolve(BASE, "sbw.yaml", "dev", None).unwrap();
    assert_eq!(d.timezone.as_str(), "UTC");
    for zone in [
        "Asia/Ho_Chi_Minh",
        "Europe/Berlin",
        "America/Argentina/Buenos_Aires",
    ] {
        let text = insert_after(6, &format!("    timezone: {zone}"));
        let d = config::resolve(&text, "sbw.yaml", "dev", None).unwrap();
        assert_eq!(d.timezone.as_str(), zone);
    }
}

#[test]
fn unknown_time_zone() {
    assert_error(
        &insert_after(6, "    timezone: Asia/Hanoi"),
        7,
        "\"Asia/Hanoi\" is not an IANA time zone name: write it like Asia/Ho_Chi_Minh",
    );
    assert_error(
        &insert_after(6, "    timezone: GMT+7 Hanoi"),
        7,
        "\"GMT+7 Hanoi\" is not an IANA time zone name",
    );
}

#[test]
fn time_zone_in_the_wrong_case_gets_a_suggestion() {
    assert_error(
        &insert_after(6, "    timezone: asia/ho_chi_minh"),
        7,
        "(did you mean Asia/Ho_Chi_Minh?)",
    );
}

fn remove_line(line: usize) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines.remove(line - 1);
    lines.join("\n") + "\n"
}

fn insert_after(line: usize, text: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines.insert(line, text);
    lines.join("\n") + "\n"
}

#[test]
fn unknown_key_in_an_environment() {
    assert_error(
        &insert_after(5, "    colour: blue"),
        6,
        "unknown field `colour`, expected one of account_id, region, profile",
    );
}

#[test]
fn unknown_top_level_key() {
    assert_error(
        &insert_after(1, "owner: me"),
        2,
        "unknown field `owner`, expected one of project, environments",
    );
}

#[test]
fn misspelt_nested_key() {
    assert_error(
        &with_line(17, "      every_minute: 60"),
        17,
        "unknown field `every_minute`",
    );
}

#[test]
fn wrong_type_text_for_a_number() {
    assert_error(
        &with_line(13, "      monthly_usd: ten"),
        13,
        "must be a whole number from 1 to 100000, got \"ten\"",
    );
}

#[test]
fn wrong_type_text_for_a_list() {
    assert_error(
        &with_line(8, "      origins: https://shop.example.com"),
        8,
        "expected a list here: write [a, b]",
    );
}

#[test]
fn missing_required_key_points_at_its_section() {
    assert_error(
        &remove_line(4),
        3,
        "`dev` is missing the required key `account_id`",
    );
}

#[test]
fn missing_nested_required_key() {
    assert_error(
        &remove_line(9),
        7,
        "`site` is missing the required key `site_keys`",
    );
}

#[test]
fn missing_project() {
    let text = BASE.replacen("project: shop\n", "", 1);
    let error = config::resolve(&text, "sbw.yaml", "dev", None).unwrap_err();
    assert!(
        error.message.contains("missing the required key `project`"),
        "{error}"
    );
}

#[test]
fn unknown_region_with_a_suggestion() {
    assert_error(
        &with_line(5, "    region: us_east_1"),
        5,
        "\"us_east_1\" is not a supported AWS region (did you mean us-east-1?)",
    );
}

#[test]
fn unknown_region() {
    assert_error(
        &with_line(5, "    region: mars-north-1"),
        5,
        "is not a supported AWS region; supported: us-east-1",
    );
}

#[test]
fn cidr_that_does_not_parse() {
    assert_error(
        &with_line(15, "      vpc_cidr: 10.42.0/16"),
        15,
        "\"10.42.0/16\" is not an IPv4 CIDR block like 10.42.0.0/16",
    );
}

#[test]
fn cidr_with_host_bits() {
    assert_error(
        &with_line(15, "      vpc_cidr: 10.42.7.0/16"),
        15,
        "has host bits set: the network is 10.42.0.0/16",
    );
}

#[test]
fn vpc_too_large() {
    assert_error(
        &with_line(15, "      vpc_cidr: 10.0.0.0/8"),
        15,
        "network.vpc_cidr 10.0.0.0/8 must be between /16 and /24",
    );
}

#[test]
fn bad_email() {
    assert_error(
        &with_line(11, "      emails: [ops-at-example.com]"),
        11,
        "\"ops-at-example.com\" is not an e-mail address",
    );
}

#[test]
fn email_with_a_space() {
    assert_error(
        &with_line(11, "      emails: [\"ops @example.com\"]"),
        11,
        "is not an e-mail address",
    );
}

#[test]
fn origin_with_a_path() {
    assert_error(
        &with_line(8, "      origins: [https://shop.example.com/]"),
        8,
        "an origin has no path, query or trailing slash",
    );
}

#[test]
fn plain_http_origin() {
    assert_error(
        &with_line(8, "      origins: [http://shop.example.com]"),
        8,
        "only https origins are allowed",
    );
}

#[test]
fn wildcard_origin() {
    assert_error(
        &with_line(8, "      origins: [\"*\"]"),
        8,
        "a wildcard would let any web site send events",
    );
}

#[test]
fn empty_origins() {
    assert_error(
        &with_line(8, "      origins: []"),
        8,
        "`site.origins` is empty: list at least one",
    );
}

#[test]
fn short_account_id() {
    assert_error(
        &with_line(4, "    account_id: \"12345678901\""),
        4,
        "is not an AWS account id: it must be exactly 12 digits",
    );
}

#[test]
fn unquoted_account_id_is_accepted() {
    let text = with_line(4, "    account_id: 123456789012");
    assert_eq!(
        config::resolve(&text, "sbw.yaml", "dev", None)
            .unwrap()
            .account_id
            .to_string(),
        "123456789012"
    );
}

#[test]
fn etl_cadence_out_of_range() {
    assert_error(
        &with_line(17, "      every_minutes: 90"),
        17,
        "must be a whole number from 5 to 60, got 90",
    );
}

#[test]
fn log_retention_cloudwatch_does_not_offer() {
    assert_error(
        &insert_after(19, "      log_days: 45"),
        20,
        "CloudWatch Logs cannot keep logs for 45 days; choose one of 1, 3, 5",
    );
}

#[test]
fn unknown_profile() {
    assert_error(&with_line(6, "    profile: medium"), 6, "medium");
}

#[test]
fn hardened_needs_a_domain() {
    assert_error(
        &with_line(6, "    profile: hardened"),
        6,
        "the hardened profile serves the dashboard through an ALB with TLS",
    );
}

#[test]
fn bot_control_needs_waf() {
    assert_error(
        &with_line(21, "      bot_control: true"),
        21,
        "features.bot_control is a WAF rule group: it needs features.waf: true",
    );
}

#[test]
fn glacier_before_infrequent_access() {
    assert_error(
        &with_line(19, "      raw_glacier_days: 30"),
        19,
        "must be a whole number from 31 to 3650, got 30",
    );
    assert_error(
        &insert_after(18, "      raw_infrequent_access_days: 400"),
        20,
        "retention.raw_glacier_days (365) must be later than raw_infrequent_access_days (400)",
    );
}

#[test]
fn unsupported_instance_type() {
    assert_error(
        &insert_after(15, "    warehouse:\n      instance_type: x1e.32xlarge"),
        17,
        "warehouse.instance_type \"x1e.32xlarge\" is not supported; choose one of t4g.micro",
    );
}

#[test]
fn dashboard_cidrs_need_a_public_address_on_minimal() {
    assert_error(
        &insert_after(15, "      dashboard_cidrs: [203.0.113.0/24]"),
        16,
        "network.dashboard_cidrs needs warehouse.public_ipv4: true",
    );
}

#[test]
fn dashboard_open_to_the_world_on_minimal() {
    let text = insert_after(
        15,
        "      dashboard_cidrs: [0.0.0.0/0]\n    warehouse:\n      public_ipv4: true",
    );
    assert_error(&text, 16, "the dashboard has no sign-in in front of it");
}

#[test]
fn dashboard_cidrs_that_add_up_to_the_whole_internet_on_minimal() {
    let open = |cidrs: &str| {
        insert_after(
            15,
            &format!("      dashboard_cidrs: {cidrs}\n    warehouse:\n      public_ipv4: true"),
        )
    };
    for cidrs in [
        "[0.0.0.0/1, 128.0.0.0/1]",
        // Every public address, the private and reserved ranges left out, in any order.
        "[128.0.0.0/2, 11.0.0.0/8, 1.0.0.0/8, 12.0.0.0/6, 2.0.0.0/7, 4.0.0.0/6, 8.0.0.0/7, 16.0.0.0/4, 32.0.0.0/3, 64.0.0.0/2, 192.0.0.0/3]",
    ] {
        assert_error(
            &open(cidrs),
            16,
            "network.dashboard_cidrs together cover every public IPv4 address, as 0.0.0.0/0 does",
        );
    }
    // Half of the internet is not all of it; an office and a VPN are fine.
    for cidrs in [
        "[0.0.0.0/1]",
        "[203.0.113.0/24, 198.51.100.7/32]",
        "[0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/4]",
    ] {
        let d = config::resolve(&open(cidrs), "sbw.yaml", "dev", None)
            .unwrap_or_else(|e| panic!("{cidrs}: {e}"));
        assert!(!d.dashboard_cidrs.is_empty());
    }
}

#[test]
fn environment_name_must_be_lowercase() {
    assert_error(&with_line(3, "  Dev:"), 3, "\"Dev\" is not a valid name");
}

#[test]
fn duplicate_key() {
    assert_error(&insert_after(5, "    region: eu-west-1"), 6, "duplicate");
}

#[test]
fn yaml_syntax_error() {
    assert_error(
        &with_line(8, "      origins: [https://shop.example.com"),
        9,
        "",
    );
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let error = config::resolve(BASE, "sbw.yaml", "staging", None).unwrap_err();
    assert_eq!(
        error.message,
        "there is no environment \"staging\"; this file defines: dev"
    );
}

#[test]
fn profile_override_applies_its_rules() {
    let error = config::resolve(BASE, "sbw.yaml", "dev", Some(Profile::Hardened)).unwrap_err();
    assert_eq!(error.line, 6);
    assert!(error.message.contains("needs a certificate"));
}

#[test]
fn unreadable_file() {
    let error =
        config::load(std::path::Path::new("/nonexistent/sbw.yaml"), "dev", None).unwrap_err();
    assert_eq!(error.line, 0);
    assert!(
        error.message.starts_with("cannot read the config file"),
        "{error}"
    );
}

#[test]
fn the_example_file_is_valid_for_every_environment() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(config::environments(&text, path).unwrap(), ["dev", "prod"]);
    let prod = config::resolve(&text, path, "prod", None).unwrap();
    assert_eq!(prod.profile, Profile::Hardened);
    assert!(prod.waf);
    assert_eq!(prod.instance_type, "t4g.small");
    assert_eq!(prod.etl_every_minutes, 15);
}

#[test]
fn name_that_cognito_refuses() {
    let text = BASE.replacen("project: shop", "project: awsshop", 1);
    assert_error(
        &text,
        1,
        "\"awsshop-dev\" contains \"aws\", which Cognito does not allow",
    );
}

#[test]
fn sms_and_webhook_alerts_are_optional_and_checked() {
    let text = insert_after(
        11,
        "      sms: [\"+84901234567\"]\n      webhooks: [https://hooks.example.com/services/T0/B0/x]",
    );
    let d = config::resolve(&text, "sbw.yaml", "dev", None).unwrap();
    assert_eq!(d.alert_sms.len(), 1);
    assert_eq!(
        d.alert_webhooks[0].to_string(),
        "https://hooks.example.com/services/T0/B0/x"
    );
    let d = config::resolve(BASE, "sbw.yaml", "dev", None).unwrap();
    assert!(d.alert_sms.is_empty() && d.alert_webhooks.is_empty());
}

#[test]
fn sms_number_without_country_code() {
    for number in ["0901234567", "+84 90 123 4567", "+0901234567", "+1234567"] {
        assert_error(
            &insert_after(11, &format!("      sms: [\"{number}\"]")),
            12,
            "is not a phone number in E.164 form like +84901234567",
        );
    }
}

#[test]
fn webhook_that_is_not_https() {
    for (url, why) in [
        ("http://hooks.example.com/x", "it must start with https://"),
        (
            "https://user:pw@hooks.example.com/x",
            "credentials belong in the path",
        ),
        ("https://hooks/x", "the host is not a DNS name"),
        ("\"https://hooks.example.com/a b\"", "it contains a space"),
    ] {
        assert_error(
            &insert_after(11, &format!("      webhooks: [{url}]")),
            12,
            why,
        );
    }
}

#[test]
fn an_environment_named_like_another_plus_a_suffix_is_refused() {
    let text = format!(
        "{BASE}{}",
        BASE.split_once("  dev:\n").unwrap().1.lines().fold(
            String::from("  dev-eu:\n"),
            |mut acc, line| {
                acc.push_str(line);
                acc.push('\n');
                acc
            }
        )
    );
    // At the environment's first line, as other whole-environment errors are.
    assert_error(
        &text,
        4,
        "environments \"dev\" and \"dev-eu\": one name is the other's plus \"-...\"",
    );
}

#[test]
fn per_client_rate_limit() {
    let ingest = |settings: &str| insert_after(15, &format!("    ingest:\n{settings}"));
    let resolve = |text: &str| config::resolve(text, "sbw.yaml", "dev", None).unwrap();
    // Default: a tenth of the stage throttle a minute, at most 300.
    assert_eq!(resolve(BASE).client_requests_per_minute, 300);
    assert_eq!(
        resolve(&ingest("      throttle_rate: 5")).client_requests_per_minute,
        30
    );
    assert_eq!(
        resolve(&ingest("      client_requests_per_minute: 1000")).client_requests_per_minute,
        1000
    );
    // Below WAF's smallest limit.
    assert_error(
        &ingest("      client_requests_per_minute: 5"),
        17,
        "must be a whole number from 10 to 2000000000, got 5",
    );
    assert_error(
        &ingest("      client_requests_per_minute: fast"),
        17,
        "must be a whole number from 10 to 2000000000, got \"fast\"",
    );
    // One client could use up the whole stage throttle (50/s = 3,000 a minute).
    assert_error(
        &ingest("      client_requests_per_minute: 3000"),
        17,
        "lets one client address use up the whole API throttle (ingest.throttle_rate 50 requests/s = 3000 a minute): set it lower, e.g. 300",
    );
}
