// The migrations are embedded by `sqlx::migrate!`: rebuild when one is
// added or removed, not only when one changes (sqlx's advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
