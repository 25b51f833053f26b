fn main() {
    for tool in ["sqlx", "refinery", "diesel", "flyway"] {
        tidemark::build::rerun_if_changed(&format!("migrations/{tool}"));
    }
}
