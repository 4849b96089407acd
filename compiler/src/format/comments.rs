//! `//` comments: finding them in the original text and handing them to the printer in order.
//!
//! The grammar treats `//` comments as whitespace, so they are not in the AST; the printer gets
//! them from here and places each one by byte offset relative to the AST items (see the
//! placement rules in [`super`]). `///` doc comments are not comments here: they are in the AST.
//!
//! [`Comments`] is a cursor: every comment is taken exactly once, in source order, so that none
//! can be printed twice and, once the printer has emptied it, none has been dropped.

/// One `//` comment: from the slashes to the end of its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Comment {
    /// Byte offset of the first `/`.
    pub(super) start: usize,
    /// Byte offset of the end of the line (the `\n` or `\r`, or the end of the text).
    pub(super) end: usize,
    /// Alone on its line (an own-line comment), rather than trailing code on that line.
    pub(super) own_line: bool,
}

/// Every `//` comment of `text`, in order. Strings (single-line, `"..."` or `'...'`, with
/// backslash escapes) are skipped so that `"a//b"` is not a comment, and so are `///` doc
/// comments; `////...` is a comment, as in the grammar.
pub(super) fn scan(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut line_has_code = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\n' => {
                line_has_code = false;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'"' | b'\'' => {
                line_has_code = true;
                i += 1;
                while let Some(&b) = bytes.get(i) {
                    if b == byte {
                        i += 1;
                        break;
                    }
                    if b == b'\n' || b == b'\r' {
                        break;
                    }
                    // An escape never swallows the end of the line: strings do not span lines.
                    let escaped = b == b'\\' && !matches!(bytes.get(i + 1), Some(b'\n' | b'\r'));
                    i += if escaped { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let rest = bytes.get(i..).unwrap_or_default();
                let end = rest
                    .iter()
                    .position(|b| *b == b'\n' || *b == b'\r')
                    .map_or(bytes.len(), |n| i + n);
                let doc = bytes.get(i + 2) == Some(&b'/') && bytes.get(i + 3) != Some(&b'/');
                if !doc {
                    comments.push(Comment { start: i, end, own_line: !line_has_code });
                }
                i = end;
            }
            _ => {
                line_has_code = true;
                i += 1;
            }
        }
    }
    comments
}

/// The texts of every comment of `text`, sorted: what must be the same before and after
/// formatting (a multiset, since placement may change the order).
pub(super) fn texts(text: &str) -> Vec<&str> {
    let mut texts: Vec<&str> = scan(text).iter().map(|c| comment_text(text, c)).collect();
    texts.sort_unstable();
    texts
}

fn comment_text<'a>(text: &'a str, comment: &Comment) -> &'a str {
    text.get(comment.start..comment.end).unwrap_or_default().trim_end()
}

/// The comments of one file, taken in order by the printer, with the line arithmetic that
/// placing them needs.
#[derive(Debug)]
pub(super) struct Comments<'a> {
    text: &'a str,
    list: Vec<Comment>,
    /// Index of the first comment not yet taken.
    next: usize,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl<'a> Comments<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Comments { text, list: scan(text), next: 0, line_starts }
    }

    /// The comment as printed: verbatim, without trailing whitespace.
    pub(super) fn text(&self, comment: &Comment) -> &'a str {
        comment_text(self.text, comment)
    }

    /// The line (0-based) that holds byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset).saturating_sub(1)
    }

    /// The offset just past the end of `line`, its newline included.
    pub(super) fn line_end(&self, line: usize) -> usize {
        self.line_starts.get(line + 1).copied().unwrap_or(self.text.len())
    }

    /// Whether a line strictly between lines `above` and `below` is blank: the author's
    /// paragraph break, which the printer keeps (as one blank line).
    pub(super) fn blank_between(&self, above: usize, below: usize) -> bool {
        (above + 1..below).any(|line| {
            let start = self.line_starts.get(line).copied().unwrap_or(self.text.len());
            self.text.get(start..self.line_end(line)).is_some_and(|l| l.trim().is_empty())
        })
    }

    /// The end of the last token of code in `start..end`. Node spans may run on over the
    /// whitespace and comments after their last token (pest keeps the implicit whitespace
    /// skipped before an optional part that then matched nothing), and a trailing comment must
    /// go on the line of the last token, not on a line the span merely reaches.
    pub(super) fn code_end(&self, start: usize, end: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut end = end.min(bytes.len());
        loop {
            while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
                end -= 1;
            }
            let last_before = self.list.partition_point(|c| c.start < end);
            match last_before.checked_sub(1).and_then(|i| self.list.get(i)) {
                Some(c) if end > start && end <= c.end && c.start >= start => end = c.start,
                _ => return end,
            }
        }
    }

    /// Takes every remaining comment that starts before `offset`.
    pub(super) fn take_before(&mut self, offset: usize) -> Vec<Comment> {
        let mut taken = Vec::new();
        while let Some(c) = self.list.get(self.next).filter(|c| c.start < offset) {
            taken.push(*c);
            self.next += 1;
        }
        taken
    }

    /// Takes the next comment if it trails code on `line` and starts before `limit`.
    pub(super) fn take_trailing(&mut self, line: usize, limit: usize) -> Option<Comment> {
        let c = *self.list.get(self.next)?;
        if c.own_line || c.start >= limit || self.line(c.start) != line {
            return None;
        }
        self.next += 1;
        Some(c)
    }

    /// Whether a comment not yet taken starts before `offset`.
    pub(super) fn any_before(&self, offset: usize) -> bool {
        self.list.get(self.next).is_some_and(|c| c.start < offset)
    }

    /// Takes every comment not yet taken.
    pub(super) fn take_rest(&mut self) -> Vec<Comment> {
        self.take_before(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&str, bool)> {
        scan(text).iter().map(|c| (comment_text(text, c), c.own_line)).collect()
    }

    #[test]
    fn finds_own_line_and_trailing_comments() {
        let text = "// head\nsource a { // after brace\n  title \"x\"   // t  \n}\n";
        assert_eq!(found(text), [("// head", true), ("// after brace", false), ("// t", false)]);
    }

    #[test]
    fn skips_doc_comments_but_not_four_slashes() {
        let text = "/// doc // not a comment\n//// banner\n  ///\n/////x\n";
        assert_eq!(found(text), [("//// banner", true), ("/////x", true)]);
    }

    #[test]
    fn skips_strings_with_escapes() {
        let text = "title \"a // b \\\" // c\" // real\nx = 'it\\'s // no' // also\n";
        assert_eq!(found(text), [("// real", false), ("// also", false)]);
    }

    #[test]
    fn an_unterminated_string_ends_at_the_end_of_its_line() {
        let text = "title \"open\n// next\n";
        assert_eq!(found(text), [("// next", true)]);
    }

    #[test]
    fn crlf_line_ends_are_not_part_of_the_comment() {
        let text = "a // one\r\n// two\r\n";
        assert_eq!(found(text), [("// one", false), ("// two", true)]);
        assert_eq!(scan(text)[0].end, 8);
    }

    #[test]
    fn code_end_skips_trailing_whitespace_and_comments() {
        let text = "b int // c2\n  \n}";
        let comments = Comments::new(text);
        assert_eq!(comments.code_end(0, 14), 5);
        assert_eq!(comments.code_end(0, 3), 3);
    }

    #[test]
    fn lines_and_blank_lines() {
        let text = "a\n\n  \nb\nc";
        let comments = Comments::new(text);
        assert_eq!(comments.line(0), 0);
        assert_eq!(comments.line(5), 2);
        assert_eq!(comments.line(6), 3);
        assert_eq!(comments.line(8), 4);
        assert_eq!(comments.line_end(0), 2);
        assert_eq!(comments.line_end(4), 9);
        assert!(comments.blank_between(0, 3));
        assert!(!comments.blank_between(3, 4));
    }

    #[test]
    fn the_cursor_takes_each_comment_once() {
        let text = "// a\nx // b\n// c\n";
        let mut comments = Comments::new(text);
        assert!(comments.any_before(1));
        assert_eq!(comments.take_before(5).len(), 1);
        assert_eq!(comments.take_trailing(0, usize::MAX), None);
        let b = comments.take_trailing(1, usize::MAX).map(|c| comments.text(&c));
        assert_eq!(b, Some("// b"));
        assert_eq!(comments.take_rest().len(), 1);
        assert!(comments.take_rest().is_empty());
    }
}
