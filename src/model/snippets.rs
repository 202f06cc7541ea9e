//! Verification snippets shown on a webhook's page: a complete receiver, in
//! Node, Python, Go and Rust, that checks Signpost's signature for each
//! scheme (docs/delivery.md).
//!
//! Every snippet reads the raw body before any parsing, rejects a timestamp
//! more than 5 minutes (300 s) away from now, compares the HMAC-SHA256 in
//! constant time, and takes the secret from `SIGNPOST_WEBHOOK_SECRET`. The
//! sources live in `snippets/` (the Rust ones as `.rs.txt`, so that cargo
//! never compiles them into Signpost). The browser tests copy all four from
//! the page, build and run them against real signed deliveries
//! (`end2end/tests/log.spec.ts`); these tests only check their must-haves.

use super::Scheme;

/// One receiver, ready to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snippet {
    /// "Node", "Python", "Go" or "Rust".
    pub language: &'static str,
    /// The name to save it as.
    pub file_name: &'static str,
    pub code: &'static str,
}

const SPECTRUM_V0_NODE: &str = include_str!("snippets/spectrum_v0.js");
const SPECTRUM_V0_PYTHON: &str = include_str!("snippets/spectrum_v0.py");
const SPECTRUM_V0_GO: &str = include_str!("snippets/spectrum_v0.go");
const SPECTRUM_V0_RUST: &str = include_str!("snippets/spectrum_v0.rs.txt");

const STANDARD_WEBHOOKS_NODE: &str = include_str!("snippets/standard_webhooks.js");
const STANDARD_WEBHOOKS_PYTHON: &str = include_str!("snippets/standard_webhooks.py");
const STANDARD_WEBHOOKS_GO: &str = include_str!("snippets/standard_webhooks.go");
const STANDARD_WEBHOOKS_RUST: &str = include_str!("snippets/standard_webhooks.rs.txt");

/// The four receivers for `scheme`, in the order Node, Python, Go, Rust.
pub fn snippets(scheme: Scheme) -> [Snippet; 4] {
    let [node, python, go, rust] = match scheme {
        Scheme::SpectrumV0 => [
            SPECTRUM_V0_NODE,
            SPECTRUM_V0_PYTHON,
            SPECTRUM_V0_GO,
            SPECTRUM_V0_RUST,
        ],
        Scheme::StandardWebhooks => [
            STANDARD_WEBHOOKS_NODE,
            STANDARD_WEBHOOKS_PYTHON,
            STANDARD_WEBHOOKS_GO,
            STANDARD_WEBHOOKS_RUST,
        ],
    };
    [
        Snippet {
            language: "Node",
            file_name: "webhook.js",
            code: node,
        },
        Snippet {
            language: "Python",
            file_name: "webhook.py",
            code: python,
        },
        Snippet {
            language: "Go",
            file_name: "main.go",
            code: go,
        },
        Snippet {
            language: "Rust",
            file_name: "src/main.rs",
            code: rust,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMES: [Scheme; 2] = [Scheme::SpectrumV0, Scheme::StandardWebhooks];

    fn headers(scheme: Scheme) -> &'static [&'static str] {
        match scheme {
            Scheme::SpectrumV0 => &["x-spectrum-timestamp", "x-spectrum-signature"],
            Scheme::StandardWebhooks => &["webhook-id", "webhook-timestamp", "webhook-signature"],
        }
    }

    #[test]
    fn four_languages_per_scheme() {
        for scheme in SCHEMES {
            let languages = snippets(scheme).map(|s| s.language);
            assert_eq!(languages, ["Node", "Python", "Go", "Rust"]);
            for s in snippets(scheme) {
                assert!(!s.file_name.is_empty());
                assert!(s.code.len() > 500, "{scheme} {} is too short", s.language);
            }
        }
        // Each scheme has its own code.
        for (a, b) in snippets(Scheme::SpectrumV0)
            .iter()
            .zip(snippets(Scheme::StandardWebhooks).iter())
        {
            assert_ne!(a.code, b.code);
        }
    }

    #[test]
    fn snippets_use_the_right_headers_only() {
        for scheme in SCHEMES {
            for s in snippets(scheme) {
                let code = s.code.to_lowercase();
                for header in headers(scheme) {
                    assert!(
                        code.contains(header),
                        "{scheme} {} lacks {header}",
                        s.language
                    );
                }
                let other = match scheme {
                    Scheme::SpectrumV0 => Scheme::StandardWebhooks,
                    Scheme::StandardWebhooks => Scheme::SpectrumV0,
                };
                for header in headers(other) {
                    assert!(
                        !code.contains(header),
                        "{scheme} {} has {header}",
                        s.language
                    );
                }
            }
        }
    }

    #[test]
    fn snippets_read_the_secret_and_bound_the_timestamp() {
        for scheme in SCHEMES {
            for s in snippets(scheme) {
                assert!(
                    s.code.contains("SIGNPOST_WEBHOOK_SECRET"),
                    "{scheme} {}",
                    s.language
                );
                assert!(
                    s.code.contains("300"),
                    "{scheme} {} lacks the 5-minute window",
                    s.language
                );
                assert!(s.code.contains("sha256") || s.code.contains("Sha256"));
            }
        }
    }

    #[test]
    fn snippets_compare_in_constant_time() {
        for scheme in SCHEMES {
            let [node, python, go, rust] = snippets(scheme).map(|s| s.code);
            assert!(node.contains("timingSafeEqual"), "{scheme} Node");
            assert!(python.contains("hmac.compare_digest"), "{scheme} Python");
            assert!(
                go.contains("hmac.Equal") || go.contains("subtle.ConstantTimeCompare"),
                "{scheme} Go"
            );
            assert!(
                rust.contains("ct_eq") || rust.contains("verify_slice"),
                "{scheme} Rust"
            );
        }
    }

    #[test]
    fn snippets_match_their_scheme() {
        for s in snippets(Scheme::SpectrumV0) {
            assert!(s.code.contains("v0="), "{}", s.language);
            assert!(!s.code.contains("whsec_"), "{}", s.language);
        }
        for s in snippets(Scheme::StandardWebhooks) {
            assert!(s.code.contains("whsec_"), "{}", s.language);
            assert!(s.code.contains("v1,"), "{}", s.language);
        }
    }

    #[test]
    fn rust_snippets_state_their_dependencies() {
        for scheme in SCHEMES {
            let rust = snippets(scheme)[3].code;
            for dep in [
                "axum = \"0.8\"",
                "hmac = \"0.12\"",
                "sha2 = \"0.10\"",
                "tokio",
            ] {
                assert!(rust.contains(dep), "{scheme} Rust lacks {dep}");
            }
        }
    }
}
