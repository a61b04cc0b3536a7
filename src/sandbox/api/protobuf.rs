//! Just enough of Kubernetes' protobuf encoding to read the bodies kubectl's
//! typed clients send: the access reviews (`kubectl auth can-i|whoami`),
//! TokenRequest (`kubectl create token`), and the objects of `kubectl create
//! role|clusterrole|rolebinding|clusterrolebinding|serviceaccount|namespace|
//! configmap|secret|service|poddisruptionbudget`, and `kubectl drain`'s
//! Evictions. They become the JSON the
//! handlers read; responses stay JSON (client-go decodes by the response's
//! Content-Type). Other kinds get 415 with a message that says to send them
//! as a manifest.
//!
//! Wire format: the 4-byte magic `k8s\0`, then a `runtime.Unknown` whose
//! field 1 is the TypeMeta and field 2 the object. Each kind is described by a
//! table of (field number, JSON name, shape), the numbers being those of the
//! upstream `generated.proto` files; one walker turns any of them into JSON.
//! Fields a table does not name (status, timestamps, managed fields) are
//! skipped: a create never needs them.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::error::ApiError;

const MAGIC: &[u8] = b"k8s\0";

/// One field value on the wire.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn malformed() -> ApiError {
    ApiError::bad_request("the protobuf request body is malformed")
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ApiError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(malformed)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(malformed())
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Field `number` length-delimited (a string, bytes or a message), for the
/// documents the sandbox encodes (`/openapi/v2`).
pub fn bytes_field(number: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, number << 3 | 2);
    put_varint(&mut out, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

/// The (field number, value) pairs of one message.
fn fields(buf: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ApiError> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let value = match key & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            1 | 5 => {
                pos += if key & 7 == 1 { 8 } else { 4 };
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| malformed())?;
                let end = pos.checked_add(len).filter(|end| *end <= buf.len());
                let end = end.ok_or_else(malformed)?;
                let bytes = &buf[pos..end];
                pos = end;
                Wire::Bytes(bytes)
            }
            _ => return Err(malformed()),
        };
        out.push((key >> 3, value));
    }
    if pos > buf.len() {
        return Err(malformed());
    }
    Ok(out)
}

/// How one protobuf field becomes JSON.
#[derive(Clone, Copy)]
enum Shape {
    /// `string`. Go's generated marshalling writes unset strings as "", which
    /// JSON (`omitempty`) leaves out.
    Text,
    /// `repeated string`, empty strings kept (`apiGroups: [""]` is the core group).
    Texts,
    /// `int32`/`int64` kept as sent (pointer or required fields).
    Int,
    /// `int32` with `omitempty`: 0 is how an unset field is written.
    IntOmitZero,
    /// `*bool`: false is an answer, kept.
    Bool,
    /// `bool` with `omitempty`: false is how an unset field is written.
    BoolOmitFalse,
    Message(&'static [Field]),
    Messages(&'static [Field]),
    /// `util/intstr.IntOrString`: type 0 is an int (intVal), 1 a string (strVal).
    IntOrString,
    /// `map<string, string>`.
    TextMap,
    /// `map<string, bytes>`, base64 in JSON.
    BytesMap,
}

/// (field number, JSON name, shape).
type Field = (u64, &'static str, Shape);

use Shape::*;

const OBJECT_META: &[Field] = &[
    (1, "name", Text),
    (2, "generateName", Text),
    (3, "namespace", Text),
    (11, "labels", TextMap),
    (12, "annotations", TextMap),
    (14, "finalizers", Texts),
];
const METADATA: Field = (1, "metadata", Message(OBJECT_META));

const LABEL_SELECTOR: &[Field] = &[
    (1, "matchLabels", TextMap),
    (
        2,
        "matchExpressions",
        Messages(&[
            (1, "key", Text),
            (2, "operator", Text),
            (3, "values", Texts),
        ]),
    ),
];

const ACCESS_REVIEW_SPEC: &[Field] = &[
    (
        1,
        "resourceAttributes",
        Message(&[
            (1, "namespace", Text),
            (2, "verb", Text),
            (3, "group", Text),
            (4, "version", Text),
            (5, "resource", Text),
            (6, "subresource", Text),
            (7, "name", Text),
        ]),
    ),
    (
        2,
        "nonResourceAttributes",
        Message(&[(1, "path", Text), (2, "verb", Text)]),
    ),
];

const TOKEN_REQUEST_SPEC: &[Field] = &[
    (1, "audiences", Texts),
    (
        3,
        "boundObjectRef",
        Message(&[
            (1, "kind", Text),
            (2, "apiVersion", Text),
            (3, "name", Text),
            (4, "uid", Text),
        ]),
    ),
    (4, "expirationSeconds", Int),
];

const POLICY_RULE: &[Field] = &[
    (1, "verbs", Texts),
    (2, "apiGroups", Texts),
    (3, "resources", Texts),
    (4, "resourceNames", Texts),
    (5, "nonResourceURLs", Texts),
];

const SUBJECT: &[Field] = &[
    (1, "kind", Text),
    (2, "apiGroup", Text),
    (3, "name", Text),
    (4, "namespace", Text),
];

const ROLE_BINDING: &[Field] = &[
    METADATA,
    (2, "subjects", Messages(SUBJECT)),
    (
        3,
        "roleRef",
        Message(&[(1, "apiGroup", Text), (2, "kind", Text), (3, "name", Text)]),
    ),
];

const SERVICE_PORT: &[Field] = &[
    (1, "name", Text),
    (2, "protocol", Text),
    (6, "appProtocol", Text),
    (3, "port", Int),
    (4, "targetPort", IntOrString),
    (5, "nodePort", IntOmitZero),
];

const SERVICE_SPEC: &[Field] = &[
    (1, "ports", Messages(SERVICE_PORT)),
    (2, "selector", TextMap),
    (3, "clusterIP", Text),
    (18, "clusterIPs", Texts),
    (4, "type", Text),
    (5, "externalIPs", Texts),
    (7, "sessionAffinity", Text),
    (8, "loadBalancerIP", Text),
    (9, "loadBalancerSourceRanges", Texts),
    (10, "externalName", Text),
    (11, "externalTrafficPolicy", Text),
    (12, "healthCheckNodePort", IntOmitZero),
    (13, "publishNotReadyAddresses", BoolOmitFalse),
    (
        14,
        "sessionAffinityConfig",
        Message(&[(1, "clientIP", Message(&[(1, "timeoutSeconds", Int)]))]),
    ),
    (19, "ipFamilies", Texts),
    (17, "ipFamilyPolicy", Text),
    (20, "allocateLoadBalancerNodePorts", Bool),
    (21, "loadBalancerClass", Text),
    (22, "internalTrafficPolicy", Text),
    (23, "trafficDistribution", Text),
];

const POD_DISRUPTION_BUDGET_SPEC: &[Field] = &[
    (1, "minAvailable", IntOrString),
    (2, "selector", Message(LABEL_SELECTOR)),
    (3, "maxUnavailable", IntOrString),
    (4, "unhealthyPodEvictionPolicy", Text),
];

const DELETE_OPTIONS: &[Field] = &[
    (1, "gracePeriodSeconds", Int),
    (
        2,
        "preconditions",
        Message(&[(1, "uid", Text), (2, "resourceVersion", Text)]),
    ),
    (3, "orphanDependents", Bool),
    (4, "propagationPolicy", Text),
    (5, "dryRun", Texts),
];

/// The kinds decoded, each with the table of its top-level fields.
const KINDS: &[(&str, &[Field])] = &[
    (
        "SelfSubjectAccessReview",
        &[(2, "spec", Message(ACCESS_REVIEW_SPEC))],
    ),
    (
        "SelfSubjectRulesReview",
        &[(2, "spec", Message(&[(1, "namespace", Text)]))],
    ),
    ("SelfSubjectReview", &[METADATA]),
    (
        "TokenRequest",
        &[METADATA, (2, "spec", Message(TOKEN_REQUEST_SPEC))],
    ),
    ("Role", &[METADATA, (2, "rules", Messages(POLICY_RULE))]),
    (
        "ClusterRole",
        &[
            METADATA,
            (2, "rules", Messages(POLICY_RULE)),
            (
                3,
                "aggregationRule",
                Message(&[(1, "clusterRoleSelectors", Messages(LABEL_SELECTOR))]),
            ),
        ],
    ),
    ("RoleBinding", ROLE_BINDING),
    ("ClusterRoleBinding", ROLE_BINDING),
    (
        "ServiceAccount",
        &[METADATA, (4, "automountServiceAccountToken", Bool)],
    ),
    (
        "Namespace",
        &[METADATA, (2, "spec", Message(&[(1, "finalizers", Texts)]))],
    ),
    (
        "ConfigMap",
        &[
            METADATA,
            (2, "data", TextMap),
            (3, "binaryData", BytesMap),
            (4, "immutable", Bool),
        ],
    ),
    (
        "Secret",
        &[
            METADATA,
            (2, "data", BytesMap),
            (4, "stringData", TextMap),
            (3, "type", Text),
            (5, "immutable", Bool),
        ],
    ),
    ("Service", &[METADATA, (2, "spec", Message(SERVICE_SPEC))]),
    // `kubectl drain`'s evictions.
    (
        "Eviction",
        &[METADATA, (2, "deleteOptions", Message(DELETE_OPTIONS))],
    ),
    (
        "PodDisruptionBudget",
        &[METADATA, (2, "spec", Message(POD_DISRUPTION_BUDGET_SPEC))],
    ),
];

fn text(bytes: &[u8]) -> Value {
    json!(String::from_utf8_lossy(bytes))
}

/// The key and value of one `map<..>` entry (fields 1 and 2).
fn map_entry(entry: &[u8]) -> Result<(String, &[u8]), ApiError> {
    let (mut key, mut value) = (String::new(), &[][..]);
    for (number, wire) in fields(entry)? {
        match (number, wire) {
            (1, Wire::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
            (2, Wire::Bytes(b)) => value = b,
            _ => return Err(malformed()),
        }
    }
    Ok((key, value))
}

fn int_or_string(buf: &[u8]) -> Result<Value, ApiError> {
    let (mut is_string, mut int, mut string) = (false, 0i64, Value::from(""));
    for (number, wire) in fields(buf)? {
        match (number, wire) {
            (1, Wire::Varint(v)) => is_string = v == 1,
            // Negative int32s travel sign-extended to 64 bits.
            (2, Wire::Varint(v)) => int = v as i64,
            (3, Wire::Bytes(b)) => string = text(b),
            _ => return Err(malformed()),
        }
    }
    Ok(if is_string { string } else { json!(int) })
}

/// Appends to the array (or object, for maps) at `object[name]`.
fn entry_of<'a>(object: &'a mut Map<String, Value>, name: &str, empty: Value) -> &'a mut Value {
    object.entry(name).or_insert(empty)
}

/// One message, as JSON, following its table.
fn message(buf: &[u8], table: &[Field]) -> Result<Value, ApiError> {
    let mut object = Map::new();
    for (number, wire) in fields(buf)? {
        let Some(&(_, name, shape)) = table.iter().find(|(n, _, _)| *n == number) else {
            continue;
        };
        let value = match (shape, wire) {
            (Text, Wire::Bytes([])) => continue,
            (Text, Wire::Bytes(b)) => text(b),
            (Int, Wire::Varint(v)) => json!(v as i64),
            (IntOmitZero, Wire::Varint(0)) | (BoolOmitFalse, Wire::Varint(0)) => continue,
            (IntOmitZero, Wire::Varint(v)) => json!(v as i64),
            (Bool | BoolOmitFalse, Wire::Varint(v)) => json!(v != 0),
            (Message(inner), Wire::Bytes(b)) => message(b, inner)?,
            (IntOrString, Wire::Bytes(b)) => int_or_string(b)?,
            (Texts, Wire::Bytes(b)) => {
                push(entry_of(&mut object, name, json!([])), text(b));
                continue;
            }
            (Messages(inner), Wire::Bytes(b)) => {
                let item = message(b, inner)?;
                push(entry_of(&mut object, name, json!([])), item);
                continue;
            }
            (TextMap | BytesMap, Wire::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                let value = match shape {
                    BytesMap => json!(base64::engine::general_purpose::STANDARD.encode(value)),
                    _ => text(value),
                };
                if let Some(map) = entry_of(&mut object, name, json!({})).as_object_mut() {
                    map.insert(key, value);
                }
                continue;
            }
            // The wire type does not match the field's.
            _ => return Err(malformed()),
        };
        object.insert(name.to_string(), value);
    }
    Ok(Value::Object(object))
}

fn push(array: &mut Value, item: Value) {
    if let Some(items) = array.as_array_mut() {
        items.push(item);
    }
}

/// Field `number` of a message as raw bytes (the last one, as protobuf merges).
fn bytes_of(buf: &[u8], number: u64) -> Result<Option<&[u8]>, ApiError> {
    Ok(fields(buf)?.into_iter().rev().find_map(|(n, v)| match v {
        Wire::Bytes(b) if n == number => Some(b),
        _ => None,
    }))
}

/// The JSON form of a protobuf request body, for the kinds in [`KINDS`];
/// other kinds are refused with 415 and a message that says what to do.
pub fn decode_object(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    let unknown = body.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let type_meta = bytes_of(unknown, 1)?.unwrap_or_default();
    let type_meta = message(type_meta, &[(1, "apiVersion", Text), (2, "kind", Text)])?;
    let kind = type_meta["kind"].as_str().unwrap_or_default();
    let object = bytes_of(unknown, 2)?.ok_or_else(malformed)?;
    let Some((_, table)) = KINDS.iter().find(|(name, _)| *name == kind) else {
        let decoded: Vec<&str> = KINDS.iter().map(|(name, _)| *name).collect();
        return Err(ApiError::protobuf_kind_not_decoded(
            kind,
            content_type,
            &decoded,
        ));
    };
    let mut decoded = message(object, table)?;
    decoded["apiVersion"] = type_meta["apiVersion"].clone();
    decoded["kind"] = json!(kind);
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_field(number: u64, value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, number << 3);
        put_varint(&mut out, value);
        out
    }

    const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

    fn entry(key: &[u8], value: &[u8]) -> Vec<u8> {
        [bytes_field(1, key), bytes_field(2, value)].concat()
    }

    fn envelope_of(kind: &str, object: &[u8]) -> Vec<u8> {
        let mut body = MAGIC.to_vec();
        body.extend(bytes_field(
            1,
            &[bytes_field(1, b"v1"), bytes_field(2, kind.as_bytes())].concat(),
        ));
        body.extend(bytes_field(2, object));
        body
    }

    fn decode(kind: &str, object: &[u8]) -> Value {
        decode_object(&envelope_of(kind, object), PROTOBUF).unwrap()
    }

    #[test]
    fn access_review_attributes_are_read_by_field_number() {
        let attrs = [
            bytes_field(1, b"default"),
            bytes_field(2, b"list"),
            bytes_field(5, b"pods"),
        ]
        .concat();
        let spec = bytes_field(1, &attrs);
        let decoded = decode(
            "SelfSubjectAccessReview",
            &[bytes_field(1, b""), bytes_field(2, &spec)].concat(),
        );
        assert_eq!(
            decoded["spec"]["resourceAttributes"],
            json!({"namespace": "default", "verb": "list", "resource": "pods"})
        );
        assert_eq!(decoded["kind"], "SelfSubjectAccessReview");
        assert_eq!(decoded["apiVersion"], "v1");
    }

    #[test]
    fn token_requests_keep_expiration_and_audiences() {
        let spec = [bytes_field(1, b"api"), varint_field(4, 1200)].concat();
        let decoded = decode("TokenRequest", &bytes_field(2, &spec));
        assert_eq!(decoded["spec"]["expirationSeconds"], 1200);
        assert_eq!(decoded["spec"]["audiences"], json!(["api"]));
    }

    #[test]
    fn truncated_and_mistyped_bodies_are_bad_requests() {
        let mut body = envelope_of("SelfSubjectAccessReview", &bytes_field(2, b"xx"));
        body.truncate(body.len() - 1);
        assert_eq!(decode_object(&body, PROTOBUF).unwrap_err().code, 400);
        assert_eq!(decode_object(b"{}", PROTOBUF).unwrap_err().code, 400);
        // A name (a string) sent as a number.
        let mistyped = envelope_of("Namespace", &bytes_field(1, &varint_field(1, 7)));
        assert_eq!(decode_object(&mistyped, PROTOBUF).unwrap_err().code, 400);
    }

    #[test]
    fn role_bindings_and_roles_decode_as_kubectl_create_sends_them() {
        let subject = [bytes_field(1, b"User"), bytes_field(3, b"jane")].concat();
        let role_ref = [bytes_field(2, b"Role"), bytes_field(3, b"reader")].concat();
        let meta = [
            bytes_field(1, b"jane-reads"),
            bytes_field(3, b"db"),
            bytes_field(11, &entry(b"team", b"data")),
        ]
        .concat();
        let object = [
            bytes_field(1, &meta),
            bytes_field(2, &subject),
            bytes_field(3, &role_ref),
        ]
        .concat();
        let decoded = decode("RoleBinding", &object);
        assert_eq!(decoded["metadata"]["name"], "jane-reads");
        assert_eq!(decoded["metadata"]["namespace"], "db");
        assert_eq!(decoded["metadata"]["labels"]["team"], "data");
        assert_eq!(
            decoded["subjects"],
            json!([{"kind": "User", "name": "jane"}])
        );
        assert_eq!(
            decoded["roleRef"],
            json!({"kind": "Role", "name": "reader"})
        );
        let rule = [
            bytes_field(1, b"get"),
            bytes_field(1, b"list"),
            bytes_field(2, b""),
            bytes_field(2, b"apps"),
            bytes_field(3, b"statefulsets"),
        ]
        .concat();
        let decoded = decode(
            "Role",
            &[
                bytes_field(1, &bytes_field(1, b"reader")),
                bytes_field(2, &rule),
            ]
            .concat(),
        );
        assert_eq!(
            decoded["rules"],
            json!([{"verbs": ["get", "list"], "apiGroups": ["", "apps"], "resources": ["statefulsets"]}])
        );
    }

    #[test]
    fn namespaces_and_config_maps_decode_as_kubectl_create_sends_them() {
        let decoded = decode("Namespace", &bytes_field(1, &bytes_field(1, b"staging")));
        assert_eq!(decoded["kind"], "Namespace");
        assert_eq!(decoded["metadata"]["name"], "staging");
        let config_map = [
            bytes_field(1, &bytes_field(1, b"settings")),
            bytes_field(2, &entry(b"mode", b"fast")),
            bytes_field(3, &entry(b"blob", &[0, 159, 146])),
            varint_field(4, 1),
        ]
        .concat();
        let decoded = decode("ConfigMap", &config_map);
        assert_eq!(decoded["data"], json!({"mode": "fast"}));
        assert_eq!(decoded["binaryData"], json!({"blob": "AJ+S"}));
        assert_eq!(decoded["immutable"], true);
    }

    #[test]
    fn secrets_carry_their_bytes_as_base64() {
        let secret = [
            bytes_field(1, &bytes_field(1, b"db-password")),
            bytes_field(2, &entry(b"password", b"s3cret")),
            bytes_field(2, &entry(b"empty", b"")),
            bytes_field(3, b"Opaque"),
        ]
        .concat();
        let decoded = decode("Secret", &secret);
        assert_eq!(
            decoded["data"],
            json!({"password": "czNjcmV0", "empty": ""})
        );
        assert_eq!(decoded["type"], "Opaque");
        assert!(decoded.get("immutable").is_none(), "{decoded}");
    }

    #[test]
    fn services_decode_ports_target_ports_and_selector() {
        let named_target = [varint_field(1, 1), bytes_field(3, b"http")].concat();
        let numbered_target = [varint_field(1, 0), varint_field(2, 8080)].concat();
        let web = [
            bytes_field(1, b"web"),
            bytes_field(2, b"TCP"),
            varint_field(3, 80),
            bytes_field(4, &named_target),
            varint_field(5, 0),
        ]
        .concat();
        let admin = [
            bytes_field(1, b""),
            varint_field(3, 9000),
            bytes_field(4, &numbered_target),
        ]
        .concat();
        let spec = [
            bytes_field(1, &web),
            bytes_field(1, &admin),
            bytes_field(2, &entry(b"app", b"web")),
            bytes_field(3, b"None"),
            bytes_field(4, b"ClusterIP"),
            varint_field(13, 0),
        ]
        .concat();
        // The status Go always writes, empty, is skipped.
        let object = [
            bytes_field(1, &bytes_field(1, b"web")),
            bytes_field(2, &spec),
            bytes_field(3, b""),
        ]
        .concat();
        let decoded = decode("Service", &object);
        assert_eq!(
            decoded["spec"],
            json!({
                "ports": [
                    {"name": "web", "protocol": "TCP", "port": 80, "targetPort": "http"},
                    {"port": 9000, "targetPort": 8080}
                ],
                "selector": {"app": "web"},
                "clusterIP": "None",
                "type": "ClusterIP"
            })
        );
        assert!(decoded.get("status").is_none(), "{decoded}");
    }

    #[test]
    fn disruption_budgets_decode_counts_percentages_and_selectors() {
        let one = [varint_field(1, 0), varint_field(2, 1)].concat();
        let half = [varint_field(1, 1), bytes_field(3, b"50%")].concat();
        let selector = [
            bytes_field(1, &entry(b"app", b"web")),
            bytes_field(
                2,
                &[
                    bytes_field(1, b"tier"),
                    bytes_field(2, b"In"),
                    bytes_field(3, b"db"),
                ]
                .concat(),
            ),
        ]
        .concat();
        let spec = [bytes_field(2, &selector), bytes_field(3, &one)].concat();
        let decoded = decode("PodDisruptionBudget", &bytes_field(2, &spec));
        assert_eq!(
            decoded["spec"],
            json!({
                "selector": {
                    "matchLabels": {"app": "web"},
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]
                },
                "maxUnavailable": 1
            })
        );
        let decoded = decode(
            "PodDisruptionBudget",
            &bytes_field(2, &bytes_field(1, &half)),
        );
        assert_eq!(decoded["spec"]["minAvailable"], "50%");
    }

    #[test]
    fn other_kinds_are_refused_with_what_to_do_instead() {
        let body = envelope_of("Deployment", &bytes_field(1, &bytes_field(1, b"x")));
        let err = decode_object(&body, PROTOBUF).unwrap_err();
        assert_eq!(err.code, 415);
        assert!(err.message.contains("Deployment"), "{}", err.message);
        assert!(err.message.contains("kubectl apply -f"), "{}", err.message);
    }
}
