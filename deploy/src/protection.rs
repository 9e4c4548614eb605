//! Protected environments (`protected: true` in the config): every stack has
//! termination protection, and a stack that holds data has a stack policy
//! that denies replacing or deleting its data resources in any update.
//! `destroy --force` switches termination protection off before deleting; a
//! deploy with `--allow-replace` (or a snapshot restore) lifts the policy for
//! the one change set the operator allowed, and puts it back afterwards.

use aws_sdk_cloudformation::Client;
use serde_json::json;

use crate::aws::AwsError;

/// The stack policy that keeps `data_resources` (logical ids) from being
/// replaced or deleted by an update; every other update is allowed. `None`
/// for a stack without data resources.
pub fn stack_policy(data_resources: &[String]) -> Option<String> {
    if data_resources.is_empty() {
        return None;
    }
    let resources: Vec<String> = data_resources
        .iter()
        .map(|id| format!("LogicalResourceId/{id}"))
        .collect();
    Some(
        json!({
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": ["Update:Replace", "Update:Delete"],
                    "Resource": resources,
                },
            ]
        })
        .to_string(),
    )
}

/// The policy set while an allowed replacement runs: every update.
pub fn allow_every_update() -> String {
    json!({
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"}]
    })
    .to_string()
}

/// Turns termination protection on and sets the stack policy of
/// `data_resources`, each only when not so already.
pub async fn protect(cfn: &Client, stack: &str, data_resources: &[String]) -> Result<(), AwsError> {
    if !termination_protection(cfn, stack).await? {
        set_termination_protection(cfn, stack, true).await?;
    }
    let Some(policy) = stack_policy(data_resources) else {
        return Ok(());
    };
    let current = cfn
        .get_stack_policy()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("reading the stack policy of {stack}"), &e))?;
    let same = current
        .stack_policy_body()
        .and_then(|body| serde_json::from_str::<serde_json::Value>(body).ok())
        == serde_json::from_str(&policy).ok();
    if !same {
        set_stack_policy(cfn, stack, &policy).await?;
    }
    Ok(())
}

pub async fn set_stack_policy(cfn: &Client, stack: &str, policy: &str) -> Result<(), AwsError> {
    cfn.set_stack_policy()
        .stack_name(stack)
        .stack_policy_body(policy)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("setting the stack policy of {stack}"), &e))?;
    Ok(())
}

/// Whether the stack has termination protection.
pub async fn termination_protection(cfn: &Client, stack: &str) -> Result<bool, AwsError> {
    let answer = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("reading stack {stack}"), &e))?;
    Ok(answer
        .stacks()
        .first()
        .and_then(|s| s.enable_termination_protection())
        .unwrap_or(false))
}

pub async fn set_termination_protection(
    cfn: &Client,
    stack: &str,
    enable: bool,
) -> Result<(), AwsError> {
    cfn.update_termination_protection()
        .stack_name(stack)
        .enable_termination_protection(enable)
        .send()
        .await
        .map_err(|e| {
            AwsError::new(
                format!(
                    "turning termination protection {} for {stack}",
                    if enable { "on" } else { "off" }
                ),
                &e,
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_denies_replacing_and_deleting_the_data_resources_only() {
        assert_eq!(stack_policy(&[]), None);
        let policy: serde_json::Value = serde_json::from_str(
            &stack_policy(&["RawBucket".to_owned(), "DataVolume".to_owned()]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            policy,
            json!({"Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
                {"Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"],
                 "Resource": ["LogicalResourceId/RawBucket", "LogicalResourceId/DataVolume"]},
            ]})
        );
        let open: serde_json::Value = serde_json::from_str(&allow_every_update()).unwrap();
        assert_eq!(open["Statement"].as_array().unwrap().len(), 1);
    }
}
