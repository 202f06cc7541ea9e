/// Where to go after signing in: `next` when it is a path on this site,
/// otherwise `/`. Anything that a browser could read as another origin
/// (`//evil`, `/\evil`, `https://…`, control characters) falls back to `/`.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next.map(str::trim).filter(|n| !n.is_empty()) else {
        return "/".to_string();
    };
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if local && !next.starts_with("/login") && !next.starts_with("/api/") {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn keeps_local_paths() {
        assert_eq!(safe_next(Some("/projects?x=1")), "/projects?x=1");
        assert_eq!(safe_next(Some("/")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("")), "/");
    }

    #[test]
    fn refuses_other_origins() {
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/ok\n//evil",
            "/a\\b",
            "/login?next=/x",
            "/api/logout",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?} must not be followed");
        }
    }
}
