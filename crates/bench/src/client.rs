//! A minimal HTTP/1 JSON client for the local sync server, with its session cookie.

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Shared by every simulated device: one connection pool.
pub type Http = Client<HttpConnector, Full<Bytes>>;

pub fn http() -> Http {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build_http()
}

/// A signed-in session against `base` (e.g. `http://127.0.0.1:8080`).
#[derive(Clone)]
pub struct Session {
    http: Http,
    base: String,
    cookie: String,
}

/// An answer: status and body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "unexpected answer {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

pub async fn send(
    http: &Http,
    method: Method,
    url: &str,
    cookie: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<(Answer, Option<String>)> {
    let mut request = Request::builder().method(method).uri(url);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    if body.is_some() {
        request = request.header(CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .context("building a request")?;
    let response = http
        .request(request)
        .await
        .with_context(|| format!("request to {url}"))?;
    let status = response.status();
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading an answer")?
        .to_bytes();
    Ok((Answer { status, body }, set_cookie))
}

impl Session {
    /// Signs in as `login`.
    pub async fn login(http: &Http, base: &str, login: &str, password: &str) -> Result<Session> {
        let body =
            serde_json::to_vec(&serde_json::json!({ "login": login, "password": password }))?;
        let url = format!("{base}/api/login");
        let (answer, cookie) = send(http, Method::POST, &url, None, Some(body)).await?;
        if answer.status != StatusCode::OK {
            bail!(
                "sign-in as {login} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
        let cookie = cookie.ok_or_else(|| anyhow!("sign-in as {login} set no cookie"))?;
        Ok(Session {
            http: http.clone(),
            base: base.to_string(),
            cookie,
        })
    }

    /// POSTs `body` as JSON to `/api/{path}`.
    pub async fn post<T: Serialize>(&self, path: &str, body: &T) -> Result<Answer> {
        self.post_raw(path, serde_json::to_vec(body)?).await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Result<Answer> {
        let url = format!("{}/api/{path}", self.base);
        let (answer, _) = send(
            &self.http,
            Method::POST,
            &url,
            Some(&self.cookie),
            Some(body),
        )
        .await?;
        Ok(answer)
    }
}

/// `GET /api/health`.
pub async fn health(http: &Http, base: &str) -> Result<serde_json::Value> {
    let (answer, _) = send(http, Method::GET, &format!("{base}/api/health"), None, None).await?;
    if answer.status != StatusCode::OK {
        bail!("/api/health answered {}", answer.status);
    }
    answer.json()
}
