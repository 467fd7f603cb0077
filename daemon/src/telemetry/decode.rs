//! OTLP/HTTP body decoding, pure and bounded: the content type picks the
//! format (protobuf or JSON), the content encoding picks the decompression
//! (identity or gzip), and both the received and the inflated sizes are
//! capped. Nothing here allocates more than [`MAX_DECODED_BYTES`] plus one
//! read buffer for a body, whatever the input claims.
//!
//! A gzip body is inflated in two steps so the receiver never inflates a big
//! body on an async worker: [`Body::start`] inflates up to
//! [`INLINE_BYTES`] and says whether it finished; [`Body::finish`] inflates
//! the rest (on a blocking thread when the first step did not finish).

use std::borrow::Cow;
use std::io::Read;

use bytes::{Buf as _, Bytes};
use flate2::read::MultiGzDecoder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

/// Largest request body accepted as received (compressed or not).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Largest body accepted after decompression.
pub const MAX_DECODED_BYTES: usize = 16 * 1024 * 1024;

/// Bodies up to this size (after decompression) are decoded on the async
/// worker that received them; larger ones go to a blocking thread. An OTLP
/// export of a coding agent is a few KiB.
pub const INLINE_BYTES: usize = 256 * 1024;

/// The wire format of an OTLP/HTTP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`.
    Json,
}

impl Format {
    /// The media type of this format, for responses.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }

    /// The format a `Content-Type` header names; parameters such as
    /// `charset` are ignored and case does not matter.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Format, DecodeError> {
        let Some(value) = content_type else {
            return Err(DecodeError::UnsupportedMediaType(
                "missing Content-Type: send application/x-protobuf or application/json".to_owned(),
            ));
        };
        let media = value.split(';').next().unwrap_or_default().trim();
        if media.eq_ignore_ascii_case("application/x-protobuf")
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Ok(Format::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Ok(Format::Json)
        } else {
            Err(DecodeError::UnsupportedMediaType(format!(
                "unsupported Content-Type {:?}: send application/x-protobuf or application/json",
                clip(value)
            )))
        }
    }
}

/// The compression of an OTLP/HTTP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    Identity,
    /// `Content-Encoding: gzip`.
    Gzip,
}

impl Compression {
    /// The compression a `Content-Encoding` header names (absent, empty or
    /// `identity` for none; `gzip` or `x-gzip`). A list of several codings
    /// is not supported.
    pub fn from_content_encoding(encoding: Option<&str>) -> Result<Compression, DecodeError> {
        let coding = encoding.map(str::trim).unwrap_or_default();
        if coding.is_empty() || coding.eq_ignore_ascii_case("identity") {
            Ok(Compression::Identity)
        } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            Ok(Compression::Gzip)
        } else {
            Err(DecodeError::UnsupportedEncoding(format!(
                "unsupported Content-Encoding {:?}: send gzip or identity",
                clip(coding)
            )))
        }
    }
}

/// Why a body could not be decoded. Each maps to one HTTP status
/// ([`DecodeError::status`]); the text is the message sent back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// 415: the content type is missing or not an OTLP format.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 415: the content encoding is not gzip or identity.
    #[error("{0}")]
    UnsupportedEncoding(String),
    /// 413: the body as received is too large.
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// 413: the body inflates to more than [`MAX_DECODED_BYTES`].
    #[error("request body inflates to more than {MAX_DECODED_BYTES} bytes")]
    InflatesTooLarge,
    /// 400: the gzip stream is corrupt.
    #[error("invalid gzip body: {0}")]
    Gzip(String),
    /// 400: the bytes are not a valid message of the expected type.
    #[error("invalid {format} {message}: {detail}")]
    Malformed {
        /// `protobuf` or `JSON`.
        format: &'static str,
        /// The expected message, e.g. `ExportMetricsServiceRequest`.
        message: &'static str,
        /// The decoder's explanation.
        detail: String,
    },
}

impl DecodeError {
    /// The HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            DecodeError::UnsupportedMediaType(_) | DecodeError::UnsupportedEncoding(_) => 415,
            DecodeError::TooLarge | DecodeError::InflatesTooLarge => 413,
            DecodeError::Gzip(_) | DecodeError::Malformed { .. } => 400,
        }
    }
}

/// A received body on its way to being decoded.
pub enum Body {
    /// The complete (inflated) bytes.
    Ready(Bytes),
    /// A gzip stream inflated up to `out.len()` bytes so far.
    Inflating {
        /// The decoder, positioned after what `out` holds.
        decoder: Box<MultiGzDecoder<bytes::buf::Reader<Bytes>>>,
        /// What was inflated so far.
        out: Vec<u8>,
    },
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Ready(bytes) => f.debug_tuple("Ready").field(&bytes.len()).finish(),
            Body::Inflating { out, .. } => f.debug_tuple("Inflating").field(&out.len()).finish(),
        }
    }
}

impl Body {
    /// Checks the received size and inflates a gzip body up to
    /// [`INLINE_BYTES`]. Cheap enough for an async worker.
    pub fn start(body: Bytes, compression: Compression) -> Result<Body, DecodeError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(DecodeError::TooLarge);
        }
        match compression {
            Compression::Identity => Ok(Body::Ready(body)),
            Compression::Gzip => {
                let mut decoder = Box::new(MultiGzDecoder::new(body.reader()));
                let mut out = Vec::new();
                if inflate_into(&mut decoder, &mut out, INLINE_BYTES)? {
                    check_inflated(&out)?;
                    Ok(Body::Ready(Bytes::from(out)))
                } else {
                    Ok(Body::Inflating { decoder, out })
                }
            }
        }
    }

    /// Whether [`Body::finish`] and decoding are cheap enough for an async
    /// worker: the body is complete and at most [`INLINE_BYTES`] long.
    pub fn is_light(&self) -> bool {
        matches!(self, Body::Ready(bytes) if bytes.len() <= INLINE_BYTES)
    }

    /// The complete inflated bytes, or 413 once they exceed
    /// [`MAX_DECODED_BYTES`]. May take tens of milliseconds for a large
    /// gzip body: call it on a blocking thread unless [`Body::is_light`].
    pub fn finish(self) -> Result<Bytes, DecodeError> {
        match self {
            Body::Ready(bytes) => Ok(bytes),
            Body::Inflating {
                mut decoder,
                mut out,
            } => {
                inflate_into(&mut decoder, &mut out, MAX_DECODED_BYTES)?;
                check_inflated(&out)?;
                Ok(Bytes::from(out))
            }
        }
    }
}

/// Reads `decoder` into `out` until the end of the stream (returns `true`)
/// or until `out` holds more than `stop` bytes (returns `false`). Reads in
/// fixed chunks, so `out` never exceeds `stop` by more than one chunk.
fn inflate_into(
    decoder: &mut impl Read,
    out: &mut Vec<u8>,
    stop: usize,
) -> Result<bool, DecodeError> {
    let mut chunk = [0u8; 16 * 1024];
    while out.len() <= stop {
        match decoder.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(read) => out.extend_from_slice(&chunk[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(DecodeError::Gzip(error.to_string())),
        }
    }
    Ok(false)
}

fn check_inflated(out: &[u8]) -> Result<(), DecodeError> {
    if out.len() > MAX_DECODED_BYTES {
        Err(DecodeError::InflatesTooLarge)
    } else {
        Ok(())
    }
}

/// An OTLP export request or response that both prost and serde can
/// handle, with its protobuf name for messages.
pub trait OtlpMessage: prost::Message + Default + Serialize + DeserializeOwned {
    /// The protobuf message name, for error messages.
    const NAME: &'static str;
}

macro_rules! otlp_message {
    ($($ty:ty => $name:literal),* $(,)?) => {
        $(impl OtlpMessage for $ty { const NAME: &'static str = $name; })*
    };
}

otlp_message! {
    opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest => "ExportMetricsServiceRequest",
    opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse => "ExportMetricsServiceResponse",
    opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest => "ExportLogsServiceRequest",
    opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse => "ExportLogsServiceResponse",
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest => "ExportTraceServiceRequest",
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse => "ExportTraceServiceResponse",
}

/// Decodes a complete (inflated) body as `T` in `format`.
pub fn decode_message<T: OtlpMessage>(bytes: &[u8], format: Format) -> Result<T, DecodeError> {
    match format {
        Format::Protobuf => T::decode(bytes).map_err(|error| DecodeError::Malformed {
            format: "protobuf",
            message: T::NAME,
            detail: clip(&error.to_string()).into_owned(),
        }),
        Format::Json => serde_json::from_slice(bytes).map_err(|error| DecodeError::Malformed {
            format: "JSON",
            message: T::NAME,
            detail: clip(&error.to_string()).into_owned(),
        }),
    }
}

/// Encodes a message in `format`.
pub fn encode_message<T: OtlpMessage>(message: &T, format: Format) -> Vec<u8> {
    match format {
        Format::Protobuf => message.encode_to_vec(),
        // Serializing a prost message to JSON cannot fail: it has no maps
        // with non-string keys and no fallible custom serializers.
        Format::Json => serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// The whole pipeline in one call (headers, size checks, inflation,
/// decoding), for fuzzing and tests; the receiver runs the same steps with
/// the large-body work on a blocking thread.
pub fn decode_request<T: OtlpMessage>(
    body: Bytes,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<T, DecodeError> {
    let format = Format::from_content_type(content_type)?;
    let compression = Compression::from_content_encoding(content_encoding)?;
    let bytes = Body::start(body, compression)?.finish()?;
    decode_message(&bytes, format)
}

/// At most 200 characters of `text`, for echoing client input and decoder
/// messages back without amplifying them.
pub fn clip(text: &str) -> Cow<'_, str> {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => Cow::Owned(format!("{}...", &text[..end])),
        None => Cow::Borrowed(text),
    }
}
