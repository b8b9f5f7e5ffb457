//! An API client with short timeouts: under chaos a coordinator may be SIGSTOPped, and a request
//! to it must fail fast instead of hanging the run (`support::api::Api` has no timeouts).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    key: String,
}

impl Http {
    pub fn new(key: &str, timeout: Duration) -> Http {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(1))
            .build()
            .expect("HTTP client");
        Http {
            client,
            key: key.to_owned(),
        }
    }

    /// The JSON body of a 2xx answer, or `None` (unreachable, stopped, error status).
    pub async fn get(&self, addr: SocketAddr, path: &str) -> Option<Value> {
        let resp = self
            .client
            .get(format!("http://{addr}{path}"))
            .bearer_auth(&self.key)
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    /// `data` of a 2xx answer.
    pub async fn data(&self, addr: SocketAddr, path: &str) -> Option<Value> {
        Some(self.get(addr, path).await?["data"].clone())
    }

    /// Every record of a paged list (`data` plus `next_cursor`, docs/api.md), following the
    /// cursor; `None` if any page is not answered.
    pub async fn list(&self, addr: SocketAddr, path: &str) -> Option<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let v = self.get(addr, &page).await?;
            out.extend(v["data"].as_array()?.iter().cloned());
            match v["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                _ => return Some(out),
            }
        }
    }

    /// Status and JSON body, or `None` when no answer came.
    pub async fn post(&self, addr: SocketAddr, path: &str, body: &Value) -> Option<(u16, Value)> {
        let resp = self
            .client
            .post(format!("http://{addr}{path}"))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}
