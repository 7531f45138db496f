//! Encoder for PostgreSQL's `COPY ... FROM STDIN` text format, the fastest way to stage many
//! rows. Values are escaped here; nothing is ever interpolated into SQL.

use std::io::Write as _;

use sqlx::PgConnection;

/// Rows in COPY text format, flushed to the server in chunks so memory stays bounded.
pub struct CopyIn<'c> {
    copy: sqlx::postgres::PgCopyIn<&'c mut PgConnection>,
    buf: Vec<u8>,
    first_in_row: bool,
}

const CHUNK: usize = 1 << 20;

impl<'c> CopyIn<'c> {
    /// Starts `statement` (a `COPY table (columns) FROM STDIN` statement).
    pub async fn start(conn: &'c mut PgConnection, statement: &str) -> Result<Self, sqlx::Error> {
        let copy = conn.copy_in_raw(statement).await?;
        Ok(CopyIn {
            copy,
            buf: Vec::with_capacity(CHUNK + 4096),
            first_in_row: true,
        })
    }

    fn separator(&mut self) {
        if !self.first_in_row {
            self.buf.push(b'\t');
        }
        self.first_in_row = false;
    }

    /// A text value, or NULL.
    pub fn text(&mut self, value: Option<&str>) -> &mut Self {
        self.separator();
        match value {
            None => self.buf.extend_from_slice(b"\\N"),
            Some(s) => {
                for &b in s.as_bytes() {
                    match b {
                        b'\\' => self.buf.extend_from_slice(b"\\\\"),
                        b'\n' => self.buf.extend_from_slice(b"\\n"),
                        b'\r' => self.buf.extend_from_slice(b"\\r"),
                        b'\t' => self.buf.extend_from_slice(b"\\t"),
                        0 => {} // PostgreSQL text cannot hold NUL; drop it
                        _ => self.buf.push(b),
                    }
                }
            }
        }
        self
    }

    /// A text array value (`text[]`).
    pub fn text_array<'s>(&mut self, values: impl IntoIterator<Item = &'s str>) -> &mut Self {
        let mut literal = String::from("{");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            literal.push('"');
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    literal.push('\\');
                }
                literal.push(c);
            }
            literal.push('"');
        }
        literal.push('}');
        self.text(Some(&literal))
    }

    /// An integer value, or NULL.
    pub fn int(&mut self, value: Option<i64>) -> &mut Self {
        self.separator();
        match value {
            None => self.buf.extend_from_slice(b"\\N"),
            Some(n) => {
                let _ = write!(self.buf, "{n}");
            }
        }
        self
    }

    /// A bytea value.
    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.separator();
        self.buf.extend_from_slice(b"\\\\x");
        self.buf.extend_from_slice(hex::encode(value).as_bytes());
        self
    }

    /// Ends the current row; sends a chunk when enough has accumulated.
    pub async fn end_row(&mut self) -> Result<(), sqlx::Error> {
        self.buf.push(b'\n');
        self.first_in_row = true;
        if self.buf.len() >= CHUNK {
            self.copy.send(std::mem::take(&mut self.buf)).await?;
            self.buf.reserve(CHUNK + 4096);
        }
        Ok(())
    }

    /// Sends what is left and ends the COPY; returns the number of rows copied.
    pub async fn finish(mut self) -> Result<u64, sqlx::Error> {
        if !self.buf.is_empty() {
            self.copy.send(std::mem::take(&mut self.buf)).await?;
        }
        self.copy.finish().await
    }
}
