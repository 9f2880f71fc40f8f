//! Reading import files into records (column name to text), each with its line: CSV with a
//! header row, or JSON lines. A leading UTF-8 byte-order mark is skipped; in a file without
//! `\n`, `\r` ends lines (classic Mac OS). Malformed CSV (an
//! unclosed quote, a stray quote, a row whose cell count differs from the header's, a column
//! named twice) is refused naming the file and line, never guessed at.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};

/// One record: column name to text (CSV cell or JSON value); absent values are left out.
pub type Row = HashMap<String, String>;

/// A record and the line of its file it was read from (1-based).
pub struct Record {
    pub line: usize,
    pub row: Row,
}

/// Reads a `.csv` file (header row) or a JSON lines file (any other extension).
pub fn read_records(path: &Path) -> anyhow::Result<Vec<Record>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = utf8(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // Spreadsheets write a byte-order mark before the header; it is no part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // Classic Mac OS (and some of its spreadsheet exports) end lines with `\r` alone: with no
    // `\n` anywhere, `\r` is the line end, rather than one header line holding the whole file.
    let text =
        if text.contains('\r') && !text.contains('\n') { text.replace('\r', "\n").into() } else { Cow::from(text) };
    let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let parsed = if csv { csv_records(&text) } else { json_records(&text) };
    parsed.map_err(|e| anyhow::anyhow!("{}: {e:#}", path.display()))
}

/// A file's text, or which line is not UTF-8 (an export in another encoding, such as Latin-1
/// or UTF-16, fails on its first character outside ASCII, which may be far into the file).
fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
            return "is UTF-16, not UTF-8: save or export it as UTF-8".to_string();
        }
        let at = e.utf8_error().valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at - bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        format!(
            "line {line}: byte {column} of the line (0x{:02X}) is not UTF-8: save or export the file as UTF-8",
            bytes[at]
        )
    })
}

/// The lines that are not blank, numbered from 1.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty())
}

fn csv_records(text: &str) -> anyhow::Result<Vec<Record>> {
    let mut reader = CsvReader::new(text);
    let Some((first, header)) = reader.next() else { return Ok(Vec::new()) };
    let header = header.with_context(|| format!("line {first} (the header)"))?;
    let mut named = HashSet::new();
    if let Some(twice) = header.iter().find(|h| !h.is_empty() && !named.insert(h.as_str())) {
        bail!("line {first} (the header): the column `{twice}` is named twice");
    }
    let mut records = Vec::new();
    while let Some((line, cells)) = reader.next() {
        let cells = cells.with_context(|| format!("line {line}"))?;
        if cells.len() != header.len() {
            bail!(
                "line {line}: {} cells where the header has {} columns (leave a cell empty for an absent value, \
                 and quote a cell that holds a comma){}",
                cells.len(),
                header.len(),
                reader.spanning.map(Spanning::hint).unwrap_or_default()
            );
        }
        let row = header.iter().cloned().zip(cells).filter(|(h, v)| !h.is_empty() && !v.is_empty()).collect();
        records.push(Record { line, row });
    }
    Ok(records)
}

fn json_records(text: &str) -> anyhow::Result<Vec<Record>> {
    lines(text)
        .map(|(line, text)| {
            let Members(members) = serde_json::from_str(text).map_err(|e| not_an_object(line, text, &e))?;
            let mut seen = HashSet::new();
            let mut row = Row::new();
            for (key, value) in members {
                // serde_json's own map keeps the last of a repeated key: which one was meant is
                // unknown, so neither is taken.
                if !seen.insert(key.clone()) {
                    bail!("line {line}: the key `{key}` is given twice in one object");
                }
                if let Some(text) = json_text(&key, &value).with_context(|| format!("line {line}"))? {
                    row.insert(key, text);
                }
            }
            Ok(Record { line, row })
        })
        .collect()
}

/// A line that does not parse as one JSON object, placed by the file's line and the column in it:
/// serde_json's own "at line 1 column C" counts lines within the one line it was given, and its
/// column in bytes, which after any character outside ASCII ("Café") is past the one meant.
fn not_an_object(line: usize, text: &str, e: &serde_json::Error) -> anyhow::Error {
    let full = e.to_string();
    let what = full.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&full);
    match e.column() {
        // No place in the line (a whole value of the wrong type).
        0 => anyhow::anyhow!("line {line}: not a JSON object ({what})"),
        // serde_json's column is the count of bytes read, through the last one: the characters
        // starting within those bytes are the column in characters (a character read only in
        // part counts, being where the error is).
        bytes => {
            let column = text.char_indices().take_while(|&(i, _)| i < bytes).count();
            anyhow::anyhow!("line {line}, column {column}: not a JSON object ({what})")
        }
    }
}

/// A JSON object's members as written, a repeated key included.
struct Members(Vec<(String, Box<serde_json::value::RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// The columns of every kind that hold text (ids, names, categories, time stamps...): a JSON
/// number or boolean there is refused, as `17` where `"u17"` or `true` where a name was meant is
/// a wrong export, not text. The other columns are numbers (`lat`, `age`, `strength`...) or
/// unknown, and ignored.
const TEXT_COLUMNS: [&str; 15] = [
    "id",
    "user_id",
    "venue_id",
    "other_user_id",
    "handle",
    "name",
    "city",
    "category",
    "cuisine",
    "tags",
    "timezone",
    "description",
    "interaction_type",
    "timestamp",
    "created_at",
];

/// A JSON value as the text a CSV cell would hold: `null` is absent, strings as they are,
/// numbers as written (so a whole-number column refuses `1e3` or `2.0` as it would in CSV) and
/// booleans as text, except in a text column ([`TEXT_COLUMNS`]), which takes only a string; and
/// `tags` may be an array of strings, joined with `;` as in CSV. Other arrays and objects are
/// refused: no column holds one.
fn json_text(key: &str, raw: &serde_json::value::RawValue) -> anyhow::Result<Option<String>> {
    use serde_json::Value;
    let text = raw.get().trim();
    // A number no f64 holds (`1e999`) is valid JSON that serde_json's `Value` refuses ("number
    // out of range at line 1 column 5", naming neither the field nor where it is): it is kept as
    // written, like any number, so its field's own check refuses it by name, as in CSV.
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) && serde_json::from_str::<Value>(text).is_err() {
        if TEXT_COLUMNS.contains(&key) {
            bail!("`{key}` must be a string, not a number: {text} (quote it if it is meant as text)");
        }
        return Ok(Some(text.to_string()));
    }
    let v: Value = serde_json::from_str(text)?;
    if matches!(v, Value::Number(_) | Value::Bool(_)) && TEXT_COLUMNS.contains(&key) {
        bail!(
            "`{key}` must be a string, not a {}: {} (quote it if it is meant as text)",
            if v.is_number() { "number" } else { "boolean" },
            raw.get().trim()
        );
    }
    Ok(match v {
        Value::Number(_) => Some(raw.get().trim().to_string()),
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Array(a) if key == "tags" => {
            let mut tags = Vec::with_capacity(a.len());
            for tag in a {
                match tag {
                    Value::String(t) if !t.contains(';') => tags.push(t),
                    Value::String(t) => bail!("`tags`: a tag must not hold `;` (it separates tags): {t}"),
                    other => bail!("`tags` must be an array of strings, not holding {other}"),
                }
            }
            Some(tags.join(";"))
        }
        Value::Array(_) | Value::Object(_) => {
            // What the column does take: a text column no number (above), `tags` an array too.
            let takes = match key {
                "tags" => "a string, an array of strings or null",
                _ if TEXT_COLUMNS.contains(&key) => "a string or null",
                _ => "a string, a number or null",
            };
            bail!("`{key}` must be {takes}, not {}", if v.is_array() { "an array" } else { "an object" })
        }
        other => Some(other.to_string()),
    })
}

/// CSV records, each with the line it starts on (1-based); blank lines between records are
/// skipped. Cells are separated by commas and trimmed; a cell may be double-quoted as a whole
/// (then it may hold commas and line breaks, and `""` stands for a quote). A quote anywhere
/// else, or text after a closing quote, is refused. Line ends are `\n` or `\r\n`; a line break
/// inside a quoted cell is kept as `\n`.
struct CsvReader<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    /// The line the next character is on.
    line: usize,
    /// The first cell of the last record read that spans lines: a quoted cell holding a line
    /// break, which is also what a missing closing quote reads as.
    spanning: Option<Spanning>,
}

/// A quoted cell that spans lines: its number and the lines its quotes are on.
#[derive(Debug, Clone, Copy)]
struct Spanning {
    cell: usize,
    opens: usize,
    closes: usize,
}

impl Spanning {
    /// Says where the cell's quotes are, as a hint to an error in its record.
    fn hint(self) -> String {
        let Spanning { cell, opens, closes } = self;
        format!(
            " (cell {cell} is quoted from line {opens} to line {closes}: if it should not hold a line break, its \
             closing quote is missing on line {opens})"
        )
    }
}

impl<'a> CsvReader<'a> {
    fn new(text: &'a str) -> Self {
        Self { chars: text.chars().peekable(), line: 1, spanning: None }
    }

    /// Skips spaces and tabs (not line ends).
    fn skip_blanks(&mut self) {
        while self.chars.next_if(|c| c.is_whitespace() && *c != '\n').is_some() {}
    }

    /// The cells of the record that starts here.
    fn record(&mut self) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        self.spanning = None;
        loop {
            let n = out.len() + 1;
            self.skip_blanks();
            let mut cell = String::new();
            let more = if self.chars.next_if_eq(&'"').is_some() {
                let opens = self.line;
                loop {
                    match self.chars.next() {
                        None => bail!("cell {n}: a quote opens but never closes"),
                        Some('"') if self.chars.next_if_eq(&'"').is_some() => cell.push('"'),
                        Some('"') => break,
                        Some('\n') => {
                            self.line += 1;
                            // `\r\n` inside the cell is kept as one `\n`.
                            if cell.ends_with('\r') {
                                cell.pop();
                            }
                            cell.push('\n');
                        }
                        Some(c) => cell.push(c),
                    }
                }
                if self.line > opens && self.spanning.is_none() {
                    self.spanning = Some(Spanning { cell: n, opens, closes: self.line });
                }
                self.skip_blanks();
                match self.chars.next() {
                    None => false,
                    Some(',') => true,
                    Some('\n') => {
                        self.line += 1;
                        false
                    }
                    Some(c) => {
                        let hint = self.spanning.map(Spanning::hint).unwrap_or_default();
                        bail!("cell {n}: `{c}` after the closing quote (a quote inside a cell is written `\"\"`){hint}")
                    }
                }
            } else {
                while let Some(c) = self.chars.next_if(|c| *c != ',' && *c != '\n') {
                    if c == '"' {
                        bail!(
                            "cell {n}: a quote inside a cell that does not start with one (quote the \
                             whole cell, and write a quote in it as `\"\"`)"
                        );
                    }
                    cell.push(c);
                }
                match self.chars.next() {
                    Some(',') => true,
                    Some(_) => {
                        self.line += 1;
                        false
                    }
                    None => false,
                }
            };
            out.push(cell.trim().to_string());
            if !more {
                return Ok(out);
            }
        }
    }
}

impl Iterator for CsvReader<'_> {
    /// The line a record starts on, and its cells.
    type Item = (usize, anyhow::Result<Vec<String>>);

    fn next(&mut self) -> Option<Self::Item> {
        // Blank lines between records.
        loop {
            self.skip_blanks();
            match self.chars.peek() {
                None => return None,
                Some('\n') => {
                    self.chars.next();
                    self.line += 1;
                }
                Some(_) => break,
            }
        }
        let line = self.line;
        let record = self.record();
        if record.is_err() {
            // Nothing after a malformed record is read: where it ends is unknown.
            self.chars = "".chars().peekable();
        }
        Some((line, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cells of the first record of `text`.
    fn split_csv(text: &str) -> anyhow::Result<Vec<String>> {
        CsvReader::new(text).next().expect("a record").1
    }

    fn cells(line: &str) -> Vec<String> {
        split_csv(line).unwrap()
    }

    #[test]
    fn a_file_not_in_utf8_is_refused_naming_the_line_of_its_first_bad_byte() {
        assert_eq!(utf8(b"id,name\nu1,Caf\xc3\xa9\n".to_vec()).as_deref(), Ok("id,name\nu1,Caf\u{e9}\n"));
        let latin1 = utf8(b"id,name\nu1,Ann\nu2,Caf\xe9\n".to_vec()).unwrap_err();
        assert_eq!(latin1, "line 3: byte 7 of the line (0xE9) is not UTF-8: save or export the file as UTF-8");
        let utf16 = utf8(vec![0xff, 0xfe, b'i', 0, b'd', 0, 0x0a, 0]).unwrap_err();
        assert!(utf16.contains("UTF-16"), "{utf16}");
    }

    #[test]
    fn csv_cells_are_split_on_commas_outside_quotes() {
        assert_eq!(cells("a, b ,c"), ["a", "b", "c"]);
        assert_eq!(cells(r#""q1","Name, with comma", "say ""hi""" "#), ["q1", "Name, with comma", r#"say "hi""#]);
        assert_eq!(cells("a,,c"), ["a", "", "c"]);
        assert_eq!(cells("a,b,"), ["a", "b", ""]);
        assert_eq!(cells("a,\"\""), ["a", ""]);
        assert_eq!(cells("\"x\",\"\""), ["x", ""]);
    }

    #[test]
    fn malformed_csv_cells_are_refused() {
        for (line, says) in [
            (r#""q2,unterminated"#, "cell 1: a quote opens but never closes"),
            (r#"a,b"c"#, "cell 2: a quote inside a cell"),
            (r#""a"b,c"#, "cell 1: `b` after the closing quote"),
        ] {
            let err = split_csv(line).unwrap_err().to_string();
            assert!(err.contains(says), "{line}: {err}");
        }
    }

    #[test]
    fn csv_rows_must_match_the_header_which_names_each_column_once() {
        let err = |text: &str| format!("{:#}", csv_records(text).err().expect("refused"));
        assert!(err("id,handle\nx1,a,SURPLUS\n").contains("line 2: 3 cells where the header has 2"));
        assert!(err("id,handle,name\n\nx2,fewer\n").contains("line 3: 2 cells where the header has 3"));
        assert!(err("id,id,handle\nx1,x2,h\n").contains("line 1 (the header): the column `id` is named twice"));
        assert!(err("id,handle\n\"x1,h\n").contains("line 2: cell 1: a quote opens but never closes"));
        let rows = csv_records("id,handle,name\r\nx1,,Name\r\n").unwrap();
        assert_eq!((rows[0].line, rows[0].row.len(), rows[0].row["name"].as_str()), (2, 2, "Name"));
    }

    /// A quoted cell may span lines, as spreadsheet exports write a description with line
    /// breaks (RFC 4180); records keep the line they start on, and later records' lines count
    /// the breaks inside cells.
    #[test]
    fn a_quoted_cell_may_hold_line_breaks() {
        let text =
            "id,name,description\r\nv1,\"Desc\r\nnewline\",\"two\n\n\nbreaks, and \"\"quotes\"\"\"\n\nv2,Plain,\n";
        let rows = csv_records(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].row["name"].as_str()), (2, "Desc\nnewline"));
        assert_eq!(rows[0].row["description"], "two\n\n\nbreaks, and \"quotes\"");
        assert_eq!((rows[1].line, rows[1].row["name"].as_str()), (8, "Plain"));
        let err = format!("{:#}", csv_records("id,name\nv1,\"open\nv2,x\n").err().expect("refused"));
        assert!(err.contains("line 2: cell 2: a quote opens but never closes"), "{err}");
        let err = format!("{:#}", csv_records("id,name\nv1,\"a\nb\"\nv2,x,y\n").err().expect("refused"));
        assert!(err.contains("line 4: 3 cells where the header has 2"), "{err}");
    }

    /// A missing closing quote makes a cell run into the next lines; when the record then
    /// fails, the error says which cell spans which lines, so the user looks at the right line.
    #[test]
    fn an_error_in_a_record_with_a_cell_spanning_lines_says_where_its_quotes_are() {
        let err = |text: &str| format!("{:#}", csv_records(text).err().expect("refused"));
        let hint = "cell 2 is quoted from line 2 to line 3: if it should not hold a line break, its closing quote \
                    is missing on line 2";
        let after = err("id,name,desc\nv1,\"open,d1\nv2,\"n2\",d2\n");
        assert!(after.contains("line 2: cell 2: `n` after the closing quote") && after.contains(hint), "{after}");
        let count = err("id,name,desc\nv1,\"open,d\nv2,x\",y,z\n");
        assert!(count.contains("line 2: 4 cells where the header has 3") && count.contains(hint), "{count}");
        // A record whose cells are on one line gets no such hint, even after one that spans lines.
        let plain = err("id,name\nv1,\"two\nlines\"\nv2,x,y\n");
        assert!(plain.contains("line 4: 3 cells") && !plain.contains("is quoted from"), "{plain}");
    }

    #[test]
    fn a_byte_order_mark_before_the_header_or_the_first_object_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("users.csv");
        std::fs::write(&csv, "\u{feff}id,handle\r\nb1,bomuser\r\n").unwrap();
        assert_eq!(read_records(&csv).unwrap()[0].row["id"], "b1");
        let jsonl = dir.path().join("log.jsonl");
        std::fs::write(&jsonl, "\u{feff}{\"user_id\":\"u1\"}\n").unwrap();
        assert_eq!(read_records(&jsonl).unwrap()[0].row["user_id"], "u1");
    }

    /// A file whose lines end with `\r` alone (classic Mac OS) reads line by line, as it used to
    /// read as one header line holding every record.
    #[test]
    fn a_file_with_cr_only_line_ends_reads_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("users.csv");
        std::fs::write(&csv, "id,handle,name\rc1,cruser,\"Two\rlines\"\r\rc2,other,Other\r").unwrap();
        let rows = read_records(&csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].row["name"].as_str()), (2, "Two\nlines"));
        assert_eq!((rows[1].line, rows[1].row["handle"].as_str()), (5, "other"));
        let jsonl = dir.path().join("log.jsonl");
        std::fs::write(&jsonl, "{\"user_id\":\"u1\"}\r{\"user_id\":\"u2\"}\r").unwrap();
        let rows = read_records(&jsonl).unwrap();
        assert_eq!((rows.len(), rows[1].line, rows[1].row["user_id"].as_str()), (2, 2, "u2"));
    }

    /// A line that is not JSON is placed by the file's line and its column there, not by
    /// serde_json's count of lines within that one line ("line 1").
    #[test]
    fn a_line_that_is_not_json_is_placed_by_the_files_line_and_column() {
        let err = format!("{:#}", json_records("{\"id\":\"v0\"}\n\n{\"id\": v1}\n").err().expect("refused"));
        assert_eq!(err, "line 3, column 8: not a JSON object (expected value)");
        let err = format!("{:#}", json_records("[1]").err().expect("refused"));
        assert!(err.starts_with("line 1: not a JSON object (invalid type: sequence"), "{err}");
        assert!(!err.contains("at line"), "{err}");
    }

    /// Review: the column was serde_json's, a count of bytes, so after "Café" (é is two bytes)
    /// or an emoji (four) it named a place past the error. It is now counted in characters.
    #[test]
    fn the_column_of_a_json_error_counts_characters_not_bytes() {
        let err = |text: &str| format!("{:#}", json_records(text).err().expect("refused"));
        // `x` is the 17th character (the 18th byte); the second line's `"city"` opens at the 18th
        // character (the 22nd byte).
        assert_eq!(err("{\"name\":\"Café\", x}"), "line 1, column 17: not a JSON object (key must be a string)");
        assert_eq!(
            err("{\"id\":\"v0\"}\n{\"name\":\"🍕 Café\" \"city\":1}"),
            "line 2, column 18: not a JSON object (expected `,` or `}`)"
        );
        // An error on a character outside ASCII points at it.
        assert_eq!(err("{\"a\":é}"), "line 1, column 6: not a JSON object (expected value)");
    }

    /// serde_json keeps the last of a key given twice; the importer refuses the object instead.
    #[test]
    fn a_json_object_with_a_key_given_twice_is_refused_naming_the_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("venues.jsonl");
        std::fs::write(&jsonl, "{\"id\":\"v0\"}\n\n{\"id\":\"v1\",\"name\":\"A\",\"name\":\"B\"}\n").unwrap();
        let err = format!("{:#}", read_records(&jsonl).err().expect("refused"));
        assert!(err.contains("venues.jsonl: line 3: the key `name` is given twice"), "{err}");
        // A repeated key whose first value is null is refused too.
        let err = format!("{:#}", json_records("{\"tags\":null,\"tags\":[\"a\"]}").err().expect("refused"));
        assert!(err.contains("line 1: the key `tags` is given twice"), "{err}");
    }

    /// `tags` is an array of strings (or `;`-separated text, as in CSV); nothing else nests.
    #[test]
    fn json_tags_are_strings_and_no_other_value_nests() {
        let row = |text: &str| json_records(text).map(|r| r[0].row.clone());
        assert_eq!(row(r#"{"tags":["rooftop","live_music"]}"#).unwrap()["tags"], "rooftop;live_music");
        assert_eq!(row(r#"{"tags":"rooftop;live_music"}"#).unwrap()["tags"], "rooftop;live_music");
        // Numbers are kept as written, so a whole-number column sees `1e3` and `2.0` as such.
        let numbers = row(r#"{"capacity": 1e3 ,"price_level":2.0,"age":30}"#).unwrap();
        assert_eq!(
            (numbers["capacity"].as_str(), numbers["price_level"].as_str(), numbers["age"].as_str()),
            ("1e3", "2.0", "30")
        );
        for (text, says) in [
            (r#"{"tags":["a",["b"]]}"#, "line 1: `tags` must be an array of strings"),
            (r#"{"tags":[{"b":1}]}"#, "line 1: `tags` must be an array of strings"),
            (r#"{"tags":["a",2]}"#, "line 1: `tags` must be an array of strings"),
            (r#"{"tags":["a;b"]}"#, "line 1: `tags`: a tag must not hold `;`"),
            // A text column takes no number (QA: the message offered one, which is refused).
            (r#"{"name":{"en":"Bar"}}"#, "line 1: `name` must be a string or null, not an object"),
            (r#"{"city":["NYC"]}"#, "line 1: `city` must be a string or null, not an array"),
            (r#"{"tags":{"a":1}}"#, "line 1: `tags` must be a string, an array of strings or null, not an object"),
            (r#"{"lat":[40.7]}"#, "line 1: `lat` must be a string, a number or null, not an array"),
        ] {
            let err = format!("{:#}", row(text).expect_err("refused"));
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    /// A number or boolean where text is expected is refused naming the line and the field, as
    /// a CSV cell of the wrong type is; numbers stay numbers, and an unknown key is ignored.
    #[test]
    fn a_json_number_or_boolean_in_a_text_field_is_refused_naming_the_line_and_field() {
        let text = "{\"id\":\"v1\",\"lat\":40.7,\"extra\":true}\n\n{\"id\":17,\"name\":\"Bar\"}\n";
        let err = format!("{:#}", json_records(text).err().expect("refused"));
        assert!(err.contains("line 3: `id` must be a string, not a number: 17"), "{err}");
        for (text, says) in [
            (r#"{"user_id":"u1","venue_id":4}"#, "line 1: `venue_id` must be a string, not a number: 4"),
            (r#"{"name":true}"#, "line 1: `name` must be a string, not a boolean: true"),
            (r#"{"timestamp":1759349160}"#, "line 1: `timestamp` must be a string, not a number: 1759349160"),
            (r#"{"handle":1e3}"#, "line 1: `handle` must be a string, not a number: 1e3"),
        ] {
            let err = format!("{:#}", json_records(text).err().expect("refused"));
            assert!(err.contains(says), "{text}: {err}");
        }
        let row = &json_records(r#"{"id":"17","lat":40.7,"age":30,"extra":false}"#).unwrap()[0].row;
        assert_eq!((row["id"].as_str(), row["lat"].as_str(), row["age"].as_str()), ("17", "40.7", "30"));
    }

    /// A number too large for an f64 (`1e999`) is kept as written, so its field's own check names
    /// it (QA: it was refused as "line 1: number out of range at line 1 column 5", no field named).
    #[test]
    fn a_json_number_no_float_holds_is_kept_as_written_for_its_field_to_refuse() {
        let row = &json_records(r#"{"id":"a","age":1e999,"home_lat":-1e999,"home_lng":0}"#).unwrap()[0].row;
        assert_eq!((row["age"].as_str(), row["home_lat"].as_str()), ("1e999", "-1e999"));
        let err = format!("{:#}", json_records(r#"{"id":1e999}"#).err().expect("refused"));
        assert!(err.contains("line 1: `id` must be a string, not a number: 1e999"), "{err}");
    }
}
