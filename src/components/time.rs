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
/// renders UTC; the browser switches to local time once hydrated.
#[component]
pub fn LocalTime(ms: i64) -> impl IntoView {
    let utc = utc_text(ms);
    let text = RwSignal::new(utc.clone());
    Effect::new(move |_| {
        let date = js_sys::Date::new(&(ms as f64).into());
        let local: String = date
            .to_locale_string("default", &js_sys::Object::new().into())
            .into();
        text.set(local);
    });
    view! {
        <time title=utc>{move || text.get()}</time>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_text_is_readable() {
        assert_eq!(super::utc_text(1_795_457_340_000), "2026-11-23 18:09 UTC");
    }
}
