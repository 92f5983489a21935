//! `POST /register` and `GET /me` (DEMO-API.md §4; `POST /login` is jwt-gate's).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jwt_gate::CurrentIdentity;
use serde_json::{Map, Value, json};

use super::docs::{Message, RegisterRequest};
use crate::db::{Db, NewUser, User};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonObject;
use crate::password;

/// `POST /register`: the field rules in order, then a taken username, then a taken email.
#[utoipa::path(
    post,
    path = "/register",
    tag = "users",
    operation_id = "register",
    summary = "Registers a user",
    description = "The field rules in order, then a taken username (compared exactly), then a \
        taken email (compared ignoring ASCII case).",
    request_body(content = RegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "`User created successfully.`", body = Message, example = json!({"message": "User created successfully."})),
        (status = 400, description = "An invalid body or field, a taken username or email", body = ErrorBody<'static>),
        (status = 413, description = "A body over 65536 bytes", body = ErrorBody<'static>),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody<'static>),
    ),
)]
pub(crate) async fn register(
    State(db): State<Db>,
    JsonObject { object: body, .. }: JsonObject,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let username = required_string(&body, "username")?;
    if username.chars().count() > 80 || username.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "username: Must be 1 to 80 characters without control characters",
        ));
    }
    let email = required_string(&body, "email")?;
    if !valid_email(email) {
        return Err(ApiError::bad_request(
            "email: Must be a valid email address",
        ));
    }
    let password = required_string(&body, "password")?;
    if !(8..=128).contains(&password.chars().count()) {
        return Err(ApiError::bad_request(
            "password: Must be 8 to 128 characters",
        ));
    }
    let email_key = email.to_ascii_lowercase();
    // Cheap answers before the expensive hash; the UNIQUE constraints decide under races.
    if let Some(taken) = taken(&db, username, &email_key).await? {
        return Err(taken);
    }
    let hash = password::hash(password.to_owned())
        .await
        .map_err(|error| ApiError::internal(&error))?;
    match db.insert_user(username, email, &email_key, &hash).await? {
        NewUser::Created => Ok((
            StatusCode::CREATED,
            Json(json!({ "message": "User created successfully." })),
        )),
        NewUser::Taken => Err(taken(&db, username, &email_key)
            .await?
            // A constraint refused the row: one of the two is taken.
            .unwrap_or_else(email_taken)),
    }
}

/// `GET /me`: the current identity.
#[utoipa::path(
    get,
    path = "/me",
    tag = "users",
    operation_id = "me",
    summary = "The current user",
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The user of the token", body = User),
        (status = 401, description = "No valid token", body = ErrorBody<'static>, headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
    ),
)]
pub(crate) async fn me(CurrentIdentity(user): CurrentIdentity<User>) -> Json<User> {
    Json(user)
}

async fn taken(db: &Db, username: &str, email_key: &str) -> Result<Option<ApiError>, ApiError> {
    if db.username_taken(username).await? {
        return Ok(Some(ApiError::bad_request(
            "A user with that username already exists",
        )));
    }
    if db.email_taken(email_key).await? {
        return Ok(Some(email_taken()));
    }
    Ok(None)
}

fn email_taken() -> ApiError {
    ApiError::bad_request("A user with that email already exists")
}

/// A field that must be a non-empty string: `<field>: This field cannot be blank.` when it is
/// missing, `null` or `""`, `<field>: Must be a string` when it is another JSON type.
fn required_string<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match body.get(field) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        None | Some(Value::Null | Value::String(_)) => Err(ApiError::bad_request(format!(
            "{field}: This field cannot be blank."
        ))),
        Some(_) => Err(ApiError::bad_request(format!("{field}: Must be a string"))),
    }
}

/// At most 254 characters, exactly one `@` with something on each side, no whitespace or
/// control character.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.chars().count() <= 254
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["a@b", "joe@example.com", "É@ü.de", "a+b@c.d"] {
            assert!(valid_email(good), "{good}");
        }
        let long = format!("{}@b", "a".repeat(252));
        assert!(valid_email(&long));
        let too_long = format!("{}@b", "a".repeat(253));
        for bad in [
            "",
            "@",
            "a@",
            "@b",
            "ab",
            "a@b@c",
            "a b@c",
            "a@b\u{a0}",
            "a@b\t",
            "a\u{0}@b",
            too_long.as_str(),
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
