//! Plain-text tables for people: the `Display` of reports and statuses, which the CLI prints
//! (and colours line by line).

use std::fmt;

/// How a column is aligned.
#[derive(Clone, Copy)]
pub(crate) enum Align {
    Left,
    Right,
}

/// Writes `header` and `rows` as columns separated by two spaces, each as wide as its widest
/// cell; the last column is not padded on the left unless it is right-aligned.
pub(crate) fn write(
    f: &mut fmt::Formatter<'_>,
    header: &[(&str, Align)],
    rows: &[Vec<String>],
) -> fmt::Result {
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |f: &mut fmt::Formatter<'_>, cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            match header[i].1 {
                Align::Left => {
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad));
                }
                Align::Right => {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(cell);
                }
            }
        }
        writeln!(f, "{}", out.trim_end())
    };
    line(f, &mut header.iter().map(|(h, _)| *h))?;
    for r in rows {
        line(f, &mut r.iter().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct T(Vec<Vec<String>>);
    impl fmt::Display for T {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write(
                f,
                &[("version", Align::Left), ("time", Align::Right)],
                &self.0,
            )
        }
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let t = T(vec![
            vec!["1".into(), "1 ms".into()],
            vec!["R__größe".into(), "12 ms".into()],
        ]);
        assert_eq!(
            t.to_string(),
            "version    time\n1          1 ms\nR__größe  12 ms\n"
        );
    }
}
