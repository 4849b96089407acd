//! The versioned JSON API, `/api/v1`: the route table ([`routes`]), its request and answer
//! types (serde structs, so an OpenAPI generator can describe them later), and handlers that
//! only parse, call the one shared code path and render.
//!
//! | route | method | session | CSRF | what |
//! |-------|--------|---------|------|------|
//! | `/api/v1/enrol` | POST | no | no | set a password with a one-time token |
//! | `/api/v1/sign-in` | POST | no | no | start a session (cookie) |
//! | `/api/v1/sign-out` | POST | yes | yes | end it |
//! | `/api/v1/me` | GET | yes | no | the user, roles, scopes |
//! | `/api/v1/catalog` | GET | yes | no | what the user may see, sources' freshness |
//! | `/api/v1/query` | POST | yes | yes | a metric, report, drill-down or ad hoc SQL |
//!
//! A query is answered by [`crate::query::run`], the function `tally query` calls: the same
//! authorization, scope, suppression and audit. The user is the session's, never a field of
//! the request (an unknown field is refused). Every POST takes `application/json` only, which
//! a cross-site form cannot send; errors are `{"code", "message", "help"}` with the runtime's
//! code.

use super::auth::{self, CSRF_HEADER, SESSION_COOKIE};
use super::App;
use crate::error::{codes, Code, Error, Result};
use crate::etl::{self, SourceStatus};
use crate::query::{self, catalog::Catalog, output, viewer, Request, What};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Every route of the server, in one place.
pub fn routes(app: Arc<App>) -> Router {
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let mut router = Router::new()
        .route("/api/v1/enrol", post(enrol))
        .route("/api/v1/sign-in", post(sign_in))
        .route("/api/v1/sign-out", post(sign_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/catalog", get(catalog))
        .route("/api/v1/query", post(query))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::middleware::map_response(too_large));
    for (name, value) in headers {
        router =
            router.layer(SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value)));
    }
    router.with_state(app)
}

// ------------------------------------------------------------------------- types

/// `POST /api/v1/enrol`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// The one-time token `tally user add` or `tally user reset` printed.
    pub token: String,
    pub password: String,
}

/// `POST /api/v1/sign-in`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub user: String,
    pub password: String,
}

/// The answer to a sign-in (the session itself is the cookie).
#[derive(Debug, Serialize)]
pub struct SignedIn {
    pub user: String,
    /// To send in the `X-CSRF-Token` header of every POST.
    pub csrf: String,
    pub expires_at: String,
}

/// `POST /api/v1/query`: the options of `tally query`, without `--as`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBody {
    /// A metric (or, with `drill`, the metric whose rows to list).
    pub metric: Option<String>,
    pub report: Option<String>,
    /// One ad hoc `SELECT` (roles with `allow ad_hoc`).
    pub sql: Option<String>,
    #[serde(default)]
    pub drill: bool,
    /// Dimensions to break down by: `location.port`, `time.month`.
    #[serde(default)]
    pub by: Vec<String>,
    /// Only rows whose member of the dimension is the value.
    #[serde(default, rename = "where")]
    pub filters: BTreeMap<String, String>,
    /// Periods starting at or after, and before, these times (UTC).
    pub from: Option<String>,
    pub to: Option<String>,
    pub grain: Option<String>,
    pub mart: Option<String>,
    /// Subtotals and the total of the scope with the rows (default true).
    pub totals: Option<bool>,
    pub limit: Option<u64>,
}

impl QueryBody {
    /// The runtime's request for `user` (the session's) at `now`.
    pub fn request(&self, user: &str, now: chrono::NaiveDateTime) -> Result<Request> {
        let what =
            match (&self.metric, &self.report, &self.sql, self.drill) {
                (Some(metric), None, None, true) => What::Drill(metric.clone()),
                (Some(metric), None, None, false) => What::Metric(metric.clone()),
                (None, Some(report), None, false) => What::Report(report.clone()),
                (None, None, Some(sql), false) => What::Sql(sql.clone()),
                _ => return Err(Error::new(
                    codes::QUERY_OPTIONS,
                    "a query names one of `metric`, `report` or `sql` (`drill` goes with `metric`)",
                )
                .help(r#"e.g. {"metric": "visits", "by": ["geography.region"]}"#)),
            };
        let mut request = Request::new(user, what, now);
        request.by =
            self.by.iter().map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()).collect();
        request.filters =
            self.filters.iter().map(|(k, v)| (k.trim().to_owned(), v.clone())).collect();
        request.from = self.from.as_deref().map(etl::parse_time).transpose()?;
        request.to = self.to.as_deref().map(etl::parse_time).transpose()?;
        request.grain = self.grain.clone();
        request.mart = self.mart.clone();
        request.totals = self.totals.unwrap_or(true);
        request.limit = self.limit;
        Ok(request)
    }
}

/// `GET /api/v1/me`.
#[derive(Debug, Serialize)]
pub struct Me {
    pub user: String,
    pub roles: Vec<RoleInfo>,
    /// The CSRF token of this session.
    pub csrf: String,
    pub session_expires_at: String,
}

#[derive(Debug, Serialize)]
pub struct RoleInfo {
    pub role: String,
    pub title: Option<String>,
    /// `national`, or the bound scope with the user's value: `location.port = 'P11'`.
    pub scope: String,
    pub drill_down: bool,
    pub ad_hoc: bool,
    pub min_cell_size: i64,
}

/// `GET /api/v1/catalog`: only what the user's roles may read.
#[derive(Debug, Serialize)]
pub struct CatalogInfo {
    pub user: String,
    pub marts: Vec<MartInfo>,
    pub metrics: Vec<MetricInfo>,
    pub reports: Vec<ReportInfo>,
    /// The sources behind them, with their freshness now.
    pub sources: Vec<SourceInfo>,
}

#[derive(Debug, Serialize)]
pub struct MartInfo {
    pub name: String,
    pub title: Option<String>,
    /// The metrics the user may read in it.
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub grains: Vec<String>,
    /// Whether a role of the user may list the rows behind its cells.
    pub drill: bool,
}

#[derive(Debug, Serialize)]
pub struct MetricInfo {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub unit: Option<String>,
    /// The titles of the source systems it comes from.
    pub sources: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ReportInfo {
    pub name: String,
    pub title: Option<String>,
    pub mart: String,
    pub metrics: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SourceInfo {
    pub name: String,
    pub title: String,
    pub last_load: Option<String>,
    /// Never loaded, or the last load is older than the source's freshness allows.
    pub late: bool,
    pub next_due: Option<String>,
}

/// An error as the API returns it.
#[derive(Debug, Serialize)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
}

// ------------------------------------------------------------------------- answers

/// The HTTP status of a runtime error.
pub fn status(code: Code) -> StatusCode {
    match code {
        codes::NOT_SIGNED_IN | codes::SIGN_IN_FAILED => StatusCode::UNAUTHORIZED,
        codes::SIGN_IN_THROTTLED => StatusCode::TOO_MANY_REQUESTS,
        codes::CSRF_REJECTED
        | codes::NOT_GRANTED
        | codes::DRILL_NOT_ALLOWED
        | codes::PERSONAL_DATA
        | codes::AD_HOC_NOT_ALLOWED
        | codes::AD_HOC_TABLE_NOT_GRANTED
        | codes::AD_HOC_FUNCTION_NOT_ALLOWED
        | codes::AD_HOC_PERSON_SEARCH
        | codes::ACCOUNT_DISABLED
        | codes::ACCOUNT_LAPSED
        | codes::ROLES_NOT_APPLICABLE
        | codes::NO_SCOPE_VALUE => StatusCode::FORBIDDEN,
        codes::NO_SUCH_METRIC | codes::NO_SUCH_MART => StatusCode::NOT_FOUND,
        codes::API_REQUEST
        | codes::QUERY_OPTIONS
        | codes::BAD_INPUT
        | codes::NOT_A_DIMENSION
        | codes::NOT_PUBLISHED
        | codes::GRAIN_NOT_KEPT
        | codes::NOTHING_TO_DRILL
        | codes::NO_DECLARED_DRILL
        | codes::AD_HOC_UNPARSABLE
        | codes::AD_HOC_NOT_A_SELECT
        | codes::FINER_THAN_TARGET
        | codes::ENROLMENT_TOKEN
        | codes::WEAK_PASSWORD => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response of a runtime error: its status and `{"code", "message", "help"}`.
pub fn error_response(error: Error) -> Response {
    let status = status(error.code);
    let body = ApiError { code: error.code, message: error.message, help: error.help };
    (status, Json(body)).into_response()
}

fn request_error(message: impl Into<String>) -> Error {
    Error::new(codes::API_REQUEST, message)
}

async fn not_found() -> Response {
    let error = request_error("no such route").help("the API is under /api/v1: see docs/serve.md");
    (
        StatusCode::NOT_FOUND,
        Json(ApiError { code: error.code, message: error.message, help: error.help }),
    )
        .into_response()
}

/// The body limit's refusal, as the API's other errors are: JSON with a code.
async fn too_large(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let error = request_error(format!("the body is larger than {MAX_BODY} bytes"));
    let body = ApiError { code: error.code, message: error.message, help: error.help };
    // The body was not read, so the connection cannot carry another request: say so, or a
    // client that keeps connections alive sends its next request into a closed one.
    (StatusCode::PAYLOAD_TOO_LARGE, [(axum::http::header::CONNECTION, "close")], Json(body))
        .into_response()
}

async fn wrong_method() -> Response {
    let error = request_error("this route does not take that method")
        .help("GET /api/v1/me and /api/v1/catalog; POST the others: see docs/serve.md");
    let body = ApiError { code: error.code, message: error.message, help: error.help };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// Runs `work` on a blocking thread (it uses the database), then renders its result.
async fn blocking(
    app: Arc<App>,
    work: impl FnOnce(&App) -> Result<Response> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || work(&app)).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => error_response(error),
        Err(join) => error_response(Error::new(
            codes::QUERY_INTERNAL,
            format!("internal error, please report: the request's worker failed: {join}"),
        )),
    }
}

/// A JSON body: `application/json`, parsed into `T` (unknown fields refused).
fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T> {
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err(request_error("the body must be JSON (Content-Type: application/json)"));
    }
    serde_json::from_slice(body)
        .map_err(|e| request_error(format!("the body is not the JSON this route takes: {e}")))
}

/// The session cookie's value, if the request carries one that looks like a token.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn csrf(headers: &HeaderMap) -> Option<String> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn set_cookie(app: &App, value: &str, max_age: i64) -> HeaderValue {
    let secure = if app.config.secure_cookies { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl App {
    /// The session of the request's cookie, or `R0480`.
    fn session(
        &self,
        db: &mut dyn crate::Backend,
        cookie: Option<&str>,
        now: chrono::NaiveDateTime,
    ) -> Result<auth::Session> {
        let token = cookie.ok_or_else(auth::not_signed_in)?;
        auth::session(db, token, now, self.config.lifetimes.idle)
    }
}

/// `R0483` unless `given` is the session's CSRF token.
fn check_csrf(session: &auth::Session, given: Option<&str>) -> Result<()> {
    if given.is_some_and(|g| auth::same(g, &session.csrf)) {
        return Ok(());
    }
    Err(Error::new(codes::CSRF_REJECTED, "the request lacks the session's CSRF token").help(
        format!(
        "send the `csrf` of the sign-in answer (or of GET /api/v1/me) in the {CSRF_HEADER} header"
    ),
    ))
}

fn time(at: chrono::NaiveDateTime) -> String {
    crate::value::timestamp_text(at)
}

// ------------------------------------------------------------------------- handlers

async fn enrol(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let body: EnrolBody = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(e) => return error_response(e),
    };
    blocking(app, move |app| {
        let password = auth::new_password(&body.password);
        let now = app.now();
        app.pool.with(|db| auth::enrol(db, &body.token, password, now))?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

async fn sign_in(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: SignInBody = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(e) => return error_response(e),
    };
    let client = peer.ip().to_string();
    blocking(app, move |app| {
        let now = app.now();
        if let Err(error) = app.throttle.check(&body.user, &client, now) {
            app.pool.with(|db| auth::refuse(db, &body.user, &client, &error, now))?;
            return Err(error);
        }
        let stored = app.pool.with(|db| auth::stored_password(db, &body.user))?;
        // The slow part (Argon2id), holding no connection.
        if let Err(error) = auth::verify(&body.password, stored.as_deref()) {
            app.throttle.failed(&body.user, &client, now);
            app.pool.with(|db| auth::refuse(db, &body.user, &client, &error, now))?;
            return Err(error);
        }
        let session = app.pool.with(|db| {
            auth::start_session(db, &app.catalog, &body.user, &client, now, app.config.lifetimes)
        })?;
        app.throttle.succeeded(&body.user);
        let max_age = app.config.lifetimes.absolute.num_seconds();
        let answer = SignedIn {
            user: session.user_id.clone(),
            csrf: session.csrf.clone(),
            expires_at: time(session.expires_at),
        };
        let mut response = Json(answer).into_response();
        response.headers_mut().insert(header::SET_COOKIE, set_cookie(app, &session.token, max_age));
        Ok(response)
    })
    .await
}

async fn sign_out(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let (cookie, given) = (cookie(&headers), csrf(&headers));
    blocking(app, move |app| {
        let now = app.now();
        app.pool.with(|db| {
            let session = app.session(db, cookie.as_deref(), now)?;
            check_csrf(&session, given.as_deref())?;
            auth::sign_out(db, &session, now)
        })?;
        let mut response = StatusCode::NO_CONTENT.into_response();
        response.headers_mut().insert(header::SET_COOKIE, set_cookie(app, "", 0));
        Ok(response)
    })
    .await
}

async fn me(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let cookie = cookie(&headers);
    blocking(app, move |app| {
        let now = app.now();
        let me = app.pool.with(|db| {
            let session = app.session(db, cookie.as_deref(), now)?;
            let viewer = viewer::authorize(db, &app.catalog, &session.user_id, now)?;
            Ok::<_, Error>(Me {
                user: viewer.user_id.clone(),
                roles: viewer
                    .roles
                    .iter()
                    .map(|r| RoleInfo {
                        role: r.name.clone(),
                        title: r.title.clone(),
                        scope: r.scope.describe(),
                        drill_down: r.drill_down,
                        ad_hoc: r.ad_hoc,
                        min_cell_size: r.min_cell_size,
                    })
                    .collect(),
                csrf: session.csrf.clone(),
                session_expires_at: time(session.expires_at),
            })
        })?;
        Ok(Json(me).into_response())
    })
    .await
}

async fn catalog(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let cookie = cookie(&headers);
    blocking(app, move |app| {
        let now = app.now();
        let info = app.pool.with(|db| {
            let session = app.session(db, cookie.as_deref(), now)?;
            let viewer = viewer::authorize(db, &app.catalog, &session.user_id, now)?;
            let freshness = etl::status(db, &app.generated, now)?;
            Ok::<_, Error>(visible(&app.catalog, &viewer, &freshness))
        })?;
        Ok(Json(info).into_response())
    })
    .await
}

async fn query(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let (cookie, given) = (cookie(&headers), csrf(&headers));
    let parsed: Result<QueryBody> = json_body(&headers, &body);
    blocking(app, move |app| {
        let now = app.now();
        let answer = app.pool.with(|db| {
            let session = app.session(db, cookie.as_deref(), now)?;
            check_csrf(&session, given.as_deref())?;
            let request = parsed?.request(&session.user_id, now)?;
            query::run(db, &app.catalog, &request)
        })?;
        Ok(Json(output::json_answer(&answer)).into_response())
    })
    .await
}

// ------------------------------------------------------------------------- the catalog

/// What `viewer` may see of `catalog`: the marts a role grants, the metrics readable in some
/// table, the reports a role grants, and the sources behind those metrics with `freshness`.
pub fn visible(
    catalog: &Catalog,
    viewer: &viewer::Viewer,
    freshness: &[SourceStatus],
) -> CatalogInfo {
    let readable_metric = |metric: &str| {
        viewer.roles.iter().any(|role| !query::readable_tables(catalog, role, metric).is_empty())
    };
    let marts: Vec<MartInfo> = catalog
        .marts
        .iter()
        .filter(|m| viewer.roles.iter().any(|r| r.grants("mart", &m.name)))
        .map(|m| {
            let mut metrics = BTreeSet::new();
            for role in &viewer.roles {
                metrics.extend(query::readable_metrics(catalog, role, m));
            }
            MartInfo {
                name: m.name.clone(),
                title: m.title.clone(),
                metrics: metrics.into_iter().collect(),
                dimensions: m.dimensions.clone(),
                grains: m.grains.iter().map(|g| g.word().to_owned()).collect(),
                drill: m.drill.is_some()
                    && viewer.roles.iter().any(|r| r.drill_down && r.grants("mart", &m.name)),
            }
        })
        .collect();
    let mut systems = BTreeSet::new();
    let metrics: Vec<MetricInfo> = catalog
        .metrics
        .iter()
        .filter(|m| readable_metric(&m.name))
        .map(|m| {
            let sources = sources_of(catalog, &m.name);
            systems.extend(sources.iter().cloned());
            MetricInfo {
                name: m.name.clone(),
                title: m.title.clone(),
                description: m.description.clone(),
                unit: m.unit.clone(),
                sources: sources
                    .iter()
                    .filter_map(|s| catalog.sources.iter().find(|p| p.name == *s))
                    .map(|s| s.display_name().to_owned())
                    .collect(),
            }
        })
        .collect();
    let reports = catalog
        .reports
        .iter()
        .filter(|r| viewer.roles.iter().any(|role| role.grants("report", &r.name)))
        .map(|r| ReportInfo {
            name: r.name.clone(),
            title: r.title.clone(),
            mart: r.mart.clone(),
            metrics: r.metrics.clone(),
        })
        .collect();
    let sources = freshness
        .iter()
        .filter(|s| systems.contains(&s.source))
        .map(|s| SourceInfo {
            name: s.source.clone(),
            title: s.title.clone().unwrap_or_else(|| s.source.clone()),
            last_load: s.last_load.clone(),
            late: s.late,
            next_due: s.next_due.clone(),
        })
        .collect();
    CatalogInfo { user: viewer.user_id.clone(), marts, metrics, reports, sources }
}

/// The sources `metric` is computed from, following derived metrics to their inputs.
fn sources_of(catalog: &Catalog, metric: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![metric.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(m) = catalog.metric(&name) {
            out.extend(m.source.iter().cloned());
            todo.extend(m.inputs.metrics.iter().cloned());
        }
    }
    out
}
