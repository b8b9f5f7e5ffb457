//! How many regions must agree before a monitor is down.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::vote::{Abstention, Vote};

/// The number of down votes that makes a monitor down.
///
/// Written as `"majority"`, a count (`2`) or a percentage (`"60%"`) of the monitor's regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quorum {
    /// More than half of the regions.
    #[default]
    Majority,
    /// At least this many regions (capped at the number of regions).
    Count(u32),
    /// At least this percentage of regions, rounded up (1..=100).
    Percent(u8),
}

/// A quorum the API could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be \"majority\", a region count of at least 1, or a percentage like \"60%\" (1-100)")]
pub struct QuorumParseError;

impl Quorum {
    /// Down votes needed among `regions` regions (at least 1 when there is any region).
    pub fn required(self, regions: usize) -> usize {
        let n = match self {
            Quorum::Majority => regions / 2 + 1,
            Quorum::Count(c) => (c as usize).min(regions),
            Quorum::Percent(p) => (regions * p as usize).div_ceil(100),
        };
        n.max(1)
    }

    /// Parses the API form.
    pub fn parse(v: &serde_json::Value) -> Result<Self, QuorumParseError> {
        match v {
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(c @ 1..=1000) => Ok(Quorum::Count(c as u32)),
                _ => Err(QuorumParseError),
            },
            serde_json::Value::String(s) => s.parse(),
            _ => Err(QuorumParseError),
        }
    }
}

impl std::str::FromStr for Quorum {
    type Err = QuorumParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("majority") {
            return Ok(Quorum::Majority);
        }
        if let Some(p) = s.strip_suffix('%') {
            return match p.trim().parse::<u8>() {
                Ok(p @ 1..=100) => Ok(Quorum::Percent(p)),
                _ => Err(QuorumParseError),
            };
        }
        match s.parse::<u32>() {
            Ok(c @ 1..=1000) => Ok(Quorum::Count(c)),
            _ => Err(QuorumParseError),
        }
    }
}

impl fmt::Display for Quorum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quorum::Majority => f.write_str("majority"),
            Quorum::Count(c) => write!(f, "{c}"),
            Quorum::Percent(p) => write!(f, "{p}%"),
        }
    }
}

// JSON shows a count as a number; compact formats (postcard, in the Raft log) cannot read
// self-described values, so there it is always its string form.
impl Serialize for Quorum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Quorum::Count(c) if s.is_human_readable() => s.serialize_u32(*c),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Quorum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let v = serde_json::Value::deserialize(d)?;
            Quorum::parse(&v).map_err(serde::de::Error::custom)
        } else {
            String::deserialize(d)?
                .parse()
                .map_err(serde::de::Error::custom)
        }
    }
}

/// A monitor's state as decided by its regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No region votes down and none reports degraded.
    Up,
    /// Some regions vote down or report degraded, fewer than the quorum vote down.
    Degraded,
    /// Down votes reach the quorum.
    Down,
    /// Fewer regions than the quorum can vote: the mesh, not the target, is in question.
    Unknown,
}

impl Health {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }
}

/// What one region contributes to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionView {
    /// The region votes.
    Votes {
        /// Its vote.
        vote: Vote,
        /// Up but unhealthy (e.g. a certificate about to expire).
        degraded: bool,
    },
    /// The region does not vote.
    Abstains(Abstention),
    /// Nothing heard from the region yet.
    Silent,
}

/// The counts behind a decision, kept as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The decided state.
    pub health: Health,
    /// Regions voting down.
    pub down: usize,
    /// Regions voting at all.
    pub voting: usize,
    /// Regions the monitor runs in.
    pub regions: usize,
    /// Down votes needed.
    pub required: usize,
}

/// Decides a monitor's state from its regions' views.
pub fn decide(quorum: Quorum, views: impl IntoIterator<Item = RegionView>) -> Decision {
    let (mut regions, mut voting, mut down, mut degraded) = (0, 0, 0, 0);
    for v in views {
        regions += 1;
        if let RegionView::Votes { vote, degraded: d } = v {
            voting += 1;
            if vote == Vote::Down {
                down += 1;
            } else if d {
                degraded += 1;
            }
        }
    }
    let required = quorum.required(regions);
    let health = if regions == 0 {
        Health::Unknown
    } else if down >= required {
        Health::Down
    } else if voting < required {
        Health::Unknown
    } else if down > 0 || degraded > 0 {
        Health::Degraded
    } else {
        Health::Up
    };
    Decision {
        health,
        down,
        voting,
        regions,
        required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: RegionView = RegionView::Votes {
        vote: Vote::Up,
        degraded: false,
    };
    const DOWN: RegionView = RegionView::Votes {
        vote: Vote::Down,
        degraded: false,
    };
    const STALE: RegionView = RegionView::Abstains(Abstention::Stale);
    const IMPAIRED: RegionView = RegionView::Abstains(Abstention::Impaired);

    #[test]
    fn required_votes() {
        assert_eq!(Quorum::Majority.required(3), 2);
        assert_eq!(Quorum::Majority.required(4), 3);
        assert_eq!(Quorum::Majority.required(1), 1);
        assert_eq!(Quorum::Count(2).required(5), 2);
        assert_eq!(
            Quorum::Count(9).required(3),
            3,
            "capped at the region count"
        );
        assert_eq!(Quorum::Percent(60).required(5), 3);
        assert_eq!(Quorum::Percent(60).required(3), 2, "rounded up");
        assert_eq!(Quorum::Percent(1).required(3), 1);
    }

    #[test]
    fn parses_the_api_forms() {
        assert_eq!("majority".parse(), Ok(Quorum::Majority));
        assert_eq!("60%".parse(), Ok(Quorum::Percent(60)));
        assert_eq!(Quorum::parse(&serde_json::json!(2)), Ok(Quorum::Count(2)));
        for bad in ["0", "0%", "101%", "-1", "half", ""] {
            assert!(bad.parse::<Quorum>().is_err(), "{bad}");
        }
        assert!(Quorum::parse(&serde_json::json!(0)).is_err());
        assert!(Quorum::parse(&serde_json::json!(true)).is_err());
        let round: Quorum =
            serde_json::from_str(&serde_json::to_string(&Quorum::Percent(60)).unwrap()).unwrap();
        assert_eq!(round, Quorum::Percent(60));
        for q in [Quorum::Majority, Quorum::Count(3), Quorum::Percent(60)] {
            let bytes = postcard::to_allocvec(&q).unwrap();
            assert_eq!(postcard::from_bytes::<Quorum>(&bytes).unwrap(), q);
        }
    }

    #[test]
    fn all_regions_down_is_down() {
        assert_eq!(
            decide(Quorum::Majority, [DOWN, DOWN, DOWN]).health,
            Health::Down
        );
    }

    #[test]
    fn one_region_of_three_down_is_degraded() {
        let d = decide(Quorum::Majority, [DOWN, UP, UP]);
        assert_eq!(d.health, Health::Degraded);
        assert_eq!((d.down, d.voting, d.required), (1, 3, 2));
    }

    #[test]
    fn abstaining_regions_never_make_a_monitor_down() {
        // Two cut-off regions and one that sees the target down: unknown, not down.
        assert_eq!(
            decide(Quorum::Majority, [DOWN, STALE, IMPAIRED]).health,
            Health::Unknown
        );
        // One cut-off region of three: the others still decide.
        assert_eq!(
            decide(Quorum::Majority, [UP, UP, IMPAIRED]).health,
            Health::Up
        );
        assert_eq!(
            decide(Quorum::Majority, [DOWN, DOWN, IMPAIRED]).health,
            Health::Down
        );
    }

    #[test]
    fn degraded_reports_make_a_monitor_degraded() {
        let degraded = RegionView::Votes {
            vote: Vote::Up,
            degraded: true,
        };
        assert_eq!(
            decide(Quorum::Majority, [UP, degraded, UP]).health,
            Health::Degraded
        );
    }

    #[test]
    fn no_regions_or_silence_is_unknown() {
        assert_eq!(decide(Quorum::Majority, []).health, Health::Unknown);
        assert_eq!(
            decide(Quorum::Majority, [RegionView::Silent, RegionView::Silent]).health,
            Health::Unknown
        );
    }

    #[test]
    fn a_count_quorum_of_one_pages_on_any_region() {
        assert_eq!(
            decide(Quorum::Count(1), [DOWN, UP, UP]).health,
            Health::Down
        );
    }
}
