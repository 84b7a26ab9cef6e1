//! `POST /login`: the sign-in form as the browser posts it without JavaScript (an early Enter,
//! a bundle that failed to load). Credentials travel in the body only; the answer is a redirect
//! to the console, or back to the sign-in page with the reason.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use domain::service::Actor;
use serde::Deserialize;

use crate::AppState;

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn form_sign_in(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    session: tower_sessions::Session,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return back_with("enter a username and a password");
    };
    match app::api::sign_in::sign_in(
        &state.services,
        &actor,
        &session,
        &form.username,
        &form.password,
    )
    .await
    {
        Ok(_) => Redirect::to("/projects").into_response(),
        Err(e) => {
            if let app::api::sign_in::SignInError::Internal(why) = &e {
                tracing::error!(error = %why, "cannot store a console session");
            }
            back_with(&e.message())
        }
    }
}

/// `303 See Other` to the sign-in page showing `message` (never the credentials).
fn back_with(message: &str) -> Response {
    Redirect::to(&format!("/login?error={}", urlencoding::encode(message))).into_response()
}
