//! Authentication of widget calls: the `X-Auth-Token` JWT that `self.$authorizedAjax` adds
//! (amocrm-widget-platform.md §4.2): HS256 with the integration secret, `aud` = the origin of the
//! Redirect URI, `exp`/`nbf` checked, `client_uuid` = our integration id. The account id in the
//! token is the only account a request may touch.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::app::AppState;

/// The header amoCRM's `$authorizedAjax` sends.
pub const AUTH_HEADER: &str = "x-auth-token";

/// The claims of amoCRM's one-time widget token.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WidgetClaims {
    /// The account URL, e.g. `https://example.amocrm.ru`.
    #[serde(default)]
    pub iss: String,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(deserialize_with = "amo_api::de::int_or_string")]
    pub account_id: i64,
    #[serde(default, deserialize_with = "amo_api::de::option_int_or_string")]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub subdomain: Option<String>,
    pub client_uuid: String,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the X-Auth-Token header is missing")]
    Missing,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token was issued for another integration")]
    WrongClient,
    #[error("the request's origin is not the token's account")]
    WrongOrigin,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = match self {
            AuthError::WrongOrigin => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        };
        let body = serde_json::json!({ "error": "unauthorized", "detail": self.to_string() });
        (status, Json(body)).into_response()
    }
}

/// Verifies widget tokens.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
    client_id: String,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// The origin (`scheme://host[:port]`) of a URL, which amoCRM uses as the token's audience.
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

impl JwtVerifier {
    /// A verifier for tokens signed with `secret` for the integration `client_id` whose Redirect URI is `redirect_uri`.
    pub fn new(secret: &str, client_id: &str, redirect_uri: &str) -> JwtVerifier {
        let mut validation = Validation::new(Algorithm::HS256);
        let origin = origin_of(redirect_uri);
        validation.set_audience(&[origin.clone(), format!("{origin}/")]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        JwtVerifier {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            client_id: client_id.to_owned(),
        }
    }

    /// The claims of a valid token.
    pub fn verify(&self, token: &str) -> Result<WidgetClaims, AuthError> {
        if self.client_id.is_empty() {
            return Err(AuthError::Invalid(
                "the integration is not configured".into(),
            ));
        }
        let data = decode::<WidgetClaims>(token, &self.key, &self.validation)
            .map_err(|error| AuthError::Invalid(error.to_string()))?;
        if data.claims.client_uuid != self.client_id {
            return Err(AuthError::WrongClient);
        }
        Ok(data.claims)
    }
}

/// An authenticated widget call; handlers read the account only from here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Widget(pub WidgetClaims);

impl FromRequestParts<AppState> for Widget {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Widget, AuthError> {
        let token = parts
            .headers
            .get(AUTH_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        let claims = state.jwt.verify(token)?;
        // A browser call must come from the token's own account page.
        if let Some(origin) = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok())
        {
            let from_issuer = origin_of(&claims.iss);
            let stored = crate::accounts::get(&state.db, claims.account_id)
                .await
                .ok()
                .flatten()
                .map(|account| account.base_url);
            let allowed = origin == from_issuer || stored.as_deref() == Some(origin);
            if !allowed {
                return Err(AuthError::WrongOrigin);
            }
        }
        Ok(Widget(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const SECRET: &str = "integration-secret";
    const CLIENT: &str = "0b4c2b8e-client";

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(SECRET, CLIENT, "https://backend.example.com/oauth/callback")
    }

    fn now() -> i64 {
        crate::db::now_ms() / 1000
    }

    fn claims() -> serde_json::Value {
        json!({
            "iss": "https://example.amocrm.ru",
            "aud": "https://backend.example.com",
            "jti": "5f6c",
            "iat": now(),
            "nbf": now(),
            "exp": now() + 900,
            "account_id": 7039099,
            "user_id": 504141,
            "subdomain": "example",
            "client_uuid": CLIENT,
        })
    }

    fn sign(claims: &serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut claims = claims();
        claims[key] = value;
        claims
    }

    #[test]
    fn a_valid_token_names_its_account() {
        let claims = verifier().verify(&sign(&claims(), SECRET)).unwrap();
        assert_eq!(claims.account_id, 7039099);
        assert_eq!(claims.user_id, Some(504141));
        // amoCRM may send ids as strings; the audience may carry a trailing slash.
        let token = sign(&with("account_id", json!("7039099")), SECRET);
        assert_eq!(verifier().verify(&token).unwrap().account_id, 7039099);
        let token = sign(&with("aud", json!("https://backend.example.com/")), SECRET);
        assert!(verifier().verify(&token).is_ok());
    }

    #[test]
    fn the_reject_matrix() {
        let v = verifier();
        let invalid = |token: &str| matches!(v.verify(token), Err(AuthError::Invalid(_)));
        assert!(invalid(&sign(&claims(), "another-secret")), "bad signature");
        assert!(
            invalid(&sign(
                &with("aud", json!("https://evil.example.com")),
                SECRET
            )),
            "wrong aud"
        );
        assert!(
            invalid(&sign(&with("exp", json!(now() - 120)), SECRET)),
            "expired"
        );
        assert!(
            invalid(&sign(&with("nbf", json!(now() + 120)), SECRET)),
            "not yet valid"
        );
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(invalid(&sign(&no_exp, SECRET)), "no exp");
        assert!(invalid("not.a.jwt"), "garbage");
        let none_alg = format!(
            "{}.{}.",
            base64_url(r#"{"alg":"none","typ":"JWT"}"#),
            base64_url(&claims().to_string())
        );
        assert!(invalid(&none_alg), "alg none");
        assert_eq!(
            v.verify(&sign(&with("client_uuid", json!("other")), SECRET)),
            Err(AuthError::WrongClient)
        );
        let unconfigured = JwtVerifier::new(SECRET, "", "https://backend.example.com");
        assert!(unconfigured.verify(&sign(&claims(), SECRET)).is_err());
    }

    fn base64_url(text: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn origins_are_scheme_and_host() {
        assert_eq!(
            origin_of("https://b.example.com:8443/oauth/callback?x=1"),
            "https://b.example.com:8443"
        );
        assert_eq!(origin_of("http://127.0.0.1:8400"), "http://127.0.0.1:8400");
    }
}
