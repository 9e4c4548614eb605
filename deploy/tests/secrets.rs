//! The ingest hashing key's SecureString as `sbwctl deploy` keeps it, against
//! moto: created under the environment's own key (the deployer stack's
//! hash-key key, which only the ingest role may decrypt), left alone once it
//! is, and an older deployment's, under SSM's default key, encrypted again
//! with the environment's key, its value unchanged; a secret meant to stay
//! under SSM's default key (the origin secret) is left there.

use sbw_deploy::aws::RegionClients;
use sbw_deploy::deploy::ensure_secret;
use sbw_deploy::progress::{AssumeYes, Progress};
use sbw_testkit::Moto;

const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/0e6c2d1f-4f4e-4a59-9d7b-3c2a1b0f9e8d";

/// The parameter's key as SSM reports it, its value and its version.
async fn read(ssm: &aws_sdk_ssm::Client, name: &str) -> (String, String, i64) {
    let described = ssm
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values(name)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let parameter = &described.parameters()[0];
    let value = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    (
        parameter.key_id().unwrap_or_default().to_owned(),
        value.parameter().unwrap().value().unwrap().to_owned(),
        parameter.version(),
    )
}

#[tokio::test]
async fn the_hash_key_is_kept_under_the_environments_own_key() {
    let clients = RegionClients::new(&Moto::shared().sdk_config().await);
    let progress = Progress::new(Box::new(AssumeYes));
    let path = format!("/sbw/secrets-{}/dev/", uuid::Uuid::new_v4().simple());

    let new = format!("{path}ingest-hash-key");
    ensure_secret(&clients, &new, "a test key", Some(KEY), &progress)
        .await
        .unwrap();
    let (key, value, version) = read(&clients.ssm, &new).await;
    assert_eq!(key, KEY);
    assert!(
        value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "{value}"
    );
    // Every later deploy: nothing written.
    ensure_secret(&clients, &new, "a test key", Some(KEY), &progress)
        .await
        .unwrap();
    assert_eq!(read(&clients.ssm, &new).await, (key, value, version));

    // Created by an older sbwctl, under SSM's default key.
    let old = format!("{path}old-hash-key");
    let old_value = "ab".repeat(32);
    clients
        .ssm
        .put_parameter()
        .name(&old)
        .value(&old_value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let (default_key, _, version) = read(&clients.ssm, &old).await;
    assert_ne!(default_key, KEY);
    // A secret the operator must read (the origin secret) stays under SSM's key.
    ensure_secret(&clients, &old, "a test key", None, &progress)
        .await
        .unwrap();
    assert_eq!(
        read(&clients.ssm, &old).await,
        (default_key, old_value.clone(), version)
    );
    ensure_secret(&clients, &old, "a test key", Some(KEY), &progress)
        .await
        .unwrap();
    let (key, value, _) = read(&clients.ssm, &old).await;
    assert_eq!(
        (key.as_str(), value.as_str()),
        (KEY, old_value.as_str()),
        "encrypted again, the same value"
    );
}
