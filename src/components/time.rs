use leptos::prelude::*;
use time::{macros::format_description, OffsetDateTime};

/// `2026-11-23 18:09 UTC` for Unix milliseconds.
pub fn utc_text(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// A time shown in the viewer's local time zone (UTC on hover). The server
/// renders UTC; in the browser `enhance` rewrites it to local time (and an
/// island that draws one writes local time at once).
#[component]
pub fn LocalTime(ms: i64) -> impl IntoView {
    let utc = utc_text(ms);
    #[cfg(feature = "hydrate")]
    let text = local_text(ms as f64);
    #[cfg(not(feature = "hydrate"))]
    let text = utc.clone();
    view! {
        <time data-ms=ms.to_string() title=utc>{text}</time>
    }
}

/// Unix milliseconds in the browser's time zone and locale.
#[cfg(feature = "hydrate")]
pub fn local_text(ms: f64) -> String {
    js_sys::Date::new(&ms.into())
        .to_locale_string("default", &js_sys::Object::new().into())
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_text_is_readable() {
        assert_eq!(super::utc_text(1_795_457_340_000), "2026-11-23 18:09 UTC");
    }
}
