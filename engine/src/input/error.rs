//! Why a monitor body was refused: always naming the field when there is one, never quoting
//! a value (values may be secrets).

use std::fmt;

/// A refused monitor body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// One field is wrong.
    #[error("field `{field}`: {problem}")]
    Field {
        /// The field, as the client wrote it (`alerting.channels[2]` for nested ones).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The body as a whole is wrong (not an object, say).
    #[error("{0}")]
    Body(String),
}

impl InputError {
    /// `field` is wrong: `problem`.
    pub fn invalid_field(field: &str, problem: impl fmt::Display) -> Self {
        InputError::Field {
            field: field.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// The body as a whole is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        InputError::Body(message.into())
    }

    /// The field this error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            InputError::Field { field, .. } => Some(field),
            InputError::Body(_) => None,
        }
    }

    /// The message a client reads.
    pub fn message(&self) -> String {
        self.to_string()
    }
}
