//! A small reader over the API's `config` object that names fields in its errors.
//!
//! serde's derive would report `unknown field` or `invalid type` without the path the API client
//! knows, so channel configs are read field by field through [`Fields`], which prefixes every
//! error with `config.` and remembers which fields were read so [`Fields::finish`] can reject
//! the rest.

use serde_json::{Map, Value};

use super::ChannelConfigError;

/// Longest accepted string for ordinary fields (URLs, tokens, names).
const MAX_LEN: usize = 2048;

pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
    read: Vec<&'static str>,
}

/// An error about `config.<name>`.
pub(crate) fn field_error(name: &str, message: impl Into<String>) -> ChannelConfigError {
    ChannelConfigError::new(format!("config.{name}"), message)
}

impl<'a> Fields<'a> {
    pub(crate) fn new(config: &'a Value) -> Result<Self, ChannelConfigError> {
        match config {
            Value::Object(obj) => Ok(Self {
                obj,
                read: Vec::new(),
            }),
            _ => Err(ChannelConfigError::new("config", "must be a JSON object")),
        }
    }

    /// The raw value; `null` counts as absent.
    fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        self.read.push(name);
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// An optional string, trimmed; empty counts as absent.
    pub(crate) fn opt_string(
        &mut self,
        name: &'static str,
    ) -> Result<Option<String>, ChannelConfigError> {
        self.opt_string_max(name, MAX_LEN)
    }

    /// Like [`Fields::opt_string`] with a custom length limit (PEM bundles).
    pub(crate) fn opt_string_max(
        &mut self,
        name: &'static str,
        max: usize,
    ) -> Result<Option<String>, ChannelConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    Ok(None)
                } else if s.len() > max {
                    Err(field_error(name, format!("must be at most {max} bytes")))
                } else {
                    Ok(Some(s.to_string()))
                }
            }
            Some(_) => Err(field_error(name, "must be a string")),
        }
    }

    /// A required, non-empty string.
    pub(crate) fn string(&mut self, name: &'static str) -> Result<String, ChannelConfigError> {
        self.opt_string(name)?
            .ok_or_else(|| field_error(name, "is required"))
    }

    /// A string or an integer, as a string (Telegram chat ids are either).
    pub(crate) fn string_or_int(
        &mut self,
        name: &'static str,
    ) -> Result<String, ChannelConfigError> {
        match self.obj.get(name) {
            Some(Value::Number(n)) if n.is_i64() => {
                self.read.push(name);
                Ok(n.to_string())
            }
            Some(Value::Number(_)) => {
                self.read.push(name);
                Err(field_error(name, "must be an integer or a string"))
            }
            _ => self.string(name),
        }
    }

    /// An optional port number.
    pub(crate) fn opt_port(
        &mut self,
        name: &'static str,
    ) -> Result<Option<u16>, ChannelConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(p) if (1..=65535).contains(&p) => Ok(Some(p as u16)),
                _ => Err(field_error(name, "must be an integer from 1 to 65535")),
            },
        }
    }

    /// A required, non-empty list of non-empty strings (at most `max` items). A single string
    /// is accepted as a list of one, since that is what people type for one recipient.
    pub(crate) fn string_list(
        &mut self,
        name: &'static str,
        max: usize,
    ) -> Result<Vec<String>, ChannelConfigError> {
        let items = match self.get(name) {
            None => return Err(field_error(name, "is required")),
            Some(Value::String(s)) => vec![Value::String(s.clone())],
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(field_error(name, "must be a list of strings")),
        };
        if items.is_empty() {
            return Err(field_error(name, "must not be empty"));
        }
        if items.len() > max {
            return Err(field_error(
                name,
                format!("must have at most {max} entries"),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_LEN => {
                    Ok(s.trim().to_string())
                }
                Value::String(_) => Err(field_error(
                    &format!("{name}[{i}]"),
                    "must be a non-empty string",
                )),
                _ => Err(field_error(&format!("{name}[{i}]"), "must be a string")),
            })
            .collect()
    }

    /// Rejects fields that no reader asked for: a misspelt option must not be ignored.
    pub(crate) fn finish(self) -> Result<(), ChannelConfigError> {
        let mut unknown: Vec<&String> = self
            .obj
            .keys()
            .filter(|k| !self.read.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(k) => Err(field_error(
                k,
                format!("unknown field (expected one of: {})", self.read.join(", ")),
            )),
        }
    }
}

/// Validates an http(s) URL with a host; returns it normalised.
pub(crate) fn http_url(name: &str, s: &str) -> Result<reqwest::Url, ChannelConfigError> {
    let url =
        reqwest::Url::parse(s).map_err(|_| field_error(name, "must be an http or https URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(field_error(name, "must be an http or https URL"));
    }
    if url.fragment().is_some() {
        return Err(field_error(name, "must not contain a #fragment"));
    }
    Ok(url)
}

/// An optional base URL for an API (`api_url`): http(s), no query; trailing `/` removed so
/// paths can be appended.
pub(crate) fn base_url(
    name: &str,
    s: Option<String>,
) -> Result<Option<String>, ChannelConfigError> {
    match s {
        None => Ok(None),
        Some(s) => {
            let url = http_url(name, &s)?;
            if url.query().is_some() {
                return Err(field_error(name, "must not contain a query string"));
            }
            Ok(Some(url.as_str().trim_end_matches('/').to_string()))
        }
    }
}

/// Checks that `s` can travel in an HTTP header or URL path unchanged: printable ASCII without
/// spaces or `/`.
pub(crate) fn token(name: &str, s: &str) -> Result<(), ChannelConfigError> {
    if s.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
        Ok(())
    } else {
        Err(field_error(
            name,
            "must be printable ASCII without spaces or '/'",
        ))
    }
}

/// An E.164 phone number: `+` and 8 to 15 digits.
pub(crate) fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}
