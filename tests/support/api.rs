//! A small client for the coordinator's REST API.

use std::net::SocketAddr;

use serde_json::{json, Value};

/// API client bound to one coordinator and key.
pub struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr, key: String) -> Api {
        Api {
            base: format!("http://{addr}"),
            key,
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request; returns status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The API key.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// Like `get`, but `None` when the coordinator cannot be reached (restarting).
    pub async fn try_get(&self, path: &str) -> Option<Value> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    pub async fn join_token(&self) -> String {
        let (s, v) = self
            .call(
                reqwest::Method::POST,
                "/v1/join-tokens",
                Some(json!({"description": "test"})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["data"]["token"].as_str().expect("token").to_owned()
    }

    /// Creates a monitor and returns its id.
    pub async fn create_monitor(&self, body: Value) -> String {
        let (s, v) = self
            .call(reqwest::Method::POST, "/v1/monitors", Some(body))
            .await;
        assert_eq!(s, 201, "{v}");
        v["data"]["id"].as_str().expect("id").to_owned()
    }

    pub async fn monitor(&self, id: &str) -> Value {
        self.get(&format!("/v1/monitors/{id}")).await["data"].clone()
    }

    /// Up to 1000 newest results of a monitor.
    pub async fn results(&self, id: &str) -> Vec<Value> {
        self.get(&format!("/v1/monitors/{id}/results?limit=1000"))
            .await["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn nodes(&self) -> Vec<Value> {
        self.get("/v1/nodes").await["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Creates a signed webhook channel to `receiver`; returns its id.
    pub async fn webhook_channel(&self, receiver: &super::receiver::Receiver) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/v1/channels",
                Some(json!({"name": "ops hook", "type": "webhook",
                    "config": {"url": receiver.url(), "secret": receiver.secret()}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body["data"]["config"]["secret"], "********",
            "secrets never come back"
        );
        body["data"]["id"].as_str().expect("channel id").to_owned()
    }
}
