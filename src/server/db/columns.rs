//! The model's vocabularies as database columns: each is stored as its
//! name (`as_str`) in a text column, and a row whose text is not one of
//! the names fails to decode (an error, never a silent default). The same
//! for JSON in a text column ([`JsonText`]).

use crate::model::{
    AlertFormat, AlertKind, DeliveryOrigin, DeliveryStatus, EventSource, LinkPurpose, Ordering,
    Role, Scheme,
};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// `$t`'s database type is text's, whatever the backend.
macro_rules! stored_as_text {
    ($t:ty $(, generic $g:ident)?) => {
        impl<DB: Database $(, $g)?> Type<DB> for $t
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }
    };
}

macro_rules! text_columns {
    ($($t:ty),+ $(,)?) => {$(
        stored_as_text!($t);

        impl<'q, DB: Database> Encode<'q, DB> for $t
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <&'q str as Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $t
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&'r str as Decode<'r, DB>>::decode(value)?;
                <$t>::parse(text)
                    .ok_or_else(|| format!("{text:?} is not a {}", stringify!($t)).into())
            }
        }
    )+};
}

/// A JSON value kept in a text column (both backends: PostgreSQL's `json`
/// types are not used); text that does not parse as `T` fails to decode.
#[derive(Debug)]
pub struct JsonText<T>(pub T);

stored_as_text!(JsonText<T>, generic T);

impl<'r, DB: Database, T: serde::de::DeserializeOwned> Decode<'r, DB> for JsonText<T>
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&'r str as Decode<'r, DB>>::decode(value)?;
        Ok(JsonText(serde_json::from_str(text)?))
    }
}

text_columns!(
    AlertFormat,
    AlertKind,
    DeliveryOrigin,
    DeliveryStatus,
    EventSource,
    LinkPurpose,
    Ordering,
    Role,
    Scheme,
);

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    #[tokio::test]
    async fn a_name_decodes_to_its_value_and_any_other_text_is_an_error() {
        let mut c = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        for status in DeliveryStatus::ALL {
            let read: DeliveryStatus = sqlx::query_scalar("SELECT $1")
                .bind(status)
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(read, status);
        }
        let read: Option<Role> = sqlx::query_scalar("SELECT NULL")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(read, None);
        // Once the default was silently taken: `member`, `spectrum-v0`.
        let err = sqlx::query_scalar::<_, Role>("SELECT 'owner'")
            .fetch_one(&mut c)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("\"owner\" is not a Role"), "{err}");
        let err = sqlx::query_scalar::<_, Scheme>("SELECT 'Spectrum-V0'")
            .fetch_one(&mut c)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is not a Scheme"), "{err}");
        let events: JsonText<Vec<String>> = sqlx::query_scalar(r#"SELECT '["a.b", "*"]'"#)
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(events.0, ["a.b", "*"]);
        // Once silently `["*"]`: every event.
        sqlx::query_scalar::<_, JsonText<Vec<String>>>("SELECT 'a.b'")
            .fetch_one(&mut c)
            .await
            .unwrap_err();
    }
}
