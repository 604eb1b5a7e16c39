//! The OAuth 2.0 token response of `POST /oauth2/access_token`.

use serde::Deserialize;

use crate::de::option_int_or_string;

/// An access token (24 h) with its refresh token (3 months, replaced on every refresh).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TokenResponse {
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The server's clock (Unix seconds), sent by Kommo.
    #[serde(deserialize_with = "option_int_or_string")]
    pub server_time: Option<i64>,
    pub access_token: String,
    /// Absent for long-lived tokens.
    pub refresh_token: Option<String>,
}
