//! Tests of token hashing, cookie parsing and the Origin policy.

use axum::http::{HeaderMap, HeaderValue};

use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

#[test]
fn tokens_are_random_prefixed_and_hash_stably() {
    let a = new_token("flt_");
    let b = new_token("flt_");
    assert!(a.starts_with("flt_") && a.len() > 40);
    assert_ne!(a, b);
    assert_eq!(token_hash(&a), token_hash(&a));
    assert_ne!(token_hash(&a), token_hash(&b));
    assert!(!token_hash(&a).contains(&a[4..]));
}

#[test]
fn session_cookie_is_found_among_others() {
    let h = headers(&[("cookie", "a=1; flotilla_session=abc; b=2")]);
    assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
    assert_eq!(session_cookie(&headers(&[("cookie", "a=1")])), None);
    assert_eq!(session_cookie(&HeaderMap::new()), None);
}

#[test]
fn origin_policy() {
    let same = OriginPolicy::SameHost;
    assert!(same.allows(&headers(&[
        ("host", "127.0.0.1:8080"),
        ("origin", "http://127.0.0.1:8080")
    ])));
    assert!(!same.allows(&headers(&[
        ("host", "127.0.0.1:8080"),
        ("origin", "http://evil.example")
    ])));
    assert!(!same.allows(&headers(&[("host", "127.0.0.1:8080"), ("origin", "null")])));
    assert!(
        same.allows(&headers(&[("host", "127.0.0.1:8080")])),
        "non-browser clients send no Origin"
    );
    let exact = OriginPolicy::Exact("https://flotilla.example.com".into());
    assert!(exact.allows(&headers(&[("origin", "https://flotilla.example.com")])));
    assert!(!exact.allows(&headers(&[
        ("host", "flotilla.example.com"),
        ("origin", "http://flotilla.example.com")
    ])));
}

#[tokio::test]
async fn passwords_verify_only_with_the_right_secret() {
    let hash = hash_password(Secret::new("correct horse")).await.unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(
        verify_password(Secret::new("correct horse"), hash.clone())
            .await
            .unwrap()
    );
    assert!(!verify_password(Secret::new("wrong"), hash).await.unwrap());
    assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
}
