//! Page resources: every page loads its data through [`resource`], never `Resource::new`.
//!
//! The difference is the codec. Leptos' default (`JsonSerdeCodec`) reads the data the server
//! rendered into the page with `serde_json::from_str`, while a server function's answer is read
//! with `serde_json::from_slice`. The two readers are different types, so the browser bundle
//! carried two decoders of every page type. [`Json`] reads the rendered data with
//! `from_slice` too: one decoder per type, the same JSON on the wire.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON, decoded through the same reader as a server function's answer.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(encoded: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(encoded.as_bytes())
    }
}

/// A page's data: rendered with the page on the server, read back (not fetched again) when the
/// page hydrates, and fetched anew whenever `source` changes. Like `Resource::new`, with
/// [`Json`].
#[track_caller]
pub fn resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, Json>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reads_back_what_it_wrote() {
        let value = vec![("a\"b".to_owned(), 1_u32), ("ü\n".to_owned(), 2)];
        let encoded = <Json as Encoder<_>>::encode(&value).expect("encodes");
        assert_eq!(encoded, serde_json::to_string(&value).expect("plain JSON"));
        let decoded: Vec<(String, u32)> = Json::decode(&encoded).expect("decodes");
        assert_eq!(decoded, value);
        assert!(<Json as Decoder<Vec<u32>>>::decode("[1,").is_err());
    }
}
