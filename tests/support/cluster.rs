//! A three-coordinator cluster on 127.0.0.1, .2 and .3 (so nftables can partition one address).

use std::time::Duration;

use super::api::Api;
use super::{eventually, Coordinator};

/// The join secret every test cluster uses.
pub const SECRET: &str = "test-join-secret";

pub struct Cluster {
    pub members: Vec<Option<Coordinator>>,
    pub key: String,
}

impl Cluster {
    pub fn start(dir: &std::path::Path, extra: &[&str]) -> Cluster {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut args = vec![
            "--bootstrap".to_string(),
            "--join-secret".into(),
            SECRET.into(),
        ];
        args.extend(extra.clone());
        let first = Coordinator::start_with(&dir.join("c1"), "127.0.0.1", None, args);
        let key = first
            .admin_key
            .clone()
            .expect("bootstrap prints the admin key");
        let mut members = vec![Some(first)];
        for i in 2..=3 {
            let mut args = vec![
                "--join".to_string(),
                members[0].as_ref().expect("c1").quic.to_string(),
                "--join-secret".into(),
                SECRET.into(),
            ];
            args.extend(extra.clone());
            members.push(Some(Coordinator::start_with(
                &dir.join(format!("c{i}")),
                &format!("127.0.0.{i}"),
                None,
                args,
            )));
        }
        Cluster { members, key }
    }

    pub fn member(&self, i: usize) -> &Coordinator {
        self.members[i].as_ref().expect("member running")
    }

    pub fn api(&self, i: usize) -> Api {
        self.member(i).api_with(&self.key)
    }

    pub fn quic_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.members.iter().flatten().map(|c| c.quic).collect()
    }

    /// Index of the leader as seen by member `via`.
    pub async fn leader(&self, via: usize) -> Option<usize> {
        let v = self.api(via).try_get("/v1/cluster").await?;
        let id = v["data"]["leader"].as_u64()?;
        self.members
            .iter()
            .position(|m| m.as_ref().is_some_and(|c| c.id == id))
    }

    pub async fn wait_leader_other_than(&self, via: usize, old: Option<usize>) -> usize {
        eventually("a leader", Duration::from_secs(30), || async {
            self.leader(via)
                .await
                .filter(|l| Some(*l) != old && self.members[*l].is_some())
        })
        .await
    }
}
