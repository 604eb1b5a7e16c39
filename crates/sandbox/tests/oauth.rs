//! Contract tests of OAuth 2.0 (amocrm-api-v4.md §12, §14 item 14), the install and revoke hooks (§11.4) and the
//! widgets API (amocrm-widget-platform.md §1.3), over real HTTP against a sandbox and a local hook receiver.

mod common;

use common::{send, Receiver, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A sandbox whose `leakguard` integration redirects to and is revoked through `receiver`.
async fn with_integration(receiver: &Receiver) -> Sandbox {
    let mut config = common::config();
    config.widgets[0].redirect_uri = Some(format!("{}/oauth/callback", receiver.url));
    config.widgets[0].revoke_uri = Some(format!("{}/oauth/revoke", receiver.url));
    Sandbox::with(config).await
}

/// The integration's keys as the control endpoint shows them.
async fn keys(sb: &Sandbox) -> Value {
    let (_, list) = send(sb.client.get(format!("{}/__sandbox/integrations", sb.app))).await;
    list[0].clone()
}

async fn mint_code(sb: &Sandbox) -> String {
    let (status, body) = sb
        .control("/__sandbox/oauth/code", json!({"widget": "leakguard"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["code"].as_str().unwrap().to_owned()
}

/// Posts a JSON grant to `/oauth2/access_token`.
async fn grant(sb: &Sandbox, body: Value) -> (StatusCode, Value) {
    send(
        sb.client
            .post(format!("{}/oauth2/access_token", sb.app))
            .json(&body),
    )
    .await
}

async fn code_grant(sb: &Sandbox, code: &str) -> (StatusCode, Value) {
    let keys = keys(sb).await;
    grant(
        sb,
        json!({"client_id": keys["client_id"], "client_secret": keys["client_secret"], "grant_type": "authorization_code",
               "code": code, "redirect_uri": keys["redirect_uri"]}),
    )
    .await
}

async fn refresh_grant(sb: &Sandbox, refresh: &str) -> (StatusCode, Value) {
    let keys = keys(sb).await;
    grant(
        sb,
        json!({"client_id": keys["client_id"], "client_secret": keys["client_secret"], "grant_type": "refresh_token",
               "refresh_token": refresh, "redirect_uri": keys["redirect_uri"]}),
    )
    .await
}

/// Status of `GET /api/v4/account` with `token`.
async fn account_status(sb: &Sandbox, token: &str) -> StatusCode {
    sb.client
        .get(format!("{}/api/v4/account", sb.app))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Saves the settings page of `leakguard` as the admin (session cookie).
async fn save_settings(sb: &Sandbox, body: Value) -> (StatusCode, Value) {
    let admin = sb.demo().await["admin_user_id"].as_u64().unwrap();
    let cookie = sb.session_for(admin).await;
    send(
        sb.client
            .post(format!(
                "{}/ajax/sandbox/widgets/leakguard/settings",
                sb.app
            ))
            .header("cookie", cookie)
            .json(&body),
    )
    .await
}

/// amocrm-api-v4.md §12.2: the code grant answers `application/json` with the documented fields and a working token.
#[tokio::test]
async fn code_grant_issues_a_bearer_pair() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let code = mint_code(&sb).await;
    let keys = keys(&sb).await;
    let response = sb
        .client
        .post(format!("{}/oauth2/access_token", sb.app))
        .json(&json!({"client_id": keys["client_id"], "client_secret": keys["client_secret"],
                      "grant_type": "authorization_code", "code": code, "redirect_uri": keys["redirect_uri"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);
    assert!(body["server_time"].as_i64().unwrap() > 1_700_000_000);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3, "the access token is a JWT");
    assert!(!body["refresh_token"].as_str().unwrap().is_empty());
    assert_eq!(account_status(&sb, access).await, StatusCode::OK);
}

/// amocrm-api-v4.md §12.2: `application/x-www-form-urlencoded` bodies are accepted like JSON.
#[tokio::test]
async fn form_encoded_grants_are_accepted() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let code = mint_code(&sb).await;
    let keys = keys(&sb).await;
    let form = [
        ("client_id", keys["client_id"].as_str().unwrap()),
        ("client_secret", keys["client_secret"].as_str().unwrap()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", keys["redirect_uri"].as_str().unwrap()),
    ];
    let (status, body) = send(
        sb.client
            .post(format!("{}/oauth2/access_token", sb.app))
            .form(&form),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        account_status(&sb, body["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
}

/// amocrm-api-v4.md §12.1–§12.2: a code works once ("has been revoked"), unknown codes cannot be decrypted, and a
/// code older than 20 minutes on the sandbox clock has expired; refusals are 400 OAuthProblemJson with a `hint`.
#[tokio::test]
async fn codes_are_single_use_and_expire_after_20_minutes() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let code = mint_code(&sb).await;
    assert_eq!(code_grant(&sb, &code).await.0, StatusCode::OK);
    let (status, again) = code_grant(&sb, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(again["hint"], "Authorization code has been revoked");
    assert_eq!(
        again["type"],
        "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
    );
    assert_eq!(again["status"], 400);
    let (_, unknown) = code_grant(&sb, "def50200deadbeef").await;
    assert_eq!(unknown["hint"], "Cannot decrypt the authorization code");
    let stale = mint_code(&sb).await;
    sb.shift_clock(20 * 60 + 1).await;
    let (status, expired) = code_grant(&sb, &stale).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(expired["hint"], "Authorization code has expired");
}

/// amocrm-api-v4.md §12.2: `redirect_uri` must match the integration's exactly; a wrong secret or client fails the
/// client check (401), a missing parameter is named in the hint (400).
#[tokio::test]
async fn client_checks_refuse_wrong_secret_and_redirect() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let keys = keys(&sb).await;
    let code = mint_code(&sb).await;
    let base = json!({"client_id": keys["client_id"], "client_secret": keys["client_secret"],
                      "grant_type": "authorization_code", "code": code, "redirect_uri": keys["redirect_uri"]});
    let mut slash = base.clone();
    slash["redirect_uri"] = json!(format!("{}/", keys["redirect_uri"].as_str().unwrap()));
    let (status, body) = grant(&sb, slash).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["title"], "Некорректный клиент");
    let mut secret = base.clone();
    secret["client_secret"] = json!("nope");
    assert_eq!(grant(&sb, secret).await.0, StatusCode::UNAUTHORIZED);
    let mut no_client = base.clone();
    no_client.as_object_mut().unwrap().remove("client_id");
    let (status, body) = grant(&sb, no_client).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["hint"], "Check the `client_id` parameter");
    let mut no_redirect = base.clone();
    no_redirect.as_object_mut().unwrap().remove("redirect_uri");
    let (_, body) = grant(&sb, no_redirect).await;
    assert_eq!(body["hint"], "Check the `redirect_uri` parameter");
    // None of the refusals used the code up.
    assert_eq!(code_grant(&sb, &code).await.0, StatusCode::OK);
}

/// amocrm-api-v4.md §12.3, §13.3: an access token works for 86400 s of the sandbox clock, then `/api/v4` answers 401.
#[tokio::test]
async fn access_tokens_expire_after_a_day() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let (_, pair) = code_grant(&sb, &mint_code(&sb).await).await;
    let access = pair["access_token"].as_str().unwrap();
    sb.shift_clock(86_399).await;
    assert_eq!(account_status(&sb, access).await, StatusCode::OK);
    sb.shift_clock(86_400).await;
    assert_eq!(account_status(&sb, access).await, StatusCode::UNAUTHORIZED);
    let (status, fresh) = refresh_grant(&sb, pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        account_status(&sb, fresh["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
}

/// amocrm-api-v4.md §12.3 (amoCRM RU, the default): a used refresh token dies at once; reusing it is refused with
/// "Token has been revoked" (401, as observed in amocrm-api-php#123).
#[tokio::test]
async fn single_use_rotation_kills_the_old_refresh_token() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let (_, first) = code_grant(&sb, &mint_code(&sb).await).await;
    let old = first["refresh_token"].as_str().unwrap();
    let (status, second) = refresh_grant(&sb, old).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (status, reused) = refresh_grant(&sb, old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused["hint"], "Token has been revoked");
    let (_, garbage) = refresh_grant(&sb, "def50200abc").await;
    assert_eq!(garbage["hint"], "Cannot decrypt the refresh token");
    assert_eq!(
        refresh_grant(&sb, second["refresh_token"].as_str().unwrap())
            .await
            .0,
        StatusCode::OK
    );
}

/// amocrm-api-v4.md §12.3 (Kommo): with `refresh_rotation: grace` the old refresh token keeps working until the new
/// pair is first used, so a client that lost the answer can recover.
#[tokio::test]
async fn grace_rotation_keeps_the_old_token_until_the_new_pair_is_used() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let (status, _) = sb
        .control("/__sandbox/options", json!({"refresh_rotation": "grace"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, first) = code_grant(&sb, &mint_code(&sb).await).await;
    let old = first["refresh_token"].as_str().unwrap();
    let (_, lost) = refresh_grant(&sb, old).await;
    assert!(lost["refresh_token"].is_string());
    let (status, recovered) = refresh_grant(&sb, old).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the answer was lost; the old token still works"
    );
    assert_eq!(
        account_status(&sb, recovered["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
    let (status, after) = refresh_grant(&sb, old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(after["hint"], "Token has been revoked");
}

/// amocrm-api-v4.md §11.4, amocrm-widget-platform.md §1.3: installing the widget on the settings page sends one GET to
/// the Redirect URI with `code`, `referer`, `from_widget=1`, `platform`, `client_id`; the code is exchangeable and
/// saving the installed widget again sends nothing.
#[tokio::test]
async fn installing_sends_the_code_to_the_redirect_uri_once() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let before = keys(&sb).await;
    assert_eq!(
        before["installed"], false,
        "an OAuth widget starts uninstalled"
    );
    let (status, entry) = save_settings(
        &sb,
        json!({"active": "Y", "fields": {"backend_url": "https://backend.test"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["status"], "installed");
    let hits = receiver.wait_for(1).await;
    let hook = &hits[0];
    assert_eq!(
        (hook.method.as_str(), hook.path.as_str()),
        ("GET", "/oauth/callback")
    );
    let keys = keys(&sb).await;
    let host = sb.app.strip_prefix("http://").unwrap();
    assert_eq!(hook.param("referer").as_deref(), Some(host));
    assert_eq!(hook.param("from_widget").as_deref(), Some("1"));
    assert_eq!(hook.param("platform").as_deref(), Some("2"));
    assert_eq!(
        hook.param("client_id").as_deref(),
        keys["client_id"].as_str()
    );
    let (status, pair) = code_grant(&sb, &hook.param("code").unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    save_settings(
        &sb,
        json!({"active": "Y", "fields": {"backend_url": "https://other.test"}}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        receiver.hits().len(),
        1,
        "an installed widget is not installed again"
    );
    let (_, hooks) = send(sb.client.get(format!("{}/__sandbox/oauth/hooks", sb.app))).await;
    assert_eq!(hooks[0]["kind"], "install");
    assert_eq!(hooks[0]["status"], 200);
}

/// amocrm-api-v4.md §11.4, §12.3: uninstalling sends the signed revoke hook with amoCRM's User-Agent and the
/// integration's tokens stop working.
#[tokio::test]
async fn uninstalling_revokes_tokens_and_sends_the_signed_hook() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    save_settings(
        &sb,
        json!({"active": "Y", "fields": {"backend_url": "https://b.test"}}),
    )
    .await;
    let install = receiver.wait_for(1).await[0].clone();
    let (_, pair) = code_grant(&sb, &install.param("code").unwrap()).await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    assert_eq!(account_status(&sb, &access).await, StatusCode::OK);
    let (status, entry) = save_settings(&sb, json!({"active": "N"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entry["active"], "N");
    let hits = receiver.wait_for(2).await;
    let revoke = &hits[1];
    assert_eq!(revoke.path, "/oauth/revoke");
    assert_eq!(
        revoke.header("user-agent").as_deref(),
        Some("amoService-oAuth-Code-Sender/1.0")
    );
    let keys = keys(&sb).await;
    let account = revoke.param("account_id").unwrap();
    let (_, me) = sb.get("/api/v4/account").await;
    assert_eq!(account, me["id"].to_string());
    assert_eq!(
        revoke.param("client_uuid").as_deref(),
        keys["client_id"].as_str()
    );
    let expected = leakguard_sandbox::integration::revoke_signature(
        keys["client_secret"].as_str().unwrap(),
        keys["client_id"].as_str().unwrap(),
        account.parse().unwrap(),
    );
    assert_eq!(revoke.param("signature"), Some(expected));
    assert_eq!(account_status(&sb, &access).await, StatusCode::UNAUTHORIZED);
    let (status, refused) = refresh_grant(&sb, pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused["hint"], "Token has been revoked");
}

/// amocrm-api-v4.md §12.3: a long-lived token lasts the chosen number of days and dies with the integration.
#[tokio::test]
async fn long_lived_tokens_last_their_days() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let (status, _) = sb
        .control(
            "/__sandbox/oauth/long_lived",
            json!({"widget": "leakguard", "days": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, issued) = sb
        .control(
            "/__sandbox/oauth/long_lived",
            json!({"widget": "leakguard", "days": 2}),
        )
        .await;
    let token = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(account_status(&sb, &token).await, StatusCode::OK);
    sb.shift_clock(2 * 86_400 - 10).await;
    assert_eq!(account_status(&sb, &token).await, StatusCode::OK);
    sb.shift_clock(2 * 86_400 + 10).await;
    assert_eq!(account_status(&sb, &token).await, StatusCode::UNAUTHORIZED);
    sb.shift_clock(0).await;
    let (status, _) = sb
        .send(
            Method::POST,
            "/api/v4/widgets/leakguard",
            json!({"backend_url": "https://b.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, other) = sb
        .control(
            "/__sandbox/oauth/long_lived",
            json!({"widget": "leakguard", "days": 30}),
        )
        .await;
    let other = other["access_token"].as_str().unwrap().to_owned();
    let (status, _) = send(sb.api(Method::DELETE, "/api/v4/widgets/leakguard")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(account_status(&sb, &other).await, StatusCode::UNAUTHORIZED);
}

/// amocrm-widget-platform.md §1.3 [S39]: `GET /api/v4/widgets[/code]` describe uploaded widgets; `POST` installs with
/// settings (required fields checked, admins only), `DELETE` uninstalls (204) and sends the revoke hook.
#[tokio::test]
async fn widgets_api_installs_and_uninstalls() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let (status, list) = sb.get("/api/v4/widgets").await;
    assert_eq!(status, StatusCode::OK);
    let widget = &list["_embedded"]["widgets"][0];
    assert_eq!(widget["code"], "leakguard");
    assert_eq!(widget["is_active_in_account"], false);
    assert_eq!(widget["settings_template"][0]["key"], "backend_url");
    assert_eq!(widget["settings_template"][0]["is_required"], true);
    assert!(widget.get("settings").is_none());
    let (status, _) = sb.get("/api/v4/widgets/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let manager = sb.demo().await["manager_user_id"].as_u64().unwrap();
    let manager_token = sb.token_for(manager);
    let (status, _) = send(
        sb.client
            .post(format!("{}/api/v4/widgets/leakguard", sb.app))
            .bearer_auth(&manager_token)
            .json(&json!({"backend_url": "https://b.test"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, invalid) = sb
        .send(
            Method::POST,
            "/api/v4/widgets/leakguard",
            json!({"other": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid["validation-errors"][0]["errors"][0]["path"],
        "backend_url"
    );
    assert!(receiver.hits().is_empty());

    let (status, installed) = sb
        .send(
            Method::POST,
            "/api/v4/widgets/leakguard",
            json!({"backend_url": "https://b.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{installed}");
    assert_eq!(installed["is_active_in_account"], true);
    assert_eq!(installed["settings"]["backend_url"], "https://b.test");
    let hook = receiver.wait_for(1).await[0].clone();
    let (_, pair) = code_grant(&sb, &hook.param("code").unwrap()).await;
    let own = pair["access_token"].as_str().unwrap();
    let (_, seen) = send(
        sb.client
            .get(format!("{}/api/v4/widgets/leakguard", sb.app))
            .bearer_auth(own),
    )
    .await;
    assert_eq!(
        seen["settings"]["backend_url"], "https://b.test",
        "the widget's own integration sees its settings"
    );
    let (_, foreign) = sb.get("/api/v4/widgets/leakguard").await;
    assert!(foreign.get("settings").is_none());

    let (status, _) = send(
        sb.client
            .delete(format!("{}/api/v4/widgets/leakguard", sb.app))
            .bearer_auth(&manager_token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(sb.api(Method::DELETE, "/api/v4/widgets/leakguard")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(receiver.wait_for(2).await[1].path, "/oauth/revoke");
    let (_, after) = sb.get("/api/v4/widgets/leakguard").await;
    assert_eq!(after["is_active_in_account"], false);
    let (status, _) = send(sb.api(Method::DELETE, "/api/v4/widgets/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// amocrm-widget-platform.md §4.2: the one-time widget token's `aud` is the base of the integration's Redirect URI.
#[tokio::test]
async fn widget_token_audience_is_the_redirect_base() {
    let receiver = Receiver::start().await;
    let sb = with_integration(&receiver).await;
    let admin = sb.demo().await["admin_user_id"].as_u64().unwrap();
    let cookie = sb.session_for(admin).await;
    let (_, token) = send(
        sb.client
            .get(format!("{}/ajax/sandbox/widgets/leakguard/token", sb.app))
            .header("cookie", cookie),
    )
    .await;
    let keys = keys(&sb).await;
    let claims = leakguard_sandbox::jwt::verify(
        token["token"].as_str().unwrap(),
        keys["client_secret"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], receiver.url);
}

/// amocrm-api-v4.md §12.3 with an injected `drop` fault on the token endpoint: the refresh is issued but its answer is
/// lost. Under `single_use` the client is locked out; under `grace` its old refresh token still works.
#[tokio::test]
async fn a_lost_refresh_answer_under_both_policies() {
    for (rotation, recovers) in [("single_use", false), ("grace", true)] {
        let receiver = Receiver::start().await;
        let sb = with_integration(&receiver).await;
        sb.control("/__sandbox/options", json!({"refresh_rotation": rotation}))
            .await;
        let (_, pair) = code_grant(&sb, &mint_code(&sb).await).await;
        let old = pair["refresh_token"].as_str().unwrap();
        let (status, _) = sb
            .control(
                "/__sandbox/faults",
                json!({"path": "/oauth2/access_token", "kind": "drop"}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let keys = keys(&sb).await;
        let lost = sb
            .client
            .post(format!("{}/oauth2/access_token", sb.app))
            .json(&json!({"client_id": keys["client_id"], "client_secret": keys["client_secret"],
                          "grant_type": "refresh_token", "refresh_token": old, "redirect_uri": keys["redirect_uri"]}))
            .send()
            .await;
        assert!(lost.is_err(), "{rotation}: the answer never arrives");
        let (status, retry) = refresh_grant(&sb, old).await;
        assert_eq!(status == StatusCode::OK, recovers, "{rotation}: {retry}");
    }
}
