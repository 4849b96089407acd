//! A small client for `tally serve` in tests: JSON in and out, the session cookie and CSRF
//! token carried by hand (so a test can forge, drop or replay them).

use serde_json::Value;

/// One answer: status, the `Set-Cookie` header, the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub set_cookie: Option<String>,
    pub body: Value,
}

impl Answer {
    /// The runtime's error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The session token the answer sets, if any.
    pub fn session(&self) -> Option<String> {
        let cookie = self.set_cookie.as_deref()?;
        let value = cookie.split(';').next()?.strip_prefix("tally_session=")?;
        (!value.is_empty()).then(|| value.to_owned())
    }
}

/// A client of the server at `base` (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone)]
pub struct Client {
    pub base: String,
    agent: ureq::Agent,
}

/// What a request carries: a session cookie and a CSRF header, each optional.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        // A connection per request: what each request sees does not depend on how the server
        // left the previous one (a refused body closes its connection).
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .build()
            .into();
        Client { base: base.trim_end_matches('/').to_owned(), agent }
    }

    pub fn get(&self, path: &str, auth: &Auth) -> Answer {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(cookie) = &auth.cookie {
            request = request.header("Cookie", format!("tally_session={cookie}"));
        }
        answer(request.call())
    }

    /// A POST of `body` as `application/json`.
    pub fn post(&self, path: &str, auth: &Auth, body: &Value) -> Answer {
        self.post_raw(path, auth, "application/json", &body.to_string())
    }

    pub fn post_raw(&self, path: &str, auth: &Auth, content_type: &str, body: &str) -> Answer {
        let mut request =
            self.agent.post(format!("{}{path}", self.base)).header("Content-Type", content_type);
        if let Some(cookie) = &auth.cookie {
            request = request.header("Cookie", format!("tally_session={cookie}"));
        }
        if let Some(csrf) = &auth.csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        answer(request.send(body))
    }

    /// Signs `user` in; the session's cookie and CSRF token, or the failed answer.
    pub fn sign_in(&self, user: &str, password: &str) -> Result<Auth, Answer> {
        let answer = self.post(
            "/api/v1/sign-in",
            &Auth::default(),
            &serde_json::json!({"user": user, "password": password}),
        );
        match (answer.status, answer.session()) {
            (200, Some(cookie)) => Ok(Auth {
                cookie: Some(cookie),
                csrf: answer.body["csrf"].as_str().map(str::to_owned),
            }),
            _ => Err(answer),
        }
    }
}

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = result.unwrap_or_else(|e| panic!("the request failed: {e}"));
    let status = response.status().as_u16();
    let set_cookie =
        response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    Answer { status, set_cookie, body }
}
