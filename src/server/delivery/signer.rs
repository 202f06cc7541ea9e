//! Signatures (docs/delivery.md). Signed at every attempt, with a fresh timestamp.

use crate::model::Scheme;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The headers that carry a signature, for one attempt.
pub struct Signed {
    pub headers: Vec<(&'static str, String)>,
}

/// A webhook's signing secrets as the signer needs them. During a
/// rotation's grace period `previous` is the secret being replaced.
#[derive(Clone)]
pub struct Keys {
    pub scheme: Scheme,
    pub current: String,
    pub previous: Option<String>,
}

impl Keys {
    /// Signs `body` for delivery `delivery_id` at `timestamp` (Unix seconds).
    ///
    /// `spectrum-v0` has room for one signature, so during the grace period
    /// it keeps signing with the previous secret (receivers switch when they
    /// are ready; the rotation ends at the grace's end or by hand).
    /// `standard-webhooks` sends both signatures, the new one first.
    pub fn sign(&self, delivery_id: &str, timestamp: i64, body: &[u8]) -> Signed {
        match self.scheme {
            Scheme::SpectrumV0 => {
                let secret = self.previous.as_deref().unwrap_or(&self.current);
                Signed {
                    headers: vec![
                        ("x-spectrum-timestamp", timestamp.to_string()),
                        ("x-spectrum-signature", spectrum_v0(secret, timestamp, body)),
                    ],
                }
            }
            Scheme::StandardWebhooks => {
                let mut signature = standard(&self.current, delivery_id, timestamp, body);
                if let Some(previous) = &self.previous {
                    signature.push(' ');
                    signature.push_str(&standard(previous, delivery_id, timestamp, body));
                }
                Signed {
                    headers: vec![
                        ("webhook-id", delivery_id.to_string()),
                        ("webhook-timestamp", timestamp.to_string()),
                        ("webhook-signature", signature),
                    ],
                }
            }
        }
    }
}

/// `v0=` + hex HMAC-SHA256(secret as UTF-8, `v0:{timestamp}:{body}`).
pub fn spectrum_v0(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(b"v0:");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// `v1,` + base64 HMAC-SHA256(key, `{id}.{timestamp}.{body}`), the key being
/// the base64-decoded part of `whsec_…`.
pub fn standard(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    // Secrets are made by Signpost, so they decode; a damaged one still
    // signs (with its raw bytes) rather than stopping the queue.
    let key = B64
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec());
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks specification's libraries.
    #[test]
    fn standard_webhooks_test_vector() {
        assert_eq!(
            standard(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn spectrum_v0_is_hex_hmac_of_the_prefixed_body() {
        let secret = "a".repeat(64);
        let sig = spectrum_v0(&secret, 1700000000, br#"{"event":"messages"}"#);
        assert_eq!(sig.len(), 67);
        assert!(sig.starts_with("v0="));
        // Computed independently with Python: hmac.new(b"a" * 64, b"v0:1700000000:{...}",
        //   hashlib.sha256).hexdigest()
        assert_eq!(
            sig,
            "v0=a35d276d9496b785b144376ad14c20e2a7d067d56f0ba0123d977ded8ceb933f"
        );
    }

    #[test]
    fn grace_period_signatures() {
        let keys = Keys {
            scheme: Scheme::StandardWebhooks,
            current: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            previous: Some("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
        };
        let signed = keys.sign("msg_1", 1, b"{}");
        let sig = &signed.headers[2].1;
        let parts: Vec<&str> = sig.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], standard(&keys.current, "msg_1", 1, b"{}"));

        let keys = Keys {
            scheme: Scheme::SpectrumV0,
            current: "new".into(),
            previous: Some("old".into()),
        };
        let signed = keys.sign("d", 5, b"{}");
        assert_eq!(signed.headers[1].1, spectrum_v0("old", 5, b"{}"));
    }
}
