//! The extractors: [`CurrentIdentity`] (Flask-JWT's `@jwt_required()` + `current_identity`) and
//! [`CurrentClaims`], each also optional through `Option<..>`.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::claims::{Claims, TokenType};
use crate::error::{JwtError, JwtRejection};
use crate::identity::Identity;
use crate::jwt::Jwt;

/// The user of a request with a valid token: `@jwt_required()` plus `current_identity`.
///
/// A request without a valid token never reaches the handler: it gets the 401 of the error
/// table, through the error handler, with `WWW-Authenticate`. As `Option<CurrentIdentity<_>>`
/// it is optional auth with an explicit policy: no token is `None`; a token that is present but
/// malformed, invalid, expired or names no user is still a 401, never silently anonymous.
///
/// ```
/// use axum::{Router, routing::get, middleware};
/// use jwt_gate::{CurrentIdentity, Identity, Jwt};
/// # #[derive(Clone)] struct User { name: String }
/// # impl Identity for User { type Id = i64; fn id(&self) -> i64 { 1 } }
///
/// async fn me(CurrentIdentity(user): CurrentIdentity<User>) -> String {
///     user.name
/// }
/// async fn feed(user: Option<CurrentIdentity<User>>) -> String {
///     user.map_or("anonymous".into(), |CurrentIdentity(u)| u.name)
/// }
///
/// fn app(jwt: Jwt<User>) -> Router {
///     let admin = Router::new()
///         .route("/stats", get(|| async { "only for users" }))
///         // Guards a whole group, without a parameter in each handler.
///         .route_layer(middleware::from_extractor_with_state::<CurrentIdentity<User>, _>(jwt.clone()));
///     Router::new()
///         .route("/me", get(me))
///         .route("/feed", get(feed))
///         .merge(admin)
///         .with_state(jwt)
/// }
/// ```
#[doc(alias = "current_identity")]
#[doc(alias = "jwt_required")]
#[derive(Clone, Debug)]
#[must_use]
// A one-field tuple struct users destructure, like axum's `State(..)`.
#[allow(clippy::exhaustive_structs)]
pub struct CurrentIdentity<I>(pub I);

/// The verified claims of a request's token, without running `identity`: for handlers that
/// need only the id or an extra claim.
///
/// Rejects exactly as [`CurrentIdentity`] does, except that an unknown user is not looked up.
#[derive(Clone, Debug)]
#[must_use]
#[allow(clippy::exhaustive_structs)]
pub struct CurrentClaims<I: Identity>(pub Claims<I::Id>);

/// A fresh access token's user: like [`CurrentIdentity`], and with a revocation store the
/// access token must also be fresh (issued by a password login, not by a refresh), or 401
/// `Fresh token required`. Without a store every token comes from a password login, so every
/// valid token is fresh.
#[derive(Clone, Debug)]
#[must_use]
#[allow(clippy::exhaustive_structs)]
pub struct FreshIdentity<I>(pub I);

/// The verified claims of a refresh token (with a revocation store): for hand-written routes
/// that accept refresh tokens. An access token is 401 `Refresh token required`; a revoked one
/// 401 `Token has been revoked`.
#[derive(Clone, Debug)]
#[must_use]
#[allow(clippy::exhaustive_structs)]
pub struct RefreshClaims<I: Identity>(pub Claims<I::Id>);

/// What one request's extractors share, so that several of them verify the token once.
struct Verified<I: Identity> {
    claims: Claims<I::Id>,
    user: Option<I>,
}

impl<I: Identity> Clone for Verified<I> {
    fn clone(&self) -> Self {
        Self {
            claims: self.claims.clone(),
            user: self.user.clone(),
        }
    }
}

/// The request's user, verified once per request: later extractors find it (and the claims)
/// in the request's extensions.
async fn identity<I: Identity>(parts: &mut Parts, jwt: &Jwt<I>) -> Result<I, JwtError> {
    match parts.extensions.get_mut::<Verified<I>>() {
        Some(Verified {
            user: Some(user), ..
        }) => Ok(user.clone()),
        // `CurrentClaims` ran first: the token (and its CSRF) are checked, the user is not.
        Some(verified) => {
            let user = jwt.identify(verified.claims.clone()).await?;
            verified.user = Some(user.clone());
            Ok(user)
        }
        None => {
            let (claims, user) = jwt.authorize(parts).await?;
            parts.extensions.insert(Verified {
                claims,
                user: Some(user.clone()),
            });
            Ok(user)
        }
    }
}

async fn claims<I: Identity>(parts: &mut Parts, jwt: &Jwt<I>) -> Result<Claims<I::Id>, JwtError> {
    if let Some(verified) = parts.extensions.get::<Verified<I>>() {
        return Ok(verified.claims.clone());
    }
    let claims = jwt.authorize_claims(parts, TokenType::Access).await?;
    parts.extensions.insert(Verified::<I> {
        claims: claims.clone(),
        user: None,
    });
    Ok(claims)
}

async fn fresh_identity<I: Identity>(parts: &mut Parts, jwt: &Jwt<I>) -> Result<I, JwtError> {
    let user = identity(parts, jwt).await?;
    let fresh = parts
        .extensions
        .get::<Verified<I>>()
        .is_some_and(|verified| verified.claims.fresh == Some(true));
    if jwt.revocation_store().is_some() && !fresh {
        return Err(JwtError::FreshTokenRequired);
    }
    Ok(user)
}

/// Whether the request carries a token at all (a malformed carrier counts as one).
fn has_token<I: Identity>(parts: &Parts, jwt: &Jwt<I>) -> bool {
    !matches!(jwt.token(parts), Ok(None))
}

/// Implements `FromRequestParts` and `OptionalFromRequestParts` for an extractor from an
/// async function of the request parts and the `Jwt`.
macro_rules! jwt_extractor {
    ($extractor:ident<$i:ident>, $get:expr) => {
        impl<$i, S> FromRequestParts<S> for $extractor<$i>
        where
            $i: Identity,
            Jwt<$i>: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = JwtRejection;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Self, JwtRejection> {
                let jwt = Jwt::<$i>::from_ref(state);
                match $get(parts, &jwt).await {
                    Ok(value) => Ok(Self(value)),
                    Err(error) => Err(jwt.reject(error)),
                }
            }
        }

        impl<$i, S> OptionalFromRequestParts<S> for $extractor<$i>
        where
            $i: Identity,
            Jwt<$i>: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = JwtRejection;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Option<Self>, JwtRejection> {
                let jwt = Jwt::<$i>::from_ref(state);
                if !has_token(parts, &jwt) {
                    return Ok(None);
                }
                match $get(parts, &jwt).await {
                    Ok(value) => Ok(Some(Self(value))),
                    Err(error) => Err(jwt.reject(error)),
                }
            }
        }
    };
}

async fn refresh_claims<I: Identity>(
    parts: &mut Parts,
    jwt: &Jwt<I>,
) -> Result<Claims<I::Id>, JwtError> {
    jwt.authorize_claims(parts, TokenType::Refresh).await
}

jwt_extractor!(CurrentIdentity<I>, identity::<I>);
jwt_extractor!(FreshIdentity<I>, fresh_identity::<I>);
jwt_extractor!(CurrentClaims<I>, claims::<I>);
jwt_extractor!(RefreshClaims<I>, refresh_claims::<I>);
