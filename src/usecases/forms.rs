//! The anonymous visitor's CSRF token (log in, sign up, a forgotten
//! password): a random nonce signed with a clinic-wide key,
//! `<nonce>.<HMAC-SHA256>`. The page face keeps it in a double-submit
//! cookie; a token the clinic did not sign is no token at all, so a cookie
//! planted by someone else (a neighbouring subdomain, a network attacker on
//! plain HTTP) cannot be one the attacker chose (issue 13). The key is the
//! same on every instance (made by the first that needs it, kept in the
//! database) and held in memory once read.

use super::{Clinic, Result};

/// What the signature is for: never valid as another signed token.
const PURPOSE: &str = "anonymous-form";

/// The clinic-wide key, read once per instance.
async fn key(clinic: &Clinic) -> Result<&str> {
    let key = clinic
        .form_key
        .get_or_try_init(|| async {
            let candidate = crate::auth::new_token();
            clinic
                .store
                .clinic_secret("form-signing", &candidate, clinic.now().as_second())
                .await
        })
        .await?;
    Ok(key.as_str())
}

/// A fresh token for an anonymous visitor.
pub async fn anonymous_token(clinic: &Clinic) -> Result<String> {
    let key = key(clinic).await?;
    Ok(crate::auth::signed_text(
        key,
        PURPOSE,
        &crate::auth::new_token(),
    ))
}

/// Whether `token` is one [`anonymous_token`] made (on any instance).
pub async fn is_anonymous_token(clinic: &Clinic, token: &str) -> Result<bool> {
    let key = key(clinic).await?;
    Ok(crate::auth::verify_signed_text(key, PURPOSE, token).is_some())
}
