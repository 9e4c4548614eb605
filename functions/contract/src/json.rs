//! A JSON tree that borrows from the request body: strings without escapes
//! point into the body, and an object is a list of its entries. Validation
//! reads it once, so building a `serde_json::Value` (an owned `String` per key
//! and per string, a map per object) would be work thrown away.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Unexpected, Visitor};

/// One JSON value of an untrusted body.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// An object's entries in body order, duplicate keys included.
pub type Object<'a> = Vec<Entry<'a>>;
pub type Entry<'a> = (Cow<'a, str>, Json<'a>);

impl<'a> Json<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[Entry<'a>]> {
        match self {
            Json::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of `key` in an object; the last one wins, as in `serde_json`.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.as_object().and_then(|entries| get(entries, key))
    }

    /// What kind of value this is, for error messages: "a string", "null".
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// The scalar as a `serde_json::Value`; `None` for arrays and objects.
    pub fn to_scalar_value(&self) -> Option<serde_json::Value> {
        Some(match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => serde_json::Value::Number(n.clone()),
            Json::String(s) => serde_json::Value::String(s.clone().into_owned()),
            Json::Array(_) | Json::Object(_) => return None,
        })
    }
}

/// The value of `key` among an object's entries; the last one wins.
pub fn get<'o, 'a>(entries: &'o [Entry<'a>], key: &str) -> Option<&'o Json<'a>> {
    entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E: Error>(self, value: f64) -> Result<Json<'de>, E> {
        serde_json::Number::from_f64(value)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(Key(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Json::Object(entries))
    }
}

/// An object key, borrowed from the body when it holds no escapes
/// (serde's own `Cow<str>` always copies).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_str(JsonVisitor)? {
            Json::String(key) => Ok(Key(key)),
            other => Err(D::Error::invalid_type(
                Unexpected::Other(other.type_name()),
                &"a string",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_borrow_from_the_body_unless_they_hold_escapes() {
        let body = br#"{"plain":"shop","escaped":"a\"b","k\u00e9y":[1,-2,2.5,true,null]}"#;
        let json: Json = serde_json::from_slice(body).unwrap();
        let entries = json.as_object().unwrap();
        assert!(matches!(entries[0].0, Cow::Borrowed("plain")));
        assert!(matches!(
            json.get("plain"),
            Some(Json::String(Cow::Borrowed("shop")))
        ));
        assert_eq!(json.get("escaped").and_then(Json::as_str), Some("a\"b"));
        assert!(matches!(entries[2].0, Cow::Owned(ref key) if key == "kéy"));
        assert_eq!(
            json.get("kéy"),
            Some(&Json::Array(vec![
                Json::Number(1.into()),
                Json::Number((-2).into()),
                Json::Number(serde_json::Number::from_f64(2.5).unwrap()),
                Json::Bool(true),
                Json::Null,
            ]))
        );
    }

    #[test]
    fn the_last_of_duplicate_keys_wins_and_all_are_kept() {
        let json: Json = serde_json::from_str(r#"{"a":1,"a":"two"}"#).unwrap();
        assert_eq!(json.get("a").and_then(Json::as_str), Some("two"));
        assert_eq!(json.as_object().unwrap().len(), 2);
        assert_eq!(json.get("b"), None);
        assert_eq!(Json::Null.get("a"), None);
    }

    #[test]
    fn objects_of_any_size_keep_every_entry_in_order() {
        for count in [0, 1, 16, 17, 100] {
            let fields: Vec<String> = (0..count).map(|i| format!(r#""k{}":{i}"#, i % 7)).collect();
            let text = format!("{{{}}}", fields.join(","));
            let json: Json = serde_json::from_str(&text).unwrap();
            let entries = json.as_object().unwrap();
            assert_eq!(entries.len(), count);
            for (i, (key, value)) in entries.iter().enumerate() {
                assert_eq!(
                    (key.as_ref(), value),
                    (&*format!("k{}", i % 7), &Json::Number(i.into()))
                );
            }
        }
    }

    #[test]
    fn scalars_convert_to_serde_json_values() {
        let json: Json = serde_json::from_str(r#"[null,false,7,"x",[],{}]"#).unwrap();
        let Json::Array(items) = json else {
            panic!("an array")
        };
        let converted: Vec<_> = items.iter().map(Json::to_scalar_value).collect();
        assert_eq!(
            converted,
            [
                Some(serde_json::json!(null)),
                Some(serde_json::json!(false)),
                Some(serde_json::json!(7)),
                Some(serde_json::json!("x")),
                None,
                None
            ]
        );
    }
}
