//! Frame codec: `u32 length (big endian) | u16 version | postcard body`.
//!
//! The length counts the version and the body. A frame longer than [`MAX_FRAME_LEN`], a version
//! other than [`PROTOCOL_VERSION`] or a body that does not decode is an error for that stream; the
//! caller closes the stream and carries on. Nothing here panics on input.

use serde::{de::DeserializeOwned, Serialize};

/// Version of the wire format. Bumped on any incompatible change to a message.
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest accepted frame (version + body), so a hostile peer cannot make us buffer without bound.
pub const MAX_FRAME_LEN: usize = 4 * 1024 * 1024;

const LEN_PREFIX: usize = 4;
const VERSION_LEN: usize = 2;

/// Why a frame could not be encoded or decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix announces more than [`MAX_FRAME_LEN`] bytes.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    TooLarge { len: usize, max: usize },
    /// The length prefix announces fewer bytes than a version field.
    #[error("frame of {0} bytes is too short to hold a version")]
    TooShort(usize),
    /// The peer speaks a protocol version we do not.
    #[error("unsupported protocol version {got} (this build speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion { got: u16 },
    /// The body is not a valid encoding of the expected message.
    #[error("malformed frame body: {0}")]
    Malformed(String),
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame ({0} bytes buffered)")]
    Truncated(usize),
}

/// Encodes `msg` as one complete frame of at most [`MAX_FRAME_LEN`] bytes.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    encode_limited(msg, MAX_FRAME_LEN)
}

/// Encodes `msg` as one frame of at most `max` bytes (at most `u32::MAX`). Streams that carry
/// bulk data (Raft replication between coordinators) use a larger limit than edge sessions.
pub fn encode_limited<T: Serialize>(msg: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let max = max.min(u32::MAX as usize);
    let mut out = vec![0u8; LEN_PREFIX];
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    let mut out =
        postcard::to_extend(msg, out).map_err(|e| FrameError::Malformed(e.to_string()))?;
    let len = out.len() - LEN_PREFIX;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    // `len` fits in u32 because `max` does.
    out[..LEN_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// Decodes one frame body (what follows the length prefix).
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    if body.len() < VERSION_LEN {
        return Err(FrameError::TooShort(body.len()));
    }
    let got = u16::from_be_bytes([body[0], body[1]]);
    if got != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion { got });
    }
    let (msg, rest) = postcard::take_from_bytes(&body[VERSION_LEN..])
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    // The length prefix delimits the body exactly: leftover bytes mean the peer encoded
    // something other than what we decoded, which must not pass silently.
    if !rest.is_empty() {
        return Err(FrameError::Malformed(format!(
            "{} trailing bytes after the message",
            rest.len()
        )));
    }
    Ok(msg)
}

/// Accumulates bytes from a stream and yields whole messages.
///
/// Sans-I/O: the owner reads from its socket, calls [`FrameDecoder::push`], then drains
/// [`FrameDecoder::next_frame`] until it returns `Ok(None)` ("need more bytes"). After an error
/// the stream is unusable and must be closed.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    max: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::with_max(MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// A decoder with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder accepting frames of up to `max` bytes.
    pub fn with_max(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet consumed by a whole frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Returns the next complete message, `Ok(None)` if more bytes are needed.
    pub fn next_frame<T: DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        let avail = &self.buf[self.start..];
        if avail.len() < LEN_PREFIX {
            return Ok(None);
        }
        let len = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if len > self.max {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        if avail.len() < LEN_PREFIX + len {
            return Ok(None);
        }
        let body = &avail[LEN_PREFIX..LEN_PREFIX + len];
        let msg = decode_body(body)?;
        self.start += LEN_PREFIX + len;
        if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(msg))
    }

    /// Call when the stream has ended: an error if a partial frame is left over.
    pub fn finish(&self) -> Result<(), FrameError> {
        match self.buffered() {
            0 => Ok(()),
            n => Err(FrameError::Truncated(n)),
        }
    }
}
