//! Just enough of Kubernetes' protobuf encoding to read the bodies kubectl's
//! typed clients send for the requests the authentication layer answers:
//! SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i`),
//! SelfSubjectReview (`kubectl auth whoami`) and TokenRequest (`kubectl create
//! token`). They are turned into the JSON the handlers read; responses stay
//! JSON (client-go decodes by the response's Content-Type).
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

fn bytes_of<'a>(buf: &'a [u8], field: u64) -> Result<Option<&'a [u8]>, ApiError> {
    Ok(fields(buf)?.into_iter().rev().find_map(|(n, v)| match v {
        Wire::Bytes(b) if n == field => Some(b),
        _ => None,
    }))
}

/// The string fields of a message named by number, as a JSON object.
fn strings_message(buf: &[u8], names: &[(u64, &str)]) -> Result<Value, ApiError> {
    let mut object = serde_json::Map::new();
    for (n, v) in fields(buf)? {
        if let (Some((_, name)), Wire::Bytes(b)) = (names.iter().find(|(f, _)| *f == n), v) {
            object.insert(
                (*name).to_string(),
                json!(String::from_utf8_lossy(b).into_owned()),
            );
        }
    }
    Ok(Value::Object(object))
}

/// The object inside the `k8s\0` envelope.
fn unwrap_envelope(body: &[u8]) -> Result<&[u8], ApiError> {
    let unknown = body.strip_prefix(MAGIC).ok_or_else(malformed)?;
    bytes_of(unknown, 2)?.ok_or_else(malformed)
}

/// The JSON form of a protobuf review or TokenRequest body, by kind.
pub fn decode(kind: &str, body: &[u8]) -> Result<Value, ApiError> {
    let object = unwrap_envelope(body)?;
    let spec_bytes = bytes_of(object, 2)?.unwrap_or_default();
    let spec = match kind {
        "SelfSubjectAccessReview" => {
            let mut spec = serde_json::Map::new();
            if let Some(resource) = bytes_of(spec_bytes, 1)? {
                let names = [
                    (1, "namespace"),
                    (2, "verb"),
                    (3, "group"),
                    (4, "version"),
                    (5, "resource"),
                    (6, "subresource"),
                    (7, "name"),
                ];
                spec.insert(
                    "resourceAttributes".into(),
                    strings_message(resource, &names)?,
                );
            }
            if let Some(non_resource) = bytes_of(spec_bytes, 2)? {
                spec.insert(
                    "nonResourceAttributes".into(),
                    strings_message(non_resource, &[(1, "path"), (2, "verb")])?,
                );
            }
            Value::Object(spec)
        }
        "SelfSubjectRulesReview" => strings_message(spec_bytes, &[(1, "namespace")])?,
        "TokenRequest" => {
            let mut audiences = Vec::new();
            let mut spec = json!({});
            for (n, v) in fields(spec_bytes)? {
                match (n, v) {
                    (1, Wire::Bytes(b)) => audiences.push(String::from_utf8_lossy(b).into_owned()),
                    (3, Wire::Bytes(b)) => {
                        let names = [(1, "kind"), (2, "apiVersion"), (3, "name"), (4, "uid")];
                        spec["boundObjectRef"] = strings_message(b, &names)?;
                    }
                    // int64 on the wire: two's complement in a varint.
                    (4, Wire::Varint(v)) => spec["expirationSeconds"] = json!(v as i64),
                    _ => {}
                }
            }
            if !audiences.is_empty() {
                spec["audiences"] = json!(audiences);
            }
            spec
        }
        _ => json!({}),
    };
    Ok(json!({"spec": spec}))
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

    fn envelope(object: &[u8]) -> Vec<u8> {
        let mut body = MAGIC.to_vec();
        body.extend(field(1, &field(2, b"SelfSubjectAccessReview")));
        body.extend(field(2, object));
        body
    }

    #[test]
    fn access_review_attributes_are_read_by_field_number() {
        let mut attrs = field(1, b"default");
        attrs.extend(field(2, b"list"));
        attrs.extend(field(5, b"pods"));
        let spec = field(1, &attrs);
        let body = envelope(&[field(1, b""), field(2, &spec)].concat());
        let decoded = decode("SelfSubjectAccessReview", &body).unwrap();
        assert_eq!(
            decoded["spec"]["resourceAttributes"],
            json!({"namespace": "default", "verb": "list", "resource": "pods"})
        );
    }

    #[test]
    fn token_requests_keep_expiration_and_audiences() {
        let mut spec = field(1, b"api");
        spec.extend([4 << 3, 0xb0, 0x09]); // 1200 as a varint
        let body = envelope(&field(2, &spec));
        let decoded = decode("TokenRequest", &body).unwrap();
        assert_eq!(decoded["spec"]["expirationSeconds"], 1200);
        assert_eq!(decoded["spec"]["audiences"], json!(["api"]));
    }

    #[test]
    fn truncated_bodies_are_bad_requests() {
        let mut body = envelope(&field(2, b"xx"));
        body.truncate(body.len() - 1);
        assert_eq!(decode("TokenRequest", &body).unwrap_err().code, 400);
        assert_eq!(decode("TokenRequest", b"{}").unwrap_err().code, 400);
    }
}
