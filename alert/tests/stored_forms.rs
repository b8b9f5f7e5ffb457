//! The forms stored outside this crate must not change: the replicated state holds channel
//! configurations sealed as `{"type": ..., "config": {...}}` JSON, and the API and older
//! releases produced the exact bytes pinned here. Every case below was produced by the code
//! before channel registration moved into one list (commit "alert: pin the stored channel
//! forms"), so a refactor that changes a field order, a tag or a default shows up here.

use netpulse_alert::{ChannelConfig, SecretKey};

/// A fixed cluster key, so sealed values made once still open.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// One stored configuration in every form it takes.
struct Stored {
    kind: &'static str,
    /// The `config` object as an API client sent it.
    input: &'static str,
    /// `serde_json::to_string(&ChannelConfig)`.
    serialized: &'static str,
    /// The plaintext inside `to_sealed`.
    sealed_plain: &'static str,
    /// A value `to_sealed` produced under [`KEY`] (sealing is randomised, so this is one of many).
    sealed: &'static str,
}

const CASES: &[Stored] = &[
    Stored {
        kind: "webhook",
        input: r#"{"secret":"whsec-0123456789abcdef","url":"https://user:pw@hooks.example.com/np?t=1"}"#,
        serialized: r#"{"type":"webhook","config":{"url":"https://user:pw@hooks.example.com/np?t=1","secret":"whsec-0123456789abcdef"}}"#,
        sealed_plain: r#"{"config":{"secret":"whsec-0123456789abcdef","url":"https://user:pw@hooks.example.com/np?t=1"},"type":"webhook"}"#,
        sealed: "v1.Klegl82bKC821ZNnaWSKKmRdiqjNlzrDrwvn/IIvYKWiwhvRwbbzJHjhsuro9HHt+X5U6JO7Qzv5E6SBLyY6fIghMGMQ6LbSYnEuCn2TNoN1WC2Vb/b4H0Gg0x+SRTtg9IUeLbhnelfXHRBF9q9W81IIufcYhuV7iZBdNn9ZoZMHx8XUKIs/jxRymmU=",
    },
    Stored {
        kind: "webhook",
        input: r#"{"url":"https://hooks.example.com/np"}"#,
        serialized: r#"{"type":"webhook","config":{"url":"https://hooks.example.com/np"}}"#,
        sealed_plain: r#"{"config":{"url":"https://hooks.example.com/np"},"type":"webhook"}"#,
        sealed: "v1.M68x+7/uOvwcuUToP2mjCziSya/mYKp7EB086gO75UYvMW7o0Nc+eJp3FVISTjoOZc+1EE4bblhAh4S1XRwwrh6IK1aPtf/JmCMeHNslbuBZ/SVKbutIYeCkbwQgwg==",
    },
    Stored {
        kind: "slack",
        input: r#"{"webhook_url":"https://hooks.slack.com/services/T0/B0/x"}"#,
        serialized: r#"{"type":"slack","config":{"webhook_url":"https://hooks.slack.com/services/T0/B0/x"}}"#,
        sealed_plain: r#"{"config":{"webhook_url":"https://hooks.slack.com/services/T0/B0/x"},"type":"slack"}"#,
        sealed: "v1.S2m5suJmsoCDT+3HhVLIHNpSGBHlyEOllwnqTWYl+CmSyJ5ZvHwOYahariWNQbrJ47Zj+1i8/SytjZ4GHxkOjP4hkk5rveQyTspkCH9p8OOehucLRZIgdM+ptO8StROR4ckqbdUku0OaoJPr1wdY0Q==",
    },
    Stored {
        kind: "discord",
        input: r#"{"webhook_url":"https://discord.com/api/webhooks/1/y"}"#,
        serialized: r#"{"type":"discord","config":{"webhook_url":"https://discord.com/api/webhooks/1/y"}}"#,
        sealed_plain: r#"{"config":{"webhook_url":"https://discord.com/api/webhooks/1/y"},"type":"discord"}"#,
        sealed: "v1.s8mXJDaDZH3n8tDBaYJk1XSwgcEwMLyJtyKyBL6akRxMJLg5d26FlvegThnrxRB+55E8nEnSY2DbQinHpkZLaT351D0zMBkkhk3psMllKZOO453S4cXbbycX3HRBGuhIdy9/SAx5XBG9qRqKVJk=",
    },
    Stored {
        kind: "telegram",
        input: r#"{"api_url":"https://tg.example.com/","bot_token":"123456:ABC-def_g","chat_id":-1001234}"#,
        serialized: r#"{"type":"telegram","config":{"bot_token":"123456:ABC-def_g","chat_id":"-1001234","api_url":"https://tg.example.com"}}"#,
        sealed_plain: r#"{"config":{"api_url":"https://tg.example.com","bot_token":"123456:ABC-def_g","chat_id":"-1001234"},"type":"telegram"}"#,
        sealed: "v1.JctRii3UhZFaglS1vMJXHI4eYoDzzk5DVQ5+uiP1f9Po5C0KZy0eXZLIwaCdkGOunKIgSxWyhuBGnJ49PiS7CNUGEtS/NAaaHdJLDHaGFa5CpHct9G8kTnnEN7/jR3MTIh6LVgTnqrqtAReED4zzoH1UUkWlhaH/8ClV6YE5VnnKRRHnd8c+FRdBp8nsXILQ7g==",
    },
    Stored {
        kind: "teams",
        input: r#"{"webhook_url":"https://example.webhook.office.com/webhookb2/z"}"#,
        serialized: r#"{"type":"teams","config":{"webhook_url":"https://example.webhook.office.com/webhookb2/z"}}"#,
        sealed_plain: r#"{"config":{"webhook_url":"https://example.webhook.office.com/webhookb2/z"},"type":"teams"}"#,
        sealed: "v1.QrUDmdRd1iiUukMeFO/Aqoxh2AQKzpMHrB79EPRyCEQ1Uf8eHWa6y1NPntqGQwUGk89wV1Oix3j2l36pjIhp3foQX2Fb0aoD+0Uy9kkkRAICLbxfoE7zmM/+oTcjNjr1AvuGMFXJQdEgh70h/DW3bsoGw7LhBQ==",
    },
    Stored {
        kind: "pagerduty",
        input: r#"{"routing_key":"0123456789abcdef0123456789abcdef","severity":"warning","url":"https://pd.example.com/v2/enqueue"}"#,
        serialized: r#"{"type":"pagerduty","config":{"routing_key":"0123456789abcdef0123456789abcdef","url":"https://pd.example.com/v2/enqueue","severity":"warning"}}"#,
        sealed_plain: r#"{"config":{"routing_key":"0123456789abcdef0123456789abcdef","severity":"warning","url":"https://pd.example.com/v2/enqueue"},"type":"pagerduty"}"#,
        sealed: "v1.zgdbHDE8Sui++vpBejLGteyOEUmrr8Gw80/O+pZJ/OpGp14BeNYmoaQSiEYzcLBwqetJNNb5reiF47aYBDQeS9/oGrfBJI7Gf3XSXZD5rgQIrb96zIbbUGDnJ3bPF485vtLFbdrA+td0Lpbxk0nqCDmDq50nN9Z7oHBEi2MLa9NjXViXH/x9uU2BalLl3AcFKsC3cdNrkxxPHPuKfmOrRtVFb8W8evFgx88U",
    },
    Stored {
        kind: "pagerduty",
        input: r#"{"routing_key":"0123456789abcdef0123456789abcdef"}"#,
        serialized: r#"{"type":"pagerduty","config":{"routing_key":"0123456789abcdef0123456789abcdef","severity":"critical"}}"#,
        sealed_plain: r#"{"config":{"routing_key":"0123456789abcdef0123456789abcdef","severity":"critical"},"type":"pagerduty"}"#,
        sealed: "v1.hqEoIfJZuhEHfHT1KBF6Wayw4rYJspiG6RBSDECRXL5Ky2SaURx9wusv8HHzCiMxXNXwf9kb8gsQPuS5aPUIkL5tLaDDW2xy2X/paBLuCBG2Pv2lLthFZKY+U6mFeSgWChdzrhog7booPWA+sjXSkNAmwV6gc352XesFMAbTBjX/gQ==",
    },
    Stored {
        kind: "opsgenie",
        input: r#"{"api_key":"og-key","api_url":"https://api.eu.opsgenie.com","priority":"p2"}"#,
        serialized: r#"{"type":"opsgenie","config":{"api_key":"og-key","api_url":"https://api.eu.opsgenie.com","priority":"P2"}}"#,
        sealed_plain: r#"{"config":{"api_key":"og-key","api_url":"https://api.eu.opsgenie.com","priority":"P2"},"type":"opsgenie"}"#,
        sealed: "v1.jVnOgmKydArk2oJ7WbxnsX4NlaRqtsppyBmS7MxP/yeY8HHHhsm9bw1LEMeQc4SXoD3fNgv8NRSj1dhQJ1/8pNYYigw+5B6w1xcVctxtNdeKpbo0jN1M7v+5Wh2GTQwQB4V0SUeRkX3hS+/n9WOciZwIQL3yNa17wJMBX58/eYjhbWb9Vw==",
    },
    Stored {
        kind: "email",
        input: r#"{"from":"NetPulse <a@example.com>","host":"smtp.example.com","password":"p","tls":"starttls","to":"ops@example.com","username":"u"}"#,
        serialized: r#"{"type":"email","config":{"host":"smtp.example.com","port":587,"from":"NetPulse <a@example.com>","to":["ops@example.com"],"tls":"starttls","username":"u","password":"p"}}"#,
        sealed_plain: r#"{"config":{"from":"NetPulse <a@example.com>","host":"smtp.example.com","password":"p","port":587,"tls":"starttls","to":["ops@example.com"],"username":"u"},"type":"email"}"#,
        sealed: "v1.Yp98v+JwwCmvulJBmfzLjceVA9NjM9idVvyDf/nn+8isg5EnHVFx6E07R5kEoNdc4a2bwh1qyQmXLqcy/jFIsxC/A38gQe6RUSTQPTaM3FnChroVWtCecnQpKm8x6ZPSrRzFLzJm1RDJWCZoHFqGgb+vsbv+n48nk/YgnW+E9yxfgrkkI43XyO7pPvoMbsQTHLZgcFP2PjVnIkpRzoaHULF9aXneeCuIDCYUO1sCFcf6KTNQUgBY9cP6wmRAMro/+mo7Sctg",
    },
    Stored {
        kind: "email",
        input: r#"{"from":"a@example.com","host":"127.0.0.1","port":2525,"tls":"none","to":["b@example.com","C <c@example.com>"]}"#,
        serialized: r#"{"type":"email","config":{"host":"127.0.0.1","port":2525,"from":"a@example.com","to":["b@example.com","C <c@example.com>"],"tls":"none"}}"#,
        sealed_plain: r#"{"config":{"from":"a@example.com","host":"127.0.0.1","port":2525,"tls":"none","to":["b@example.com","C <c@example.com>"]},"type":"email"}"#,
        sealed: "v1.ycThpVBjGIE7+cVyj5U0xyoI+5I0A6ljpgKdOK6z3bmQk3MScjkfEG68k2ycvfYYy4cXYYhSIdVbIPmxWW3HlihAKPCGkTrC7z4bqjwpr1dIw8bG1F3vbT6l3p7/gozgq94kqMI6BxFiBPuqhNZ9DNkZC7xodO7CPosUabeSdNTdyrFKv5S/YrJyswXjCTI7dBBH0brqVWu8qFqhjvPiiTI4zn+M",
    },
    Stored {
        kind: "twilio",
        input: r#"{"account_sid":"AC0123456789abcdef0123456789abcdef","api_url":"https://tw.example.com","auth_token":"tok","from":"+15005550006","to":["+14155550100"]}"#,
        serialized: r#"{"type":"twilio","config":{"account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"tok","from":"+15005550006","to":["+14155550100"],"api_url":"https://tw.example.com"}}"#,
        sealed_plain: r#"{"config":{"account_sid":"AC0123456789abcdef0123456789abcdef","api_url":"https://tw.example.com","auth_token":"tok","from":"+15005550006","to":["+14155550100"]},"type":"twilio"}"#,
        sealed: "v1.nC0HKwzNRB9hkynZBnISM5GQzdN7L8KOl+xi+5z0SONX78MlCHf82lb9F9OrJBW+0/s8LW+ip0AlcpkIfEi2XBU04vsoyjIcnNwkJlKfy5CkYYlLdqaVhTeQKhcgEho1mx5B9ZbCaOTqTQugrpypu0K/2P+GkJvzzlHlbNNcm2hj/B/CgeJuCYGSaqP97Qc3aFu47SrxGca98aAv+QHDtX27NXaM+giATb/WXU4VMp5QoLnLUvgp4tnINwTmscSN1O42a3kZCRzecJiShw==",
    },
];

fn key() -> SecretKey {
    SecretKey::from_base64(KEY).expect("fixed test key")
}

fn parsed(case: &Stored) -> ChannelConfig {
    let input: serde_json::Value = serde_json::from_str(case.input).expect("input JSON");
    ChannelConfig::parse(case.kind, &input).unwrap_or_else(|e| panic!("{}: {e}", case.kind))
}

#[test]
fn serialized_form_is_unchanged() {
    for case in CASES {
        let cfg = parsed(case);
        let json = serde_json::to_string(&cfg).expect("serialize");
        assert_eq!(json, case.serialized, "{}", case.kind);
        let back: ChannelConfig = serde_json::from_str(case.serialized).expect("deserialize");
        assert_eq!(back, cfg, "{}", case.kind);
    }
}

#[test]
fn sealed_form_is_unchanged() {
    let key = key();
    for case in CASES {
        let cfg = parsed(case);
        let plain = key.open(&cfg.to_sealed(&key)).expect("open");
        assert_eq!(
            String::from_utf8(plain).expect("utf-8"),
            case.sealed_plain,
            "{}",
            case.kind
        );
    }
}

#[test]
fn values_sealed_before_still_open() {
    let key = key();
    for case in CASES {
        let opened = ChannelConfig::from_sealed(&key, case.sealed)
            .unwrap_or_else(|e| panic!("{}: {e}", case.kind));
        assert_eq!(opened, parsed(case), "{}", case.kind);
    }
}
