//! Enums whose values are names in the database, in JSON and in addresses.

/// An enum of a few names, each written once (`Variant = "name"`): serde,
/// `as_str`, `parse` and `ALL` all come from here, and the server's
/// database columns too (`server/db/columns.rs`). The enum derives
/// `Serialize` and `Deserialize` itself. (The names are taken as `tt`, not
/// `literal`: a `literal` fragment reaches derives wrapped in an invisible
/// group, which utoipa's `ToSchema` does not read, and the OpenAPI document
/// then named the variants instead.)
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in the order written.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
