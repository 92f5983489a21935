//! `/store/<name>` and `/stores` (DEMO-API.md §6).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jwt_gate::CurrentIdentity;
use serde::Serialize;
use serde_json::{Value, json};

use crate::db::{Db, DeleteStore, Store, User};
use crate::error::ApiError;
use crate::extract::Name;

const NOT_FOUND: &str = "Store not found";

/// `GET /store/<name>`: public.
pub(crate) async fn get(Name(name): Name, State(db): State<Db>) -> Result<Json<Store>, ApiError> {
    db.store(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// `POST /store/<name>`: reads no body.
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

#[derive(Serialize)]
pub(crate) struct Stores {
    stores: Vec<Store>,
}

/// `GET /stores`: public.
pub(crate) async fn list(State(db): State<Db>) -> Result<Json<Stores>, ApiError> {
    let stores = db.stores().await?;
    Ok(Json(Stores { stores }))
}
