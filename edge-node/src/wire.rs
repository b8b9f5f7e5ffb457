//! Reading and writing protocol frames on QUIC streams.
//!
//! Mirrors the coordinator's helper of the same name: the protocol crate stays free of quinn, so
//! each side keeps these few lines next to its own transport.

use netpulse_protocol::frame::{self, FrameDecoder, FrameError};
use serde::{de::DeserializeOwned, Serialize};

/// Why a stream could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The peer sent bytes that are not a valid frame.
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    /// Reading failed (connection lost, stream reset).
    #[error("read: {0}")]
    Read(#[from] quinn::ReadError),
    /// Writing failed.
    #[error("write: {0}")]
    Write(#[from] quinn::WriteError),
}

/// Reads the next message; `Ok(None)` when the peer finished the stream cleanly.
pub async fn read<T: DeserializeOwned>(
    recv: &mut quinn::RecvStream,
    dec: &mut FrameDecoder,
) -> Result<Option<T>, WireError> {
    loop {
        if let Some(msg) = dec.next_frame()? {
            return Ok(Some(msg));
        }
        match recv.read_chunk(64 * 1024, true).await? {
            Some(chunk) => dec.push(&chunk.bytes),
            None => {
                dec.finish()?;
                return Ok(None);
            }
        }
    }
}

/// Writes one message.
pub async fn write<T: Serialize>(send: &mut quinn::SendStream, msg: &T) -> Result<(), WireError> {
    send.write_all(&frame::encode(msg)?).await?;
    Ok(())
}
