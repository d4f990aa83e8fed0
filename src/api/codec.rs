//! How a [`TypedSocket`](super::TypedSocket) turns values into messages and back: the
//! [`Codec`] trait, [`Json`] (the default), [`Postcard`] (feature `postcard`), [`MsgPack`]
//! (feature `msgpack`), and adapters for any [`codee`](https://docs.rs/codee) codec
//! (feature `codee`).

use std::fmt;
#[cfg(feature = "codee")]
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{EncodeError, Error};
use super::types::Message;

/// Encodes `Out` into a [`Message`] (text or binary, the codec's choice) and decodes a
/// received [`Message`] into `In`, for a [`TypedSocket<In, Out, C>`](super::TypedSocket)
/// and the hooks' `use_typed_socket_with`.
///
/// Codecs are stateless types (usually unit structs, as [`codee`](https://docs.rs/codee)'s
/// are): the type is the codec. Both functions report failures as values; `decode` is
/// given whatever the server sent and must never panic.
///
/// ```
/// use tether_ws::{Codec, CodecError, Message};
///
/// /// Numbers as decimal text.
/// struct Decimal;
///
/// impl Codec<u64, u64> for Decimal {
///     fn encode(value: &u64) -> Result<Message, CodecError> {
///         Ok(Message::Text(value.to_string()))
///     }
///     fn decode(message: &Message) -> Result<u64, CodecError> {
///         match message {
///             Message::Text(text) => text.parse().map_err(|e| CodecError::new("decimal", e)),
///             Message::Binary(_) => Err(CodecError::new("decimal", "expected text")),
///         }
///     }
/// }
///
/// assert_eq!(Decimal::encode(&42), Ok(Message::from("42")));
/// assert!(Decimal::decode(&Message::from("forty-two")).is_err());
/// ```
pub trait Codec<In, Out>: 'static {
    /// The message that carries `value`.
    fn encode(value: &Out) -> Result<Message, CodecError>;

    /// The value a received message carries. Never panics, whatever the bytes.
    fn decode(message: &Message) -> Result<In, CodecError>;
}

/// Why a [`Codec`] could not encode or decode: the codec's name and its explanation.
///
/// ```
/// use tether_ws::CodecError;
///
/// let e = CodecError::new("decimal", "expected text");
/// assert_eq!(e.codec(), "decimal");
/// assert_eq!(e.message(), "expected text");
/// assert_eq!(e.to_string(), "decimal: expected text");
/// ```
#[derive(Debug, Clone)]
pub struct CodecError {
    codec: &'static str,
    message: String,
    /// [`Json`]'s own error, kept so that [`TypedSocket::send`](super::TypedSocket::send)
    /// reports it as [`Error::Encode`] exactly as [`Socket::send_json`](super::Socket::send_json)
    /// does.
    json: Option<Arc<serde_json::Error>>,
}

impl CodecError {
    /// An error of the codec named `codec` (such as `"postcard"`), explained by `message`.
    ///
    /// ```
    /// let e = tether_ws::CodecError::new("mine", format!("{} bytes too many", 3));
    /// assert_eq!(e.message(), "3 bytes too many");
    /// ```
    pub fn new(codec: &'static str, message: impl fmt::Display) -> Self {
        CodecError {
            codec,
            message: message.to_string(),
            json: None,
        }
    }

    /// The codec's name, as given to [`CodecError::new`] (`"json"` for [`Json`]).
    ///
    /// ```
    /// assert_eq!(tether_ws::CodecError::new("json", "eof").codec(), "json");
    /// ```
    pub fn codec(&self) -> &'static str {
        self.codec
    }

    /// The codec's explanation (what [`TypedEvent::DecodeError`](super::TypedEvent::DecodeError)
    /// carries as its `error`).
    ///
    /// ```
    /// assert_eq!(tether_ws::CodecError::new("json", "eof").message(), "eof");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// As the typed layer's `send` reports it: [`Json`]'s as [`Error::Encode`], exactly as
    /// [`Socket::send_json`](super::Socket::send_json) does; another codec's as
    /// [`Error::Codec`].
    pub(crate) fn into_error(self) -> Error {
        match self.json.as_ref().map(|e| EncodeError::from_shared(e.clone())) {
            Some(json) => Error::Encode(json),
            None => Error::Codec(self),
        }
    }
}

impl From<serde_json::Error> for CodecError {
    fn from(e: serde_json::Error) -> Self {
        CodecError {
            codec: "json",
            message: e.to_string(),
            json: Some(Arc::new(e)),
        }
    }
}

/// Equal when the codec and the explanation are.
impl PartialEq for CodecError {
    fn eq(&self, other: &Self) -> bool {
        self.codec == other.codec && self.message == other.message
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.codec, self.message)
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.json.as_deref().map(|e| e as _)
    }
}

/// JSON with serde_json, the default codec: sends text, decodes text or binary.
///
/// ```
/// use tether_ws::{Codec, Json, Message};
///
/// assert_eq!(<Json as Codec<u8, [u8; 2]>>::encode(&[1, 2]), Ok(Message::from("[1,2]")));
/// assert_eq!(<Json as Codec<Vec<u8>, ()>>::decode(&Message::from("[3]")), Ok(vec![3]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json;

impl<In: DeserializeOwned, Out: Serialize> Codec<In, Out> for Json {
    fn encode(value: &Out) -> Result<Message, CodecError> {
        Ok(Message::Text(serde_json::to_string(value)?))
    }

    fn decode(message: &Message) -> Result<In, CodecError> {
        Ok(match message {
            Message::Text(s) => serde_json::from_str(s)?,
            Message::Binary(b) => serde_json::from_slice(b)?,
        })
    }
}

/// [postcard](https://docs.rs/postcard), compact and schema-less (both ends must share the
/// types): sends binary messages, decodes binary (or the bytes of a text message).
/// Feature `postcard`.
///
/// ```
/// use tether_ws::{Codec, Message, Postcard};
///
/// let message = <Postcard as Codec<(), (u8, String)>>::encode(&(7, "hi".into())).unwrap();
/// assert_eq!(message, Message::Binary(vec![7, 2, b'h', b'i']));
/// let back: (u8, String) = <Postcard as Codec<_, ()>>::decode(&message).unwrap();
/// assert_eq!(back, (7, "hi".into()));
/// ```
#[cfg(feature = "postcard")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Postcard;

#[cfg(feature = "postcard")]
impl<In: DeserializeOwned, Out: Serialize> Codec<In, Out> for Postcard {
    fn encode(value: &Out) -> Result<Message, CodecError> {
        postcard::to_allocvec(value)
            .map(Message::Binary)
            .map_err(|e| CodecError::new("postcard", e))
    }

    fn decode(message: &Message) -> Result<In, CodecError> {
        postcard::from_bytes(bytes(message)).map_err(|e| CodecError::new("postcard", e))
    }
}

/// [MessagePack](https://msgpack.org) with [rmp-serde](https://docs.rs/rmp-serde): sends
/// binary messages, structs as maps with field names (what JavaScript's MessagePack
/// libraries make and expect); decodes binary (or the bytes of a text message), structs
/// as maps or arrays. Feature `msgpack`.
///
/// ```
/// use tether_ws::{Codec, Message, MsgPack};
///
/// let message = <MsgPack as Codec<(), Vec<u8>>>::encode(&vec![1, 2]).unwrap();
/// assert_eq!(message, Message::Binary(vec![0x92, 1, 2]));
/// let back: Vec<u8> = <MsgPack as Codec<_, ()>>::decode(&message).unwrap();
/// assert_eq!(back, [1, 2]);
/// ```
#[cfg(feature = "msgpack")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgPack;

#[cfg(feature = "msgpack")]
impl<In: DeserializeOwned, Out: Serialize> Codec<In, Out> for MsgPack {
    fn encode(value: &Out) -> Result<Message, CodecError> {
        rmp_serde::to_vec_named(value)
            .map(Message::Binary)
            .map_err(|e| CodecError::new("msgpack", e))
    }

    fn decode(message: &Message) -> Result<In, CodecError> {
        rmp_serde::from_slice(bytes(message)).map_err(|e| CodecError::new("msgpack", e))
    }
}

/// A message's bytes (UTF-8 for text).
#[cfg(any(feature = "postcard", feature = "msgpack", feature = "codee"))]
fn bytes(message: &Message) -> &[u8] {
    match message {
        Message::Text(s) => s.as_bytes(),
        Message::Binary(b) => b,
    }
}

/// A [`codee`](https://docs.rs/codee) string codec as a [`Codec`]: sends text, decodes text
/// (or binary that is UTF-8). `C` encodes `Out` into a `String` and decodes `In` from a
/// `str`, as codee's `JsonSerdeCodec`, `FromToStringCodec` and `Base64<…>` do. Feature
/// `codee`.
///
/// ```
/// use codee::string::FromToStringCodec;
/// use tether_ws::{Codec, CodeeText, Message};
///
/// type Numbers = CodeeText<FromToStringCodec>;
/// assert_eq!(<Numbers as Codec<u32, u32>>::encode(&7), Ok(Message::from("7")));
/// assert_eq!(<Numbers as Codec<u32, u32>>::decode(&Message::from("8")), Ok(8));
/// ```
#[cfg(feature = "codee")]
pub struct CodeeText<C>(PhantomData<fn() -> C>);

/// A [`codee`](https://docs.rs/codee) binary codec as a [`Codec`]: sends binary, decodes
/// binary (or the bytes of a text message). `C` encodes `Out` into a `Vec<u8>` and decodes
/// `In` from a `[u8]`, as codee's `BincodeSerdeCodec`, `MsgpackSerdeCodec` or
/// `ProstCodec` do. Feature `codee`.
///
/// ```
/// use codee::binary::FromToBytesCodec;
/// use tether_ws::{Codec, CodeeBinary, Message};
///
/// type Bytes = CodeeBinary<FromToBytesCodec>;
/// assert_eq!(<Bytes as Codec<u16, u16>>::encode(&1), Ok(Message::Binary(1u16.to_be_bytes().to_vec())));
/// assert!(<Bytes as Codec<u16, u16>>::decode(&Message::Binary(vec![1])).is_err());
/// ```
#[cfg(feature = "codee")]
pub struct CodeeBinary<C>(PhantomData<fn() -> C>);

#[cfg(feature = "codee")]
impl<In, Out, C> Codec<In, Out> for CodeeText<C>
where
    C: codee::Encoder<Out, Encoded = String> + codee::Decoder<In, Encoded = str>,
    <C as codee::Encoder<Out>>::Error: fmt::Debug,
    <C as codee::Decoder<In>>::Error: fmt::Debug,
{
    fn encode(value: &Out) -> Result<Message, CodecError> {
        C::encode(value)
            .map(Message::Text)
            .map_err(|e| CodecError::new("codee", format_args!("{e:?}")))
    }

    fn decode(message: &Message) -> Result<In, CodecError> {
        let text = match message {
            Message::Text(s) => s.as_str(),
            Message::Binary(b) => std::str::from_utf8(b).map_err(|e| CodecError::new("codee", e))?,
        };
        C::decode(text).map_err(|e| CodecError::new("codee", format_args!("{e:?}")))
    }
}

#[cfg(feature = "codee")]
impl<In, Out, C> Codec<In, Out> for CodeeBinary<C>
where
    C: codee::Encoder<Out, Encoded = Vec<u8>> + codee::Decoder<In, Encoded = [u8]>,
    <C as codee::Encoder<Out>>::Error: fmt::Debug,
    <C as codee::Decoder<In>>::Error: fmt::Debug,
{
    fn encode(value: &Out) -> Result<Message, CodecError> {
        C::encode(value)
            .map(Message::Binary)
            .map_err(|e| CodecError::new("codee", format_args!("{e:?}")))
    }

    fn decode(message: &Message) -> Result<In, CodecError> {
        C::decode(bytes(message)).map_err(|e| CodecError::new("codee", format_args!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Point {
        x: i32,
        y: i32,
    }

    /// Every codec: a round trip, and garbage (of any length) is an error, never a panic.
    fn round_trip_and_garbage<C: Codec<Point, Point>>() {
        let p = Point { x: -1, y: 70000 };
        let message = C::encode(&p).unwrap();
        assert_eq!(C::decode(&message), Ok(p));
        let mut garbage = vec![
            Message::from(""),
            Message::from("{"),
            Message::Binary(vec![0xff; 3]),
        ];
        for n in 0..64u8 {
            garbage.push(Message::Binary(
                (0..n).map(|i| i.wrapping_mul(37) ^ 0xc1).collect(),
            ));
        }
        for g in garbage {
            if let Err(e) = C::decode(&g) {
                assert!(!e.message().is_empty());
            }
        }
    }

    #[test]
    fn json_round_trips_and_its_encode_errors_are_serde_jsons() {
        round_trip_and_garbage::<Json>();
        let map: std::collections::HashMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        let e = <Json as Codec<(), _>>::encode(&map).unwrap_err();
        assert_eq!(e.codec(), "json");
        assert!(std::error::Error::source(&e).is_some());
        let direct = serde_json::to_string(&map).unwrap_err();
        assert_eq!(e.into_error(), Error::Encode(direct.into()));
    }

    #[test]
    fn another_codecs_encode_error_is_a_codec_error_naming_it() {
        let err = CodecError::new("postcard", "too big").into_error();
        assert!(
            matches!(&err, Error::Codec(e) if e.codec() == "postcard"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "could not encode the message: postcard: too big");
    }

    #[cfg(feature = "postcard")]
    #[test]
    fn postcard_round_trips_as_binary() {
        round_trip_and_garbage::<Postcard>();
        assert!(matches!(
            <Postcard as Codec<(), Point>>::encode(&Point { x: 1, y: 2 }),
            Ok(Message::Binary(_))
        ));
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn msgpack_round_trips_as_binary_maps() {
        round_trip_and_garbage::<MsgPack>();
        let Ok(Message::Binary(b)) = <MsgPack as Codec<(), Point>>::encode(&Point { x: 1, y: 2 }) else {
            panic!("binary expected")
        };
        assert_eq!(b[0], 0x82, "a map of two fields");
        // A huge length prefix claims more than is there: an error, not an allocation.
        let huge = Message::Binary(vec![0xdd, 0xff, 0xff, 0xff, 0xff]);
        assert!(<MsgPack as Codec<Vec<u8>, ()>>::decode(&huge).is_err());
    }

    #[cfg(feature = "codee")]
    #[test]
    fn codee_codecs_adapt() {
        type Text = CodeeText<codee::string::FromToStringCodec>;
        assert_eq!(<Text as Codec<i32, i32>>::encode(&-5), Ok(Message::from("-5")));
        assert_eq!(
            <Text as Codec<i32, i32>>::decode(&Message::Binary(b"9".to_vec())),
            Ok(9)
        );
        assert!(<Text as Codec<i32, i32>>::decode(&Message::Binary(vec![0xff])).is_err());
        assert!(<Text as Codec<i32, i32>>::decode(&Message::from("x")).is_err());
        type Bytes = CodeeBinary<codee::binary::FromToBytesCodec>;
        assert_eq!(
            <Bytes as Codec<u16, u16>>::decode(&Message::Binary(vec![1, 2])),
            Ok(0x102)
        );
        for n in 0..8 {
            let _ = <Bytes as Codec<u16, u16>>::decode(&Message::Binary(vec![7; n]));
        }
    }
}
