//! The login flow on plain `http` types: body rules, credentials, `authenticate`, issuing.

use bytes::Bytes;
use http::Request;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use crate::claims::TokenType;
use crate::config::JwtConfig;
use crate::error::{BoxError, JwtError};
use crate::handlers::{Credentials, Tokens};
use crate::identity::Identity;
use crate::json::parse_strict;
use crate::jwt::Jwt;
use crate::throttle::LoginThrottle;

/// serde_json's own recursion limit: a login body nested deeper is not accepted JSON.
const MAX_BODY_DEPTH: usize = 128;

/// Runs a login: the throttle, the body rules in order (415, 413, 400, 400), the credentials
/// (exactly the two configured keys, each a non-empty string), `authenticate`, then issuing.
pub(crate) async fn login<I, B>(jwt: &Jwt<I>, request: Request<B>) -> Result<(Tokens, I), JwtError>
where
    I: Identity,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let config = jwt.config();
    let Some(throttle) = jwt.throttle() else {
        let body = read_json_object(request, config.max_body_bytes).await?;
        let credentials = credentials(&body, &config).ok_or(JwtError::BadCredentials)?;
        let user = jwt
            .authenticate(credentials)
            .await?
            .ok_or(JwtError::BadCredentials)?;
        return Ok((jwt.login_tokens(&user).await?, user));
    };
    let (parts, body) = request.into_parts();
    let ip = throttle.ip_key(&parts);
    let gate = Gate { jwt, throttle };
    gate.check(&ip, throttle.ip_limit()).await?;
    let body = match read_json_object(Request::from_parts(parts, body), config.max_body_bytes).await
    {
        Ok(body) => body,
        Err(error) => return Err(gate.fail(&[&ip], error).await),
    };
    let Some(credentials) = credentials(&body, &config) else {
        return Err(gate.fail(&[&ip], JwtError::BadCredentials).await);
    };
    let user_key = throttle.username_key(&credentials.username);
    gate.check(&user_key, throttle.username_limit()).await?;
    match jwt.authenticate(credentials).await? {
        Some(user) => {
            jwt.store_call(throttle.store().clear(&user_key)).await?;
            Ok((jwt.login_tokens(&user).await?, user))
        }
        None => Err(gate.fail(&[&user_key, &ip], JwtError::BadCredentials).await),
    }
}

/// The throttle's checks on one login.
struct Gate<'a, I: Identity> {
    jwt: &'a Jwt<I>,
    throttle: &'a LoginThrottle,
}

impl<I: Identity> Gate<'_, I> {
    /// 429 when `key` already has `limit` failures in the window.
    async fn check(&self, key: &str, limit: u64) -> Result<(), JwtError> {
        let now = self.jwt.now_millis();
        let window = self.throttle.window_ms();
        let failures = self.throttle.store().failures(key, now, window);
        let (count, oldest) = self.jwt.store_call(failures).await?;
        if count < limit {
            return Ok(());
        }
        let frees_at = oldest.unwrap_or(now).saturating_add(window);
        let wait_ms = u64::try_from(frees_at.saturating_sub(now)).unwrap_or(0);
        Err(JwtError::Throttled {
            retry_after: wait_ms.div_ceil(1000).max(1),
        })
    }

    /// Records a failure for each of `keys`, then gives back `error` (or the store's 503).
    async fn fail(&self, keys: &[&str], error: JwtError) -> JwtError {
        let now = self.jwt.now_millis();
        let window = self.throttle.window_ms();
        for key in keys {
            let record = self.throttle.store().record_failure(key, now, window);
            if let Err(store_error) = self.jwt.store_call(record).await {
                return store_error;
            }
        }
        error
    }
}

/// The refresh route: a live refresh token in, a non-fresh access token and the family's next
/// refresh token out (rotation; a spent token is a reuse that revokes the family).
pub(crate) async fn refresh<I: Identity>(
    jwt: &Jwt<I>,
    request: &Parts,
) -> Result<Tokens, JwtError> {
    let (claims, user) = jwt.authorize_as(request, TokenType::Refresh).await?;
    jwt.rotate(&claims, &user).await
}

/// The logout route: revokes the access token presented and its whole family (with a
/// revocation store; with cookies only, it just checks the token before the cookies go).
pub(crate) async fn logout<I: Identity>(jwt: &Jwt<I>, request: &Parts) -> Result<(), JwtError> {
    let (claims, _user) = jwt.authorize(request).await?;
    if jwt.revocation_store().is_none() {
        return Ok(());
    }
    jwt.revoke_session(&claims).await
}

/// The logout-everywhere route: revokes every token of the identity issued up to now.
pub(crate) async fn logout_all<I: Identity>(jwt: &Jwt<I>, request: &Parts) -> Result<(), JwtError> {
    let (claims, _user) = jwt.authorize(request).await?;
    jwt.revoke_identity(&claims).await
}

/// `application/json` or any `application/<x>+json`, case-insensitively, parameters allowed
/// (Flask's `request.is_json`).
pub(crate) fn is_json_content_type(value: &[u8]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads a request body the way the login reads it, for an application's own JSON routes:
/// [`JwtError::UnsupportedMediaType`] (415) without a JSON content type
/// (`application/json` or `application/<x>+json`, parameters allowed),
/// [`JwtError::PayloadTooLarge`] (413) over `limit` bytes, [`JwtError::InvalidJson`] (400) for
/// anything that is not one JSON value (duplicate member names included) and
/// [`JwtError::NotAnObject`] (400) for a value that is not an object. Checked in that order.
///
/// # Errors
/// The first rule the body breaks, as above.
pub async fn read_json_object<B>(
    request: Request<B>,
    limit: usize,
) -> Result<serde_json::Map<String, Value>, JwtError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let content_type = parts.headers.get(CONTENT_TYPE);
    if !content_type.is_some_and(|value| is_json_content_type(value.as_bytes())) {
        return Err(JwtError::UnsupportedMediaType);
    }
    // Refuse a declared oversize body without reading it.
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(JwtError::PayloadTooLarge);
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(JwtError::PayloadTooLarge);
        }
        // The client broke the body off: nothing to authenticate.
        Err(_) => return Err(JwtError::InvalidJson),
    };
    match parse_strict(&bytes, MAX_BODY_DEPTH) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(JwtError::NotAnObject),
        Err(_) => Err(JwtError::InvalidJson),
    }
}

/// Flask-JWT's rule: exactly two keys, the username and password keys, both truthy; here both
/// must also be strings (Flask-JWT passed numbers and lists on and crashed).
fn credentials(body: &serde_json::Map<String, Value>, config: &JwtConfig) -> Option<Credentials> {
    if body.len() != 2 {
        return None;
    }
    let non_empty = |key: &str| match body.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    Some(Credentials {
        username: non_empty(&config.auth_username_key)?,
        password: non_empty(&config.auth_password_key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use serde_json::json;

    #[test]
    fn json_content_types() {
        for good in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/vnd.api+json",
            "application/problem+json;q=1",
        ] {
            assert!(is_json_content_type(good.as_bytes()), "{good}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "",
            "text/json",
        ] {
            assert!(!is_json_content_type(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn credentials_need_exactly_two_non_empty_strings() {
        let config = JwtConfig::default();
        let get = |v: Value| credentials(v.as_object().unwrap(), &config);
        assert_eq!(
            get(json!({"username": "a", "password": "b"})),
            Some(Credentials::new("a", "b"))
        );
        for bad in [
            json!({"username": "a"}),
            json!({"username": "a", "password": "b", "x": 1}),
            json!({"username": "", "password": "b"}),
            json!({"username": "a", "password": null}),
            json!({"username": "a", "password": 12345}),
            json!({"username": ["a"], "password": "b"}),
            json!({"username": "a", "pass": "b"}),
            json!({"username": true, "password": false}),
        ] {
            assert_eq!(get(bad.clone()), None, "{bad}");
        }
    }

    async fn read(content_type: Option<&str>, body: &'static [u8]) -> Result<Value, JwtError> {
        let mut request = Request::new(Full::new(Bytes::from_static(body)));
        if let Some(ct) = content_type {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, ct.parse().unwrap());
        }
        read_json_object(request, 16).await.map(Value::Object)
    }

    #[tokio::test]
    async fn body_rules_in_order() {
        assert!(matches!(
            read(None, b"{}").await,
            Err(JwtError::UnsupportedMediaType)
        ));
        assert!(matches!(
            read(Some("text/plain"), b"not even json and far too long").await,
            Err(JwtError::UnsupportedMediaType)
        ));
        assert!(matches!(
            read(Some("application/json"), b"{\"a\":\"0123456789abcdef\"}").await,
            Err(JwtError::PayloadTooLarge)
        ));
        assert!(matches!(
            read(Some("application/json"), b"{").await,
            Err(JwtError::InvalidJson)
        ));
        assert!(matches!(
            read(Some("application/json"), b"").await,
            Err(JwtError::InvalidJson)
        ));
        assert!(matches!(
            read(Some("application/json"), b"{\"a\":1,\"a\":2}").await,
            Err(JwtError::InvalidJson)
        ));
        assert!(matches!(
            read(Some("application/json"), b"[1]").await,
            Err(JwtError::NotAnObject)
        ));
        assert!(read(Some("application/json"), b"{\"a\":1}").await.is_ok());
    }
}
