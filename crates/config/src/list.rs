//! The `Name : Value` list layout of PowerShell's `Format-List`.

/// The console width the original outputs were wrapped at (PowerShell's default buffer width).
pub const LIST_WIDTH: usize = 120;

/// Lays out `(name, value)` rows as PowerShell's `Format-List` does, without wrapping:
/// each name is padded to the longest one, then ` : ` and the value. An empty value prints
/// as `Name :` with no trailing space. A value with several lines continues under the first
/// one. Every line ends with `\n`.
///
/// ```
/// use pushproxy_config::format_list;
///
/// let text = format_list(&[
///     ("ResultType", "Succeeded".to_owned()),
///     ("Error", String::new()),
///     ("Exception", String::new()),
/// ]);
/// assert_eq!(text, "ResultType : Succeeded\nError      :\nException  :\n");
/// ```
pub fn format_list(rows: &[(&str, String)]) -> String {
    layout(rows, None)
}

/// Like [`format_list`], but wraps values so that no line is longer than `width` characters,
/// breaking at spaces where it can (the space is dropped) and inside a word only when a word
/// alone is too long, as a console of that width shows it.
///
/// ```
/// use pushproxy_config::format_list_wrapped;
///
/// let text = format_list_wrapped(&[("Name", "one two three".to_owned())], 14);
/// assert_eq!(text, "Name : one two\n       three\n");
/// ```
pub fn format_list_wrapped(rows: &[(&str, String)], width: usize) -> String {
    layout(rows, Some(width))
}

fn layout(rows: &[(&str, String)], width: Option<usize>) -> String {
    let pad = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    let indent = pad + 3;
    let room = width.map(|w| w.saturating_sub(indent).max(1));
    let mut out = String::new();
    for (name, value) in rows {
        out.push_str(name);
        for _ in name.chars().count()..pad {
            out.push(' ');
        }
        out.push_str(" :");
        let mut pieces = Vec::new();
        for line in value.split('\n') {
            match room {
                Some(room) => pieces.extend(wrap(line, room)),
                None => pieces.push(line),
            }
        }
        let mut first = true;
        for piece in pieces {
            if first {
                if !piece.is_empty() {
                    out.push(' ');
                    out.push_str(piece);
                }
                first = false;
            } else {
                out.push('\n');
                if !piece.is_empty() {
                    out.extend(std::iter::repeat_n(' ', indent));
                    out.push_str(piece);
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Splits `line` into pieces of at most `room` characters, at spaces where possible.
fn wrap(line: &str, room: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while rest.chars().count() > room {
        // The byte index just past `room` characters.
        let limit = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
        let space = if rest[limit..].starts_with(' ') {
            Some(limit)
        } else {
            rest[..limit].rfind(' ')
        };
        match space {
            Some(space) if space > 0 => {
                pieces.push(&rest[..space]);
                rest = &rest[space + 1..];
            }
            _ => {
                pieces.push(&rest[..limit]);
                rest = &rest[limit..];
            }
        }
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pads_to_the_longest_name_and_drops_trailing_space() {
        let text = format_list(&[
            ("RunspaceId", "x".to_owned()),
            ("DistinguishedName", "y".to_owned()),
            ("OrganizationId", String::new()),
        ]);
        assert_eq!(
            text,
            "RunspaceId        : x\nDistinguishedName : y\nOrganizationId    :\n"
        );
        assert_eq!(format_list(&[]), "");
    }

    #[test]
    fn multi_line_values_continue_under_the_value() {
        let text = format_list(&[("Exception", "line one\nline two".to_owned())]);
        assert_eq!(text, "Exception : line one\n            line two\n");
    }

    #[test]
    fn wraps_at_spaces_then_inside_words() {
        assert_eq!(
            format_list_wrapped(&[("A", "aaaa bbbb cccc".to_owned())], 13),
            "A : aaaa bbbb\n    cccc\n"
        );
        assert_eq!(
            format_list_wrapped(&[("A", "abcdefghij".to_owned())], 8),
            "A : abcd\n    efgh\n    ij\n"
        );
        // A value that fits is left alone.
        assert_eq!(
            format_list_wrapped(&[("A", "abcd".to_owned())], 8),
            "A : abcd\n"
        );
        // A space exactly at the limit is a break point.
        assert_eq!(
            format_list_wrapped(&[("A", "abcd efgh".to_owned())], 8),
            "A : abcd\n    efgh\n"
        );
    }

    proptest! {
        #[test]
        fn wrapped_lines_fit_and_keep_every_word(
            rows in proptest::collection::vec(("[A-Za-z]{1,18}", "[a-z ]{0,80}"), 1..6),
            width in 1usize..60,
        ) {
            let rows: Vec<(&str, String)> =
                rows.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
            let pad = rows.iter().map(|(n, _)| n.len()).max().unwrap();
            let text = format_list_wrapped(&rows, width);
            for line in text.lines() {
                let value_len = line.len().saturating_sub(pad + 3);
                prop_assert!(value_len <= width.saturating_sub(pad + 3).max(1), "{:?}", line);
            }
            let words_in: Vec<&str> = rows.iter().flat_map(|(_, v)| v.split(' ')).filter(|w| !w.is_empty()).collect();
            let unwrapped = format_list(&rows);
            let words_flat: Vec<&str> = unwrapped
                .lines()
                .flat_map(|l| l.get(pad + 3..).unwrap_or("").split(' '))
                .filter(|w| !w.is_empty())
                .collect();
            prop_assert_eq!(&words_flat, &words_in);
            let glued: String = text
                .lines()
                .map(|l| l.get(pad + 3..).unwrap_or("").replace(' ', ""))
                .collect();
            prop_assert_eq!(glued, words_in.concat());
        }
    }
}
