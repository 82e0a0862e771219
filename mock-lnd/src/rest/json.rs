//! lnd's REST JSON: protobuf messages as grpc-gateway's `JSONPb` marshaler writes and reads them with
//! the options lnd gives its REST proxy (`lnrpc.RESTJsonMarshalOpts` / `RESTJsonUnmarshalOpts`):
//!
//! - out: proto field names (`UseProtoNames`), every field even at its default value
//!   (`EmitUnpopulated`: `0`, `""`, `false`, `[]`, and `null` for an unset message field), 64-bit
//!   integers as strings, bytes as standard base64, enums by name;
//! - in: proto or JSON (lowerCamelCase) field names, 64-bit integers as strings or numbers, bytes as
//!   standard or URL-safe base64, enums by name or number; an empty body is the empty message.
//!   Fields this project's proto subset lacks are skipped, as protobuf skips them on the gRPC
//!   listener (lnd rejects fields it does not know, but a field lnd knows must not be refused here).
//!
//! Path and query parameters are parsed by field kind as grpc-gateway's `runtime` package does
//! (`true`/`false`/`1`/`0` for booleans, base64 of either alphabet for bytes, nested fields as
//! `a.b`, unknown query parameters ignored) and then read like body fields.

use std::sync::LazyLock;

use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, ReflectMessage as _, SerializeOptions, Value as ProtoValue,
};
use serde_json::{Map, Value};
use tonic::Status;

/// Every message and service of the `proto` crate, by full name.
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET)
        .expect("the proto crate embeds a valid descriptor set")
});

/// The descriptor of gRPC method `service.Method` (e.g. `lnrpc.Lightning.GetInfo`), if the proto
/// crate defines it.
pub(crate) fn method(full_name: &str) -> Option<MethodDescriptor> {
    let (service, method) = full_name.rsplit_once('.')?;
    POOL.get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
}

/// A request message from a JSON `body` (when the endpoint takes one), the `path` parameters
/// (which win over the body, as grpc-gateway sets them after decoding it) and the `query`
/// parameters (those naming a path parameter are ignored, as grpc-gateway filters them).
pub(crate) fn request(
    input: &MessageDescriptor,
    body: Option<&[u8]>,
    path: &[(String, String)],
    query: &[(String, String)],
) -> Result<DynamicMessage, Status> {
    let mut object = match body {
        Some(body) if !body.iter().all(u8::is_ascii_whitespace) => {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(object)) => object,
                Ok(_) => {
                    return Err(Status::invalid_argument(
                        "request body must be a JSON object",
                    ))
                }
                Err(error) => return Err(Status::invalid_argument(error.to_string())),
            }
        }
        _ => Map::new(),
    };
    let is_path = |name: &str| path.iter().any(|(p, _)| p == name);
    let params: Vec<&(String, String)> = query
        .iter()
        .filter(|(name, _)| !is_path(name))
        .chain(path)
        .collect();
    let mut names: Vec<&str> = params.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let values: Vec<&str> = params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
            .collect();
        set_param(input, &mut object, name, &values)?;
    }
    let options = DeserializeOptions::new().deny_unknown_fields(false);
    DynamicMessage::deserialize_with_options(input.clone(), Value::Object(object), &options)
        .map_err(|error| Status::invalid_argument(error.to_string()))
}

/// Sets the field at dotted path `name` of `object` (a message of type `message`) from the
/// parameter texts `values` (several only for a repeated field); a name that is no field is
/// ignored, like grpc-gateway does.
fn set_param(
    message: &MessageDescriptor,
    object: &mut Map<String, Value>,
    name: &str,
    values: &[&str],
) -> Result<(), Status> {
    let (head, rest) = match name.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (name, None),
    };
    let Some(field) = field_named(message, head) else {
        return Ok(());
    };
    let key = field.name().to_owned();
    match (rest, field.kind()) {
        (None, kind) if !field.is_map() => {
            let mut parsed = values
                .iter()
                .map(|value| param_value(&kind, value))
                .collect::<Result<Vec<_>, _>>()?;
            let value = match (field.is_list(), parsed.len()) {
                (true, _) => Value::Array(parsed),
                (false, 1) => parsed.remove(0),
                (false, _) => {
                    return Err(Status::invalid_argument(format!(
                        "too many values for field {name:?}"
                    )))
                }
            };
            object.insert(key, value);
            Ok(())
        }
        (Some(rest), Kind::Message(nested)) if !field.is_list() && !field.is_map() => {
            let entry = object
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(inner) => set_param(&nested, inner, rest, values),
                _ => Err(Status::invalid_argument(format!(
                    "field {head:?} is set twice"
                ))),
            }
        }
        _ => Err(Status::invalid_argument(format!(
            "invalid path: {name:?} is not a singular field"
        ))),
    }
}

/// The field called `name` by its proto or its JSON name.
fn field_named(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.get_field_by_json_name(name))
}

/// A parameter's text as the JSON value the deserializer reads for a field of `kind`.
fn param_value(kind: &Kind, text: &str) -> Result<Value, Status> {
    match kind {
        Kind::Bool => match text {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            _ => Err(Status::invalid_argument(format!(
                "{text:?} is not a boolean"
            ))),
        },
        Kind::Message(_) => Err(Status::invalid_argument(
            "a message field cannot be given as one parameter",
        )),
        // Numbers, strings, bytes (base64) and enums (name or number) are all read from strings.
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// `message` as lnd's REST JSON value.
pub(crate) fn to_json(message: &DynamicMessage) -> Value {
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false);
    let mut value = message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or_else(|error| {
            // Only maps with non-string keys or non-finite floats could fail; none are served.
            tracing::error!(error = %error, "cannot write a message as JSON");
            Value::Object(Map::new())
        });
    emit_unset_messages(message, &mut value);
    value
}

/// Adds `null` for every unset singular message field outside a oneof, as protojson's
/// `EmitUnpopulated` does (prost-reflect leaves them out), in `message` and every message inside it.
fn emit_unset_messages(message: &DynamicMessage, json: &mut Value) {
    let Value::Object(object) = json else {
        return;
    };
    for field in message.descriptor().fields() {
        if !matches!(field.kind(), Kind::Message(_)) || field.is_map() {
            continue;
        }
        let Some(entry) = object.get_mut(field.name()) else {
            if !field.is_list() && field.containing_oneof().is_none() {
                object.insert(field.name().to_owned(), Value::Null);
            }
            continue;
        };
        match (&*message.get_field(&field), entry) {
            (ProtoValue::Message(inner), entry) => emit_unset_messages(inner, entry),
            (ProtoValue::List(items), Value::Array(entries)) => {
                for (item, entry) in items.iter().zip(entries) {
                    if let ProtoValue::Message(inner) = item {
                        emit_unset_messages(inner, entry);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A gRPC status as grpc-gateway writes it: a `google.rpc.Status` in JSON.
pub(crate) fn status_json(status: &Status) -> Value {
    serde_json::json!({
        "code": status.code() as i32,
        "message": status.message(),
        "details": [],
    })
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use proto::lnrpc;

    use super::*;

    fn descriptor(name: &str) -> MessageDescriptor {
        POOL.get_message_by_name(name).unwrap()
    }

    fn dynamic(name: &str, message: &impl prost::Message) -> DynamicMessage {
        DynamicMessage::decode(descriptor(name), message.encode_to_vec().as_slice()).unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn written_with_lnds_marshal_options() {
        let payment = lnrpc::Payment {
            payment_hash: "ab".into(),
            value_msat: 1_234_000,
            status: lnrpc::payment::PaymentStatus::Succeeded as i32,
            ..Default::default()
        };
        let json = to_json(&dynamic("lnrpc.Payment", &payment));
        assert_eq!(json["payment_hash"], "ab");
        assert_eq!(json["value_msat"], "1234000");
        assert_eq!(json["value_sat"], "0");
        assert_eq!(json["status"], "SUCCEEDED");
        assert_eq!(json["failure_reason"], "FAILURE_REASON_NONE");
        assert_eq!(json["payment_request"], "");

        let response = lnrpc::SendResponse {
            payment_hash: vec![0xfb, 0xff],
            ..Default::default()
        };
        let json = to_json(&dynamic("lnrpc.SendResponse", &response));
        // Standard base64, with its padding; empty bytes as "".
        assert_eq!(json["payment_hash"], "+/8=");
        assert_eq!(json["payment_preimage"], "");

        // An unset message field is null; an unset oneof is left out.
        let json = to_json(&dynamic(
            "lnrpc.SendRequest",
            &lnrpc::SendRequest::default(),
        ));
        assert_eq!(
            json,
            serde_json::json!({"payment_request": "", "fee_limit": null})
        );
        let request = lnrpc::SendRequest {
            fee_limit: Some(lnrpc::FeeLimit::default()),
            ..Default::default()
        };
        let json = to_json(&dynamic("lnrpc.SendRequest", &request));
        assert_eq!(json["fee_limit"], serde_json::json!({}));
    }

    #[test]
    fn read_from_body_path_and_query() {
        let input = descriptor("routerrpc.TrackPaymentRequest");
        let hash = [0xfb; 32];
        use base64::Engine as _;
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash);
        let message = request(
            &input,
            None,
            &params(&[("payment_hash", &url_safe)]),
            &params(&[("no_inflight_updates", "true"), ("unknown", "ignored")]),
        )
        .unwrap();
        let decoded =
            proto::routerrpc::TrackPaymentRequest::decode(message.encode_to_vec().as_slice())
                .unwrap();
        assert_eq!(decoded.payment_hash, hash);
        assert!(decoded.no_inflight_updates);

        // A query parameter naming a path parameter is ignored; a singular one given twice is not.
        let message = request(
            &input,
            None,
            &params(&[("payment_hash", "AAAA")]),
            &params(&[("payment_hash", "BBBB")]),
        )
        .unwrap();
        assert_eq!(
            message
                .get_field_by_name("payment_hash")
                .unwrap()
                .as_bytes()
                .unwrap()
                .as_ref(),
            [0, 0, 0]
        );
        let twice = params(&[("no_inflight_updates", "1"), ("no_inflight_updates", "0")]);
        let error = request(&input, None, &[], &twice).unwrap_err();
        assert!(error.message().contains("too many values"), "{error:?}");

        // Path parameters win over the body; numbers may be strings; unknown fields are skipped.
        let input = descriptor("lnrpc.Invoice");
        let body = br#"{"memo": "body", "value": "42", "valueMsat": 0, "is_amp": false}"#;
        let message = request(&input, Some(body), &params(&[("memo", "path")]), &[]).unwrap();
        let invoice = lnrpc::Invoice::decode(message.encode_to_vec().as_slice()).unwrap();
        assert_eq!((invoice.memo.as_str(), invoice.value), ("path", 42));

        let error = request(&input, Some(b"[]"), &[], &[]).unwrap_err();
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        let error = request(&input, Some(br#"{"value": 1.5}"#), &[], &[]).unwrap_err();
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
    }
}
