//! [`JwtSecurity`]: the `Authorization: JWT <token>` security scheme in a
//! [utoipa](https://docs.rs/utoipa) OpenAPI document (feature `openapi`).

use std::borrow::Cow;

use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use crate::config::JwtConfig;

/// [`JwtSecurity`] with Flask-JWT's prefix, `JWT`: register the scheme with
/// `#[openapi(modifiers(&JWT_SECURITY))]`.
pub const JWT_SECURITY: JwtSecurity = JwtSecurity::new("JWT");

/// The header jwt-gate reads the token from.
const HEADER: &str = "Authorization";

/// A [`Modify`] that registers jwt-gate's security scheme under
/// [`SCHEME_NAME`](Self::SCHEME_NAME) (`jwt`): an `apiKey` in the `header` named
/// `Authorization`, described as `JWT <token>` (with the configured
/// [`auth_header_prefix`](JwtConfig::auth_header_prefix) in place of `JWT`).
///
/// Flask-JWT's scheme is not the standard `Bearer`, so the scheme is an API key holding the
/// whole header value rather than `http`/`bearer`: in Swagger UI's *Authorize* dialog, enter
/// `JWT ` followed by the `access_token` of the login answer.
///
/// Register it in one line with [`JWT_SECURITY`], then require it on the protected operations
/// only:
///
/// ```
/// use jwt_gate::{JWT_SECURITY, JwtSecurity};
/// use utoipa::OpenApi;
///
/// /// The current user.
/// #[utoipa::path(get, path = "/me", security(("jwt" = [])), responses((status = 200)))]
/// async fn me() {}
///
/// /// Public.
/// #[utoipa::path(get, path = "/health", responses((status = 200)))]
/// async fn health() {}
///
/// #[derive(OpenApi)]
/// #[openapi(paths(me, health), modifiers(&JWT_SECURITY))]
/// struct ApiDoc;
///
/// let doc = serde_json::to_value(ApiDoc::openapi())?;
/// assert_eq!(
///     doc["components"]["securitySchemes"][JwtSecurity::SCHEME_NAME],
///     serde_json::json!({
///         "type": "apiKey",
///         "in": "header",
///         "name": "Authorization",
///         "description": "JWT <token>",
///     })
/// );
/// assert_eq!(doc["paths"]["/me"]["get"]["security"], serde_json::json!([{ "jwt": [] }]));
/// assert!(doc["paths"]["/health"]["get"].get("security").is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// utoipa's `modifiers(...)` takes a name, not an expression: with another prefix, name a
/// constant; with a prefix known at run time only, modify the built document.
///
/// ```
/// use jwt_gate::{JwtConfig, JwtSecurity};
/// use utoipa::{Modify, OpenApi};
///
/// const BEARER: JwtSecurity = JwtSecurity::new("Bearer");
///
/// #[derive(OpenApi)]
/// #[openapi(modifiers(&BEARER))]
/// struct ApiDoc;
///
/// let doc = serde_json::to_value(ApiDoc::openapi())?;
/// assert_eq!(doc["components"]["securitySchemes"]["jwt"]["description"], "Bearer <token>");
///
/// let mut config = JwtConfig::default();
/// config.auth_header_prefix = "Token".into();
/// let mut doc = ApiDoc::openapi();
/// JwtSecurity::from_config(&config).modify(&mut doc);
/// let doc = serde_json::to_value(doc)?;
/// assert_eq!(doc["components"]["securitySchemes"]["jwt"]["description"], "Token <token>");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtSecurity {
    prefix: Cow<'static, str>,
}

impl JwtSecurity {
    /// The name the scheme is registered under, `jwt`: what a protected operation requires
    /// with `security(("jwt" = []))` in `#[utoipa::path]`.
    pub const SCHEME_NAME: &'static str = "jwt";

    /// The scheme of `Authorization: <auth_header_prefix> <token>`.
    #[must_use]
    pub const fn new(auth_header_prefix: &'static str) -> Self {
        Self {
            prefix: Cow::Borrowed(auth_header_prefix),
        }
    }

    /// The scheme of `config`'s [`auth_header_prefix`](JwtConfig::auth_header_prefix).
    #[must_use]
    pub fn from_config(config: &JwtConfig) -> Self {
        Self {
            prefix: Cow::Owned(config.auth_header_prefix.clone()),
        }
    }

    /// The header's scheme, such as `JWT`.
    #[must_use]
    pub fn auth_header_prefix(&self) -> &str {
        &self.prefix
    }

    /// The security scheme itself, to register under a name of your own.
    #[must_use]
    pub fn scheme(&self) -> SecurityScheme {
        let description = format!("{} <token>", self.prefix);
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            HEADER.to_owned(),
            description,
        )))
    }
}

/// [`JWT_SECURITY`]: Flask-JWT's prefix, `JWT`.
impl Default for JwtSecurity {
    fn default() -> Self {
        JWT_SECURITY
    }
}

impl Modify for JwtSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(Self::SCHEME_NAME, self.scheme());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

    use serde_json::{Value, json};
    use utoipa::openapi::OpenApiBuilder;

    use super::*;

    fn registered(security: &JwtSecurity) -> Value {
        let mut openapi = OpenApiBuilder::new().build();
        security.modify(&mut openapi);
        serde_json::to_value(&openapi).unwrap()["components"]["securitySchemes"].clone()
    }

    #[test]
    fn registers_one_api_key_in_the_authorization_header() {
        assert_eq!(
            registered(&JwtSecurity::default()),
            json!({
                "jwt": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "JWT <token>",
                }
            })
        );
    }

    #[test]
    fn the_prefix_is_configurable() {
        let mut config = JwtConfig::default();
        assert_eq!(JwtSecurity::from_config(&config), JwtSecurity::default());
        config.auth_header_prefix = "Bearer".to_owned();
        let security = JwtSecurity::from_config(&config);
        assert_eq!(security.auth_header_prefix(), "Bearer");
        assert_eq!(
            registered(&security)["jwt"]["description"],
            json!("Bearer <token>")
        );
        assert_eq!(security, JwtSecurity::new("Bearer"));
    }

    #[test]
    fn keeps_the_other_components() {
        let mut openapi = OpenApiBuilder::new().build();
        let other = SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("key")));
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("other", other);
        JwtSecurity::default().modify(&mut openapi);
        let schemes = &openapi.components.unwrap().security_schemes;
        assert_eq!(
            schemes.keys().collect::<Vec<_>>(),
            ["jwt", "other"].iter().collect::<Vec<_>>()
        );
    }
}
