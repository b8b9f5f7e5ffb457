//! The API refuses bad requests clearly and keeps serving.

use serde_json::json;

use crate::support::{tempdir, Coordinator};

#[tokio::test(flavor = "multi_thread")]
async fn hostile_and_invalid_requests_get_clear_errors() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let base = format!("http://{}", coord.http);
    let http = reqwest::Client::new();

    // Health needs no key; everything under /v1 does.
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    for path in ["/v1/monitors", "/v1/nodes", "/v1/join-tokens"] {
        let r = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 401, "{path}");
        let body: serde_json::Value = r.json().await.expect("json error body");
        assert_eq!(body["error"]["code"], "unauthorized");
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth("npk_0000000000000000_0000000000000000000000000000000000000000")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 401, "{path} with an unknown key");
    }

    let cases = [
        (
            json!({"name": "x", "kind": "http", "target": "http://127.0.0.1/", "regions": []}),
            "regions",
        ),
        (
            json!({"name": "x", "kind": "gopher", "target": "x", "regions": ["a"]}),
            "kind",
        ),
        (
            json!({"name": "x", "kind": "tcp", "target": "no-port", "regions": ["a"]}),
            "target",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://x/", "regions": ["a"], "interval_s": 0}),
            "interval_s",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://x/", "regions": ["a"], "nonsense": 1}),
            "nonsense",
        ),
    ];
    for (body, field) in cases {
        let (s, v) = api
            .call(reqwest::Method::POST, "/v1/monitors", Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{body} -> {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{body} -> {v}"
        );
    }
    // Not JSON, wrong content type, oversized.
    let key = coord.admin_key.clone().expect("key");
    let r = http
        .post(format!("{base}/v1/monitors"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("{base}/v1/monitors"))
        .bearer_auth(&key)
        .body("name=x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 415);
    let r = http
        .post(format!("{base}/v1/monitors"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "a".repeat(1 << 20)))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);

    // Unknown ids and bad query parameters.
    let (s, v) = api
        .call(reqwest::Method::GET, "/v1/monitors/mon_nope", None)
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")));
    let (s, _) = api
        .call(reqwest::Method::DELETE, "/v1/monitors/mon_nope", None)
        .await;
    assert_eq!(s, 404);
    let id = api
        .create_monitor(
            json!({"name": "ok", "kind": "tcp", "target": "127.0.0.1:9", "regions": ["eu-west"]}),
        )
        .await;
    for q in ["limit=0", "limit=100000", "limit=x", "since=yesterday"] {
        let (s, v) = api
            .call(
                reqwest::Method::GET,
                &format!("/v1/monitors/{id}/results?{q}"),
                None,
            )
            .await;
        assert_eq!(s, 400, "{q}: {v}");
    }
    let (s, _) = api.call(reqwest::Method::PATCH, "/v1/monitors", None).await;
    assert_eq!(s, 405);

    // Update, pause, delete round trip.
    let (s, v) = api
        .call(reqwest::Method::PUT, &format!("/v1/monitors/{id}"),
            Some(json!({"name": "renamed", "kind": "tcp", "target": "127.0.0.1:10", "regions": ["eu-west", "us-east"]})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["name"], "renamed");
    assert_eq!(v["data"]["regions"].as_array().map(Vec::len), Some(2));
    let (s, v) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/monitors/{id}/pause"),
            None,
        )
        .await;
    assert_eq!((s, v["data"]["status"].as_str()), (200, Some("paused")));
    let (s, _) = api
        .call(reqwest::Method::DELETE, &format!("/v1/monitors/{id}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = api
        .call(reqwest::Method::GET, &format!("/v1/monitors/{id}"), None)
        .await;
    assert_eq!(s, 404);
    // Still alive.
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
}

/// Every list pages with `limit` and `cursor`; walking the pages returns each record once.
#[tokio::test(flavor = "multi_thread")]
async fn lists_page_with_a_cursor() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            api.create_monitor(json!({"name": format!("m{i}"), "kind": "tcp",
                "target": "127.0.0.1:9", "regions": ["eu-west"]}))
                .await,
        );
        let (s, _) = api
            .call(
                reqwest::Method::POST,
                "/v1/join-tokens",
                Some(json!({"description": format!("t{i}")})),
            )
            .await;
        assert_eq!(s, 201);
    }
    ids.sort();
    for (path, want) in [("/v1/monitors", ids.len()), ("/v1/join-tokens", 7)] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}?limit=3&cursor={c}"),
                None => format!("{path}?limit=3"),
            };
            let v = api.get(&url).await;
            let page = v["data"].as_array().expect("data");
            assert!(page.len() <= 3, "{v}");
            seen.extend(
                page.iter()
                    .map(|m| m["id"].as_str().expect("id").to_owned()),
            );
            pages += 1;
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), want, "{path}: {seen:?}");
        assert_eq!(pages, want.div_ceil(3), "{path}");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "{path} in key order");
    }
    let listed: Vec<String> = api.get("/v1/monitors").await["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(listed, ids, "the default page holds small lists whole");
    for bad in [
        "/v1/monitors?limit=0",
        "/v1/monitors?limit=1001",
        "/v1/nodes?cursor=",
        "/v1/incidents?cursor=x",
    ] {
        let (s, v) = api.call(reqwest::Method::GET, bad, None).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
}
