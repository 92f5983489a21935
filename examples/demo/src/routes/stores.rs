//! `/store/<name>` and `/stores` (DEMO-API.md §6).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jwt_gate::CurrentIdentity;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::docs::Message;
use crate::db::{Db, DeleteStore, Store, User};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Name;

const NOT_FOUND: &str = "Store not found";

/// `GET /store/<name>`: public.
#[utoipa::path(
    get,
    path = "/store/{name}",
    tag = "stores",
    operation_id = "get_store",
    summary = "A store, with its items",
    params(Name),
    responses(
        (status = 200, description = "The store", body = Store),
        (status = 400, description = "An invalid name", body = ErrorBody<'static>),
        (status = 404, description = "`Store not found`", body = ErrorBody<'static>),
    ),
)]
pub(crate) async fn get(Name(name): Name, State(db): State<Db>) -> Result<Json<Store>, ApiError> {
    db.store(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// `POST /store/<name>`: reads no body.
#[utoipa::path(
    post,
    path = "/store/{name}",
    tag = "stores",
    operation_id = "create_store",
    summary = "Creates a store",
    description = "Reads no body. A taken name answers 400 \
        `A store with name '<name>' already exists.`",
    params(Name),
    security(("jwt" = [])),
    responses(
        (status = 201, description = "The new store, without items", body = Store),
        (status = 400, description = "An invalid name, a taken name", body = ErrorBody<'static>),
        (status = 401, description = "No valid token", body = ErrorBody<'static>, headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
    ),
)]
pub(crate) async fn post(
    _: CurrentIdentity<User>,
    Name(name): Name,
    State(db): State<Db>,
) -> Result<(StatusCode, Json<Store>), ApiError> {
    match db.create_store(&name).await? {
        Some(store) => Ok((StatusCode::CREATED, Json(store))),
        None => Err(ApiError::bad_request(format!(
            "A store with name '{name}' already exists."
        ))),
    }
}

/// `DELETE /store/<name>`: 404, then 409 while it has items.
#[utoipa::path(
    delete,
    path = "/store/{name}",
    tag = "stores",
    operation_id = "delete_store",
    summary = "Deletes a store without items",
    params(Name),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "`Store deleted`", body = Message, example = json!({"message": "Store deleted"})),
        (status = 400, description = "An invalid name", body = ErrorBody<'static>),
        (status = 401, description = "No valid token", body = ErrorBody<'static>, headers(("WWW-Authenticate" = String, description = "`JWT realm=\"Login Required\"`"))),
        (status = 404, description = "`Store not found`", body = ErrorBody<'static>),
        (status = 409, description = "`Store has items; delete them first`", body = ErrorBody<'static>),
    ),
)]
pub(crate) async fn delete(
    _: CurrentIdentity<User>,
    Name(name): Name,
    State(db): State<Db>,
) -> Result<Json<Value>, ApiError> {
    match db.delete_store(&name).await? {
        DeleteStore::Deleted => Ok(Json(json!({ "message": "Store deleted" }))),
        DeleteStore::NotFound => Err(ApiError::not_found(NOT_FOUND)),
        DeleteStore::HasItems => Err(ApiError::new(
            StatusCode::CONFLICT,
            "Store has items; delete them first",
        )),
    }
}

/// Every store.
#[derive(Serialize, ToSchema)]
pub(crate) struct Stores {
    /// Sorted by id, each with its items.
    stores: Vec<Store>,
}

/// `GET /stores`: public.
#[utoipa::path(
    get,
    path = "/stores",
    tag = "stores",
    operation_id = "list_stores",
    summary = "Every store, with its items",
    responses((status = 200, description = "Every store, sorted by id", body = Stores)),
)]
pub(crate) async fn list(State(db): State<Db>) -> Result<Json<Stores>, ApiError> {
    let stores = db.stores().await?;
    Ok(Json(Stores { stores }))
}
