//! The deploy's secrets: the SecureStrings it creates under their keys
//! (the ingest hashing key, the origin secret) and reads back.

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};

use crate::aws::{AwsError, RegionClients};
use crate::progress::Progress;

/// Creates the SecureString `name` with [`random_secret`] unless it exists,
/// encrypted with `key` (a key of the deployer stack), or with SSM's default
/// key when `None`. An existing value is never replaced here (a new hashing
/// key would change every hashed identifier; the origin secret has its own
/// rotation), but one that an older `sbwctl` encrypted with another key than
/// `key` is encrypted again with it, the value unchanged.
pub async fn ensure_secret(
    clients: &RegionClients,
    name: &str,
    description: &str,
    key: Option<&str>,
    progress: &Progress,
) -> Result<(), AwsError> {
    let secret = Secret {
        clients,
        name,
        description,
        key,
    };
    match (encryption_key(clients, name).await?, key) {
        (None, _) => {
            let value = random_secret(&format!("creating the SSM parameter {name}"))?;
            if secret.put(value, false).await? {
                progress.line(format!("created the SecureString {name} (32 random bytes)"));
            }
        }
        (Some(current), Some(key)) if !is_key(&current, key) => {
            let value = secure_parameter(clients, name).await?.unwrap_or_default();
            secret.put(value, true).await?;
            progress.line(format!(
                "encrypted the SecureString {name} with the environment's own key (it was under {current}); its value is unchanged"
            ));
        }
        (Some(_), _) => {}
    }
    Ok(())
}

/// The key the SecureString `name` is encrypted with, if it exists.
pub(super) async fn encryption_key(
    clients: &RegionClients,
    name: &str,
) -> Result<Option<String>, AwsError> {
    let by_name = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .expect("key is set");
    // A filtered answer may come in pages, some of them empty.
    let mut pages = clients
        .ssm
        .describe_parameters()
        .parameter_filters(by_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new(format!("reading the SSM parameter {name}"), &e))?;
        if let Some(found) = page.parameters().iter().find(|p| p.name() == Some(name)) {
            let key = found.key_id().unwrap_or("alias/aws/ssm");
            return Ok(Some(key.to_owned()));
        }
    }
    Ok(None)
}

/// Whether `key_id` (as SSM reports it: an ARN, an id or an alias) names `key_arn`.
pub(super) fn is_key(key_id: &str, key_arn: &str) -> bool {
    key_id == key_arn || key_arn.ends_with(&format!("/{key_id}"))
}

/// One SecureString as `ensure_secret` writes it.
struct Secret<'a> {
    clients: &'a RegionClients,
    name: &'a str,
    description: &'a str,
    key: Option<&'a str>,
}

impl Secret<'_> {
    /// Puts `value`; `false` when, not overwriting, a concurrent deploy
    /// created it in the meantime (theirs stays).
    async fn put(&self, value: String, overwrite: bool) -> Result<bool, AwsError> {
        let put = self
            .clients
            .ssm
            .put_parameter()
            .name(self.name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .set_key_id(self.key.map(str::to_owned))
            .description(self.description)
            .overwrite(overwrite)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_already_exists()) =>
            {
                Ok(false)
            }
            Err(error) => Err(AwsError::new(
                format!("writing the SSM parameter {}", self.name),
                &error,
            )),
        }
    }
}

/// 32 random bytes from the operating system, as 64 hex digits; `action`
/// names what needed them if there are none.
pub fn random_secret(action: &str) -> Result<String, AwsError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AwsError {
        action: action.to_owned(),
        reason: format!("no randomness from the operating system: {e}"),
        kind: crate::aws::AwsErrorKind::Service,
    })?;
    Ok(hex::encode(bytes))
}

/// The decrypted value of the SecureString `name`; `None` if there is none.
pub async fn secure_parameter(
    clients: &RegionClients,
    name: &str,
) -> Result<Option<String>, AwsError> {
    match clients
        .ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(answer) => Ok(Some(
            answer.parameter.and_then(|p| p.value).unwrap_or_default(),
        )),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::new(
            format!("reading the SSM parameter {name}"),
            &error,
        )),
    }
}

/// The origin secret CloudFront is to send: the current one in `parameter`.
pub(super) async fn current_origin_secret(
    clients: &RegionClients,
    parameter: &str,
) -> Result<String, AwsError> {
    let stored = secure_parameter(clients, parameter)
        .await?
        .unwrap_or_default();
    sbw_names::origin_secret::current(&stored)
        .map(str::to_owned)
        .ok_or_else(|| AwsError {
            action: format!("reading the origin secret from the SSM parameter {parameter}"),
            reason: "it is empty or missing: delete it and run `sbwctl deploy` again, which creates a new one"
                .to_owned(),
            kind: crate::aws::AwsErrorKind::Service,
        })
}
