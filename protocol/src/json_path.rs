//! A small JSON path dialect for HTTP checks: `$.data.items[0].status`, `$['odd key'][2]`.
//!
//! Only member names and array indices: enough to point at one value in an API response, and
//! small enough to validate at the API and evaluate on the edge node without a dependency.

use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(pub Vec<Segment>);

/// Why a path does not parse; `at` is a byte offset into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON path at byte {at}: {why}")]
pub struct JsonPathError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub why: &'static str,
}

impl JsonPath {
    /// Parses `$`, `.key`, `['key']` / `["key"]` and `[index]` steps.
    pub fn parse(s: &str) -> Result<Self, JsonPathError> {
        let b = s.as_bytes();
        if b.first() != Some(&b'$') {
            return Err(JsonPathError {
                at: 0,
                why: "must start with $",
            });
        }
        if s.len() > 512 {
            return Err(JsonPathError {
                at: 512,
                why: "longer than 512 bytes",
            });
        }
        let mut i = 1;
        let mut segs = Vec::new();
        while i < b.len() {
            match b[i] {
                b'.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < b.len() && b[end] != b'.' && b[end] != b'[' {
                        end += 1;
                    }
                    if end == start {
                        return Err(JsonPathError {
                            at: start,
                            why: "empty member name",
                        });
                    }
                    segs.push(Segment::Key(s[start..end].to_owned()));
                    i = end;
                }
                b'[' => {
                    let close = s[i..].find(']').map(|p| i + p).ok_or(JsonPathError {
                        at: i,
                        why: "unclosed [",
                    })?;
                    let inner = &s[i + 1..close];
                    let quoted = inner.len() >= 2
                        && ((inner.starts_with('\'') && inner.ends_with('\''))
                            || (inner.starts_with('"') && inner.ends_with('"')));
                    if quoted {
                        segs.push(Segment::Key(inner[1..inner.len() - 1].to_owned()));
                    } else {
                        let n = inner.parse::<usize>().map_err(|_| JsonPathError {
                            at: i + 1,
                            why: "expected an index or a quoted name",
                        })?;
                        segs.push(Segment::Index(n));
                    }
                    i = close + 1;
                }
                _ => {
                    return Err(JsonPathError {
                        at: i,
                        why: "expected . or [",
                    })
                }
            }
        }
        Ok(JsonPath(segs))
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for s in &self.0 {
            match s {
                Segment::Key(k)
                    if !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
                {
                    write!(f, ".{k}")?
                }
                Segment::Key(k) => write!(f, "[{k:?}]")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_members_indices_and_quoted_names() {
        let p = JsonPath::parse("$.data.items[0]['odd key'][\"x\"].status").expect("valid");
        assert_eq!(
            p.0,
            vec![
                Segment::Key("data".into()),
                Segment::Key("items".into()),
                Segment::Index(0),
                Segment::Key("odd key".into()),
                Segment::Key("x".into()),
                Segment::Key("status".into()),
            ]
        );
        assert_eq!(JsonPath::parse("$").expect("root").0, vec![]);
        assert_eq!(JsonPath::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in [
            "", "data", "$.", "$..a", "$[", "$[x]", "$[-1]", "$a", "$.a[0",
        ] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
