//! Just enough of Kubernetes' protobuf encoding to read the bodies kubectl's
//! typed clients send for access control: SelfSubjectAccessReview and
//! SelfSubjectRulesReview (`kubectl auth can-i`), SelfSubjectReview (`kubectl
//! auth whoami`), TokenRequest (`kubectl create token`), and the objects of
//! `kubectl create role|clusterrole|rolebinding|clusterrolebinding|
//! serviceaccount|namespace|configmap`. They become the JSON the handlers read; responses stay
//! JSON (client-go decodes by the response's Content-Type). Other kinds still
//! get 415.
//!
//! Wire format: the 4-byte magic `k8s\0`, then a `runtime.Unknown` whose
//! field 2 holds the object; field numbers are those of the upstream
//! `generated.proto` files (k8s.io/api/authorization/v1, authentication/v1).

use serde_json::{Value, json};

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

fn bytes_of(buf: &[u8], field: u64) -> Result<Option<&[u8]>, ApiError> {
    Ok(fields(buf)?.into_iter().rev().find_map(|(n, v)| match v {
        Wire::Bytes(b) if n == field => Some(b),
        _ => None,
    }))
}

/// The string fields of a message named by number, as a JSON object.
fn strings_message(buf: &[u8], names: &[(u64, &str)]) -> Result<Value, ApiError> {
    let mut object = serde_json::Map::new();
    for (n, v) in fields(buf)? {
        // proto2 sends empty strings; JSON leaves them out (omitempty).
        if let (Some((_, name)), Wire::Bytes(b)) = (names.iter().find(|(f, _)| *f == n), v)
            && !b.is_empty()
        {
            object.insert(
                (*name).to_string(),
                json!(String::from_utf8_lossy(b).into_owned()),
            );
        }
    }
    Ok(Value::Object(object))
}

/// (apiVersion, kind, object bytes) of the `k8s\0` envelope.
fn unwrap_envelope(body: &[u8]) -> Result<(String, String, &[u8]), ApiError> {
    let unknown = body.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let type_meta = bytes_of(unknown, 1)?.unwrap_or_default();
    let type_meta = strings_message(type_meta, &[(1, "apiVersion"), (2, "kind")])?;
    let text = |key: &str| type_meta[key].as_str().unwrap_or_default().to_string();
    let object = bytes_of(unknown, 2)?.ok_or_else(malformed)?;
    Ok((text("apiVersion"), text("kind"), object))
}

fn repeated_strings(buf: &[u8], field: u64) -> Result<Vec<String>, ApiError> {
    Ok(fields(buf)?
        .into_iter()
        .filter_map(|(n, v)| match v {
            Wire::Bytes(b) if n == field => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect())
}

/// A `map<string, string>` field (entries with key 1 and value 2).
fn string_map(buf: &[u8], field: u64) -> Result<Option<Value>, ApiError> {
    let mut map = serde_json::Map::new();
    for (n, v) in fields(buf)? {
        if let (true, Wire::Bytes(entry)) = (n == field, v) {
            let entry = strings_message(entry, &[(1, "key"), (2, "value")])?;
            let key = entry["key"].as_str().unwrap_or_default().to_string();
            map.insert(key, entry.get("value").cloned().unwrap_or(json!("")));
        }
    }
    Ok((!map.is_empty()).then_some(Value::Object(map)))
}

/// The ObjectMeta fields a create carries: names, namespace, labels, annotations.
fn object_meta(buf: &[u8]) -> Result<Value, ApiError> {
    let mut meta = strings_message(buf, &[(1, "name"), (2, "generateName"), (3, "namespace")])?;
    if let Some(labels) = string_map(buf, 11)? {
        meta["labels"] = labels;
    }
    if let Some(annotations) = string_map(buf, 12)? {
        meta["annotations"] = annotations;
    }
    Ok(meta)
}

/// rbac/v1 PolicyRule.
fn policy_rule(buf: &[u8]) -> Result<Value, ApiError> {
    let mut rule = serde_json::Map::new();
    for (n, key) in [
        (1, "verbs"),
        (2, "apiGroups"),
        (3, "resources"),
        (4, "resourceNames"),
        (5, "nonResourceURLs"),
    ] {
        let values = repeated_strings(buf, n)?;
        if !values.is_empty() || key == "verbs" {
            rule.insert(key.to_string(), json!(values));
        }
    }
    Ok(Value::Object(rule))
}

/// meta/v1 LabelSelector.
fn label_selector(buf: &[u8]) -> Result<Value, ApiError> {
    let mut selector = json!({});
    if let Some(labels) = string_map(buf, 1)? {
        selector["matchLabels"] = labels;
    }
    let expressions = messages(buf, 2, |e| {
        let mut expression = strings_message(e, &[(1, "key"), (2, "operator")])?;
        expression["values"] = json!(repeated_strings(e, 3)?);
        Ok(expression)
    })?;
    if !expressions.is_empty() {
        selector["matchExpressions"] = json!(expressions);
    }
    Ok(selector)
}

/// Every message in a repeated field, decoded.
fn messages(
    buf: &[u8],
    field: u64,
    decode: impl Fn(&[u8]) -> Result<Value, ApiError>,
) -> Result<Vec<Value>, ApiError> {
    fields(buf)?
        .into_iter()
        .filter_map(|(n, v)| match v {
            Wire::Bytes(b) if n == field => Some(decode(b)),
            _ => None,
        })
        .collect()
}

/// The JSON form of a protobuf request body, for the kinds the access layer
/// and `kubectl create role|rolebinding|clusterrole|clusterrolebinding|
/// serviceaccount|token|namespace|configmap` send; other kinds are 415, as before.
pub fn decode_object(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    let (api_version, kind, object) = unwrap_envelope(body)?;
    let mut decoded = json!({"apiVersion": api_version, "kind": kind});
    if let Some(meta) = bytes_of(object, 1)? {
        decoded["metadata"] = object_meta(meta)?;
    }
    let spec = bytes_of(object, 2)?.unwrap_or_default();
    match kind.as_str() {
        "SelfSubjectAccessReview" => decoded["spec"] = access_review_spec(spec)?,
        "SelfSubjectRulesReview" => {
            decoded["spec"] = strings_message(spec, &[(1, "namespace")])?;
        }
        "SelfSubjectReview" => {}
        "TokenRequest" => decoded["spec"] = token_request_spec(spec)?,
        "Role" | "ClusterRole" => {
            decoded["rules"] = json!(messages(object, 2, policy_rule)?);
            if let Some(aggregation) = bytes_of(object, 3)?.filter(|_| kind == "ClusterRole") {
                let selectors = messages(aggregation, 1, label_selector)?;
                decoded["aggregationRule"] = json!({"clusterRoleSelectors": selectors});
            }
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let subject = [(1, "kind"), (2, "apiGroup"), (3, "name"), (4, "namespace")];
            decoded["subjects"] = json!(messages(object, 2, |s| strings_message(s, &subject))?);
            let role_ref = bytes_of(object, 3)?.unwrap_or_default();
            decoded["roleRef"] =
                strings_message(role_ref, &[(1, "apiGroup"), (2, "kind"), (3, "name")])?;
        }
        "ServiceAccount" => {
            if let Some(automount) = fields(object)?.into_iter().find_map(|(n, v)| match v {
                Wire::Varint(v) if n == 4 => Some(v != 0),
                _ => None,
            }) {
                decoded["automountServiceAccountToken"] = json!(automount);
            }
        }
        // `kubectl create namespace`: the name is all it sends.
        "Namespace" => {}
        // `kubectl create configmap --from-literal/--from-file` (text data).
        "ConfigMap" => {
            if let Some(data) = string_map(object, 2)? {
                decoded["data"] = data;
            }
            if bytes_of(object, 3)?.is_some() {
                // binaryData would need its bytes carried as base64; not decoded.
                return Err(ApiError::unsupported_media_type(content_type));
            }
            if let Some(immutable) = fields(object)?.into_iter().find_map(|(n, v)| match v {
                Wire::Varint(v) if n == 4 => Some(v != 0),
                _ => None,
            }) {
                decoded["immutable"] = json!(immutable);
            }
        }
        _ => return Err(ApiError::unsupported_media_type(content_type)),
    }
    Ok(decoded)
}

fn access_review_spec(spec: &[u8]) -> Result<Value, ApiError> {
    let mut decoded = serde_json::Map::new();
    if let Some(resource) = bytes_of(spec, 1)? {
        let names = [
            (1, "namespace"),
            (2, "verb"),
            (3, "group"),
            (4, "version"),
            (5, "resource"),
            (6, "subresource"),
            (7, "name"),
        ];
        decoded.insert(
            "resourceAttributes".into(),
            strings_message(resource, &names)?,
        );
    }
    if let Some(non_resource) = bytes_of(spec, 2)? {
        decoded.insert(
            "nonResourceAttributes".into(),
            strings_message(non_resource, &[(1, "path"), (2, "verb")])?,
        );
    }
    Ok(Value::Object(decoded))
}

fn token_request_spec(spec: &[u8]) -> Result<Value, ApiError> {
    let mut decoded = json!({});
    let audiences = repeated_strings(spec, 1)?;
    if !audiences.is_empty() {
        decoded["audiences"] = json!(audiences);
    }
    for (n, v) in fields(spec)? {
        match (n, v) {
            (3, Wire::Bytes(b)) => {
                let names = [(1, "kind"), (2, "apiVersion"), (3, "name"), (4, "uid")];
                decoded["boundObjectRef"] = strings_message(b, &names)?;
            }
            // int64 on the wire: two's complement in a varint.
            (4, Wire::Varint(v)) => decoded["expirationSeconds"] = json!(v as i64),
            _ => {}
        }
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![
            u8::try_from(n << 3 | 2).unwrap(),
            u8::try_from(bytes.len()).unwrap(),
        ];
        out.extend_from_slice(bytes);
        out
    }

    fn envelope_of(kind: &str, object: &[u8]) -> Vec<u8> {
        let mut body = MAGIC.to_vec();
        body.extend(field(1, &field(2, kind.as_bytes())));
        body.extend(field(2, object));
        body
    }

    fn envelope(object: &[u8]) -> Vec<u8> {
        envelope_of("SelfSubjectAccessReview", object)
    }

    #[test]
    fn access_review_attributes_are_read_by_field_number() {
        let mut attrs = field(1, b"default");
        attrs.extend(field(2, b"list"));
        attrs.extend(field(5, b"pods"));
        let spec = field(1, &attrs);
        let body = envelope(&[field(1, b""), field(2, &spec)].concat());
        let decoded = decode_object(&body, "application/vnd.kubernetes.protobuf").unwrap();
        assert_eq!(
            decoded["spec"]["resourceAttributes"],
            json!({"namespace": "default", "verb": "list", "resource": "pods"})
        );
    }

    #[test]
    fn token_requests_keep_expiration_and_audiences() {
        let mut spec = field(1, b"api");
        spec.extend([4 << 3, 0xb0, 0x09]); // 1200 as a varint
        let body = envelope_of("TokenRequest", &field(2, &spec));
        let decoded = decode_object(&body, "application/vnd.kubernetes.protobuf").unwrap();
        assert_eq!(decoded["spec"]["expirationSeconds"], 1200);
        assert_eq!(decoded["spec"]["audiences"], json!(["api"]));
    }

    #[test]
    fn truncated_bodies_are_bad_requests() {
        let mut body = envelope(&field(2, b"xx"));
        body.truncate(body.len() - 1);
        assert_eq!(decode_object(&body, "protobuf").unwrap_err().code, 400);
        assert_eq!(decode_object(b"{}", "protobuf").unwrap_err().code, 400);
    }

    #[test]
    fn role_bindings_and_roles_decode_as_kubectl_create_sends_them() {
        let mut subject = field(1, b"User");
        subject.extend(field(3, b"jane"));
        let mut role_ref = field(2, b"Role");
        role_ref.extend(field(3, b"reader"));
        let mut meta = field(1, b"jane-reads");
        meta.extend(field(3, b"db"));
        let mut label = field(1, b"team");
        label.extend(field(2, b"data"));
        meta.extend(field(11, &label));
        let object = [field(1, &meta), field(2, &subject), field(3, &role_ref)].concat();
        let decoded = decode_object(&envelope_of("RoleBinding", &object), "pb").unwrap();
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
        let mut rule = field(1, b"get");
        rule.extend(field(1, b"list"));
        rule.extend(field(2, b"apps"));
        rule.extend(field(3, b"statefulsets"));
        let role = [field(1, &field(1, b"reader")), field(2, &rule)].concat();
        let decoded = decode_object(&envelope_of("Role", &role), "pb").unwrap();
        assert_eq!(
            decoded["rules"],
            json!([{"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["statefulsets"]}])
        );
    }

    #[test]
    fn namespaces_and_config_maps_decode_as_kubectl_create_sends_them() {
        let namespace = envelope_of("Namespace", &field(1, &field(1, b"staging")));
        let decoded = decode_object(&namespace, "application/vnd.kubernetes.protobuf").unwrap();
        assert_eq!(decoded["kind"], "Namespace");
        assert_eq!(decoded["metadata"]["name"], "staging");
        let mut map = field(1, &field(1, b"settings"));
        let entry = [field(1, b"mode"), field(2, b"fast")].concat();
        map.extend(field(2, &entry));
        let decoded = decode_object(
            &envelope_of("ConfigMap", &map),
            "application/vnd.kubernetes.protobuf",
        )
        .unwrap();
        assert_eq!(decoded["data"], json!({"mode": "fast"}));
    }

    #[test]
    fn other_kinds_stay_unsupported() {
        let body = envelope_of("Deployment", &field(1, &field(1, b"x")));
        let err = decode_object(&body, "application/vnd.kubernetes.protobuf").unwrap_err();
        assert_eq!(err.code, 415);
    }
}
