//! `/item/<name>` and `/items` (DEMO-API.md §5).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jwt_gate::CurrentIdentity;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::docs::{ItemRequest, Message};
use crate::db::{CreateItem, Db, Item, PutItem, User};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonObject, Name};

const NOT_FOUND: &str = "Item not found";
const NO_STORE: &str = "store_id: Store not found";

/// `GET /item/<name>`.
#[utoipa::path(
    get,
    path = "/item/{name}",
    tag = "items",
    operation_id = "get_item",
    summary = "An item",
    params(Name),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The item", body = Item),
        (status = 400, description = "An invalid name", body = ErrorBody<'static>),
        (status = 401, description = "No valid token", body = ErrorBody<'static>, headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
        (status = 404, description = "`Item not found`", body = ErrorBody<'static>),
    ),
)]
pub(crate) async fn get(
    _: CurrentIdentity<User>,
    Name(name): Name,
    State(db): State<Db>,
) -> Result<Json<Item>, ApiError> {
    db.item(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// `POST /item/<name>`: a taken name, then an unknown store, else 201.
#[utoipa::path(
    post,
    path = "/item/{name}",
    tag = "items",
    operation_id = "create_item",
    summary = "Creates an item",
    description = "A taken name answers 400 `An item with name '<name>' already exists.`, then an \
        unknown store 400 `store_id: Store not found`; else the item is created.",
    params(Name),
    request_body(content = ItemRequest, content_type = "application/json"),
    security(("jwt" = [])),
    responses(
        (status = 201, description = "The new item", body = Item),
        (status = 400, description = "An invalid name, an invalid body or field, a taken name, an unknown store", body = ErrorBody<'static>),
        (status = 401, description = "No valid token", body = ErrorBody<'static>, headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
        (status = 413, description = "A body over 65536 bytes", body = ErrorBody<'static>),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody<'static>),
    ),
)]
pub(crate) async fn post(
    _: CurrentIdentity<User>,
    Name(name): Name,
    State(db): State<Db>,
    body: JsonObject,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    let (price, store_id) = fields(&body.object, &body.raw)?;
    match db.create_item(&name, price, store_id).await? {
        CreateItem::Created(item) => Ok((StatusCode::CREATED, Json(item))),
        CreateItem::NameTaken => Err(ApiError::bad_request(format!(
            "An item with name '{name}' already exists."
        ))),
        CreateItem::NoStore => Err(ApiError::bad_request(NO_STORE)),
    }
}

/// `PUT /item/<name>`: an unknown store first, then 200 (replaced) or 201 (created).
#[utoipa::path(
    put,
    path = "/item/{name}",
    tag = "items",
    operation_id = "put_item",
    summary = "Creates or replaces an item",
    description = "An unknown store answers 400 `store_id: Store not found` and changes nothing; \
        else an existing item has its `price` and `store_id` replaced (200), or the item is \
        created (201).",
    params(Name),
    request_body(content = ItemRequest, content_type = "application/json"),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The item, replaced", body = Item),
        (status = 201, description = "The item, created", body = Item),
        (status = 400, description = "An invalid name, an invalid body or field, an unknown store", body = ErrorBody<'static>),
        (status = 401, description = "No valid token", body = ErrorBody<'static>, headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
        (status = 413, description = "A body over 65536 bytes", body = ErrorBody<'static>),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody<'static>),
    ),
)]
pub(crate) async fn put(
    _: CurrentIdentity<User>,
    Name(name): Name,
    State(db): State<Db>,
    body: JsonObject,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    let (price, store_id) = fields(&body.object, &body.raw)?;
    match db.put_item(&name, price, store_id).await? {
        PutItem::Created(item) => Ok((StatusCode::CREATED, Json(item))),
        PutItem::Updated(item) => Ok((StatusCode::OK, Json(item))),
        PutItem::NoStore => Err(ApiError::bad_request(NO_STORE)),
    }
}

/// `DELETE /item/<name>`.
#[utoipa::path(
    delete,
    path = "/item/{name}",
    tag = "items",
    operation_id = "delete_item",
    summary = "Deletes an item",
    params(Name),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "`Item deleted.`", body = Message, example = json!({"message": "Item deleted."})),
        (status = 400, description = "An invalid name", body = ErrorBody<'static>),
        (status = 401, description = "No valid token", body = ErrorBody<'static>, headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
        (status = 404, description = "`Item not found`", body = ErrorBody<'static>),
    ),
)]
pub(crate) async fn delete(
    _: CurrentIdentity<User>,
    Name(name): Name,
    State(db): State<Db>,
) -> Result<Json<Value>, ApiError> {
    if db.delete_item(&name).await? {
        Ok(Json(json!({ "message": "Item deleted." })))
    } else {
        Err(ApiError::not_found(NOT_FOUND))
    }
}

/// Every item.
#[derive(Serialize, ToSchema)]
pub(crate) struct Items {
    /// Sorted by id.
    items: Vec<Item>,
}

/// `GET /items`: public.
#[utoipa::path(
    get,
    path = "/items",
    tag = "items",
    operation_id = "list_items",
    summary = "Every item",
    responses((status = 200, description = "Every item, sorted by id", body = Items)),
)]
pub(crate) async fn list(State(db): State<Db>) -> Result<Json<Items>, ApiError> {
    let items = db.items().await?;
    Ok(Json(Items { items }))
}

/// The field rules of `POST` and `PUT`, in order: `price`, then `store_id`. `raw` is the
/// body's text, which `body` was parsed from.
fn fields(body: &Map<String, Value>, raw: &[u8]) -> Result<(f64, i64), ApiError> {
    let price = match body.get("price") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "price: This field cannot be left blank!",
            ));
        }
        Some(Value::Number(number)) => number
            .as_f64()
            .filter(|price| price.is_finite() && *price >= 0.0),
        Some(_) => None,
    }
    .ok_or_else(|| ApiError::bad_request("price: Must be a non-negative number"))?;
    let store_id = match body.get("store_id") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "store_id: Every item needs a store_id.",
            ));
        }
        // An integer is a number written without fraction or exponent. serde_json reads `-0`
        // as the float -0.0, like `-0.0`: the text tells them apart.
        Some(Value::Number(_)) => written_integer(raw, "store_id"),
        Some(_) => None,
    }
    .ok_or_else(|| ApiError::bad_request("store_id: Must be an integer"))?;
    Ok((price, store_id))
}

/// The member `key` of the JSON object `raw`, if it is written as an integer (`-?[0-9]+`) in
/// the `i64` range.
fn written_integer(raw: &[u8], key: &str) -> Option<i64> {
    let members: HashMap<String, &RawValue> = serde_json::from_slice(raw).ok()?;
    let text = members.get(key)?.get();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(f64, i64), String> {
        let body: Value = serde_json::from_str(text).unwrap();
        fields(body.as_object().unwrap(), text.as_bytes()).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn field_rules_in_order() {
        assert_eq!(check(r#"{"price": 1.5, "store_id": 2}"#), Ok((1.5, 2)));
        assert_eq!(check(r#"{"price": 0, "store_id": -1}"#), Ok((0.0, -1)));
        let blank = "price: This field cannot be left blank!";
        let negative = "price: Must be a non-negative number";
        let no_store = "store_id: Every item needs a store_id.";
        let integer = "store_id: Must be an integer";
        for (body, message) in [
            ("{}", blank),
            (r#"{"price": null}"#, blank),
            (r#"{"store_id": "x"}"#, blank),
            (r#"{"price": "12.5", "store_id": 1}"#, negative),
            (r#"{"price": true}"#, negative),
            (r#"{"price": -0.01}"#, negative),
            (r#"{"price": [1]}"#, negative),
            (r#"{"price": 1}"#, no_store),
            (r#"{"price": 1, "store_id": null}"#, no_store),
            (r#"{"price": 1, "store_id": 2.0}"#, integer),
            (r#"{"price": 1, "store_id": 2e0}"#, integer),
            (r#"{"price": 1, "store_id": "2"}"#, integer),
            (r#"{"price": 1, "store_id": 9223372036854775808}"#, integer),
            (r#"{"price": 1, "store_id": -0.0}"#, integer),
            (r#"{"price": 1, "store_id": -0e0}"#, integer),
            (r#"{"price": 1, "store_id": 0.0}"#, integer),
        ] {
            assert_eq!(check(body), Err(message.to_owned()), "{body}");
        }
        assert_eq!(
            check(r#"{"price": 1, "store_id": 9223372036854775807}"#),
            Ok((1.0, i64::MAX))
        );
        assert_eq!(
            check(r#"{"price": 1, "store_id": -9223372036854775808}"#),
            Ok((1.0, i64::MIN))
        );
        // `-0` is an integer written without fraction or exponent, whatever serde_json makes
        // of it; so is a key written with escapes.
        assert_eq!(check(r#"{"price": 1, "store_id": -0}"#), Ok((1.0, 0)));
        assert_eq!(check(r#"{"price": 1, "store_\u0069d": -0}"#), Ok((1.0, 0)));
    }
}
