use super::*;
use proptest::prelude::*;

fn codes(sql: &str) -> Vec<&str> {
    split(sql)
        .unwrap()
        .into_iter()
        .filter(|s| s.has_code())
        .map(|s| &sql[s.code_start.unwrap()..s.range.end])
        .collect()
}

#[test]
fn plain_statements_and_trailing_remainder() {
    let sql = "create table a (x int);\n-- done\ninsert into a values (1);\n  -- tail\n";
    let parts = split(sql).unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        codes(sql),
        ["create table a (x int);", "insert into a values (1);"]
    );
    assert!(!parts[2].has_code());
    assert_eq!(parts[0].words, ["CREATE", "TABLE", "A", "X", "INT"]);
}

#[test]
fn last_statement_without_semicolon() {
    let parts = split("select 1; select 2").unwrap();
    assert_eq!(parts.len(), 2);
    assert!(!parts[1].terminated);
    assert_eq!(parts[1].words, ["SELECT"]);
}

#[test]
fn single_quotes_with_doubled_quote() {
    assert_eq!(
        codes("select 'a;''b'; select 2;"),
        ["select 'a;''b';", "select 2;"]
    );
}

#[test]
fn standard_strings_treat_backslash_literally() {
    assert_eq!(
        codes(r"select 'a\'; select 2;"),
        [r"select 'a\';", "select 2;"]
    );
}

#[test]
fn escape_strings_honour_backslash() {
    assert_eq!(
        codes(r"select E'a\';b'; select 2;"),
        [r"select E'a\';b';", "select 2;"]
    );
    assert_eq!(
        codes(r"select e'x\\'; select 2;"),
        [r"select e'x\\';", "select 2;"]
    );
    // An identifier ending in `e` is not an escape-string prefix.
    assert_eq!(
        codes(r"select somee'a\'; select 2;"),
        [r"select somee'a\';", "select 2;"]
    );
}

#[test]
fn quoted_identifiers() {
    assert_eq!(codes(r#"create table "a;""b" (x int); select 1;"#).len(), 2);
}

#[test]
fn dollar_quotes_with_and_without_tags() {
    let sql = "create function f() returns int as $$ begin return 1; end $$ language plpgsql;\n\
               do $body$ begin perform 'x;'; $x$ nested $x$; end $body$;\nselect $1;";
    let got = codes(sql);
    assert_eq!(got.len(), 3);
    assert!(got[1].starts_with("do $body$") && got[1].ends_with("$body$;"));
    // `$1` is a parameter, and `$` inside identifiers is not a quote.
    assert_eq!(codes("select a$b$ from t; select 2;").len(), 2);
}

#[test]
fn comments_line_and_nested_block() {
    let sql = "/* a; /* nested; */ still; */ select 1; -- c; \nselect 2;";
    assert_eq!(codes(sql), ["select 1;", "select 2;"]);
}

#[test]
fn parentheses_and_begin_atomic_bodies() {
    let rule = "create rule r as on insert to t do also (insert into a values (1); insert into b values (2)); select 1;";
    assert_eq!(codes(rule).len(), 2);
    let atomic = "create or replace function f() returns int language sql\n\
                  begin atomic select case when true then 1 else 2 end; select 1; end;\nselect 3;";
    assert_eq!(codes(atomic).len(), 2);
    // BEGIN as a statement is a statement of its own.
    assert_eq!(codes("begin; select 1; commit;").len(), 3);
}

#[test]
fn unterminated_constructs_report_where_they_open() {
    let cases = [
        ("select 'abc", LexErrorKind::String, 7),
        ("select E'a\\'", LexErrorKind::EscapeString, 7),
        ("select \"abc", LexErrorKind::Identifier, 7),
        ("do $f$ begin", LexErrorKind::DollarQuote("f".into()), 3),
        ("select 1; /* /* */", LexErrorKind::BlockComment, 10),
    ];
    for (sql, kind, offset) in cases {
        assert_eq!(split(sql), Err(LexError { kind, offset }), "{sql}");
    }
}

#[test]
fn non_ascii_text() {
    assert_eq!(codes("select 'ünï;cødé'; select 'ß';").len(), 2);
    assert_eq!(codes("create table ünï (x int); select 1;").len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_and_pieces_cover_the_input(s in "[ a-zA-Z0-9;'\"$E()/*\\-\\\\\n_ü]{0,80}") {
        if let Ok(parts) = split(&s) {
            let joined: String = parts.iter().map(|p| &s[p.range.clone()]).collect();
            prop_assert_eq!(joined, s.clone());
            let mut at = 0;
            for p in &parts {
                prop_assert_eq!(p.range.start, at);
                at = p.range.end;
            }
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(s in "\\PC{0,60}") {
        let _ = split(&s);
    }
}
